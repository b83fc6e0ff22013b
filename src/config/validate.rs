//! [`RawConfig`] → [`Desired`]: every rule of `server.toml` that TOML types cannot express.
//!
//! Pure. Each problem becomes a [`ConfigError`] pointing at the value (all of them are
//! collected); legal but risky settings become [`ConfigWarning`]s. A `Desired` is returned only
//! when there is no error, so everything downstream can trust it.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;
use std::path::PathBuf;

use miette::LabeledSpan;
use toml::Spanned;

use super::Sink;
use super::derived;
use super::duration::{parse_env_duration, seconds_to_nanos};
use super::error::{ConfigError, ConfigWarning, WarningKind};
use super::raw::{
    RawConfig, RawDuration, RawListen, RawLogs, RawModel, RawNetwork, RawOllama, RawService,
};
use super::typed_env::{
    CONTEXT_LENGTH, KEEP_ALIVE, KV_CACHE_TYPE, LOAD_TIMEOUT, MAX_LOADED_MODELS, MAX_QUEUE,
    MODELS_DIR, NUM_PARALLEL, TypedVar, kv_cache_type, typed_var,
};
use crate::model::desired::{
    DerivedModel, Desired, KvCacheType, Label, Listen, Logs, Mode, ModelPolicy, ModelSpec,
    NetworkSpec, OllamaDuration, OllamaSettings, ParameterValue, ProcessType, Service,
};
use crate::ollama::name::ModelName;

/// Default `service.label`.
pub(crate) const DEFAULT_LABEL: &str = "com.ollama";
/// Default `listen.port`.
pub(crate) const DEFAULT_PORT: u16 = 11434;
/// Default `logs.stdout`.
pub(crate) const DEFAULT_STDOUT: &str = "/tmp/ollama.stdout.log";
/// Default `logs.stderr`.
pub(crate) const DEFAULT_STDERR: &str = "/tmp/ollama.stderr.log";

/// Validates `raw`; `None` when `sink` holds (or already held) an error.
pub(super) fn validate(raw: &RawConfig, sink: &mut Sink) -> Option<Desired> {
    let default_service = RawService::default();
    let service = service(raw.service.as_ref().unwrap_or(&default_service), sink);
    let listen = raw.listen.as_ref().and_then(|l| listen(l, sink));
    let network = raw.network.as_ref().map(|n| network(n, sink));
    let default_logs = RawLogs::default();
    let logs = logs(raw.logs.as_ref().unwrap_or(&default_logs), sink);
    let default_ollama = RawOllama::default();
    let ollama = ollama(raw.ollama.as_ref().unwrap_or(&default_ollama), sink);
    let models = models(raw.models.as_deref().unwrap_or_default(), sink);
    refuse_cloud_models(raw, sink);
    if let (Some(raw_listen), Some(listen), Some(Some(network)), Some(raw_network)) =
        (&raw.listen, listen, &network, &raw.network)
    {
        warn_host_not_address(raw_listen, listen, raw_network, network, sink);
    }
    let model_policy = ModelPolicy {
        prune: raw
            .model_policy
            .as_ref()
            .and_then(|p| p.prune)
            .unwrap_or(false),
    };
    if sink.has_errors() {
        return None;
    }
    Some(Desired {
        service: service?,
        listen: listen?,
        network: match network {
            None => None,
            Some(spec) => Some(spec?),
        },
        logs: logs?,
        ollama: ollama?,
        model_policy,
        models: models?,
    })
}

fn span<T>(value: &Spanned<T>) -> miette::SourceSpan {
    value.span().into()
}

