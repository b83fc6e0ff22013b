//! `networksetup` command lines ([`Cmd`] values) and readers for what it prints.
//!
//! Pure: builds commands and parses `(status, stdout, stderr)`; never runs anything. Formats are
//! from real captures (docs/macos.md §6): `-listallnetworkservices` starts with an asterisk notice and
//! marks disabled services with a leading `*`; `-getinfo` starts with the method line and may
//! omit any other line; errors are `** Error: …` lines, sometimes with exit 0 (§6.7).

use std::net::{IpAddr, Ipv4Addr};

use crate::model::observed::{IpConfig, IpMethod, NetworkService};
use crate::sys::exec::Cmd;
use crate::sys::tools::Tool;
use crate::text::tool_excerpt;

/// The first line of `-listallnetworkservices`.
const ASTERISK_NOTICE: &str = "An asterisk (*) denotes that a network service is disabled.";

/// What `networksetup` says for a service name it does not know (after the name).
const NOT_A_SERVICE: &str = " is not a recognized network service";

/// What `networksetup` says to a user without admin rights (exit 14).
const NEEDS_ADMIN: &str = "requires admin privileges";

/// Why a `networksetup` output could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseError {
    /// Nothing but blank lines.
    #[error("the output is empty")]
    Empty,
    /// `networksetup` printed an error instead of an answer.
    #[error("networksetup printed an error: {message}")]
    ToolError {
        /// The error lines, trimmed and bounded.
        message: String,
    },
    /// A line in an unexpected shape.
    #[error("line {line}: {problem}: `{excerpt}`")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        problem: String,
        /// The line, bounded.
        excerpt: String,
    },
}

fn bad_line(line: usize, problem: impl Into<String>, text: &str) -> ParseError {
    ParseError::BadLine {
        line,
        problem: problem.into(),
        excerpt: tool_excerpt(text),
    }
}

/// Refuses output that holds a `** Error` line or a "not a recognized network service" line.
fn refuse_tool_errors(stdout: &str) -> Result<(), ParseError> {
    if stdout
        .lines()
        .any(|line| line.trim_start().starts_with("** Error") || line.contains(NOT_A_SERVICE))
    {
        return Err(ParseError::ToolError {
            message: tool_excerpt(stdout),
        });
    }
    Ok(())
}

/// Non-blank lines with their 1-based numbers, trimmed of trailing whitespace.
fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim_end()))
        .filter(|(_, line)| !line.trim().is_empty())
}

fn networksetup(args: Vec<String>) -> Cmd {
    Cmd::new(Tool::Networksetup, args)
}

/// `networksetup -listallnetworkservices`.
pub(crate) fn list_all_network_services() -> Cmd {
    networksetup(vec!["-listallnetworkservices".to_owned()])
}

/// `networksetup -getinfo <service>`.
pub(crate) fn get_info(service: &str) -> Cmd {
    networksetup(vec!["-getinfo".to_owned(), service.to_owned()])
}

/// `networksetup -getdnsservers <service>`.
pub(crate) fn get_dns_servers(service: &str) -> Cmd {
    networksetup(vec!["-getdnsservers".to_owned(), service.to_owned()])
}

/// `networksetup -setmanual <service> <ip> <mask> <router>` (needs admin; run through `sudo`).
/// It does not touch DNS.
pub(crate) fn set_manual(
    service: &str,
    address: Ipv4Addr,
    subnet_mask: Ipv4Addr,
    router: Ipv4Addr,
) -> Cmd {
    networksetup(vec![
        "-setmanual".to_owned(),
        service.to_owned(),
        address.to_string(),
        subnet_mask.to_string(),
        router.to_string(),
    ])
}

/// `networksetup -setdhcp <service>` (needs admin).
pub(crate) fn set_dhcp(service: &str) -> Cmd {
    networksetup(vec!["-setdhcp".to_owned(), service.to_owned()])
}

