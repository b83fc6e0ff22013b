//! `ssollama init --from-machine`: observe the job (agent first, then daemon), read its bind
//! address, ask Ollama there for its models, and write the `server.toml` that describes it.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use miette::{Report, miette};

use super::{refuse_existing, runtime, settings, write_server_toml};
use crate::adopt::{self, default_listen, observation_scope};
use crate::cli::args::InitArgs;
use crate::cli::{Context, ExitStatus};
use crate::model::Knowable;
use crate::model::desired::{Label, Mode};
use crate::model::observed::{IpConfig, JobStatus, PlistFile};
use crate::network::networksetup;
use crate::observe::{self, Settings};
use crate::text::home_path;

/// Whether the observation found the job (its file or launchd's loaded copy).
fn found(observed: &crate::model::Observed) -> bool {
    !matches!(observed.plist, PlistFile::Absent { .. })
        || matches!(observed.job, Knowable::Known(JobStatus::Loaded(_)))
}

/// Each enabled network service and its `-getinfo`; services that cannot be read are left out.
async fn service_configs(settings: &Settings) -> Vec<(String, IpConfig)> {
    let listed = match settings
        .run(&networksetup::list_all_network_services())
        .await
    {
        Ok(out) if out.success() => networksetup::parse_services(&out.stdout).unwrap_or_default(),
        _ => return Vec::new(),
    };
    let mut configs = Vec::new();
    for service in listed.into_iter().filter(|s| s.enabled) {
        if let Ok(out) = settings.run(&networksetup::get_info(&service.name)).await
            && out.success()
            && let Ok(info) = networksetup::parse_getinfo(&out.stdout)
        {
            configs.push((service.name, info));
        }
    }
    configs
}

/// `ssollama init --from-machine [--label L] [--network-service NAME] [FILE]`.
pub(super) fn run(ctx: &Context, args: &InitArgs, path: &Path) -> Result<ExitStatus, Report> {
    refuse_existing(
        path,
        "move it away and run `ssollama init --from-machine` again",
    )?;
    let label = Label::new(&args.label).map_err(|e| {
        miette!(
            code = "ssollama::init::label",
            "`--label {}` is not a launchd label: {e}",
            args.label
        )
    })?;
    let settings = settings(ctx)?;
    let service = args.network_service.as_deref();
    let rt = runtime()?;
    let agent = observation_scope(&label, Mode::Agent, default_listen(), service);
    let (mut observed, _) = rt.block_on(observe::observe(&agent, &settings));
    let mut daemon = false;
    if !found(&observed) {
        // The user is only the job's `UserName`; observation does not depend on it.
        let probe = observation_scope(
            &label,
            Mode::Daemon {
                user: "root".to_owned(),
            },
            default_listen(),
            service,
        );
        let (as_daemon, _) = rt.block_on(observe::observe(&probe, &settings));
        if found(&as_daemon) {
            observed = as_daemon;
            daemon = true;
        }
    }
    let job = adopt::read_job(&label, &observed)?;
    let mode = match (&job.user, daemon) {
        (Some(user), true) => Mode::Daemon { user: user.clone() },
        _ => Mode::Agent,
    };
    // A dedicated bind address without `--network-service`: the one service that has it.
    let mut service = service.map(str::to_owned);
    if service.is_none()
        && let Some(ip) = adopt::dedicated_address(job.listen.host)
    {
        let configs = rt.block_on(service_configs(&settings));
        if let Some(name) = adopt::service_with_address(&configs, ip) {
            let with_network = observation_scope(&label, mode.clone(), job.listen, Some(name));
            observed.network = rt
                .block_on(observe::observe(&with_network, &settings))
                .0
                .network;
            ctx.printer.note(&format!(
                "note: `{name}` has {ip} (manual): adopted as [network] (pass `--network-service` to choose another)\n"
            ));
            service = Some(name.to_owned());
        }
    }
    let service = service.as_deref();
    // Ask Ollama where this job makes it listen.
    let at_bind = observation_scope(&label, mode, job.listen, service);
    observed.ollama = rt.block_on(observe::ollama(&at_bind, &settings));
    // The one clock read: a model whose expiry is "forever" is pinned (`warm = true`).
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let adopted = adopt::server_toml(&label, daemon, &job, &observed, service, now)?;
    for note in &adopted.notes {
        ctx.printer.note(&format!("note: {note}\n"));
    }
    let from = home_path(Path::new(&job.path), ctx.env.home.as_deref());
    write_server_toml(
        ctx,
        path,
        &adopted.text,
        &format!("it describes `{from}`; to compare, run"),
    )?;
    Ok(ExitStatus::Success)
}