fn service(raw: &RawService, sink: &mut Sink) -> Option<Service> {
    let label = match &raw.label {
        None => Label::new(DEFAULT_LABEL).ok(),
        Some(text) => match Label::new(text.get_ref()) {
            Ok(label) => Some(label),
            Err(err) => {
                sink.push(ConfigError::Label {
                    value: text.get_ref().clone(),
                    reason: err.to_string(),
                    src: sink.src(),
                    span: span(text),
                });
                None
            }
        },
    };
    let daemon = match raw.mode.as_ref().map(|m| (m.get_ref().as_str(), m)) {
        None | Some(("agent", _)) => Some(false),
        Some(("daemon", _)) => Some(true),
        Some((other, at)) => {
            sink.push(ConfigError::Mode {
                value: other.to_owned(),
                src: sink.src(),
                span: span(at),
            });
            None
        }
    };
    let mode = match (daemon, &raw.user) {
        (Some(false), None) => Some(Mode::Agent),
        (Some(false), Some(user)) => {
            sink.push(ConfigError::UserWithAgent {
                src: sink.src(),
                span: span(user),
            });
            None
        }
        (Some(true), None) => {
            let at = raw.mode.as_ref().map_or(0..0, Spanned::span);
            sink.push(ConfigError::DaemonWithoutUser {
                src: sink.src(),
                span: at.into(),
            });
            None
        }
        (Some(true), Some(user)) => match user_name_problem(user.get_ref()) {
            None => Some(Mode::Daemon {
                user: user.get_ref().clone(),
            }),
            Some(reason) => {
                sink.push(ConfigError::UserName {
                    value: user.get_ref().clone(),
                    reason,
                    src: sink.src(),
                    span: span(user),
                });
                None
            }
        },
        (None, _) => None,
    };
    let program = match &raw.program {
        None => Some(None),
        Some(path) => absolute("service.program", path, sink).map(Some),
    };
    let process_type = match &raw.process_type {
        None => Some(ProcessType::default()),
        Some(text) => ProcessType::from_toml(text.get_ref()).or_else(|| {
            sink.push(ConfigError::ProcessType {
                value: text.get_ref().clone(),
                src: sink.src(),
                span: span(text),
            });
            None
        }),
    };
    Some(Service {
        label: label?,
        mode: mode?,
        program: program?,
        process_type: process_type?,
    })
}

/// Why `name` is not a short macOS user name, if it is not one.
///
/// macOS accepts letters, digits, `_`, `-` and `.` in short names (`dscl`, System Settings);
/// a leading `-` or digit would be read as an option or a uid by `launchctl` and `id`.
pub(crate) fn user_name_problem(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Some("it is empty");
    };
    if name.len() > 255 {
        return Some("it is longer than 255 bytes");
    }
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Some("it must start with a letter or `_`");
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return Some("use only letters, digits, `_`, `-` and `.`");
    }
    None
}

fn listen(raw: &RawListen, sink: &mut Sink) -> Option<Listen> {
    let host = raw.host.get_ref().parse::<IpAddr>().ok();
    if host.is_none() {
        sink.push(ConfigError::InvalidIp {
            key: "listen.host".to_owned(),
            family: "IP",
            v6: ", \"0.0.0.0\" for every interface, or an IPv6 address such as \"::1\"",
            value: raw.host.get_ref().clone(),
            src: sink.src(),
            span: span(&raw.host),
        });
    }
    if let Some(host) = host.filter(IpAddr::is_unspecified) {
        sink.warn(ConfigWarning::new(
            WarningKind::AllInterfaces,
            format!("`listen.host` {host} exposes Ollama's unauthenticated API on every interface"),
            "anyone who can reach this Mac can pull, delete and run models; bind to the Mac's LAN address (or 127.0.0.1) unless a firewall guards the port".to_owned(),
            sink.src(),
            vec![LabeledSpan::new_primary_with_span(
                Some("every interface".to_owned()),
                raw.host.span(),
            )],
        ));
    }
    let port = match &raw.port {
        None => Some(DEFAULT_PORT),
        Some(port) => match u16::try_from(*port.get_ref()) {
            Ok(value) if value > 0 => Some(value),
            _ => {
                sink.push(ConfigError::Port {
                    value: *port.get_ref(),
                    src: sink.src(),
                    span: span(port),
                });
                None
            }
        },
    };
    Some(Listen {
        host: host?,
        port: port?,
    })
}

fn ipv4(key: &str, value: &Spanned<String>, sink: &mut Sink) -> Option<Ipv4Addr> {
    value.get_ref().parse::<Ipv4Addr>().ok().or_else(|| {
        sink.push(ConfigError::InvalidIp {
            key: key.to_owned(),
            family: "IPv4",
            v6: "",
            value: value.get_ref().clone(),
            src: sink.src(),
            span: span(value),
        });
        None
    })
}

/// The prefix length of a contiguous mask (`255.255.255.0` → 24), `None` if not contiguous.
pub(crate) fn mask_prefix(mask: Ipv4Addr) -> Option<u32> {
    let bits = mask.to_bits();
    let ones = bits.leading_ones();
    (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones)
}