/// `networksetup -setdnsservers <service> <dns>…`, or `… empty` to clear them (needs admin).
pub(crate) fn set_dns_servers(service: &str, servers: &[Ipv4Addr]) -> Cmd {
    let mut args = vec!["-setdnsservers".to_owned(), service.to_owned()];
    if servers.is_empty() {
        args.push("empty".to_owned());
    } else {
        args.extend(servers.iter().map(ToString::to_string));
    }
    networksetup(args)
}

/// Reads `-listallnetworkservices`: every service after the asterisk notice, `*` = disabled.
///
/// # Errors
/// [`ParseError`] when the output is empty, holds an error line, does not start with the
/// asterisk notice, or lists a service with an empty name.
pub(crate) fn parse_services(stdout: &str) -> Result<Vec<NetworkService>, ParseError> {
    refuse_tool_errors(stdout)?;
    let mut lines = numbered_lines(stdout);
    let (number, first) = lines.next().ok_or(ParseError::Empty)?;
    if first.trim() != ASTERISK_NOTICE {
        return Err(bad_line(
            number,
            "expected the asterisk notice first",
            first,
        ));
    }
    lines
        .map(|(number, line)| {
            let (name, enabled) = match line.strip_prefix('*') {
                Some(name) => (name, false),
                None => (line, true),
            };
            if name.trim().is_empty() {
                return Err(bad_line(number, "a service without a name", line));
            }
            Ok(NetworkService {
                name: name.to_owned(),
                enabled,
            })
        })
        .collect()
}

/// `IP address:`-style values: `none`, `(null)` and empty mean "not set".
fn parse_address(value: &str, number: usize, line: &str) -> Result<Option<Ipv4Addr>, ParseError> {
    let value = value.trim();
    if matches!(value, "" | "none" | "(null)") {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| bad_line(number, "not an IPv4 address", line))
}

/// Reads `-getinfo <service>`, IPv4 part.
///
/// The first non-blank line is the method (`DHCP Configuration`, `Manual Configuration`, …).
/// Only lines starting exactly with `IP address: `, `Subnet mask: ` and `Router: ` are read —
/// never the `IPv6 …` lines; any of them may be absent.
///
/// # Errors
/// [`ParseError`] when the output is empty, holds an error line, does not start with a
/// `… Configuration` line, repeats a line, or has a value that is not an IPv4 address.
pub(crate) fn parse_getinfo(stdout: &str) -> Result<IpConfig, ParseError> {
    refuse_tool_errors(stdout)?;
    let mut lines = numbered_lines(stdout);
    let (number, first) = lines.next().ok_or(ParseError::Empty)?;
    let method = match first.trim() {
        "DHCP Configuration" => IpMethod::Dhcp,
        "Manual Configuration" => IpMethod::Manual,
        "BOOTP Configuration" => IpMethod::Bootp,
        other if other.ends_with(" Configuration") => IpMethod::Other(other.to_owned()),
        _ => {
            return Err(bad_line(
                number,
                "expected a `… Configuration` line first",
                first,
            ));
        }
    };
    let mut config = IpConfig {
        method,
        address: None,
        subnet_mask: None,
        router: None,
    };
    let mut seen = [false; 3];
    for (number, line) in lines {
        let (slot, index, value) = if let Some(value) = line.strip_prefix("IP address:") {
            (&mut config.address, 0, value)
        } else if let Some(value) = line.strip_prefix("Subnet mask:") {
            (&mut config.subnet_mask, 1, value)
        } else if let Some(value) = line.strip_prefix("Router:") {
            (&mut config.router, 2, value)
        } else {
            continue;
        };
        if seen[index] {
            return Err(bad_line(number, "this line appears twice", line));
        }
        seen[index] = true;
        *slot = parse_address(value, number, line)?;
    }
    Ok(config)
}

