//! The effects of `verify`: observe, run `lsof`/`ps`/`ping`, send the HTTP requests, and
//! return [`Facts`]. Nothing here decides PASS or FAIL (that is [`super::judge()`]).
//!
//! Requests are sent one at a time (a real server runs one model request at a time anyway), as
//! the [`super::catalogue`] describes them, each with its own timeout: `MODEL_TIMEOUT` for
//! requests that run a model, [`SHORT_TIMEOUT`] for the rest. Model requests ask for one output
//! token, so they are cheap on a real server.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Instant;

use super::catalogue::{self, NONEXISTENT_MODEL, SHORT_TIMEOUT, is_dedicated, planned_probes};
use super::choice::{choose_model, installed_models};
use super::{Exchange, Facts, ModelInfo, ModelKind, Options, Outcome, PingOutcome, Probe};
use crate::model::desired::Desired;
use crate::observe::{self, Scope, Settings};
use crate::ollama::client::Client;
use crate::process;

/// How many models without capabilities in `/api/tags` are asked `/api/show`.
pub(crate) const SHOW_LIMIT: usize = 32;

/// Fills in the capabilities `/api/tags` did not list (servers before v0.30.0) from
/// `/api/show`, for at most [`SHOW_LIMIT`] models; a model `/api/show` cannot describe stays
/// unknown.
async fn with_capabilities(client: &Client, mut models: Vec<ModelInfo>) -> Vec<ModelInfo> {
    for info in models
        .iter_mut()
        .filter(|m| m.capabilities.is_empty())
        .take(SHOW_LIMIT)
    {
        match client.show(&info.name, SHORT_TIMEOUT).await {
            Ok(show) => {
                info.capabilities = show.capabilities;
                if info.family.is_none() && !show.details.family.is_empty() {
                    info.family = Some(show.details.family);
                }
            }
            Err(err) => tracing::debug!(model = %info.name, %err, "no capabilities from /api/show"),
        }
    }
    models
}

/// What every request of one run shares: the model, its kind, and the run's number (which
/// makes the long prefix of the prompt-reuse probes new to the server).
struct Run<'a> {
    model: &'a str,
    kind: ModelKind,
    number: u64,
}

async fn send(client: &Client, probe: Probe, run: &Run<'_>) -> Exchange {
    let catalogue::Request {
        method,
        path,
        body,
        headers,
        timeout,
    } = catalogue::request(probe, run.model, run.kind, run.number);
    let start = Instant::now();
    let mut result = client
        .raw(method, &path, headers, body.as_deref(), timeout)
        .await;
    // A pooled keep-alive connection that the server closed just as the request went out fails
    // with "connection closed before message completed" (hyper does not retry a POST); one fresh
    // try tells that race from a server that really drops requests. Refusals are not retried.
    if let Err(crate::ollama::client::OllamaError::Unreachable { reason, .. }) = &result
        && reason.contains("connection closed")
    {
        tracing::debug!(?probe, %reason, "retrying once on a fresh connection");
        result = client
            .raw(method, &path, headers, body.as_deref(), timeout)
            .await;
    }
    let elapsed_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let outcome = match result {
        Ok(reply) => Outcome::Answered {
            status: reply.status,
            content_type: reply.content_type,
            body: reply.body,
        },
        Err(err) => Outcome::Failed {
            reason: match err {
                crate::ollama::client::OllamaError::Unreachable { reason, .. } => reason,
                other => other.to_string(),
            },
        },
    };
    tracing::debug!(
        ?probe,
        what = catalogue::spec(probe).name,
        elapsed_ms,
        "verify request done"
    );
    Exchange {
        method: method.to_owned(),
        url: format!("{}{path}", client.base_url()),
        request: body,
        outcome,
        elapsed_ms,
    }
}

/// A number no earlier run used: the clock in nanoseconds.
fn run_number() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The loopback address of the same family as `host`.
fn loopback_of(host: IpAddr) -> IpAddr {
    match host {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
}

async fn ping_router(
    desired: &Desired,
    settings: &Settings,
    options: &Options,
) -> Option<PingOutcome> {
    let spec = desired.network.as_ref()?;
    if options.skip_router {
        return None;
    }
    Some(match settings.run(&process::ping(spec.router)).await {
        Ok(out) => PingOutcome::Ran {
            status: out.status,
            last_line: out
                .stdout
                .lines()
                .chain(out.stderr.lines())
                .map(str::trim)
                .rfind(|l| !l.is_empty())
                .unwrap_or_default()
                .to_owned(),
        },
        Err(err) => PingOutcome::Failed {
            reason: err.to_string(),
        },
    })
}

/// Probes the Mac and the server for `verify`.
pub(crate) async fn probe(desired: &Desired, settings: &Settings, options: &Options) -> Facts {
    let scope = Scope::of(desired);
    let ((observed, _timings), (listeners, processes), ping) = tokio::join!(
        observe::observe(&scope, settings),
        observe::listeners_and_processes(&scope, settings, ToString::to_string),
        ping_router(desired, settings, options),
    );
    let client = Client::new(desired.listen.connect_addr(), SHORT_TIMEOUT);
    let models = with_capabilities(&client, installed_models(&observed)).await;
    let (model, no_model) = match choose_model(desired, options, &models) {
        Ok(model) => (Some(model), None),
        Err(why) => (None, why),
    };
    let model_name = model
        .as_ref()
        .map_or_else(|| NONEXISTENT_MODEL.to_owned(), |m| m.name.clone());
    let run = Run {
        model: &model_name,
        kind: model.as_ref().map_or(ModelKind::Unknown, |m| m.kind),
        number: run_number(),
    };
    let mut http = BTreeMap::new();
    let root = send(&client, Probe::Root, &run).await;
    let answers = matches!(root.outcome, Outcome::Answered { .. });
    http.insert(Probe::Root, root);
    if is_dedicated(desired.listen.host) {
        let loopback = Client::new(
            SocketAddr::new(loopback_of(desired.listen.host), desired.listen.port),
            SHORT_TIMEOUT,
        );
        http.insert(
            Probe::Loopback,
            send(&loopback, Probe::Loopback, &run).await,
        );
    }
    if answers {
        for probe in planned_probes(options, model.is_some()) {
            http.insert(probe, send(&client, probe, &run).await);
        }
    }
    Facts {
        target: settings.target(&scope),
        url: client.base_url().to_owned(),
        observed,
        listeners,
        processes,
        model,
        no_model,
        http,
        ping,
    }
}