/// Why `router` cannot be the router of `address`/`prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RouterProblem {
    /// Not inside the subnet.
    Outside,
    /// The Mac's own address.
    OwnAddress,
    /// The subnet's network address.
    NetworkAddress,
    /// The subnet's broadcast address.
    BroadcastAddress,
}

/// Checks a router against `address`/`prefix` (`prefix` from [`mask_prefix`]).
pub(crate) fn router_problem(
    address: Ipv4Addr,
    prefix: u32,
    router: Ipv4Addr,
) -> Option<RouterProblem> {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    let network = address.to_bits() & mask;
    let broadcast = network | !mask;
    let router = router.to_bits();
    if router & mask != network {
        Some(RouterProblem::Outside)
    } else if router == address.to_bits() {
        Some(RouterProblem::OwnAddress)
    } else if prefix <= 30 && router == network {
        Some(RouterProblem::NetworkAddress)
    } else if prefix <= 30 && router == broadcast {
        Some(RouterProblem::BroadcastAddress)
    } else {
        None
    }
}

fn network(raw: &RawNetwork, sink: &mut Sink) -> Option<NetworkSpec> {
    let service = if raw.service.get_ref().trim().is_empty() {
        sink.push(ConfigError::Empty {
            key: "network.service".to_owned(),
            help: "write the service name as `networksetup -listallnetworkservices` prints it, such as \"Ethernet\"",
            src: sink.src(),
            span: span(&raw.service),
        });
        None
    } else {
        Some(raw.service.get_ref().clone())
    };
    let address = ipv4("network.address", &raw.address, sink);
    let subnet_mask = ipv4("network.subnet_mask", &raw.subnet_mask, sink);
    let prefix = subnet_mask.and_then(|mask| {
        let prefix = mask_prefix(mask);
        if prefix.is_none() {
            sink.push(ConfigError::SubnetMask {
                value: mask.to_string(),
                src: sink.src(),
                span: span(&raw.subnet_mask),
            });
        }
        prefix
    });
    let router = ipv4("network.router", &raw.router, sink);
    if let (Some(address), Some(prefix), Some(router)) = (address, prefix, router) {
        let network =
            Ipv4Addr::from_bits(address.to_bits() & u32::MAX.checked_shl(32 - prefix).unwrap_or(0));
        let subnet = format!("{network}/{prefix}");
        let error = match router_problem(address, prefix, router) {
            None => None,
            Some(RouterProblem::Outside) => Some(ConfigError::RouterOutsideSubnet {
                router: router.to_string(),
                network: subnet,
                src: sink.src(),
                router_span: span(&raw.router),
                address_span: span(&raw.address),
            }),
            Some(problem) => Some(ConfigError::RouterNotHost {
                router: router.to_string(),
                what: match problem {
                    RouterProblem::OwnAddress => "Mac's own address (`network.address`)".to_owned(),
                    RouterProblem::NetworkAddress => format!("network address of {subnet}"),
                    _ => format!("broadcast address of {subnet}"),
                },
                src: sink.src(),
                span: span(&raw.router),
            }),
        };
        if let Some(error) = error {
            sink.push(error);
        }
    }
    let dns = match &raw.dns {
        None => Some(None),
        Some(servers) => {
            let parsed: Vec<Option<Ipv4Addr>> = servers
                .iter()
                .map(|server| ipv4("network.dns", server, sink))
                .collect();
            parsed.into_iter().collect::<Option<Vec<_>>>().map(Some)
        }
    };
    let router = router.filter(|r| {
        address
            .zip(prefix)
            .is_some_and(|(a, p)| router_problem(a, p, *r).is_none())
    });
    Some(NetworkSpec {
        service: service?,
        address: address?,
        subnet_mask: subnet_mask.filter(|_| prefix.is_some())?,
        router: router?,
        dns: dns?,
    })
}

fn warn_host_not_address(
    raw_listen: &RawListen,
    listen: Listen,
    raw_network: &RawNetwork,
    network: &NetworkSpec,
    sink: &mut Sink,
) {
    let host = listen.host;
    if host.is_unspecified() || host.is_loopback() || host == IpAddr::V4(network.address) {
        return;
    }
    sink.warn(ConfigWarning::new(
        WarningKind::HostNotNetworkAddress,
        format!(
            "`listen.host` {host} is not `network.address` {}",
            network.address
        ),
        "Ollama can only bind an address this Mac has: use the static address, 0.0.0.0 or 127.0.0.1".to_owned(),
        sink.src(),
        vec![
            LabeledSpan::new_primary_with_span(Some("Ollama binds this".to_owned()), raw_listen.host.span()),
            LabeledSpan::new_with_span(
                Some("the Mac gets this address".to_owned()),
                raw_network.address.span(),
            ),
        ],
    ));
}