/// Reads `-getdnsservers <service>`: one IPv4 or IPv6 address per line (an IPv6 zone such as
/// `%en0` is dropped), or none for `There aren't any DNS Servers set on <service>.`.
///
/// # Errors
/// [`ParseError`] when the output is empty, holds an error line, or has a line that is not an
/// IPv4 or IPv6 address.
pub(crate) fn parse_dns(stdout: &str) -> Result<Vec<IpAddr>, ParseError> {
    refuse_tool_errors(stdout)?;
    let lines: Vec<(usize, &str)> = numbered_lines(stdout).collect();
    match lines.as_slice() {
        [] => Err(ParseError::Empty),
        [(_, only)]
            if only
                .trim()
                .starts_with("There aren't any DNS Servers set on ") =>
        {
            Ok(Vec::new())
        }
        lines => lines
            .iter()
            .map(|&(number, line)| {
                let text = line.trim();
                // A link-local IPv6 server may carry its zone (`fe80::1%en0`): dropped, as an
                // `IpAddr` cannot hold it (and ssollama only ever sets IPv4 servers).
                let text = match text.split_once('%') {
                    Some((address, _zone)) if address.contains(':') => address,
                    _ => text,
                };
                text.parse()
                    .map_err(|_| bad_line(number, "not an IP address", line))
            })
            .collect(),
    }
}

/// A `networksetup` command that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub(crate) enum NetworksetupError {
    /// Exit 4 with `<name> is not a recognized network service.`: the name is wrong (renamed,
    /// localized, or split on spaces).
    #[error("`{service}` is not a recognized network service")]
    #[diagnostic(
        code(ssollama::networksetup::unknown_service),
        help("`networksetup -listallnetworkservices` lists the names this Mac knows")
    )]
    UnknownService {
        /// The name as networksetup printed it.
        service: String,
        /// Everything it printed, bounded.
        message: String,
    },
    /// Exit 14 / `Command requires admin privileges.`.
    #[error("networksetup needs admin privileges: {message}")]
    #[diagnostic(
        code(ssollama::networksetup::needs_admin),
        help("run the change through sudo (as an administrator)")
    )]
    NeedsAdmin {
        /// Everything it printed, bounded.
        message: String,
    },
    /// Any other failure, including a `** Error` line with exit 0.
    #[error("networksetup failed ({status}): {message}")]
    #[diagnostic(code(ssollama::networksetup::failed))]
    Failed {
        /// `exit N` or `a signal`.
        status: String,
        /// Everything it printed, bounded.
        message: String,
    },
}

/// Classifies a failed `networksetup` run from its status and both streams (the captures do not
/// establish which stream the error lines go to, so both are read).
pub(crate) fn classify_error(status: Option<i32>, stdout: &str, stderr: &str) -> NetworksetupError {
    let both = format!("{stdout}\n{stderr}");
    let message = tool_excerpt(&both);
    let unknown = both.lines().find_map(|line| {
        line.trim()
            .split_once(NOT_A_SERVICE)
            .map(|(service, _)| service.to_owned())
    });
    if let Some(service) = unknown {
        return NetworksetupError::UnknownService { service, message };
    }
    if status == Some(14) || both.contains(NEEDS_ADMIN) {
        return NetworksetupError::NeedsAdmin { message };
    }
    NetworksetupError::Failed {
        status: status.map_or_else(|| "a signal".to_owned(), |code| format!("exit {code}")),
        message,
    }
}

