//! The command line, as clap derive types only (no logic).

use std::path::PathBuf;

use clap::{ArgAction, Args as ClapArgs, Parser, Subcommand, ValueEnum};

/// Declarative config-as-code for a self-hosted Ollama server on an Apple Silicon Mac.
///
/// `server.toml` declares the launchd job, the bind address, the static IP, Ollama's environment
/// and the models; `plan` shows how this Mac differs, `apply` converges it.
#[derive(Debug, Parser)]
#[command(
    name = "ssollama",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = EXIT_CODES,
)]
pub(crate) struct Args {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The verb.
    #[command(subcommand)]
    pub command: Command,
}

/// The exit codes, shown under every `--help` that can end in more than 0 or 1.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success; for `plan --detailed-exitcode` and `check`: no changes, the Mac matches server.toml
  1  an error: invalid server.toml, a usage error, a blocked plan, a failed step or check
  2  `plan --detailed-exitcode` and `check` only: changes present, the Mac has drifted";

/// Options every verb takes.
#[derive(Debug, ClapArgs)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// The server definition [default: `$SSOLLAMA_CONFIG`, else ./server.toml]
    #[arg(short, long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More detail on stderr (-v: info, -vv: debug, -vvv: trace)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr; on stdout only what the verb was asked for (no journal, no hints)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Colour: auto (a terminal, unless `NO_COLOR` is set), always or never
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = ColorChoice::Auto,
        value_name = "WHEN",
        hide_possible_values = true
    )]
    pub color: ColorChoice,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check server.toml: exit 0 when valid (warnings are printed), 1 when not
    #[command(
        after_help = "Examples:\n  ssollama validate\n  ssollama -c ~/ollama-server/server.toml validate"
    )]
    Validate,
    /// Print the JSON Schema of server.toml
    #[command(after_help = "Examples:\n  ssollama schema > server.schema.json")]
    Schema,
    /// Write a commented starter server.toml (refuses to overwrite)
    #[command(
        after_help = "Examples:\n  ssollama init\n  ssollama init --from-machine\n  ssollama init --from-machine --network-service Ethernet -   # to stdout"
    )]
    Init(InitArgs),
    /// Observe this Mac and print what was seen (the bug-report artifact)
    #[command(
        after_help = "Examples:\n  ssollama observe\n  ssollama observe --json > observed.json   # for `plan --state` or a bug report"
    )]
    Observe(ObserveArgs),
    /// Show what `apply` would change on this Mac
    #[command(after_help = concat!(
        "Examples:\n  ssollama plan\n  ssollama plan --out plan.json && ssollama apply plan.json\n",
        "  ssollama plan --state observed.json   # a saved observation, on any OS\n",
        "  ssollama plan --json | jq .summary\n\n",
        "Exit codes (with --detailed-exitcode):\n  0  no changes\n  1  an error, or a blocked plan\n  2  changes to apply",
    ))]
    Plan(PlanArgs),
    /// Read-only drift detection for cron/launchd: exit 0 in sync, 2 drifted, 1 error
    #[command(after_help = concat!(
        "Examples:\n  ssollama check\n  */15 * * * * /opt/homebrew/bin/ssollama -q -c \"$HOME/ollama-server/server.toml\" check   # crontab\n\n",
        "Exit codes:\n  0  in sync\n  1  an error, or part of the Mac could not be observed\n  2  drifted (the lines on stdout say how)",
    ))]
    Check(CheckArgs),
    /// Converge this Mac to server.toml: plan, confirm, apply, observe again until it matches
    #[command(
        after_help = "Examples:\n  ssollama apply\n  ssollama apply --yes --take-over\n  ssollama apply plan.json   # a plan saved by `plan --out`\n\nExit codes:\n  0  converged\n  1  an error, a failed step, or no convergence"
    )]
    Apply(ApplyArgs),
    /// Remove what ssollama manages: the job and its plist (logs, network, models on request)
    #[command(
        after_help = "Examples:\n  ssollama destroy\n  ssollama destroy --yes --logs --network"
    )]
    Destroy(DestroyArgs),
    /// Load models into memory and keep them there [default: the `warm = true` ones]
    #[command(
        after_help = "Examples:\n  ssollama warm\n  ssollama warm qwen2.5-coder:32b --wait 120"
    )]
    Warm(WarmArgs),
    /// Check the live server against server.toml and what Aider and Claude Code need
    #[command(
        after_help = "Examples:\n  ssollama verify\n  ssollama verify --skip-model-tests --junit verify.xml\n\nExit codes:\n  0  every check passed\n  1  a check failed, or an error"
    )]
    Verify(VerifyArgs),
    /// One screen: the job, the bind address, the static IP, Ollama, models, logs, conflicts
    #[command(after_help = "Examples:\n  ssollama status\n  ssollama status --json")]
    Status(StatusArgs),
    /// Print the settings Claude Code or Aider need for this server, from server.toml alone
    #[command(subcommand)]
    Client(ClientArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(after_help = concat!(
        "Examples:\n  ssollama completions bash > /opt/homebrew/etc/bash_completion.d/ssollama\n",
        "  ssollama completions zsh > \"${fpath[1]}/_ssollama\"\n",
        "  ssollama completions fish > ~/.config/fish/completions/ssollama.fish",
    ))]
    Completions(CompletionsArgs),
    /// Print the man page (roff)
    #[command(
        after_help = "Examples:\n  ssollama man | man -l -\n  ssollama man > /opt/homebrew/share/man/man1/ssollama.1"
    )]
    Man,
}

