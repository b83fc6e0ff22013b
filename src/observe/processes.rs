//! Listeners on the declared port (`lsof`) and the process table (`ps`).

use super::{Scope, Settings, tool_fact};
use crate::model::Knowable;
use crate::process;
use crate::sys::exec::{ExecError, Output};

/// Who listens on the declared port (`lsof`) and which processes run (`ps`), run
/// concurrently: the inputs of conflict detection (and of `verify`). `describe_err` says why a
/// tool did not run.
pub(crate) async fn listeners_and_processes(
    scope: &Scope,
    settings: &Settings,
    describe_err: fn(&ExecError) -> String,
) -> (
    Knowable<Vec<process::Listener>>,
    Knowable<Vec<process::ProcessInfo>>,
) {
    let (lsof_cmd, ps_cmd) = (process::lsof_listen(scope.listen.port), process::ps());
    let (lsof, ps) = tokio::join!(settings.run(&lsof_cmd), settings.run(&ps_cmd));
    let listeners = tool_fact(
        "lsof",
        lsof,
        |out| out.success() || lsof_found_nothing(out),
        process::parse_lsof,
        describe_err,
    );
    let processes = tool_fact("ps", ps, Output::success, process::parse_ps, describe_err);
    (listeners, processes)
}

/// lsof exits 1 without a word when nothing listens; a non-zero exit that says something on
/// either stream is a failure (a missing or broken lsof, a bad option), not "no listeners".
fn lsof_found_nothing(out: &Output) -> bool {
    out.status == Some(1) && out.stdout.trim().is_empty() && out.stderr.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::lsof_found_nothing;
    use crate::observe::tests::output as out;

    #[test]
    fn lsof_says_no_listeners_only_by_a_silent_exit_1() {
        assert!(lsof_found_nothing(&out(Some(1), "", "")));
        assert!(lsof_found_nothing(&out(Some(1), "\n", " ")));
        assert!(!lsof_found_nothing(&out(
            Some(1),
            "",
            "lsof: unsupported TCP/TPI info selection: X"
        )));
        assert!(!lsof_found_nothing(&out(Some(2), "", "")));
        assert!(!lsof_found_nothing(&out(None, "", "")));
    }
}
