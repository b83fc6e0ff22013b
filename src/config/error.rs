//! The diagnostics of `server.toml`: [`ConfigError`] (one problem, pointing into the file),
//! [`ConfigErrors`] (every problem of one file, reported together) and [`ConfigWarning`].
//!
//! Pure data plus rendering ([`render_plain`]); nothing here reads files or prints.
//! Every error names what failed, carries a labelled span and a `help` line saying how to fix it.

use std::fmt;
use std::sync::Arc;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, Severity,
    SourceCode, SourceSpan,
};

/// The text of `server.toml` with the name it is shown under.
pub(crate) type Source = NamedSource<Arc<str>>;

/// One problem in `server.toml`.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ConfigError {
    /// The file is not valid TOML; the parser stops at the first problem.
    #[error("invalid TOML: {message}")]
    #[diagnostic(
        code(ssollama::config::syntax),
        help(
            "fix the TOML syntax at the marked position (strings need quotes, tables are `[name]`)"
        )
    )]
    Syntax {
        /// The parser's message.
        message: String,
        /// The file.
        #[source_code]
        src: Source,
        /// Where the parser stopped.
        #[label("here")]
        span: SourceSpan,
    },

    /// A top-level table `server.toml` does not have.
    #[error("unknown table `{name}`")]
    #[diagnostic(code(ssollama::config::unknown_table), help("{help}"))]
    UnknownTable {
        /// The name as written.
        name: String,
        /// What to do instead (a close match or the list of tables).
        help: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The key or header.
        #[label("not a table of server.toml")]
        span: SourceSpan,
    },

    /// A key a table does not have.
    #[error("unknown key `{key}` in {table}")]
    #[diagnostic(code(ssollama::config::unknown_key), help("{help}"))]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The table, as `[name]`.
        table: String,
        /// What to do instead (a close match or the list of keys).
        help: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The key.
        #[label("unknown key")]
        span: SourceSpan,
    },

    /// A required table is absent.
    #[error("missing table [{table}]")]
    #[diagnostic(code(ssollama::config::missing_table), help("{help}"))]
    MissingTable {
        /// The table name.
        table: &'static str,
        /// An example of the table.
        help: &'static str,
        /// The file.
        #[source_code]
        src: Source,
        /// The start of the file.
        #[label("[{table}] is required in this file")]
        span: SourceSpan,
    },

    /// A required key is absent from its table.
    #[error("missing key `{key}` in {table}")]
    #[diagnostic(
        code(ssollama::config::missing_key),
        help("add `{key} = …` to {table}")
    )]
    MissingKey {
        /// The key.
        key: String,
        /// The table, as `[name]`.
        table: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The table.
        #[label("this table has no `{key}`")]
        span: SourceSpan,
    },

    /// A value of the wrong TOML type (or a value serde refuses).
    #[error("wrong type for `{key}`: {message}")]
    #[diagnostic(
        code(ssollama::config::wrong_type),
        help("see schema/server.schema.json or specs/server-toml.md for the type of `{key}`")
    )]
    WrongType {
        /// The dotted key.
        key: String,
        /// The deserializer's message.
        message: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The value.
        #[label("wrong type")]
        span: SourceSpan,
    },

    /// A string that must be an IP address is not one.
    #[error("`{key}` is not a valid {family} address: {value:?}")]
    #[diagnostic(
        code(ssollama::config::invalid_ip),
        help("write a dotted-quad address such as \"192.168.1.20\"{v6}")
    )]
    InvalidIp {
        /// The dotted key.
        key: String,
        /// `IPv4` or `IP`.
        family: &'static str,
        /// `, or an IPv6 address such as "::1"` when IPv6 is allowed.
        v6: &'static str,
        /// The value.
        value: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The value.
        #[label("not an {family} address")]
        span: SourceSpan,
    },

    /// A subnet mask whose one bits are not contiguous.
    #[error("`network.subnet_mask` {value} is not a contiguous mask")]
    #[diagnostic(
        code(ssollama::config::subnet_mask),
        help("a mask is ones then zeros, such as 255.255.255.0 (/24) or 255.255.0.0 (/16)")
    )]
    SubnetMask {
        /// The mask.
        value: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The value.
        #[label("ones after a zero bit")]
        span: SourceSpan,
    },

    /// The router is outside the subnet of the address.
    #[error("`network.router` {router} is outside the subnet {network}")]
    #[diagnostic(
        code(ssollama::config::router_subnet),
        help("use a router inside {network}, or fix `address`/`subnet_mask`")
    )]
    RouterOutsideSubnet {
        /// The router.
        router: String,
        /// The network, as `a.b.c.d/len`.
        network: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The router.
        #[label("not in {network}")]
        router_span: SourceSpan,
        /// The address.
        #[label("the subnet comes from this address")]
        address_span: SourceSpan,
    },

    /// The router is the Mac's own address, or the network or broadcast address.
    #[error("`network.router` {router} is the {what}")]
    #[diagnostic(
        code(ssollama::config::router_address),
        help("the router is another host of the subnet, usually its first address")
    )]
    RouterNotHost {
        /// The router.
        router: String,
        /// `Mac's own address`, `network address of …`, `broadcast address of …`.
        what: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The router.
        #[label("not a router address")]
        span: SourceSpan,
    },

    /// A port outside 1–65535.
    #[error("`listen.port` {value} is out of range")]
    #[diagnostic(
        code(ssollama::config::port),
        help("use a TCP port from 1 to 65535; Ollama's default is 11434")
    )]
    Port {
        /// The value.
        value: i64,
        /// The file.
        #[source_code]
        src: Source,
        /// The value.
        #[label("not in 1–65535")]
        span: SourceSpan,
    },

    /// A number outside what the key accepts.
    #[error("`{key}` {value} is out of range")]
    #[diagnostic(
        code(ssollama::config::out_of_range),
        help("use an integer from {min} to {max}")
    )]
    OutOfRange {
        /// The dotted key.
        key: String,
        /// The value.
        value: i64,
        /// Smallest accepted.
        min: i64,
        /// Largest accepted.
        max: i64,
        /// The file.
        #[source_code]
        src: Source,
        /// The value.
        #[label("not in {min}–{max}")]
        span: SourceSpan,
    },

    /// A value launchd would refuse in a plist (a character XML 1.0 forbids), or that would
    /// break a line of `launchctl print` (CR, LF).
    #[error("`{key}` has {problem}")]
    #[diagnostic(
        code(ssollama::config::unwritable_value),
        help(
            "launchd refuses a plist with a character XML 1.0 forbids, and `launchctl print` shows each value on one line: remove control characters and line breaks from the value"
        )
    )]
    UnwritableValue {
        /// The dotted key.
        key: String,
        /// The offending character, described.
        problem: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The value.
        #[label("{problem}")]
        span: SourceSpan,
    },

    /// A path that must be absolute is relative.
    #[error("`{key}` must be an absolute path, not {value:?}")]
    #[diagnostic(
        code(ssollama::config::relative_path),
        help(
            "launchd has no working directory to resolve it against; write the full path starting with `/`"
        )
    )]
    RelativePath {
        /// The dotted key.
        key: String,
        /// The value.
        value: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The value.
        #[label("relative path")]
        span: SourceSpan,
    },

    /// A string that must not be empty is.
    #[error("`{key}` is empty")]
    #[diagnostic(code(ssollama::config::empty), help("{help}"))]
    Empty {
        /// The dotted key.
        key: String,
        /// What to write.
        help: &'static str,
        /// The file.
        #[source_code]
        src: Source,
        /// The value.
        #[label("empty")]
        span: SourceSpan,
    },

    /// A model name Ollama would refuse.
    #[error("invalid model name {name:?}: {reason}")]
    #[diagnostic(
        code(ssollama::config::model_name),
        help(
            "write the name as `ollama pull` takes it, such as \"llama3.2\" or \"qwen2.5-coder:32b\""
        )
    )]
    ModelName {
        /// The name as written.
        name: String,
        /// Ollama's rule that fails.
        reason: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The name.
        #[label("invalid name")]
        span: SourceSpan,
    },

    /// Two `[[models]]` entries name the same model after Ollama's normalization.
    #[error("model {model} is listed twice")]
    #[diagnostic(
        code(ssollama::config::duplicate_model),
        help(
            "names are compared as Ollama does (`llama3` = `llama3:latest`, case-insensitive); remove one entry"
        )
    )]
    DuplicateModel {
        /// The normalized name.
        model: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The first entry.
        #[label("first here")]
        first: SourceSpan,
        /// The repeated entry.
        #[label("again here")]
        again: SourceSpan,
    },

    /// A duration Ollama would not parse.
    #[error("`{key}` is not a duration: {reason}")]
    #[diagnostic(
        code(ssollama::config::duration),
        help(
            "write a Go duration such as \"10m\", \"24h\" or \"1h30m\" (units ns us ms s m h; no `d`: 2 days is \"48h\"), or integer seconds; negative = forever"
        )
    )]
    Duration {
        /// The dotted key.
        key: String,
        /// Go's error text.
        reason: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The value.
        #[label("not a duration")]
        span: SourceSpan,
    },

    /// A launchd label with a bad character (or empty).
    #[error("invalid `service.label` {value:?}: {reason}")]
    #[diagnostic(
        code(ssollama::config::label),
        help("a label is also the plist file name: use reverse-DNS such as \"com.ollama\"")
    )]
    Label {
        /// The value.
        value: String,
        /// Why.
        reason: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The value.
        #[label("invalid label")]
        span: SourceSpan,
    },

    /// `service.mode` is neither `agent` nor `daemon`.
    #[error("unknown `service.mode` {value:?}")]
    #[diagnostic(
        code(ssollama::config::mode),
        help(
            "use \"agent\" (a LaunchAgent of the logged-in user) or \"daemon\" (a system LaunchDaemon with `user`)"
        )
    )]
    Mode {
        /// The value.
        value: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The value.
        #[label("not agent or daemon")]
        span: SourceSpan,
    },

    /// `service.process_type` is not one of launchd's `ProcessType` values.
    #[error("unknown `service.process_type` {value:?}")]
    #[diagnostic(
        code(ssollama::config::process_type),
        help(
            "use \"interactive\" (no throttling; the default), \"standard\" (launchd's default: light CPU and I/O limits), \"background\" or \"adaptive\""
        )
    )]
    ProcessType {
        /// The value.
        value: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The value.
        #[label("not interactive, standard, background or adaptive")]
        span: SourceSpan,
    },

    /// `mode = "daemon"` without `user`.
    #[error("`service.mode = \"daemon\"` needs `service.user`")]
    #[diagnostic(
        code(ssollama::config::daemon_without_user),
        help(
            "add `user = \"<short name>\"` to [service]: the account the daemon runs as (launchd `UserName`)"
        )
    )]
    DaemonWithoutUser {
        /// The file.
        #[source_code]
        src: Source,
        /// The mode value.
        #[label("a daemon runs as `user`")]
        span: SourceSpan,
    },

    /// `user` with an agent.
    #[error("`service.user` is only allowed with `mode = \"daemon\"`")]
    #[diagnostic(
        code(ssollama::config::user_with_agent),
        help("an agent runs as the logged-in user: remove `user`, or set `mode = \"daemon\"`")
    )]
    UserWithAgent {
        /// The file.
        #[source_code]
        src: Source,
        /// The user value.
        #[label("not used by an agent")]
        span: SourceSpan,
    },

    /// A user name macOS would not accept as a short name.
    #[error("invalid `service.user` {value:?}: {reason}")]
    #[diagnostic(
        code(ssollama::config::user_name),
        help("use the account's short name (`id -un`), such as \"ollama\" or \"_ollama\"")
    )]
    UserName {
        /// The value.
        value: String,
        /// Why.
        reason: &'static str,
        /// The file.
        #[source_code]
        src: Source,
        /// The value.
        #[label("invalid user name")]
        span: SourceSpan,
    },

    /// `kv_cache_type` is not one Ollama knows.
    #[error("unknown `ollama.kv_cache_type` {value:?}")]
    #[diagnostic(
        code(ssollama::config::kv_cache_type),
        help("use \"f16\" (Ollama's default), \"q8_0\" or \"q4_0\"")
    )]
    KvCacheType {
        /// The value.
        value: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The value.
        #[label("not f16, q8_0 or q4_0")]
        span: SourceSpan,
    },

    /// An `extra_env` key that is not an environment variable name.
    #[error("`ollama.extra_env` key {key:?} is not a valid environment variable name")]
    #[diagnostic(
        code(ssollama::config::env_name),
        help("use letters, digits and `_`, not starting with a digit, such as OLLAMA_NOHISTORY")
    )]
    EnvName {
        /// The key.
        key: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The key.
        #[label("invalid name")]
        span: SourceSpan,
    },

    /// `OLLAMA_HOST` in `extra_env`.
    #[error("`ollama.extra_env` must not set OLLAMA_HOST")]
    #[diagnostic(
        code(ssollama::config::extra_env_host),
        help("OLLAMA_HOST is written from [listen]: set `host` and `port` there")
    )]
    EnvHost {
        /// The file.
        #[source_code]
        src: Source,
        /// The key.
        #[label("set by [listen]")]
        span: SourceSpan,
    },

    /// An `extra_env` variable that a typed `[ollama]` key sets.
    #[error("`ollama.extra_env` must not set {var}: it has a typed key")]
    #[diagnostic(
        code(ssollama::config::extra_env_typed),
        help("use `{typed_key} = …` in [ollama] instead, which is checked")
    )]
    EnvTyped {
        /// The variable.
        var: String,
        /// The `[ollama]` key to use.
        typed_key: &'static str,
        /// The file.
        #[source_code]
        src: Source,
        /// The key.
        #[label("use [ollama] {typed_key}")]
        span: SourceSpan,
    },

    /// A `[models.parameters]` name that Ollama's `api.Options` does not have.
    #[error("unknown model parameter `{name}`")]
    #[diagnostic(code(ssollama::config::parameter_unknown), help("{help}"))]
    UnknownParameter {
        /// The name as written.
        name: String,
        /// A close match, or the list of Ollama's parameters.
        help: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The name.
        #[label("Ollama would refuse this parameter")]
        span: SourceSpan,
    },

    /// A `[models.parameters]` value of a type its `api.Options` field does not take.
    #[error("model parameter `{name}` must be {expected}")]
    #[diagnostic(
        code(ssollama::config::parameter_type),
        help("write {example}; Ollama reads `{name}` as {expected}")
    )]
    ParameterType {
        /// The parameter.
        name: String,
        /// `an integer`, `a number`, `a boolean` or `an array of strings`.
        expected: &'static str,
        /// A value of the right type.
        example: &'static str,
        /// The file.
        #[source_code]
        src: Source,
        /// The value.
        #[label("not {expected}")]
        span: SourceSpan,
    },

    /// `num_ctx` in `[models.parameters]`: the context has its own key.
    #[error("the context goes in `context_length`, not in `parameters.num_ctx`")]
    #[diagnostic(
        code(ssollama::config::parameter_num_ctx),
        help(
            "write `context_length = N` in this [[models]] entry and remove `num_ctx`: ssollama writes num_ctx from it, and checks the context Ollama really serves"
        )
    )]
    NumCtxParameter {
        /// The file.
        #[source_code]
        src: Source,
        /// The `num_ctx` key.
        #[label("use context_length")]
        span: SourceSpan,
    },

    /// `serve_as` on an entry that derives nothing.
    #[error("`serve_as` names a derived model, but this entry derives none")]
    #[diagnostic(
        code(ssollama::config::serve_as_alone),
        help(
            "add `context_length = N` (or a [models.parameters] table) to build a derived model, or remove `serve_as`"
        )
    )]
    ServeAsAlone {
        /// The file.
        #[source_code]
        src: Source,
        /// The `serve_as` value.
        #[label("nothing is derived")]
        span: SourceSpan,
    },

    /// A derived model's name that is not a model name Ollama takes.
    #[error("invalid derived model name {name:?}: {reason}")]
    #[diagnostic(code(ssollama::config::serve_as), help("{help}"))]
    DerivedName {
        /// The name (as written, or the default).
        name: String,
        /// Why it is refused.
        reason: String,
        /// How to fix it.
        help: &'static str,
        /// The file.
        #[source_code]
        src: Source,
        /// `serve_as`, or the key the default name comes from.
        #[label("invalid name")]
        span: SourceSpan,
    },

    /// A derived model's name that another declared or derived model already has.
    #[error("derived model {name} has the name of {other}")]
    #[diagnostic(
        code(ssollama::config::derived_name_taken),
        help("give it another name with `serve_as = \"…\"` in this [[models]] entry")
    )]
    DerivedNameTaken {
        /// The name (display form).
        name: String,
        /// `a declared model` or `another derived model`.
        other: &'static str,
        /// The file.
        #[source_code]
        src: Source,
        /// The other model.
        #[label("{other}")]
        first: SourceSpan,
        /// Where this name comes from.
        #[label("derives {name}")]
        again: SourceSpan,
    },

    /// A cloud model declared with `cloud = false`.
    #[error("model {model} is an Ollama cloud model, and `ollama.cloud = false`")]
    #[diagnostic(
        code(ssollama::config::cloud_model),
        help(
            "with OLLAMA_NO_CLOUD=1 Ollama refuses cloud models: remove this entry, or set `cloud = true` (or remove it) in [ollama]"
        )
    )]
    CloudModel {
        /// The model (display form).
        model: String,
        /// The file.
        #[source_code]
        src: Source,
        /// The model name.
        #[label("a cloud model")]
        span: SourceSpan,
        /// `cloud = false`.
        #[label("cloud is off")]
        cloud_span: SourceSpan,
    },

    /// `OLLAMA_NO_CLOUD` in `extra_env` together with `cloud`.
    #[error("`ollama.extra_env` sets OLLAMA_NO_CLOUD, and so does `ollama.cloud`")]
    #[diagnostic(
        code(ssollama::config::extra_env_no_cloud),
        help(
            "keep `cloud = …` in [ollama] (`false` writes OLLAMA_NO_CLOUD=1) and remove the extra_env entry"
        )
    )]
    EnvNoCloud {
        /// The file.
        #[source_code]
        src: Source,
        /// The key.
        #[label("set by `cloud`")]
        span: SourceSpan,
    },
}