/// `ssollama completions`.
#[derive(Debug, ClapArgs)]
pub(crate) struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `ssollama init`.
#[derive(Debug, ClapArgs)]
pub(crate) struct InitArgs {
    /// Where to write (`-`: stdout) [default: the -c path, else ./server.toml]
    pub file: Option<PathBuf>,
    /// Describe the server this Mac runs now (its launchd job, bind address, environment,
    /// logs and models) instead of writing the starter file
    #[arg(long)]
    pub from_machine: bool,
    /// With --from-machine: the label of the job to adopt
    #[arg(
        long,
        value_name = "LABEL",
        default_value = "com.ollama",
        requires = "from_machine"
    )]
    pub label: String,
    /// With --from-machine: also adopt the static IPv4 configuration of this network service
    #[arg(long, value_name = "NAME", requires = "from_machine")]
    pub network_service: Option<String>,
}

/// `ssollama observe`.
#[derive(Debug, ClapArgs)]
pub(crate) struct ObserveArgs {
    /// Print the observation as JSON (the format `plan --state` reads)
    #[arg(long)]
    pub json: bool,
}

/// `ssollama plan`.
#[derive(Debug, ClapArgs)]
pub(crate) struct PlanArgs {
    /// Print the plan as JSON (see specs/plan-json.md)
    #[arg(long)]
    pub json: bool,
    /// Plan against a saved observation (`observe --json`) instead of this Mac
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan, with a fingerprint of the observation, for `apply FILE`
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `ssollama check`.
#[derive(Debug, ClapArgs)]
pub(crate) struct CheckArgs {
    /// Print the drift as JSON
    #[arg(long)]
    pub json: bool,
    /// Check a saved observation (`observe --json`) instead of this Mac
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Wait up to DURATION (`30s`, `10m`) for another ssollama working on this Mac, instead
    /// of failing at once
    #[arg(long, default_value = "0s", value_name = "DURATION", value_parser = parse_lock_timeout)]
    pub lock_timeout: std::time::Duration,
}

/// `ssollama apply`.
#[derive(Debug, ClapArgs)]
pub(crate) struct ApplyArgs {
    /// A plan saved by `plan --out FILE`; refused when this Mac changed since it was made
    #[arg(value_name = "PLANFILE")]
    pub plan_file: Option<PathBuf>,
    /// Apply without asking (required when stdin is not a terminal)
    #[arg(short, long)]
    pub yes: bool,
    /// Quit Ollama.app and boot out Homebrew's `homebrew.mxcl.ollama` when they block
    #[arg(long)]
    pub take_over: bool,
    /// Progress and the journal as JSON lines on stdout
    #[arg(long)]
    pub json: bool,
    /// Rounds of apply → observe → plan before giving up
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub max_rounds: usize,
    /// Seconds to wait for Ollama to answer after the job (re)starts
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub ready_timeout: u64,
    /// Seconds to wait for a booted-out job to disappear
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub bootout_timeout: u64,
    /// Seconds Ollama must keep answering after a (re)load before the step succeeds
    #[arg(long, default_value_t = 2, value_name = "SECS")]
    pub settle: u64,
    /// Wait up to DURATION (`30s`, `10m`) for another ssollama working on this Mac, instead
    /// of failing at once
    #[arg(long, default_value = "0s", value_name = "DURATION", value_parser = parse_lock_timeout)]
    pub lock_timeout: std::time::Duration,
}

/// `ssollama destroy`.
#[derive(Debug, ClapArgs)]
#[expect(clippy::struct_excessive_bools, reason = "clap flags")]
pub(crate) struct DestroyArgs {
    /// Destroy without asking (required when stdin is not a terminal)
    #[arg(short, long)]
    pub yes: bool,
    /// Also remove the log files named in `[logs]`
    #[arg(long)]
    pub logs: bool,
    /// Also revert the network service of `[network]` to DHCP
    #[arg(long)]
    pub network: bool,
    /// Also remove the models listed in server.toml (never any other model)
    #[arg(long)]
    pub models: bool,
    /// Progress and the journal as JSON lines on stdout
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for a booted-out job to disappear
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub bootout_timeout: u64,
    /// Wait up to DURATION (`30s`, `10m`) for another ssollama working on this Mac, instead
    /// of failing at once
    #[arg(long, default_value = "0s", value_name = "DURATION", value_parser = parse_lock_timeout)]
    pub lock_timeout: std::time::Duration,
}

/// `ssollama warm`.
#[derive(Debug, ClapArgs)]
pub(crate) struct WarmArgs {
    /// Models to warm [default: the `warm = true` models of server.toml]
    #[arg(value_name = "MODEL")]
    pub models: Vec<String>,
    /// Wait up to SECS for Ollama to answer first (for a job that runs at boot)
    #[arg(long, default_value_t = 0, value_name = "SECS")]
    pub wait: u64,
    /// Results as JSON lines on stdout
    #[arg(long)]
    pub json: bool,
    /// Wait up to DURATION (`30s`, `10m`) for another ssollama working on this Mac, instead
    /// of failing at once
    #[arg(long, default_value = "0s", value_name = "DURATION", value_parser = parse_lock_timeout)]
    pub lock_timeout: std::time::Duration,
}

/// `ssollama verify`.
#[derive(Debug, ClapArgs)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent command-line switches"
)]
pub(crate) struct VerifyArgs {
    /// Leave out the checks that run a model
    #[arg(long)]
    pub skip_model_tests: bool,
    /// Leave out the Anthropic API checks (Ollama before 0.14.0)
    #[arg(long)]
    pub skip_anthropic_tests: bool,
    /// Do not ping the router of `[network]`
    #[arg(long)]
    pub skip_router: bool,
    /// The model the model checks use [default: the first warm model that can chat, else the first
    /// model that can chat, else the first installed one that can]
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Print the results as JSON (see specs/verify.md)
    #[arg(long)]
    pub json: bool,
    /// Also write the results to this file, as `JUnit` XML
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// `ssollama status`.
#[derive(Debug, ClapArgs)]
pub(crate) struct StatusArgs {
    /// Print the status as JSON (see specs/verify.md)
    #[arg(long)]
    pub json: bool,
}

/// `--lock-timeout`: a Go-style duration (`30s`, `10m`, `1h30m`) or plain seconds.
fn parse_lock_timeout(text: &str) -> Result<std::time::Duration, String> {
    if let Ok(seconds) = text.trim().parse::<u64>() {
        return Ok(std::time::Duration::from_secs(seconds));
    }
    match crate::config::duration::parse_go_duration(text.trim()) {
        Ok(Some(nanos)) => Ok(std::time::Duration::from_nanos(nanos)),
        Ok(None) => Err("a negative duration".to_owned()),
        Err(error) => Err(format!("{error} (write e.g. `30s` or `10m`)")),
    }
}

/// `ssollama client`: which client, and its options.
#[derive(Debug, Subcommand)]
pub(crate) enum ClientArgs {
    /// The `env` block of Claude Code's settings.json (or `export` lines)
    #[command(after_help = concat!(
        "Examples:\n  ssollama client claude-code > ~/.claude/settings.json   # or merge its env block\n",
        "  eval \"$(ssollama client claude-code --format sh)\"\n",
        "  ssollama client claude-code --url http://studio.lan:11434 --model qwen3-coder:30b",
    ))]
    ClaudeCode {
        /// The address and the model.
        #[command(flatten)]
        common: ClientCommon,
        /// The output format.
        #[command(flatten)]
        args: ClaudeCodeArgs,
    },
    /// The .aider.conf.yml lines and the .aider.model.metadata.json entry
    #[command(after_help = concat!(
        "Examples:\n  ssollama client aider\n",
        "  ssollama client aider --only conf >> .aider.conf.yml\n",
        "  ssollama client aider --only metadata > .aider.model.metadata.json",
    ))]
    Aider {
        /// The address and the model.
        #[command(flatten)]
        common: ClientCommon,
        /// Which file.
        #[command(flatten)]
        args: AiderArgs,
    },
}

/// The options of every `client`.
#[derive(Debug, ClapArgs)]
pub(crate) struct ClientCommon {
    /// The server's URL as the client reaches it [default: `listen.host`, or `network.address`
    /// when Ollama binds every interface]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The declared model (or derived model) to use [default: the first warm chat model]
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
}

/// `client claude-code`.
#[derive(Debug, ClapArgs)]
pub(crate) struct ClaudeCodeArgs {
    /// `json`: the settings.json `env` block; `sh`: `export` lines
    #[arg(long, value_enum, default_value_t = ClaudeFormat::Json)]
    pub format: ClaudeFormat,
}

/// `client claude-code --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ClaudeFormat {
    /// `{"env": {…}}`, for settings.json.
    Json,
    /// `export KEY='value'` lines.
    Sh,
}

/// `client aider`.
#[derive(Debug, ClapArgs)]
pub(crate) struct AiderArgs {
    /// Print only one file: `conf` (.aider.conf.yml) or `metadata` (.aider.model.metadata.json)
    #[arg(long, value_enum, value_name = "FILE")]
    pub only: Option<AiderFile>,
}

/// `client aider --only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AiderFile {
    /// .aider.conf.yml
    Conf,
    /// .aider.model.metadata.json
    Metadata,
}