/// Whether a finished `networksetup` run failed: a non-zero status, or a `** Error` line even
/// with exit 0 (docs/macos.md §6.7).
///
/// # Errors
/// The [`classify_error`] of a failed run.
pub(crate) fn check(
    status: Option<i32>,
    stdout: &str,
    stderr: &str,
) -> Result<(), NetworksetupError> {
    let error_line = stdout
        .lines()
        .chain(stderr.lines())
        .any(|line| line.trim_start().starts_with("** Error"));
    if status == Some(0) && !error_line {
        Ok(())
    } else {
        Err(classify_error(status, stdout, stderr))
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use proptest::prelude::proptest;

    use super::{
        NetworksetupError, ParseError, check, classify_error, get_dns_servers, get_info,
        list_all_network_services, parse_dns, parse_getinfo, parse_services, set_dhcp,
        set_dns_servers, set_manual,
    };
    use crate::model::observed::{IpConfig, IpMethod};
    use std::net::IpAddr;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/macos/networksetup/",
                $name
            ))
        };
    }

    const SERVICES: &str = fixture!("listallnetworkservices.txt");
    const DHCP_ETHERNET: &str = fixture!("getinfo-dhcp-ethernet.txt");
    const DHCP_NO_LEASE: &str = fixture!("getinfo-dhcp-nolease.txt");
    const MANUAL: &str = fixture!("getinfo-manual.txt");
    const MANUAL_WIFI: &str = fixture!("getinfo-manual-wifi.txt");
    const NULL_ROUTER: &str = fixture!("getinfo-manual-null-router-trimmed.txt");
    const DNS_EMPTY: &str = fixture!("getdnsservers-empty.txt");
    const DNS_ONE: &str = fixture!("getdnsservers-one.txt");
    const UNKNOWN_SERVICE: &str = fixture!("unknown-service.txt");
    const ADMIN_REQUIRED: &str = fixture!("admin-required.txt");

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    #[test]
    fn builders_spell_the_networksetup_flags() {
        let lines: Vec<String> = [
            list_all_network_services(),
            get_info("USB 10/100/1000 LAN"),
            get_dns_servers("Ethernet"),
            set_manual(
                "USB 10/100/1000 LAN",
                ip("192.168.100.100"),
                ip("255.255.255.0"),
                ip("192.168.100.1"),
            ),
            set_dhcp("Wi-Fi"),
            set_dns_servers("Ethernet", &[ip("10.4.0.1"), ip("1.1.1.1")]),
            set_dns_servers("Ethernet", &[]),
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        insta::assert_snapshot!(lines.join("\n"), @r"
        /usr/sbin/networksetup -listallnetworkservices
        /usr/sbin/networksetup -getinfo 'USB 10/100/1000 LAN'
        /usr/sbin/networksetup -getdnsservers Ethernet
        /usr/sbin/networksetup -setmanual 'USB 10/100/1000 LAN' 192.168.100.100 255.255.255.0 192.168.100.1
        /usr/sbin/networksetup -setdhcp Wi-Fi
        /usr/sbin/networksetup -setdnsservers Ethernet 10.4.0.1 1.1.1.1
        /usr/sbin/networksetup -setdnsservers Ethernet empty
        ");
        // The service name stays one argument, spaces and all.
        assert_eq!(
            get_info("USB 10/100/1000 LAN").args[1],
            "USB 10/100/1000 LAN"
        );
    }

    #[test]
    fn services_drop_the_notice_and_mark_asterisks_disabled() {
        let services = parse_services(SERVICES).unwrap();
        let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Wi-Fi",
                "USB 10/100/1000 LAN",
                "Thunderbolt Bridge",
                "iPhone USB",
                "Bluetooth PAN"
            ]
        );
        assert!(services[..4].iter().all(|s| s.enabled));
        assert!(!services[4].enabled);
        insta::assert_debug_snapshot!(services);
    }

    #[test]
    fn services_refuse_garbage() {
        assert_eq!(parse_services(""), Err(ParseError::Empty));
        assert!(matches!(
            parse_services(UNKNOWN_SERVICE),
            Err(ParseError::ToolError { .. })
        ));
        assert!(matches!(
            parse_services(ADMIN_REQUIRED),
            Err(ParseError::ToolError { .. })
        ));
        assert!(matches!(
            parse_services("Wi-Fi\nEthernet\n"),
            Err(ParseError::BadLine { line: 1, .. })
        ));
        // Only the notice: a Mac without services is a valid, empty answer.
        assert_eq!(
            parse_services("An asterisk (*) denotes that a network service is disabled.\n"),
            Ok(Vec::new())
        );
        assert!(matches!(
            parse_services("An asterisk (*) denotes that a network service is disabled.\n*\n"),
            Err(ParseError::BadLine { line: 2, .. })
        ));
    }

    #[test]
    fn getinfo_dhcp_with_a_lease() {
        let config = parse_getinfo(DHCP_ETHERNET).unwrap();
        assert_eq!(
            config,
            IpConfig {
                method: IpMethod::Dhcp,
                address: Some(ip("30.25.25.195")),
                subnet_mask: Some(ip("255.255.255.128")),
                router: Some(ip("30.25.25.254")),
            }
        );
        insta::assert_debug_snapshot!(config);
    }

    #[test]
    fn getinfo_dhcp_without_a_lease_has_no_ipv4_lines() {
        let config = parse_getinfo(DHCP_NO_LEASE).unwrap();
        assert_eq!(
            config,
            IpConfig {
                method: IpMethod::Dhcp,
                address: None,
                subnet_mask: None,
                router: None,
            }
        );
        insta::assert_debug_snapshot!(config);
    }

    #[test]
    fn getinfo_manual_ignores_the_ipv6_lines() {
        let config = parse_getinfo(MANUAL).unwrap();
        assert_eq!(
            config,
            IpConfig {
                method: IpMethod::Manual,
                address: Some(ip("192.168.100.100")),
                subnet_mask: Some(ip("255.255.255.0")),
                router: Some(ip("192.168.100.1")),
            }
        );
        insta::assert_debug_snapshot!(config);
    }

    #[test]
    fn getinfo_wifi_starts_with_a_blank_line() {
        let config = parse_getinfo(MANUAL_WIFI).unwrap();
        assert_eq!(config.method, IpMethod::Manual);
        assert_eq!(config.address, Some(ip("192.168.0.129")));
        assert_eq!(config.router, Some(ip("192.168.0.1")));
        insta::assert_debug_snapshot!(config);
    }

    #[test]
    fn getinfo_null_router_is_none() {
        let config = parse_getinfo(NULL_ROUTER).unwrap();
        assert_eq!(config.method, IpMethod::Manual);
        assert_eq!(config.address, Some(ip("192.168.50.120")));
        assert_eq!(config.router, None);
        insta::assert_debug_snapshot!(config);
    }

    #[test]
    fn getinfo_keeps_unknown_methods_verbatim() {
        let config = parse_getinfo("Off Configuration\nIPv6: Off\n").unwrap();
        assert_eq!(
            config.method,
            IpMethod::Other("Off Configuration".to_owned())
        );
        let config = parse_getinfo("BOOTP Configuration\nIP address: none\nRouter:\n").unwrap();
        assert_eq!(config.method, IpMethod::Bootp);
        assert_eq!(config.address, None);
    }

    #[test]
    fn getinfo_refuses_garbage() {
        assert_eq!(parse_getinfo(""), Err(ParseError::Empty));
        let err = parse_getinfo(UNKNOWN_SERVICE).unwrap_err();
        insta::assert_snapshot!(err.to_string(), @"networksetup printed an error: Bluetooth is not a recognized network service. / ** Error: The parameters were not valid.");
        assert!(matches!(
            parse_getinfo("IP address: 1.2.3.4\n"),
            Err(ParseError::BadLine { line: 1, .. })
        ));
        let err = parse_getinfo("Manual Configuration\nIP address: 1.2.3\n").unwrap_err();
        insta::assert_snapshot!(err.to_string(), @"line 2: not an IPv4 address: `IP address: 1.2.3`");
        assert!(matches!(
            parse_getinfo("Manual Configuration\nRouter: 1.2.3.4\nRouter: 1.2.3.5\n"),
            Err(ParseError::BadLine { line: 3, .. })
        ));
    }

    #[test]
    fn dns_empty_and_one() {
        assert_eq!(parse_dns(DNS_EMPTY), Ok(Vec::new()));
        assert_eq!(parse_dns(DNS_ONE), Ok(vec![IpAddr::V4(ip("10.4.0.1"))]));
        assert_eq!(
            parse_dns("10.4.0.1\n1.1.1.1\n"),
            Ok(vec![IpAddr::V4(ip("10.4.0.1")), IpAddr::V4(ip("1.1.1.1"))])
        );
        insta::assert_debug_snapshot!(parse_dns(DNS_ONE), @r"
        Ok(
            [
                10.4.0.1,
            ],
        )
        ");
    }

    #[test]
    fn dns_reads_ipv6_servers_in_order() {
        // A router advertising IPv6 DNS (RDNSS), or one set by hand, next to an IPv4 one.
        // A link-local server may carry its zone (`%en0`), which an `IpAddr` cannot hold.
        assert_eq!(
            parse_dns("2001:4860:4860::8888\n10.4.0.1\nfe80::1%en0\n"),
            Ok(vec![
                "2001:4860:4860::8888".parse::<IpAddr>().unwrap(),
                IpAddr::V4(ip("10.4.0.1")),
                "fe80::1".parse::<IpAddr>().unwrap(),
            ])
        );
    }

    #[test]
    fn dns_refuses_garbage() {
        assert_eq!(parse_dns(""), Err(ParseError::Empty));
        assert!(matches!(
            parse_dns(UNKNOWN_SERVICE),
            Err(ParseError::ToolError { .. })
        ));
        assert!(matches!(
            parse_dns("10.4.0.1\nfe80::zz\n"),
            Err(ParseError::BadLine { line: 2, .. })
        ));
        assert!(matches!(
            parse_dns("10.4.0.1\nThere aren't any DNS Servers set on Ethernet.\n"),
            Err(ParseError::BadLine { line: 2, .. })
        ));
    }

    #[test]
    fn unknown_service_is_classified_with_its_name() {
        let err = classify_error(Some(4), UNKNOWN_SERVICE, "");
        assert_eq!(
            err,
            NetworksetupError::UnknownService {
                service: "Bluetooth".to_owned(),
                message: "Bluetooth is not a recognized network service. / ** Error: The parameters were not valid.".to_owned(),
            }
        );
        // The same lines on stderr.
        assert!(matches!(
            classify_error(Some(4), "", UNKNOWN_SERVICE),
            NetworksetupError::UnknownService { .. }
        ));
    }

    #[test]
    fn admin_required_is_classified_by_status_or_text() {
        assert!(matches!(
            classify_error(Some(14), ADMIN_REQUIRED, ""),
            NetworksetupError::NeedsAdmin { .. }
        ));
        assert!(matches!(
            classify_error(Some(14), "", ""),
            NetworksetupError::NeedsAdmin { .. }
        ));
        assert!(matches!(
            classify_error(Some(1), "", ADMIN_REQUIRED),
            NetworksetupError::NeedsAdmin { .. }
        ));
        insta::assert_snapshot!(
            classify_error(Some(14), ADMIN_REQUIRED, "").to_string(),
            @"networksetup needs admin privileges: ** Error: Command requires admin privileges."
        );
    }

    #[test]
    fn other_failures_keep_status_and_text() {
        insta::assert_debug_snapshot!(classify_error(None, "", "boom\n"), @r#"
        Failed {
            status: "a signal",
            message: "boom",
        }
        "#);
    }

    #[test]
    fn an_error_line_with_exit_zero_is_a_failure() {
        assert_eq!(check(Some(0), "", ""), Ok(()));
        assert!(matches!(
            check(Some(0), "** Error: The parameters were not valid.\n", ""),
            Err(NetworksetupError::Failed { .. })
        ));
        assert!(matches!(
            check(Some(0), ADMIN_REQUIRED, ""),
            Err(NetworksetupError::NeedsAdmin { .. })
        ));
        assert!(matches!(
            check(Some(4), UNKNOWN_SERVICE, ""),
            Err(NetworksetupError::UnknownService { .. })
        ));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in "\\PC*") {
            let _ = parse_services(&text);
            let _ = parse_getinfo(&text);
            let _ = parse_dns(&text);
        }

        #[test]
        fn parsers_never_panic_on_networksetup_like_lines(text in "((\\*|DHCP Configuration|Manual Configuration|IP address:|Subnet mask:|Router:|IPv6 IP address:|There aren't any DNS Servers set on|\\*\\* Error:)? ?([0-9]{1,3}\\.){0,3}[0-9a-z()]{0,4}\n){0,8}") {
            let _ = parse_services(&text);
            let _ = parse_getinfo(&text);
            let _ = parse_dns(&text);
        }

        #[test]
        fn classifiers_never_panic(status in proptest::option::of(proptest::num::i32::ANY), stdout in "\\PC*", stderr in "\\PC*") {
            let _ = classify_error(status, &stdout, &stderr);
            let _ = check(status, &stdout, &stderr);
        }
    }
}
