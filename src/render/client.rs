//! `ssollama client`: the settings Claude Code and Aider need to use this server, from
//! `server.toml` alone (nothing is observed).
//!
//! Pure: [`setup`] picks the address, the model and the context it is served with from a
//! [`Desired`]; [`claude_code_json`], [`claude_code_sh`] and [`aider`] render them.

use std::fmt::Write as _;
use std::net::IpAddr;

use miette::Diagnostic;

use crate::model::desired::{Desired, ModelSpec};
use crate::ollama::name::ModelName;

/// The context Ollama gives a model when neither the model nor `OLLAMA_CONTEXT_LENGTH` sets
/// one: 4096, 32768 or 262144 by the GPU memory Metal reports (docs/ollama.md
/// §4.1, §12.1). `server.toml` cannot tell which, so the smallest is assumed: a client that
/// compacts early loses nothing, one that overflows has its prompt cut without a word.
pub(crate) const OLLAMA_DEFAULT_CONTEXT: u32 = 4096;

/// Where the served context comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContextSource {
    /// The model's `context_length` in `[[models]]` (its derived model's `num_ctx`).
    Declared,
    /// `[ollama] context_length` (`OLLAMA_CONTEXT_LENGTH`).
    Server,
    /// Neither: [`OLLAMA_DEFAULT_CONTEXT`].
    OllamaDefault,
}

impl ContextSource {
    /// Says where the number comes from, for a comment or a note.
    fn describe(self) -> &'static str {
        match self {
            Self::Declared => "the model's `context_length` in server.toml",
            Self::Server => "`[ollama] context_length` in server.toml",
            Self::OllamaDefault => {
                "Ollama's default: 4096, 32768 or 262144 by the Mac's GPU memory; the smallest is assumed, set `context_length` to know"
            }
        }
    }
}

/// What a client is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientSetup {
    /// The server's URL, without a trailing `/` or `/v1` (`http://192.168.250.20:11434`).
    pub base_url: String,
    /// The name the client asks for: the derived model's when there is one.
    pub model: String,
    /// The context that model is served with, in tokens.
    pub context: u32,
    /// Where [`Self::context`] comes from.
    pub context_source: ContextSource,
    /// What the user should know (an address only this Mac can use, an assumed context).
    pub notes: Vec<String>,
}

/// Why there is nothing to tell a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Diagnostic)]
pub(crate) enum ClientError {
    /// `--url` is not an http(s) URL.
    #[error("`--url` {0:?} is not an http:// or https:// URL")]
    #[diagnostic(
        code(ssollama::client::url),
        help("give the server's address as clients reach it, such as http://192.168.250.20:11434")
    )]
    Url(String),
    /// `--model` names no model of `server.toml`.
    #[error("`--model` {0} is not declared in server.toml")]
    #[diagnostic(
        code(ssollama::client::model),
        help("name a [[models]] entry (or its derived model's name): {1}")
    )]
    NotDeclared(String, String),
    /// The model is an embedding model.
    #[error("{0} is an embedding model: it cannot chat, and Claude Code and Aider only chat")]
    #[diagnostic(
        code(ssollama::client::embedding),
        help(
            "pick a chat model with `--model`; ssollama knows an embedding model from server.toml by its name (`embed` in it, as `nomic-embed-text`)"
        )
    )]
    Embedding(String),
    /// No chat model in `[[models]]`.
    #[error("server.toml declares no chat model{0}")]
    #[diagnostic(
        code(ssollama::client::no_chat_model),
        help(
            "add one to [[models]], such as `name = \"qwen3-coder:30b\"` with `context_length = 65536`"
        )
    )]
    NoChatModel(&'static str),
}