/// The first character of `text` that launchd or the `launchctl print` reader cannot take: one
/// XML 1.0 forbids (controls other than TAB, LF, CR; U+FFFE, U+FFFF), or CR/LF. Pure.
pub(crate) fn unwritable_char(text: &str) -> Option<String> {
    text.chars().find_map(|c| match c {
        '\n' => Some("a line break (LF)".to_owned()),
        '\r' => Some("a carriage return (CR)".to_owned()),
        '\t' => None,
        c if u32::from(c) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => Some(format!(
            "the character U+{:04X}, which XML 1.0 forbids",
            u32::from(c)
        )),
        _ => None,
    })
}

/// Refuses a value with an [`unwritable_char`]; `true` when it is fine.
fn writable(key: &str, value: &Spanned<String>, sink: &mut Sink) -> bool {
    let Some(problem) = unwritable_char(value.get_ref()) else {
        return true;
    };
    sink.push(ConfigError::UnwritableValue {
        key: key.to_owned(),
        problem,
        src: sink.src(),
        span: span(value),
    });
    false
}

/// Whether `path` is absolute (it starts at `/`).
pub(crate) fn is_absolute(path: &str) -> bool {
    path.starts_with('/')
}

fn absolute(key: &str, path: &Spanned<String>, sink: &mut Sink) -> Option<PathBuf> {
    if !writable(key, path, sink) {
        return None;
    }
    if is_absolute(path.get_ref()) {
        Some(PathBuf::from(path.get_ref()))
    } else {
        sink.push(ConfigError::RelativePath {
            key: key.to_owned(),
            value: path.get_ref().clone(),
            src: sink.src(),
            span: span(path),
        });
        None
    }
}

fn logs(raw: &RawLogs, sink: &mut Sink) -> Option<Logs> {
    let path = |key: &str, value: &Option<Spanned<String>>, default: &str, sink: &mut Sink| {
        value
            .as_ref()
            .map_or_else(|| Some(PathBuf::from(default)), |v| absolute(key, v, sink))
    };
    let stdout = path("logs.stdout", &raw.stdout, DEFAULT_STDOUT, sink);
    let stderr = path("logs.stderr", &raw.stderr, DEFAULT_STDERR, sink);
    Some(Logs {
        stdout: stdout?,
        stderr: stderr?,
    })
}

fn duration(var: &TypedVar, raw: &Spanned<RawDuration>, sink: &mut Sink) -> Option<OllamaDuration> {
    match raw.get_ref() {
        RawDuration::Seconds(seconds) => Some(OllamaDuration {
            text: seconds.to_string(),
            nanos: seconds_to_nanos(*seconds),
        }),
        RawDuration::Text(text) => match parse_env_duration(text) {
            Ok(nanos) => Some(OllamaDuration {
                text: text.clone(),
                nanos,
            }),
            Err(err) => {
                sink.push(ConfigError::Duration {
                    key: var.dotted(),
                    reason: err.to_string(),
                    src: sink.src(),
                    span: span(raw),
                });
                None
            }
        },
    }
}

fn number(var: &TypedVar, raw: &Spanned<i64>, sink: &mut Sink) -> Option<u32> {
    let value = *raw.get_ref();
    let min = var.min();
    match u32::try_from(value) {
        Ok(v) if value >= min => Some(v),
        _ => {
            sink.push(ConfigError::OutOfRange {
                key: var.dotted(),
                value,
                min,
                max: i64::from(u32::MAX),
                src: sink.src(),
                span: span(raw),
            });
            None
        }
    }
}

/// `Some(None)` when absent, `Some(Some(v))` when valid, `None` after an error.
#[expect(
    clippy::option_option,
    reason = "absent, valid and invalid are the three states of an optional key"
)]
fn opt<T, U>(value: Option<&T>, check: impl FnOnce(&T) -> Option<U>) -> Option<Option<U>> {
    match value {
        None => Some(None),
        Some(value) => check(value).map(Some),
    }
}

