//! The fake `networksetup` and its state (`network/services.json`): ordered network services
//! with their IPv4 configuration and DNS servers, printed in the captured formats (docs/macos.md §6).
//!
//! Errors go to stdout (the captures show them in the terminal; which stream they use is not
//! established). Admin checks come before service validation (a capture with a bogus service
//! name still said "requires admin privileges").

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::cli::{Ctx, Outcome};
use crate::state;

/// An IPv4 configuration (address, mask, router; an empty router prints `(null)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// `IP address`.
    pub address: String,
    /// `Subnet mask`.
    pub mask: String,
    /// `Router` (empty = none).
    pub router: String,
}

impl Lease {
    /// A configuration.
    pub fn new(address: &str, mask: &str, router: &str) -> Self {
        Self {
            address: address.to_owned(),
            mask: mask.to_owned(),
            router: router.to_owned(),
        }
    }
}

/// How a service gets its IPv4 address (what tests seed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetConfig {
    /// DHCP, with the lease the server gave (or none: no lease yet).
    Dhcp(Option<Lease>),
    /// Manual (static) configuration.
    Manual(Lease),
}

/// The kind of hardware port (decides the last `-getinfo` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Hardware {
    /// Wired: `Ethernet Address: …`.
    #[default]
    Ethernet,
    /// Wireless: `Wi-Fi ID: …`.
    Wifi,
}

/// One network service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// Service name (`Ethernet`, `Wi-Fi`, `USB 10/100/1000 LAN`).
    pub name: String,
    /// Enabled (a disabled one is listed with `*`).
    pub enabled: bool,
    /// Port kind.
    #[serde(default)]
    pub hardware: Hardware,
    /// MAC address, or `(null)`.
    #[serde(default = "null_text")]
    pub hardware_address: String,
    /// BSD device (`en0`) for `-listnetworkserviceorder`.
    #[serde(default)]
    pub device: String,
    /// Hardware port name for `-listnetworkserviceorder` (the service name when absent).
    #[serde(default)]
    pub hardware_port: Option<String>,
    /// Current IPv4 configuration.
    pub config: NetConfig,
    /// The DHCP lease to fall back to after `-setdhcp`.
    #[serde(default)]
    pub dhcp_lease: Option<Lease>,
    /// DHCP client id (`Client ID:` line).
    #[serde(default)]
    pub client_id: String,
    /// The `IPv6: …` line's value; `None` omits the line (as in one real capture).
    #[serde(default = "ipv6_automatic")]
    pub ipv6: Option<String>,
    /// DNS servers.
    #[serde(default)]
    pub dns: Vec<String>,
    /// Search domains.
    #[serde(default)]
    pub search_domains: Vec<String>,
}

fn null_text() -> String {
    "(null)".to_owned()
}

#[expect(clippy::unnecessary_wraps, reason = "serde default function")]
fn ipv6_automatic() -> Option<String> {
    Some("Automatic".to_owned())
}

impl Service {
    /// A wired service named `name` with `config`, IPv6 automatic, no DNS.
    pub fn new(name: &str, enabled: bool, config: NetConfig) -> Self {
        let dhcp_lease = match &config {
            NetConfig::Dhcp(lease) => lease.clone(),
            NetConfig::Manual(_) => None,
        };
        let hardware = if name.contains("Wi-Fi") || name.contains("AirPort") {
            Hardware::Wifi
        } else {
            Hardware::Ethernet
        };
        Self {
            name: name.to_owned(),
            enabled,
            hardware,
            hardware_address: null_text(),
            device: String::new(),
            hardware_port: None,
            config,
            dhcp_lease,
            client_id: String::new(),
            ipv6: ipv6_automatic(),
            dns: Vec::new(),
            search_domains: Vec::new(),
        }
    }
}

/// `network/services.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Services {
    /// In service order.
    pub services: Vec<Service>,
}

/// Reads `network/services.json` (empty when absent).
pub fn load(ctx_mac: &state::Mac) -> Services {
    state::read_json(&ctx_mac.services_path()).unwrap_or_default()
}