/// The settings for a client of `desired`'s server. `url` overrides the address; `model`
/// picks a declared model (by its name or its derived model's), else the first warm chat
/// model that is not a cloud model, else the first chat model.
///
/// # Errors
/// A bad `--url`, an undeclared or embedding `--model`, or no chat model at all.
pub(crate) fn setup(
    desired: &Desired,
    url: Option<&str>,
    model: Option<&str>,
) -> Result<ClientSetup, ClientError> {
    let mut notes = Vec::new();
    let base_url = match url {
        Some(url) => normalize_url(url)?,
        None => default_url(desired, &mut notes),
    };
    let spec = pick(desired, model)?;
    let (context, context_source) = match (
        spec.derived.as_ref().and_then(|d| d.context_length),
        desired.ollama.context_length,
    ) {
        (Some(context), _) => (context, ContextSource::Declared),
        (None, Some(context)) => (context, ContextSource::Server),
        (None, None) => (OLLAMA_DEFAULT_CONTEXT, ContextSource::OllamaDefault),
    };
    if context_source == ContextSource::OllamaDefault {
        notes.push(format!(
            "the context {context} is {}",
            context_source.describe()
        ));
    }
    Ok(ClientSetup {
        base_url,
        model: spec.served_name().display(),
        context,
        context_source,
        notes,
    })
}

/// `--url` without a trailing `/` or `/v1`.
fn normalize_url(url: &str) -> Result<String, ClientError> {
    let trimmed = url.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/v1").unwrap_or(trimmed);
    let host = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"));
    match host {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
            Ok(trimmed.to_owned())
        }
        _ => Err(ClientError::Url(url.to_owned())),
    }
}

/// The declared bind; for all interfaces `network.address`, else loopback (with a note).
fn default_url(desired: &Desired, notes: &mut Vec<String>) -> String {
    let listen = desired.listen;
    let host = if listen.host.is_unspecified() {
        if let Some(network) = &desired.network {
            IpAddr::V4(network.address)
        } else {
            notes.push(format!(
                "`listen.host` {} is every interface and server.toml has no [network]: the URL is this Mac's loopback; give another machine's client `--url http://<this Mac's address>:{}`",
                listen.host, listen.port
            ));
            listen.connect_addr().ip()
        }
    } else {
        listen.host
    };
    match host {
        IpAddr::V4(v4) => format!("http://{v4}:{}", listen.port),
        IpAddr::V6(v6) => format!("http://[{v6}]:{}", listen.port),
    }
}

fn pick<'a>(desired: &'a Desired, model: Option<&str>) -> Result<&'a ModelSpec, ClientError> {
    let spec = if let Some(text) = model {
        let wanted = ModelName::parse(text).ok();
        let found = wanted.as_ref().and_then(|wanted| {
            desired
                .models
                .iter()
                .find(|m| m.name == *wanted || m.served_name() == wanted)
        });
        let Some(spec) = found else {
            let known = desired
                .models
                .iter()
                .map(|m| m.served_name().display())
                .collect::<Vec<_>>();
            let known = if known.is_empty() {
                "server.toml lists none".to_owned()
            } else {
                known.join(", ")
            };
            return Err(ClientError::NotDeclared(text.to_owned(), known));
        };
        spec
    } else {
        let mut chat: Vec<&ModelSpec> = desired
            .models
            .iter()
            .filter(|m| !m.named_embedding())
            .collect();
        // Stable: file order within each rank.
        chat.sort_by_key(|m| (m.name.is_cloud(), !m.warm));
        match chat.first().copied() {
            Some(spec) => spec,
            None if desired.models.is_empty() => {
                return Err(ClientError::NoChatModel(" ([[models]] is empty)"));
            }
            None => {
                return Err(ClientError::NoChatModel(
                    ": every declared model is an embedding model",
                ));
            }
        }
    };
    if spec.named_embedding() {
        return Err(ClientError::Embedding(spec.served_name().display()));
    }
    Ok(spec)
}