fn ollama(raw: &RawOllama, sink: &mut Sink) -> Option<OllamaSettings> {
    let keep_alive = opt(raw.keep_alive.as_ref(), |d| duration(&KEEP_ALIVE, d, sink));
    let load_timeout = opt(raw.load_timeout.as_ref(), |d| {
        duration(&LOAD_TIMEOUT, d, sink)
    });
    let context_length = opt(raw.context_length.as_ref(), |n| {
        number(&CONTEXT_LENGTH, n, sink)
    });
    let num_parallel = opt(raw.num_parallel.as_ref(), |n| {
        number(&NUM_PARALLEL, n, sink)
    });
    let max_loaded_models = opt(raw.max_loaded_models.as_ref(), |n| {
        number(&MAX_LOADED_MODELS, n, sink)
    });
    let max_queue = opt(raw.max_queue.as_ref(), |n| number(&MAX_QUEUE, n, sink));
    let kv_cache_type = opt(raw.kv_cache_type.as_ref(), |kind| {
        let parsed = kv_cache_type(kind.get_ref());
        if parsed.is_none() {
            sink.push(ConfigError::KvCacheType {
                value: kind.get_ref().clone(),
                src: sink.src(),
                span: span(kind),
            });
        }
        if parsed.is_some_and(|k| k != KvCacheType::F16) && raw.flash_attention != Some(true) {
            sink.warn(ConfigWarning::new(
                WarningKind::KvCacheWithoutFlashAttention,
                format!(
                    "`{} = \"{}\"` needs flash attention",
                    KV_CACHE_TYPE.dotted(),
                    kind.get_ref()
                ),
                "set `flash_attention = true` in [ollama]; without flash attention Ollama falls back to an f16 cache".to_owned(),
                sink.src(),
                vec![LabeledSpan::new_primary_with_span(
                    Some("quantized cache".to_owned()),
                    kind.span(),
                )],
            ));
        }
        parsed
    });
    if let Some(origins) = &raw.origins {
        for origin in origins.iter().filter(|o| o.get_ref().trim() == "*") {
            sink.warn(ConfigWarning::new(
                WarningKind::WildcardOrigin,
                "`ollama.origins` allows every web origin".to_owned(),
                "any web page open in a browser on the network can call the API; list the origins that need it instead".to_owned(),
                sink.src(),
                vec![LabeledSpan::new_primary_with_span(
                    Some("any origin".to_owned()),
                    origin.span(),
                )],
            ));
        }
    }
    let origins = raw
        .origins
        .as_ref()
        .map(|o| o.iter().map(|s| s.get_ref().clone()).collect());
    let models_dir = opt(raw.models_dir.as_ref(), |p| {
        absolute(&MODELS_DIR.dotted(), p, sink)
    });
    let extra_env = extra_env(raw.extra_env.as_ref(), sink);
    if raw.cloud.is_some()
        && let Some(key) = raw
            .extra_env
            .iter()
            .flatten()
            .map(|(key, _)| key)
            .find(|key| key.get_ref() == "OLLAMA_NO_CLOUD")
    {
        sink.push(ConfigError::EnvNoCloud {
            src: sink.src(),
            span: span(key),
        });
    }
    Some(OllamaSettings {
        keep_alive: keep_alive?,
        context_length: context_length?,
        flash_attention: raw.flash_attention,
        kv_cache_type: kv_cache_type?,
        num_parallel: num_parallel?,
        max_loaded_models: max_loaded_models?,
        max_queue: max_queue?,
        debug: raw.debug,
        origins,
        models_dir: models_dir?,
        load_timeout: load_timeout?,
        no_prune: raw.no_prune,
        extra_env: extra_env?,
        cloud: raw.cloud.as_ref().map(|c| *c.get_ref()),
    })
}

/// Whether `name` is a portable environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub(crate) fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn extra_env(
    raw: Option<&BTreeMap<Spanned<String>, Spanned<String>>>,
    sink: &mut Sink,
) -> Option<BTreeMap<String, String>> {
    let mut env = BTreeMap::new();
    let mut ok = true;
    for (key, value) in raw.into_iter().flatten() {
        let name = key.get_ref();
        let error = if !is_env_name(name) {
            Some(ConfigError::EnvName {
                key: name.clone(),
                src: sink.src(),
                span: span(key),
            })
        } else if name == "OLLAMA_HOST" {
            Some(ConfigError::EnvHost {
                src: sink.src(),
                span: span(key),
            })
        } else {
            typed_var(name).map(|typed| ConfigError::EnvTyped {
                var: typed.var.to_owned(),
                typed_key: typed.key,
                src: sink.src(),
                span: span(key),
            })
        };
        match error {
            Some(error) => {
                sink.push(error);
                ok = false;
            }
            None if !writable(&format!("ollama.extra_env.{name}"), value, sink) => ok = false,
            None => {
                env.insert(name.clone(), value.get_ref().clone());
            }
        }
    }
    ok.then_some(env)
}