impl ConfigError {
    /// Where the error points first (for sorting a report in file order).
    pub fn offset(&self) -> usize {
        self.labels()
            .and_then(|mut labels| labels.next())
            .map_or(0, |label| label.offset())
    }
}

/// Every error of one `server.toml`, reported together (plus its warnings, for the CLI).
#[derive(Debug, thiserror::Error)]
#[error("{summary}")]
pub struct ConfigErrors {
    /// "server.toml has 3 errors".
    summary: String,
    /// The errors, in file order.
    pub errors: Vec<ConfigError>,
    /// Warnings found alongside (not part of the error's diagnostics).
    pub warnings: Vec<ConfigWarning>,
}

impl ConfigErrors {
    /// Aggregates errors (sorted into file order) for the file shown as `path`.
    pub fn new(path: &str, mut errors: Vec<ConfigError>, warnings: Vec<ConfigWarning>) -> Self {
        errors.sort_by_key(ConfigError::offset);
        let count = errors.len();
        let summary = format!(
            "{path} has {count} error{}",
            if count == 1 { "" } else { "s" }
        );
        Self {
            summary,
            errors,
            warnings,
        }
    }
}

impl Diagnostic for ConfigErrors {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("ssollama::config::invalid"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(
            "fix every error listed, then run `ssollama validate` again",
        ))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(
            self.errors.iter().map(|error| error as &dyn Diagnostic),
        ))
    }
}

