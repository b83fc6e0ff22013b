//! `network.service[…]`: the static IPv4 configuration and DNS servers of one network service.

use serde_json::{Value as Json, json};

use super::{Action, Address, Blocker, Change, Context, Operation, Plan};
use crate::model::Knowable;
use crate::model::desired::NetworkSpec;
use crate::model::observed::{IpConfig, NetworkState};

/// Registered in [`super::RESOURCES`]: only when `server.toml` declares `[network]`.
pub(super) fn plan(cx: &mut Context<'_>, plan: &mut Plan) {
    if let Some(spec) = &cx.desired.network {
        plan_network(spec, cx.observed.network.as_ref(), plan);
    }
}

fn ip_json(config: &IpConfig) -> Json {
    let show = |addr: Option<std::net::Ipv4Addr>| addr.map_or(Json::Null, |a| json!(a.to_string()));
    json!({
        "method": config.method.name(),
        "address": show(config.address),
        "subnet_mask": show(config.subnet_mask),
        "router": show(config.router),
    })
}

fn dns_json<T: std::fmt::Display>(servers: &[T]) -> Json {
    Json::Array(servers.iter().map(|s| json!(s.to_string())).collect())
}

/// Step 3: the static IPv4 configuration and DNS of one network service.
fn plan_network(spec: &NetworkSpec, observed: Option<&Knowable<NetworkState>>, plan: &mut Plan) {
    let address = Address::network(&spec.service);
    let state = match observed {
        None => {
            plan.unknowns
                .push(format!("{address}: the network was not observed"));
            return;
        }
        Some(Knowable::Unknown { reason }) => {
            plan.unknowns.push(format!("{address}: {reason}"));
            return;
        }
        Some(Knowable::Known(state)) => state,
    };
    if !state.services.iter().any(|s| s.name == spec.service) {
        let names = state
            .services
            .iter()
            .map(|s| format!("{:?}", s.name))
            .collect::<Vec<_>>()
            .join(", ");
        plan.blockers.push(Blocker {
            resource: address,
            problem: format!(
                "network service {:?} does not exist; services are: {}",
                spec.service,
                if names.is_empty() {
                    "(none listed)"
                } else {
                    &names
                }
            ),
            fix: "set `network.service` in server.toml to one of the listed services".to_owned(),
        });
        return;
    }
    match &state.info {
        None => plan
            .unknowns
            .push(format!("{address}: its configuration was not read")),
        Some(Knowable::Unknown { reason }) => plan.unknowns.push(format!("{address}: {reason}")),
        Some(Knowable::Known(info)) => {
            let differs = spec.ip_differences(info);
            if !differs.is_empty() {
                let wanted = spec.ip_config();
                plan.changes.push(Change {
                    resource: address.clone(),
                    action: Action::SetNetwork,
                    reason: format!(
                        "{} differ{}",
                        differs.join(", "),
                        if differs.len() == 1 { "s" } else { "" }
                    ),
                    before: ip_json(info),
                    after: ip_json(&wanted),
                    operation: Operation::SetManual {
                        service: spec.service.clone(),
                        address: spec.address,
                        subnet_mask: spec.subnet_mask,
                        router: spec.router,
                    },
                });
            }
        }
    }
    let Some(wanted) = &spec.dns else {
        return;
    };
    match &state.dns {
        None => plan
            .unknowns
            .push(format!("{address}: its DNS servers were not read")),
        Some(Knowable::Unknown { reason }) => {
            plan.unknowns
                .push(format!("{address}: DNS servers: {reason}"));
        }
        Some(Knowable::Known(servers)) if !spec.dns_matches(servers) => {
            plan.changes.push(Change {
                resource: address,
                action: Action::SetDns,
                reason: "dns servers differ".to_owned(),
                before: json!({ "dns": dns_json(servers) }),
                after: json!({ "dns": dns_json(wanted) }),
                operation: Operation::SetDnsServers {
                    service: spec.service.clone(),
                    servers: wanted.clone(),
                },
            });
        }
        Some(Knowable::Known(_)) => {}
    }
}