fn models(raw: &[RawModel], sink: &mut Sink) -> Option<Vec<ModelSpec>> {
    let mut seen: HashMap<String, Range<usize>> = HashMap::new();
    let mut models = Vec::new();
    // Each derived model's name and where it comes from, checked once every name is known.
    let mut derived_at: Vec<Range<usize>> = Vec::new();
    let mut ok = true;
    for entry in raw {
        let derived = derived(entry, sink);
        match ModelName::parse(entry.name.get_ref()) {
            Ok(name) => {
                if let Some(first) = seen.get(name.key()) {
                    sink.push(ConfigError::DuplicateModel {
                        model: name.display(),
                        src: sink.src(),
                        first: first.clone().into(),
                        again: span(&entry.name),
                    });
                    ok = false;
                    continue;
                }
                seen.insert(name.key().to_owned(), entry.name.span());
                let Some(derived) = derived else {
                    ok = false;
                    continue;
                };
                let derived = match derived {
                    None => None,
                    Some(parts) => {
                        let Some((model, at)) = parts.into_model(&name, sink) else {
                            ok = false;
                            continue;
                        };
                        derived_at.push(at);
                        Some(model)
                    }
                };
                models.push(ModelSpec {
                    name,
                    warm: entry.warm.unwrap_or(false),
                    derived,
                });
            }
            Err(err) => {
                sink.push(ConfigError::ModelName {
                    name: entry.name.get_ref().clone(),
                    reason: err.to_string(),
                    src: sink.src(),
                    span: span(&entry.name),
                });
                ok = false;
            }
        }
    }
    let mut taken: HashMap<String, Range<usize>> = HashMap::new();
    for (model, at) in models
        .iter()
        .filter_map(|m| m.derived.as_ref())
        .zip(derived_at)
    {
        let key = model.name.key();
        let clash = match (seen.get(key), taken.get(key)) {
            (Some(first), _) => Some((first.clone(), "a declared model")),
            (None, Some(first)) => Some((first.clone(), "another derived model")),
            (None, None) => None,
        };
        if let Some((first, other)) = clash {
            sink.push(ConfigError::DerivedNameTaken {
                name: model.name.display(),
                other,
                src: sink.src(),
                first: first.into(),
                again: at.into(),
            });
            ok = false;
        } else {
            taken.insert(key.to_owned(), at);
        }
    }
    ok.then_some(models)
}

/// The derivation a `[[models]]` entry declares, checked but not yet named.
struct DerivedParts<'a> {
    context_length: Option<u32>,
    parameters: BTreeMap<String, ParameterValue>,
    serve_as: Option<&'a Spanned<String>>,
    /// Where a default name comes from (`context_length`, else the first parameter).
    origin: Range<usize>,
}

impl DerivedParts<'_> {
    /// Names the derived model (`serve_as`, else the default name); with the span its name
    /// comes from. `None` after an error.
    fn into_model(self, from: &ModelName, sink: &mut Sink) -> Option<(DerivedModel, Range<usize>)> {
        let (result, at, help) = match self.serve_as {
            Some(serve_as) => (
                ModelName::parse(serve_as.get_ref()),
                serve_as.span(),
                "write a model name such as \"qwen3-coder:30b-64k\" (letters, digits, `_`, `-`, `.`; a `:tag`)",
            ),
            None => (
                derived::default_name(from, self.context_length),
                self.origin,
                "the default name is too long: set `serve_as = \"…\"` in this [[models]] entry",
            ),
        };
        let text = self
            .serve_as
            .map_or_else(|| format!("{}:…", from.display()), |s| s.get_ref().clone());
        let name = match result {
            Ok(name) if name.is_cloud() => Err((
                name.display(),
                "a `cloud` tag names an Ollama cloud model, not one built here".to_owned(),
            )),
            Ok(name) => Ok(name),
            Err(err) => Err((text, err.to_string())),
        };
        match name {
            Ok(name) => Some((
                DerivedModel {
                    name,
                    from: from.clone(),
                    context_length: self.context_length,
                    parameters: self.parameters,
                },
                at,
            )),
            Err((name, reason)) => {
                sink.push(ConfigError::DerivedName {
                    name,
                    reason,
                    help,
                    src: sink.src(),
                    span: at.into(),
                });
                None
            }
        }
    }
}

