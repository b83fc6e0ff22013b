//! The network service: the list of services, the service's `-getinfo` and its DNS servers.
//!
//! All three run at once; whether the service's info and DNS mean anything is decided after
//! they have all answered (they count only when the list has the service).

use super::{Scope, Settings, describe};
use crate::model::Knowable;
use crate::model::observed::NetworkState;
use crate::network::networksetup;
use crate::sys::exec::{ExecError, Output};

pub(super) async fn network(scope: &Scope, settings: &Settings) -> Option<Knowable<NetworkState>> {
    let spec = scope.network.as_ref()?;
    let (list_cmd, info_cmd, dns_cmd) = (
        networksetup::list_all_network_services(),
        networksetup::get_info(&spec.service),
        networksetup::get_dns_servers(&spec.service),
    );
    let (listed, info, dns) = tokio::join!(
        settings.run(&list_cmd),
        settings.run(&info_cmd),
        settings.run(&dns_cmd)
    );
    let listed = match networksetup_fact(listed, networksetup::parse_services) {
        Knowable::Known(services) => services,
        Knowable::Unknown { reason } => return Some(Knowable::Unknown { reason }),
    };
    if !listed.iter().any(|s| s.name == spec.service) {
        return Some(Knowable::Known(NetworkState {
            services: listed,
            info: None,
            dns: None,
        }));
    }
    Some(Knowable::Known(NetworkState {
        services: listed,
        info: Some(networksetup_fact(info, networksetup::parse_getinfo)),
        dns: Some(networksetup_fact(dns, networksetup::parse_dns)),
    }))
}

/// A `networksetup` run as a fact: `parse` of its stdout on success, else networksetup's error
/// (classified from its output), or why it did not run.
fn networksetup_fact<T, E: std::fmt::Display>(
    result: Result<Output, ExecError>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Knowable<T> {
    match result {
        Ok(out) if out.success() => parse(&out.stdout)
            .map_or_else(|err| Knowable::unknown(err.to_string()), Knowable::Known),
        Ok(out) => Knowable::unknown(
            networksetup::classify_error(out.status, &out.stdout, &out.stderr).to_string(),
        ),
        Err(err) => Knowable::unknown(describe(&err)),
    }
}
