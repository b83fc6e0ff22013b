//! The network service: the list of services, the service's `-getinfo` and its DNS servers.

use super::{Scope, Settings, describe};
use crate::model::Knowable;
use crate::model::observed::NetworkState;
use crate::network::networksetup;

pub(super) async fn network(scope: &Scope, settings: &Settings) -> Option<Knowable<NetworkState>> {
    let spec = scope.network.as_ref()?;
    let listed = match settings
        .run(&networksetup::list_all_network_services())
        .await
    {
        Ok(out) if out.success() => match networksetup::parse_services(&out.stdout) {
            Ok(services) => services,
            Err(err) => return Some(Knowable::unknown(err.to_string())),
        },
        Ok(out) => {
            let err = networksetup::classify_error(out.status, &out.stdout, &out.stderr);
            return Some(Knowable::unknown(err.to_string()));
        }
        Err(err) => return Some(Knowable::unknown(describe(&err))),
    };
    if !listed.iter().any(|s| s.name == spec.service) {
        return Some(Knowable::Known(NetworkState {
            services: listed,
            info: None,
            dns: None,
        }));
    }
    let (info_cmd, dns_cmd) = (
        networksetup::get_info(&spec.service),
        networksetup::get_dns_servers(&spec.service),
    );
    let (info, dns) = tokio::join!(settings.run(&info_cmd), settings.run(&dns_cmd));
    let info = match info {
        Ok(out) if out.success() => match networksetup::parse_getinfo(&out.stdout) {
            Ok(info) => Knowable::Known(info),
            Err(err) => Knowable::unknown(err.to_string()),
        },
        Ok(out) => Knowable::unknown(
            networksetup::classify_error(out.status, &out.stdout, &out.stderr).to_string(),
        ),
        Err(err) => Knowable::unknown(describe(&err)),
    };
    let dns = match dns {
        Ok(out) if out.success() => match networksetup::parse_dns(&out.stdout) {
            Ok(dns) => Knowable::Known(dns),
            Err(err) => Knowable::unknown(err.to_string()),
        },
        Ok(out) => Knowable::unknown(
            networksetup::classify_error(out.status, &out.stdout, &out.stderr).to_string(),
        ),
        Err(err) => Knowable::unknown(describe(&err)),
    };
    Some(Knowable::Known(NetworkState {
        services: listed,
        info: Some(info),
        dns: Some(dns),
    }))
}
