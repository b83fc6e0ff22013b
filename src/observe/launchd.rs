//! The launchd jobs: ours (`launchctl print <target>`) and Homebrew's competing
//! `homebrew.mxcl.ollama` agent.

use super::{HOMEBREW_LABEL, Scope, Settings, describe};
use crate::launchd::cmd as launchctl;
use crate::launchd::domain::{Domain, ServiceTarget};
use crate::model::Knowable;
use crate::model::desired::Label;
use crate::model::observed::JobStatus;
use crate::process;
use crate::sys::exec::Output;

/// `launchctl print <target>`, parsed.
pub(crate) async fn job(settings: &Settings, target: &ServiceTarget) -> Knowable<JobStatus> {
    match settings.run(&launchctl::print(target)).await {
        Ok(out) => launchctl::parse_print(target, out.status, &out.stdout, &out.stderr),
        Err(err) => Knowable::unknown(describe(&err)),
    }
}

/// Whether Homebrew's `homebrew.mxcl.ollama` agent is loaded in the user's GUI domain: its
/// target (and pid while it runs) when loaded, `None` when not (or when it is the managed job itself), unknown when
/// `launchctl print` failed.
pub(super) async fn homebrew_job(
    scope: &Scope,
    settings: &Settings,
) -> Knowable<Option<process::HomebrewJob>> {
    if scope.label.as_str() == HOMEBREW_LABEL {
        return Knowable::Known(None);
    }
    let label = match Label::new(HOMEBREW_LABEL) {
        Ok(label) => label,
        Err(err) => return Knowable::unknown(err.to_string()),
    };
    let target = ServiceTarget::new(Domain::Gui(settings.machine.uid), label);
    match settings.run(&launchctl::print(&target)).await {
        Ok(out) => homebrew_job_of(&target, &out),
        Err(err) => Knowable::unknown(format!("Homebrew's job: {}", describe(&err))),
    }
}

/// What `launchctl print gui/<uid>/homebrew.mxcl.ollama` says about Homebrew's agent. Exit 112
/// (no GUI session for the user) means no agent of that user can be loaded at all, so it is
/// "not loaded"; any other failure is unknown.
pub(super) fn homebrew_job_of(
    target: &ServiceTarget,
    out: &Output,
) -> Knowable<Option<process::HomebrewJob>> {
    if out.status == Some(112) {
        return Knowable::Known(None);
    }
    match launchctl::parse_print(target, out.status, &out.stdout, &out.stderr) {
        Knowable::Known(JobStatus::Loaded(job)) => Knowable::Known(Some(process::HomebrewJob {
            target: target.clone(),
            pid: job.pid,
        })),
        Knowable::Known(JobStatus::NotLoaded) => Knowable::Known(None),
        Knowable::Unknown { reason } => Knowable::unknown(format!("Homebrew's job: {reason}")),
    }
}

#[cfg(test)]
mod tests {
    use super::homebrew_job_of;
    use crate::launchd::domain::{Domain, ServiceTarget};
    use crate::model::Knowable;
    use crate::model::desired::Label;
    use crate::observe::tests::output as out;

    #[test]
    fn a_failed_homebrew_probe_is_unknown_not_absent() {
        let target = ServiceTarget::new(
            Domain::Gui(501),
            Label::new("homebrew.mxcl.ollama").unwrap(),
        );
        let not_found = out(
            Some(113),
            "",
            "Could not find service \"homebrew.mxcl.ollama\" in domain for user gui: 501\n",
        );
        assert_eq!(homebrew_job_of(&target, &not_found), Knowable::Known(None));
        // No GUI session: no agent of that user can be loaded.
        let no_session = out(Some(112), "", "Could not find domain for user gui: 501\n");
        assert_eq!(homebrew_job_of(&target, &no_session), Knowable::Known(None));
        let Knowable::Unknown { reason } =
            homebrew_job_of(&target, &out(Some(5), "", "Input/output error\n"))
        else {
            panic!("a failed print must be unknown");
        };
        assert!(reason.starts_with("Homebrew's job: "), "{reason}");
        assert!(reason.contains("Input/output error"), "{reason}");
    }
}
