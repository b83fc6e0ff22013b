//! The `network` checks: the bind address, loopback, the static IP, the router.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::{Check, Found, Judge, fail, skip};
use crate::model::Knowable;
use crate::model::desired::Desired;
use crate::model::observed::IpMethod;
use crate::verify::catalogue::is_dedicated;
use crate::verify::{Group, Outcome, PingOutcome, Probe};

/// The `NAME` lsof prints for a socket bound to the declared address.
fn lsof_address(desired: &Desired) -> String {
    let port = desired.listen.port;
    match desired.listen.host {
        host if host.is_unspecified() => format!("*:{port}"),
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

pub(super) fn checks(j: &mut Judge<'_>) {
    let g = Group::Network;
    let wanted = lsof_address(j.desired);
    let name = format!("bound to {wanted}");
    let check = Check {
        group: g,
        id: "bind",
        name: &name,
    };
    let found = match (j.job_listeners(), &j.facts.listeners) {
        (_, Knowable::Unknown { reason }) => fail(
            format!("unknown: {reason}"),
            "run `lsof -nP -iTCP -sTCP:LISTEN`",
        ),
        (None, _) => fail("unknown", "run `lsof -nP -iTCP -sTCP:LISTEN`"),
        (Some(mine), _) if mine.iter().any(|l| l.address == wanted) => Found::Pass(wanted.clone()),
        (Some(mine), _) if mine.is_empty() => {
            if j.loaded().and_then(|job| job.pid).is_none() {
                skip("the job is not running", "fix `service.process` first")
            } else {
                fail(
                    "the job listens nowhere on this port",
                    format!("see the log `{}`", j.stderr_log()),
                )
            }
        }
        (Some(mine), _) => fail(
            mine.iter()
                .map(|l| l.address.clone())
                .collect::<Vec<_>>()
                .join(", "),
            "the job binds another address: `ssollama apply` rewrites OLLAMA_HOST and reloads it",
        ),
    };
    j.push(check, &wanted, found, None);

    let port = j.desired.listen.port;
    let loopback = match j.desired.listen.host {
        IpAddr::V4(_) => format!("127.0.0.1:{port}"),
        IpAddr::V6(_) => format!("[::1]:{port}"),
    };
    let name = format!("{loopback} refuses connections (dedicated address only)");
    let check = Check {
        group: g,
        id: "loopback",
        name: &name,
    };
    let expected = "connection refused";
    let root_answers = j
        .facts
        .http
        .get(&Probe::Root)
        .is_some_and(|e| matches!(e.outcome, Outcome::Answered { .. }));
    if is_dedicated(j.desired.listen.host) {
        let exchange = j.facts.http.get(&Probe::Loopback);
        let found = match exchange.map(|e| &e.outcome) {
            None => skip("the request was not sent", "run `ssollama verify` again"),
            // Nothing listens at all: a refusal on loopback proves nothing about the bind.
            Some(Outcome::Failed { reason }) if !root_answers => skip(
                format!(
                    "nothing answers at {} either ({reason}): a refusal proves nothing",
                    j.facts.url
                ),
                "fix `service.http` first",
            ),
            // Only a refusal proves nothing listens; a timeout or a reset could hide a server.
            Some(Outcome::Failed { reason }) if reason.to_ascii_lowercase().contains("refused") => {
                Found::Pass(format!("no answer: {reason}"))
            }
            Some(Outcome::Failed { reason }) => skip(
                format!("cannot tell: {reason}"),
                "check by hand with `curl http://127.0.0.1:<port>/`: it must be refused",
            ),
            Some(Outcome::Answered { status, .. }) => fail(
                format!("HTTP {status}"),
                format!(
                    "something serves Ollama's port on loopback although listen.host is {}: a second server (Ollama.app, `brew services`, `ollama serve`) or a job bound to 0.0.0.0",
                    j.desired.listen.host
                ),
            ),
        };
        j.push(check, expected, found, exchange);
    } else {
        j.push(
            check,
            expected,
            skip(
                format!(
                    "listen.host is {}: loopback clients are meant to reach it",
                    j.desired.listen.host
                ),
                "bind a dedicated address in [listen] to check this",
            ),
            None,
        );
    }

    let check = Check {
        group: g,
        id: "static_ip",
        name: "static IPv4 is configured as declared",
    };
    let Some(spec) = &j.desired.network else {
        j.push(
            check,
            "[network] in server.toml",
            skip(
                "no [network] in server.toml",
                "declare [network] to manage and check the static IP",
            ),
            None,
        );
        j.push(
            Check {
                group: g,
                id: "router",
                name: "router answers ping",
            },
            "a reply",
            skip(
                "no [network] in server.toml",
                "declare [network] with its router to check it",
            ),
            None,
        );
        return;
    };
    let dns = spec.dns.as_ref().map(|servers| {
        servers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    });
    let mut expected = format!(
        "{} {} mask {} router {} on {:?}",
        IpMethod::Manual.label(),
        spec.address,
        spec.subnet_mask,
        spec.router,
        spec.service
    );
    if let Some(dns) = &dns {
        let _ = write!(
            expected,
            ", DNS {}",
            if dns.is_empty() { "(none)" } else { dns }
        );
    }
    let found = match &j.facts.observed.network {
        None | Some(Knowable::Unknown { .. }) => {
            let reason = match &j.facts.observed.network {
                Some(Knowable::Unknown { reason }) => reason.clone(),
                _ => "not observed".to_owned(),
            };
            fail(
                format!("unknown: {reason}"),
                format!("run `networksetup -getinfo {:?}`", spec.service),
            )
        }
        Some(Knowable::Known(state)) => match &state.info {
            None => fail(
                format!("network service {:?} does not exist", spec.service),
                "set `network.service` to a name from `networksetup -listallnetworkservices`",
            ),
            Some(Knowable::Unknown { reason }) => fail(
                format!("unknown: {reason}"),
                format!("run `networksetup -getinfo {:?}`", spec.service),
            ),
            Some(Knowable::Known(info)) => {
                let show = |a: Option<std::net::Ipv4Addr>| {
                    a.map_or_else(|| "none".to_owned(), |a| a.to_string())
                };
                let mut received = format!(
                    "{} {} mask {} router {}",
                    info.method.label(),
                    show(info.address),
                    show(info.subnet_mask),
                    show(info.router)
                );
                let ip_ok = spec.ip_differences(info).is_empty();
                let dns_ok = match (&spec.dns, &state.dns) {
                    (None, _) => true,
                    (Some(_), Some(Knowable::Known(have))) => {
                        let shown = have
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" ");
                        let _ = write!(
                            received,
                            ", DNS {}",
                            if shown.is_empty() { "(none)" } else { &shown }
                        );
                        spec.dns_matches(have)
                    }
                    (Some(_), _) => {
                        received.push_str(", DNS unknown");
                        false
                    }
                };
                if ip_ok && dns_ok {
                    Found::Pass(received)
                } else {
                    fail(
                        received,
                        "`ssollama apply` sets it (networksetup -setmanual / -setdnsservers)",
                    )
                }
            }
        },
    };
    j.push(check, &expected, found, None);

    let name = format!("router {} answers ping", spec.router);
    let check = Check {
        group: g,
        id: "router",
        name: &name,
    };
    let found = if j.options.skip_router {
        skip("left out by --skip-router", "run without --skip-router")
    } else {
        match &j.facts.ping {
            None => skip("ping was not run", "run `ssollama verify` again"),
            Some(PingOutcome::Ran {
                status: Some(0),
                last_line,
            }) => Found::Pass(last_line.clone()),
            Some(PingOutcome::Ran { status, last_line }) => fail(
                format!(
                    "no reply (exit {}): {last_line}",
                    status.map_or_else(|| "signal".to_owned(), |s| s.to_string())
                ),
                "check the cable, the router and `network.router`",
            ),
            Some(PingOutcome::Failed { reason }) => {
                fail(format!("could not run ping: {reason}"), "check /sbin/ping")
            }
        }
    };
    j.push(check, "a reply", found, None);
}
