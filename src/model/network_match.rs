//! The network comparison: is the observed configuration of a network service the one
//! `[network]` declares (a manual IPv4 address, mask and router; the DNS servers in order). The
//! one statement of it; the planner and verify ask it.

use std::net::IpAddr;

use super::desired::NetworkSpec;
use super::observed::{IpConfig, IpMethod};

impl NetworkSpec {
    /// The IPv4 configuration `[network]` declares.
    #[must_use]
    pub(crate) fn ip_config(&self) -> IpConfig {
        IpConfig {
            method: IpMethod::Manual,
            address: Some(self.address),
            subnet_mask: Some(self.subnet_mask),
            router: Some(self.router),
        }
    }

    /// What of `info` differs from the declared configuration, as plans name it, in this
    /// order: `method`, `address`, `subnet mask`, `router`. Empty: it is the declared one.
    #[must_use]
    pub(crate) fn ip_differences(&self, info: &IpConfig) -> Vec<&'static str> {
        let wanted = self.ip_config();
        [
            ("method", info.method == wanted.method),
            ("address", info.address == wanted.address),
            ("subnet mask", info.subnet_mask == wanted.subnet_mask),
            ("router", info.router == wanted.router),
        ]
        .into_iter()
        .filter_map(|(what, same)| (!same).then_some(what))
        .collect()
    }

    /// Whether the service's DNS `servers` are the declared ones, in order (the resolver asks
    /// them in this order; the declared servers are IPv4, so any IPv6 server is a difference).
    /// True when `[network]` does not manage DNS.
    #[must_use]
    pub(crate) fn dns_matches(&self, servers: &[IpAddr]) -> bool {
        self.dns.as_ref().is_none_or(|wanted| {
            servers
                .iter()
                .copied()
                .eq(wanted.iter().copied().map(IpAddr::V4))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn spec(dns: Option<Vec<Ipv4Addr>>) -> NetworkSpec {
        NetworkSpec {
            service: "Ethernet".to_owned(),
            address: Ipv4Addr::new(192, 168, 250, 20),
            subnet_mask: Ipv4Addr::new(255, 255, 255, 0),
            router: Ipv4Addr::new(192, 168, 250, 1),
            dns,
        }
    }

    #[test]
    fn the_declared_configuration_has_no_difference() {
        let spec = spec(None);
        assert!(spec.ip_differences(&spec.ip_config()).is_empty());
        let dhcp = IpConfig {
            method: IpMethod::Dhcp,
            address: Some(Ipv4Addr::new(192, 168, 250, 57)),
            ..spec.ip_config()
        };
        assert_eq!(spec.ip_differences(&dhcp), ["method", "address"]);
        let bare = IpConfig {
            method: IpMethod::Manual,
            address: None,
            subnet_mask: None,
            router: None,
        };
        assert_eq!(
            spec.ip_differences(&bare),
            ["address", "subnet mask", "router"]
        );
    }

    #[test]
    fn dns_servers_match_in_order_and_unmanaged_dns_always_does() {
        let one = Ipv4Addr::new(1, 1, 1, 1);
        let router = Ipv4Addr::new(192, 168, 250, 1);
        let managed = spec(Some(vec![router, one]));
        assert!(managed.dns_matches(&[IpAddr::V4(router), IpAddr::V4(one)]));
        assert!(!managed.dns_matches(&[IpAddr::V4(one), IpAddr::V4(router)]));
        assert!(!managed.dns_matches(&[IpAddr::V4(router)]));
        assert!(spec(Some(Vec::new())).dns_matches(&[]));
        assert!(!spec(Some(Vec::new())).dns_matches(&["::1".parse().unwrap()]));
        assert!(spec(None).dns_matches(&[IpAddr::V4(one)]));
    }
}