/// Claude Code's environment, in the order its settings list them.
fn claude_code_env(setup: &ClientSetup) -> Vec<(&'static str, String)> {
    let model = || setup.model.clone();
    vec![
        ("ANTHROPIC_BASE_URL", setup.base_url.clone()),
        // Ollama takes any token; Claude Code needs one, and an empty key so that it does not
        // use a stored Anthropic key (as Ollama's own launcher does: docs/ollama.md §14.6).
        ("ANTHROPIC_AUTH_TOKEN", "ollama".to_owned()),
        ("ANTHROPIC_API_KEY", String::new()),
        ("ANTHROPIC_DEFAULT_OPUS_MODEL", model()),
        ("ANTHROPIC_DEFAULT_SONNET_MODEL", model()),
        ("ANTHROPIC_DEFAULT_HAIKU_MODEL", model()),
        ("CLAUDE_CODE_SUBAGENT_MODEL", model()),
        // The per-request attribution header changes the prompt, which defeats Ollama's
        // prompt cache.
        ("CLAUDE_CODE_ATTRIBUTION_HEADER", "0".to_owned()),
        ("CLAUDE_CODE_AUTO_COMPACT_WINDOW", setup.context.to_string()),
        ("DISABLE_TELEMETRY", "1".to_owned()),
        ("DISABLE_ERROR_REPORTING", "1".to_owned()),
    ]
}

/// A JSON string literal.
fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// The `env` block of Claude Code's `settings.json` (a whole settings file: `{"env": …}`).
pub(crate) fn claude_code_json(setup: &ClientSetup) -> String {
    let lines: Vec<String> = claude_code_env(setup)
        .iter()
        .map(|(key, value)| format!("    {}: {}", json_string(key), json_string(value)))
        .collect();
    format!("{{\n  \"env\": {{\n{}\n  }}\n}}\n", lines.join(",\n"))
}

/// A POSIX shell single-quoted word.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The same environment as `export` lines, with a comment saying what the context is.
pub(crate) fn claude_code_sh(setup: &ClientSetup) -> String {
    let mut out = format!(
        "# Claude Code on the Ollama server at {}: model {}, context {} tokens ({})\n",
        setup.base_url,
        setup.model,
        setup.context,
        setup.context_source.describe()
    );
    for (key, value) in claude_code_env(setup) {
        let _ = writeln!(out, "export {key}={}", sh_quote(&value));
    }
    out
}

/// Which of Aider's files to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AiderPart {
    /// Both, each under a comment naming the file.
    Both,
    /// Only the `.aider.conf.yml` lines.
    Conf,
    /// Only the `.aider.model.metadata.json` document.
    Metadata,
}