/// What a `ConfigWarning` is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningKind {
    /// `listen.host` is `0.0.0.0` or `::`: the unauthenticated API on every interface.
    AllInterfaces,
    /// `ollama.origins` has `"*"`: any web page may call the API.
    WildcardOrigin,
    /// `listen.host` is neither `network.address`, unspecified nor loopback.
    HostNotNetworkAddress,
    /// A quantized KV cache without `flash_attention = true`.
    KvCacheWithoutFlashAttention,
}

impl WarningKind {
    /// The last part of the diagnostic code.
    pub fn code(self) -> &'static str {
        match self {
            Self::AllInterfaces => "all_interfaces",
            Self::WildcardOrigin => "wildcard_origin",
            Self::HostNotNetworkAddress => "host_not_network_address",
            Self::KvCacheWithoutFlashAttention => "kv_cache_without_flash_attention",
        }
    }
}

/// A legal but risky setting in `server.toml` (severity warning, with a span and a help line).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConfigWarning {
    /// What the warning is about.
    pub kind: WarningKind,
    message: String,
    help: String,
    src: Source,
    labels: Vec<LabeledSpan>,
}

impl ConfigWarning {
    /// A warning with its message, help line and labelled spans.
    pub(crate) fn new(
        kind: WarningKind,
        message: String,
        help: String,
        src: Source,
        labels: Vec<LabeledSpan>,
    ) -> Self {
        Self {
            kind,
            message,
            help,
            src,
            labels,
        }
    }
}

impl Diagnostic for ConfigWarning {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("ssollama::config::{}", self.kind.code())))
    }

    fn severity(&self) -> Option<Severity> {
        Some(Severity::Warning)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.src)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

/// Renders a diagnostic without color or hyperlinks at a fixed width (tests, `NO_COLOR`).
pub fn render_plain(diag: &dyn Diagnostic, width: usize) -> String {
    let mut out = String::new();
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(width)
        .with_links(false);
    // Writing into a String cannot fail.
    if handler.render_report(&mut out, diag).is_err() {
        out.push_str(&diag.to_string());
    }
    out
}
