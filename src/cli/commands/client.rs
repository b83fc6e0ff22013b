//! `ssollama client claude-code|aider`: print a client's settings for this server, from
//! server.toml alone (nothing is observed; any OS).

use miette::Report;

use super::load_config;
use crate::cli::args::{AiderFile, ClaudeFormat, ClientArgs};
use crate::cli::{Context, ExitStatus};
use crate::render::client::{self, AiderPart};

/// `ssollama client …`: the settings on stdout, notes on stderr; exit 1 on an error.
pub(crate) fn run(ctx: &Context, args: &ClientArgs) -> Result<ExitStatus, Report> {
    let desired = load_config(ctx)?;
    let common = match args {
        ClientArgs::ClaudeCode { common, .. } | ClientArgs::Aider { common, .. } => common,
    };
    let setup = client::setup(&desired, common.url.as_deref(), common.model.as_deref())?;
    for note in &setup.notes {
        ctx.printer.note(&format!("note: {note}\n"));
    }
    let text = match args {
        ClientArgs::ClaudeCode { args, .. } => match args.format {
            ClaudeFormat::Json => client::claude_code_json(&setup),
            ClaudeFormat::Sh => client::claude_code_sh(&setup),
        },
        ClientArgs::Aider { args, .. } => client::aider(
            &setup,
            match args.only {
                None => AiderPart::Both,
                Some(AiderFile::Conf) => AiderPart::Conf,
                Some(AiderFile::Metadata) => AiderPart::Metadata,
            },
        ),
    };
    ctx.printer.out(&text);
    Ok(ExitStatus::Success)
}