/// Replaces `network/services.json`.
pub fn save(ctx_mac: &state::Mac, services: &Services) -> std::io::Result<()> {
    state::write_json(&ctx_mac.services_path(), services)
}

const INVALID: &str = "** Error: The parameters were not valid.\n";

fn unknown_service(name: &str) -> Outcome {
    Outcome::out(
        4,
        format!("{name} is not a recognized network service.\n{INVALID}"),
    )
}

/// Runs `networksetup args…`.
pub fn networksetup(ctx: &Ctx, args: &[String]) -> Outcome {
    ctx.mac.inject_delay("networksetup-delay-ms");
    let Some((cmd, rest)) = args.split_first() else {
        return Outcome::out(0, "Usage: networksetup -listallnetworkservices\n");
    };
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let setter = cmd.starts_with("-set");
    if setter && !(ctx.machine.admin || ctx.is_root()) {
        return Outcome::out(14, "** Error: Command requires admin privileges.\n").mutating(true);
    }
    let outcome = if setter {
        ctx.mac.locked(|| set(ctx, cmd, &rest))
    } else {
        get(ctx, cmd, &rest)
    };
    outcome.mutating(setter)
}

fn get(ctx: &Ctx, cmd: &str, args: &[&str]) -> Outcome {
    let services = load(&ctx.mac);
    match cmd {
        "-listallnetworkservices" => {
            let mut out =
                String::from("An asterisk (*) denotes that a network service is disabled.\n");
            for svc in &services.services {
                let star = if svc.enabled { "" } else { "*" };
                let _ = writeln!(out, "{star}{}", svc.name);
            }
            Outcome::ok(out)
        }
        "-listnetworkserviceorder" => {
            let mut out =
                String::from("An asterisk (*) denotes that a network service is disabled.\n");
            let blocks: Vec<String> = services
                .services
                .iter()
                .enumerate()
                .map(|(i, svc)| {
                    let n = if svc.enabled {
                        (i + 1).to_string()
                    } else {
                        "*".to_owned()
                    };
                    format!(
                        "({n}) {}\n(Hardware Port: {}, Device: {})\n",
                        svc.name,
                        svc.hardware_port.as_deref().unwrap_or(&svc.name),
                        svc.device
                    )
                })
                .collect();
            out.push_str(&blocks.join("\n"));
            Outcome::ok(out)
        }
        "-getinfo" | "-getdnsservers" | "-getsearchdomains" | "-getnetworkserviceenabled" => {
            // Extra words (an unquoted service name split by the shell) are ignored, as in the
            // capture where `Bluetooth DUN` became `Bluetooth`.
            let Some(name) = args.first() else {
                return Outcome::out(4, INVALID);
            };
            let Some(svc) = services.services.iter().find(|s| s.name == *name) else {
                return unknown_service(name);
            };
            Outcome::ok(match cmd {
                "-getinfo" => getinfo(svc),
                "-getdnsservers" => list_or(
                    &svc.dns,
                    &format!("There aren't any DNS Servers set on {name}.\n"),
                ),
                "-getsearchdomains" => list_or(
                    &svc.search_domains,
                    &format!("There aren't any Search Domains set on {name}.\n"),
                ),
                _ => if svc.enabled {
                    "Enabled\n"
                } else {
                    "Disabled\n"
                }
                .to_owned(),
            })
        }
        other => Outcome::out(
            1,
            format!("Error: {other} is not a recognized command.\n{INVALID}"),
        ),
    }
}

fn list_or(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        empty.to_owned()
    } else {
        items.iter().fold(String::new(), |mut out, i| {
            let _ = writeln!(out, "{i}");
            out
        })
    }
}