/// The derivation of one entry: `Some(None)` when it declares none, `None` after an error.
#[expect(
    clippy::option_option,
    reason = "none declared, valid and invalid are the three states"
)]
fn derived<'a>(entry: &'a RawModel, sink: &mut Sink) -> Option<Option<DerivedParts<'a>>> {
    let context_length = opt(entry.context_length.as_ref(), |n| {
        let value = *n.get_ref();
        if (derived::MIN_CONTEXT..=derived::MAX_CONTEXT).contains(&value) {
            u32::try_from(value).ok()
        } else {
            sink.push(ConfigError::OutOfRange {
                key: "models.context_length".to_owned(),
                value,
                min: derived::MIN_CONTEXT,
                max: derived::MAX_CONTEXT,
                src: sink.src(),
                span: span(n),
            });
            None
        }
    });
    let parameters = opt(entry.parameters.as_ref(), |p| derived::parameters(p, sink));
    let origin = entry
        .context_length
        .as_ref()
        .map(Spanned::span)
        .or_else(|| {
            entry
                .parameters
                .as_ref()
                .and_then(|p| p.keys().next())
                .map(Spanned::span)
        });
    let Some(origin) = origin else {
        if let Some(serve_as) = &entry.serve_as {
            sink.push(ConfigError::ServeAsAlone {
                src: sink.src(),
                span: span(serve_as),
            });
            return None;
        }
        return Some(None);
    };
    Some(Some(DerivedParts {
        context_length: context_length?,
        parameters: parameters?.unwrap_or_default(),
        serve_as: entry.serve_as.as_ref(),
        origin,
    }))
}