/// Aider's `.aider.conf.yml` lines (the OpenAI-compatible API at `/v1`) and its
/// `.aider.model.metadata.json` entry, whose `max_input_tokens` is the served context.
pub(crate) fn aider(setup: &ClientSetup, part: AiderPart) -> String {
    let name = format!("openai/{}", setup.model);
    // Double-quoted YAML scalars are JSON strings.
    let conf = format!(
        "openai-api-base: {}\nopenai-api-key: {}\nmodel: {}\n# context: {} tokens ({})\n",
        json_string(&format!("{}/v1", setup.base_url)),
        json_string("ollama"),
        json_string(&name),
        setup.context,
        setup.context_source.describe()
    );
    let metadata = format!(
        "{{\n  {}: {{\n    \"max_input_tokens\": {context},\n    \"max_tokens\": {context},\n    \"input_cost_per_token\": 0,\n    \"output_cost_per_token\": 0,\n    \"litellm_provider\": \"openai\",\n    \"mode\": \"chat\"\n  }}\n}}\n",
        json_string(&name),
        context = setup.context
    );
    match part {
        AiderPart::Conf => conf,
        AiderPart::Metadata => metadata,
        AiderPart::Both => {
            format!("# .aider.conf.yml\n{conf}\n# .aider.model.metadata.json\n{metadata}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{AiderPart, ClientError, aider, claude_code_json, claude_code_sh, setup};
    use crate::model::Desired;

    fn desired(text: &str) -> Desired {
        crate::config::parse("server.toml", text).unwrap().desired
    }

    const SERVER: &str = r#"
[listen]
host = "0.0.0.0"
[network]
service = "Ethernet"
address = "192.168.250.20"
subnet_mask = "255.255.255.0"
router = "192.168.250.1"
[[models]]
name = "nomic-embed-text"
warm = true
[[models]]
name = "llama3.2"
[[models]]
name = "qwen3-coder:30b"
warm = true
context_length = 65536
"#;

    #[test]
    fn claude_code_gets_the_network_address_the_derived_model_and_its_context() {
        let setup = setup(&desired(SERVER), None, None).unwrap();
        assert_eq!(setup.base_url, "http://192.168.250.20:11434");
        assert!(setup.notes.is_empty(), "{:?}", setup.notes);
        insta::assert_snapshot!("claude_code_json", claude_code_json(&setup));
        insta::assert_snapshot!("claude_code_sh", claude_code_sh(&setup));
        let parsed: serde_json::Value = serde_json::from_str(&claude_code_json(&setup)).unwrap();
        assert_eq!(
            parsed["env"]["CLAUDE_CODE_AUTO_COMPACT_WINDOW"], "65536",
            "{parsed}"
        );
    }

    #[test]
    fn aider_gets_v1_and_the_metadata_entry() {
        let setup = setup(
            &desired(SERVER),
            Some("http://studio.lan:11434/v1/"),
            Some("qwen3-coder:30b"),
        )
        .unwrap();
        assert_eq!(setup.base_url, "http://studio.lan:11434");
        insta::assert_snapshot!("aider", aider(&setup, AiderPart::Both));
        let metadata: serde_json::Value =
            serde_json::from_str(&aider(&setup, AiderPart::Metadata)).unwrap();
        assert_eq!(
            metadata["openai/qwen3-coder:30b-64k"]["max_input_tokens"],
            65536
        );
        assert!(aider(&setup, AiderPart::Conf).starts_with("openai-api-base: "));
    }

    #[test]
    fn the_context_falls_back_to_the_server_then_to_ollamas_default() {
        let server = desired(
            "[listen]\nhost = \"127.0.0.1\"\n[ollama]\ncontext_length = 32768\n[[models]]\nname = \"llama3.2\"\n",
        );
        let chosen = setup(&server, None, None).unwrap();
        assert_eq!(chosen.base_url, "http://127.0.0.1:11434");
        assert_eq!(
            (chosen.model.as_str(), chosen.context),
            ("llama3.2:latest", 32768)
        );
        let bare =
            desired("[listen]\nhost = \"::\"\nport = 8080\n[[models]]\nname = \"llama3.2\"\n");
        let chosen = setup(&bare, None, None).unwrap();
        assert_eq!(chosen.base_url, "http://[::1]:8080");
        assert_eq!(chosen.context, 4096);
        assert_eq!(chosen.notes.len(), 2, "{:?}", chosen.notes);
        insta::assert_snapshot!("ollama_default_sh", claude_code_sh(&chosen));
    }

    #[test]
    fn embedding_models_and_no_chat_model_are_refused() {
        let server = desired(SERVER);
        assert_eq!(
            setup(&server, None, Some("nomic-embed-text")),
            Err(ClientError::Embedding("nomic-embed-text:latest".to_owned()))
        );
        assert!(matches!(
            setup(&server, None, Some("mistral")),
            Err(ClientError::NotDeclared(..))
        ));
        // The derived name picks its model too.
        assert_eq!(
            setup(&server, None, Some("qwen3-coder:30b-64k"))
                .unwrap()
                .model,
            "qwen3-coder:30b-64k"
        );
        let only_embedding =
            desired("[listen]\nhost = \"127.0.0.1\"\n[[models]]\nname = \"mxbai-embed-large\"\n");
        assert!(matches!(
            setup(&only_embedding, None, None),
            Err(ClientError::NoChatModel(_))
        ));
        let none = desired("[listen]\nhost = \"127.0.0.1\"\n");
        assert!(matches!(
            setup(&none, None, None),
            Err(ClientError::NoChatModel(_))
        ));
        assert!(matches!(
            setup(&none, Some("ftp://x"), None),
            Err(ClientError::Url(_))
        ));
    }
}