/// `-getinfo` text for a service.
pub fn getinfo(svc: &Service) -> String {
    let mut out = String::new();
    let ipv4 = |out: &mut String, lease: &Lease| {
        let router = if lease.router.is_empty() {
            "(null)"
        } else {
            lease.router.as_str()
        };
        let _ = write!(
            out,
            "IP address: {}\nSubnet mask: {}\nRouter: {router}\n",
            lease.address, lease.mask
        );
    };
    match &svc.config {
        NetConfig::Dhcp(lease) => {
            out.push_str("DHCP Configuration\n");
            if let Some(lease) = lease {
                ipv4(&mut out, lease);
            }
            if svc.client_id.is_empty() {
                out.push_str("Client ID:\n");
            } else {
                let _ = writeln!(out, "Client ID: {}", svc.client_id);
            }
        }
        NetConfig::Manual(lease) => {
            out.push_str("Manual Configuration\n");
            ipv4(&mut out, lease);
        }
    }
    if let Some(ipv6) = &svc.ipv6 {
        let _ = writeln!(out, "IPv6: {ipv6}");
    }
    out.push_str("IPv6 IP address: none\nIPv6 Router: none\n");
    let hw = match svc.hardware {
        Hardware::Ethernet => "Ethernet Address",
        Hardware::Wifi => "Wi-Fi ID",
    };
    let _ = writeln!(out, "{hw}: {}", svc.hardware_address);
    out
}

/// Whether `faults/network-managed` names `service` (or is empty: every service): a manual
/// address set on it does not stay.
fn reverted_by_profile(ctx: &Ctx, service: &str) -> bool {
    ctx.mac
        .fault("network-managed")
        .is_some_and(|names| names.is_empty() || names.lines().any(|n| n.trim() == service))
}

fn set(ctx: &Ctx, cmd: &str, args: &[&str]) -> Outcome {
    let mut services = load(&ctx.mac);
    let Some((name, values)) = args.split_first() else {
        return Outcome::out(4, INVALID);
    };
    let known = [
        "-setmanual",
        "-setdhcp",
        "-setdnsservers",
        "-setsearchdomains",
        "-setnetworkserviceenabled",
    ];
    if !known.contains(&cmd) {
        return Outcome::out(
            1,
            format!("Error: {cmd} is not a recognized command.\n{INVALID}"),
        );
    }
    let Some(svc) = services.services.iter_mut().find(|s| s.name == *name) else {
        return unknown_service(name);
    };
    let empty = |v: &[&str]| matches!(v, ["empty" | "Empty"]);
    match (cmd, values) {
        ("-setmanual", [_, _, _]) if reverted_by_profile(ctx, name) => {
            // `faults/network-managed`: the setting is put back at once by whoever manages
            // this service (a configuration profile's network payload, a management agent);
            // `networksetup` itself still exits 0 with no output, as it does on success.
            return Outcome::ok("");
        }
        ("-setmanual", [ip, mask, router]) => {
            if let NetConfig::Dhcp(lease) = &svc.config {
                svc.dhcp_lease = lease.clone();
            }
            svc.config = NetConfig::Manual(Lease::new(ip, mask, router));
        }
        ("-setdhcp", [] | [_]) => {
            if let [id] = values {
                svc.client_id = if *id == "Empty" {
                    String::new()
                } else {
                    (*id).to_owned()
                };
            }
            svc.config = NetConfig::Dhcp(svc.dhcp_lease.clone());
        }
        ("-setdnsservers", v) if !v.is_empty() => {
            svc.dns = if empty(v) {
                Vec::new()
            } else {
                v.iter().map(|s| (*s).to_owned()).collect()
            };
        }
        ("-setsearchdomains", v) if !v.is_empty() => {
            svc.search_domains = if empty(v) {
                Vec::new()
            } else {
                v.iter().map(|s| (*s).to_owned()).collect()
            };
        }
        ("-setnetworkserviceenabled", [on]) => match *on {
            "on" => svc.enabled = true,
            "off" => svc.enabled = false,
            _ => return Outcome::out(4, INVALID),
        },
        _ => return Outcome::out(4, INVALID),
    }
    match save(&ctx.mac, &services) {
        Ok(()) => Outcome::ok(""),
        Err(e) => Outcome::out(1, format!("** Error: {e}\n")),
    }
}
