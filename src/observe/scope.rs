//! [`Scope`]: what one observation looks at (the job, the bind address, the network service,
//! the log files), built from a [`Desired`] by [`Scope::of`], or by `adopt` from what it knows
//! before there is a `server.toml`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use crate::model::Desired;
use crate::model::desired::{Label, Listen, Logs, Mode};
use crate::ollama::name::ModelName;

/// What to observe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The job's label (its plist is named after it).
    pub label: Label,
    /// Agent (`gui/<uid>`, `~/Library/LaunchAgents`) or daemon (`system`, `/Library/LaunchDaemons`).
    pub mode: Mode,
    /// `service.program`: the only `ollama` looked at when set; else the known paths.
    pub program: Option<PathBuf>,
    /// Where Ollama's API is asked, and the port `lsof` looks at.
    pub listen: Listen,
    /// The network service to read, when there is one.
    pub(crate) network: Option<NetworkScope>,
    /// The log files whose owner and mode are read.
    pub logs: Logs,
    /// The models `/api/show` is asked about: every declared model and its derived model
    /// (cloud models excepted: their show goes to the cloud).
    pub models: Vec<ModelName>,
}

/// The network service an observation reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NetworkScope {
    /// Its name (from `networksetup -listallnetworkservices`).
    pub service: String,
    /// The address it is to have, when declared: while the service does not have it and the
    /// API is to be asked there, whatever answers is another Mac (see `not_here_yet`).
    pub address: Option<Ipv4Addr>,
}

impl Scope {
    /// What observing for `desired` looks at.
    pub fn of(desired: &Desired) -> Self {
        Self {
            label: desired.service.label.clone(),
            mode: desired.service.mode.clone(),
            program: desired.service.program.clone(),
            listen: desired.listen,
            network: desired.network.as_ref().map(|spec| NetworkScope {
                service: spec.service.clone(),
                address: Some(spec.address),
            }),
            logs: desired.logs.clone(),
            models: desired
                .models
                .iter()
                .filter(|spec| !spec.name.is_cloud())
                .flat_map(|spec| {
                    std::iter::once(spec.name.clone())
                        .chain(spec.derived.as_ref().map(|d| d.name.clone()))
                })
                .collect(),
        }
    }

    /// The declared address of the network service, when the API is asked there.
    pub(super) fn own_address(&self) -> Option<(&NetworkScope, Ipv4Addr)> {
        let network = self.network.as_ref()?;
        let address = network.address?;
        (self.listen.host == IpAddr::V4(address)).then_some((network, address))
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::path::PathBuf;

    use super::{NetworkScope, Scope};
    use crate::model::desired::{Label, Listen, Logs, Mode};

    fn scope(host: Ipv4Addr, address: Option<Ipv4Addr>) -> Scope {
        Scope {
            label: Label::new("com.ollama").unwrap(),
            mode: Mode::Agent,
            program: None,
            listen: Listen {
                host: IpAddr::V4(host),
                port: 11434,
            },
            network: Some(NetworkScope {
                service: "Ethernet".to_owned(),
                address,
            }),
            logs: Logs {
                stdout: PathBuf::from("/tmp/o"),
                stderr: PathBuf::from("/tmp/e"),
            },
            models: Vec::new(),
        }
    }

    #[test]
    fn only_a_declared_address_that_is_the_bind_address_is_this_macs_own() {
        let ip = Ipv4Addr::new(192, 168, 250, 20);
        let own = scope(ip, Some(ip));
        assert_eq!(own.own_address().map(|(_, a)| a), Some(ip));
        // Listening elsewhere, or a network read without a declared address (adopt): none.
        assert_eq!(scope(Ipv4Addr::LOCALHOST, Some(ip)).own_address(), None);
        assert_eq!(scope(Ipv4Addr::UNSPECIFIED, None).own_address(), None);
    }
}
