//! Fuzz targets: every reader of outside text, as `fn(&[u8])`. Each must return (an error is
//! fine) and never panic, whatever the bytes.
//!
//! Stable Rust runs them in `tests/it/fuzz.rs`: a seeded mutation fuzzer over the real fixtures
//! (`tests/fixtures/**`) with a fixed iteration budget. Pure: no I/O.

use crate::launchd::domain::{Domain, ServiceTarget};
use crate::model::desired::Label;

/// A named target.
pub(crate) type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("config", config),
    ("launchctl_print", launchctl_print),
    ("launchctl_print_disabled", launchctl_print_disabled),
    ("networksetup", networksetup),
    ("lsof", lsof),
    ("ps", ps),
    ("sw_vers", sw_vers),
    ("plist", plist),
    ("ollama_responses", ollama_responses),
];

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The `server.toml` loader (parse, validate, desired state).
pub(crate) fn config(data: &[u8]) {
    let _ = crate::config::parse("server.toml", &text(data));
}

/// `launchctl print <target>` with every status the reader distinguishes.
pub(crate) fn launchctl_print(data: &[u8]) {
    let data = text(data);
    let target = ServiceTarget::new(
        Domain::Gui(501),
        Label::new("com.ollama").unwrap_or_else(|_| unreachable!("a valid label")),
    );
    let _ = crate::launchd::print::parse_service_print(&data);
    for status in [Some(0), Some(113), Some(112), Some(5), None] {
        let _ = crate::launchd::cmd::parse_print(&target, status, &data, &data);
    }
}

/// `launchctl print-disabled <domain>`.
pub(crate) fn launchctl_print_disabled(data: &[u8]) {
    let _ = crate::launchd::cmd::parse_print_disabled(&text(data));
}

/// `networksetup -listallnetworkservices`, `-getinfo`, `-getdnsservers`.
pub(crate) fn networksetup(data: &[u8]) {
    let data = text(data);
    let _ = crate::network::networksetup::parse_services(&data);
    let _ = crate::network::networksetup::parse_getinfo(&data);
    let _ = crate::network::networksetup::parse_dns(&data);
}

/// `lsof -nP -iTCP:<port> -sTCP:LISTEN`.
pub(crate) fn lsof(data: &[u8]) {
    let _ = crate::process::parse_lsof(&text(data));
}

/// `ps -axo pid=,ppid=,user=,comm=`.
pub(crate) fn ps(data: &[u8]) {
    let _ = crate::process::parse_ps(&text(data));
}

/// `sw_vers` and `ollama --version`.
pub(crate) fn sw_vers(data: &[u8]) {
    let data = text(data);
    let _ = crate::process::parse_product_version(&data);
    let _ = crate::ollama::cli::parse_version_output(&data);
}

/// A plist file (XML text; binary plists are read by the `plist` crate into the same value).
pub(crate) fn plist(data: &[u8]) {
    if let Ok(value) = crate::launchd::plist::parse_plist(&text(data)) {
        let _ = crate::launchd::plist::canonical_xml(&value);
        if let Some(dict) = value.as_dictionary() {
            let _ = crate::launchd::plist::program_arguments(dict);
            let _ = crate::launchd::plist::environment_variables(dict);
        }
    }
}

/// Ollama's responses: `/api/version`, `/api/tags`, `/api/ps`, pull stream lines, errors, model
/// names.
pub(crate) fn ollama_responses(data: &[u8]) {
    use crate::ollama::api;
    let data = text(data);
    let _ = serde_json::from_str::<api::VersionResponse>(&data);
    let _ = serde_json::from_str::<api::ListResponse>(&data);
    let _ = serde_json::from_str::<api::ProcessResponse>(&data);
    let _ = serde_json::from_str::<api::ErrorResponse>(&data);
    let _ = serde_json::from_str::<api::GenerateResponse>(&data);
    for line in data.lines() {
        let _ = api::PullLine::parse(line);
    }
    let _ = crate::ollama::name::ModelName::parse(data.trim());
}