/// `cloud = false` with a cloud model in `[[models]]`: Ollama would refuse the model.
fn refuse_cloud_models(raw: &RawConfig, sink: &mut Sink) {
    let Some(cloud) = raw.ollama.as_ref().and_then(|o| o.cloud.as_ref()) else {
        return;
    };
    if *cloud.get_ref() {
        return;
    }
    for entry in raw.models.iter().flatten() {
        if let Ok(model) = ModelName::parse(entry.name.get_ref())
            && model.is_cloud()
        {
            sink.push(ConfigError::CloudModel {
                model: model.display(),
                src: sink.src(),
                span: span(&entry.name),
                cloud_span: span(cloud),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn process_type_takes_launchds_values_and_labels_others() {
        for (text, expected) in [
            (
                "interactive",
                crate::model::desired::ProcessType::Interactive,
            ),
            ("standard", crate::model::desired::ProcessType::Standard),
            ("background", crate::model::desired::ProcessType::Background),
            ("adaptive", crate::model::desired::ProcessType::Adaptive),
        ] {
            let file =
                format!("[service]\nprocess_type = \"{text}\"\n[listen]\nhost = \"127.0.0.1\"\n");
            let desired = crate::config::parse("s.toml", &file).unwrap().desired;
            assert_eq!(desired.service.process_type, expected);
        }
        let file = "[service]\nprocess_type = \"Interactive\"\n[listen]\nhost = \"127.0.0.1\"\n";
        let errors = crate::config::parse("s.toml", file).unwrap_err();
        insta::assert_snapshot!(crate::config::render_plain(&errors, 100));
    }

    #[test]
    fn a_context_or_parameters_declare_a_derived_model() {
        use crate::model::desired::ParameterValue;
        let file = r#"
[listen]
host = "127.0.0.1"
[ollama]
cloud = false
[[models]]
name = "qwen3-coder:30b"
context_length = 65536
[models.parameters]
temperature = 1
top_k = 20
stop = ["<|im_end|>"]
[[models]]
name = "llama3.2"
serve_as = "llama-chat:v1"
parameters = { use_mmap = false }
[[models]]
name = "nomic-embed-text"
"#;
        let desired = crate::config::parse("s.toml", file).unwrap().desired;
        let coder = desired.models[0].derived.as_ref().unwrap();
        assert_eq!(coder.name.display(), "qwen3-coder:30b-64k");
        assert_eq!(coder.from.display(), "qwen3-coder:30b");
        assert_eq!(coder.context_length, Some(65536));
        assert_eq!(
            coder.parameters.get("temperature"),
            Some(&ParameterValue::Float(1.0))
        );
        assert_eq!(
            coder.parameters.get("top_k"),
            Some(&ParameterValue::Integer(20))
        );
        assert_eq!(
            coder.parameters.get("stop"),
            Some(&ParameterValue::Strings(vec!["<|im_end|>".to_owned()]))
        );
        let chat = desired.models[1].derived.as_ref().unwrap();
        assert_eq!(chat.name.display(), "llama-chat:v1");
        assert_eq!(chat.context_length, None);
        assert_eq!(
            chat.parameters.get("use_mmap"),
            Some(&ParameterValue::Bool(false))
        );
        assert_eq!(desired.models[2].derived, None);
        assert_eq!(
            desired
                .ollama
                .environment()
                .get("OLLAMA_NO_CLOUD")
                .map(String::as_str),
            Some("1")
        );
        // Unset: nothing written, so existing plists do not change.
        let plain = crate::config::parse("s.toml", "[listen]\nhost = \"127.0.0.1\"\n")
            .unwrap()
            .desired;
        assert!(!plain.ollama.environment().contains_key("OLLAMA_NO_CLOUD"));
        let on = crate::config::parse(
            "s.toml",
            "[listen]\nhost = \"127.0.0.1\"\n[ollama]\ncloud = true\n",
        )
        .unwrap()
        .desired;
        assert_eq!(on.ollama.environment()["OLLAMA_NO_CLOUD"], "0");
    }

    use std::net::Ipv4Addr;

    use super::{RouterProblem, is_env_name, mask_prefix, router_problem, user_name_problem};

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    #[test]
    fn contiguous_masks_give_their_prefix() {
        assert_eq!(mask_prefix(ip("255.255.255.0")), Some(24));
        assert_eq!(mask_prefix(ip("255.255.0.0")), Some(16));
        assert_eq!(mask_prefix(ip("255.255.255.252")), Some(30));
        assert_eq!(mask_prefix(ip("255.255.255.255")), Some(32));
        assert_eq!(mask_prefix(ip("0.0.0.0")), Some(0));
        assert_eq!(mask_prefix(ip("255.255.254.0")), Some(23));
    }

    #[test]
    fn non_contiguous_masks_are_refused() {
        for mask in [
            "255.0.255.0",
            "255.255.255.1",
            "0.255.255.255",
            "255.255.253.0",
        ] {
            assert_eq!(mask_prefix(ip(mask)), None, "{mask}");
        }
    }

    #[test]
    fn router_must_be_another_host_of_the_subnet() {
        let address = ip("192.168.250.20");
        assert_eq!(router_problem(address, 24, ip("192.168.250.1")), None);
        assert_eq!(router_problem(address, 24, ip("192.168.250.254")), None);
        assert_eq!(
            router_problem(address, 24, ip("192.168.1.1")),
            Some(RouterProblem::Outside)
        );
        assert_eq!(
            router_problem(address, 24, address),
            Some(RouterProblem::OwnAddress)
        );
        assert_eq!(
            router_problem(address, 24, ip("192.168.250.0")),
            Some(RouterProblem::NetworkAddress)
        );
        assert_eq!(
            router_problem(address, 24, ip("192.168.250.255")),
            Some(RouterProblem::BroadcastAddress)
        );
        // A /16 holds 192.168.1.1; a /31 has no network or broadcast address.
        assert_eq!(router_problem(address, 16, ip("192.168.1.1")), None);
        assert_eq!(router_problem(ip("10.0.0.0"), 31, ip("10.0.0.1")), None);
        assert_eq!(router_problem(address, 0, ip("8.8.8.8")), None);
    }

    #[test]
    fn user_and_env_names() {
        assert_eq!(user_name_problem("ai"), None);
        assert!(user_name_problem("").is_some());
        assert_eq!(user_name_problem("_ollama"), None);
        assert_eq!(user_name_problem("first.last-2"), None);
        assert!(user_name_problem("1ai").is_some());
        assert!(user_name_problem("a b").is_some());
        assert!(user_name_problem("-x").is_some());
        assert!(is_env_name("OLLAMA_NOHISTORY"));
        assert!(is_env_name("_x1"));
        assert!(!is_env_name("1X"));
        assert!(!is_env_name("A-B"));
        assert!(!is_env_name(""));
    }
}
