//! [`RawConfig`] → `server.toml` text, with comments at the end of tables.
//!
//! Pure. Each table is serialized by the `toml` crate on its own (a `RawConfig` that holds only
//! that table, so the crate writes its header and keys), in the order of `RawConfig`'s fields,
//! one blank line apart; a `[[models]]` entry is a table of its own. The comments a table
//! carries follow its keys. `document` reads the same tables back.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::raw::RawConfig;

/// A table of the file, to write comments at the end of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Table {
    /// `[service]`.
    Service,
    /// `[listen]`.
    Listen,
    /// `[network]`.
    Network,
    /// `[logs]`.
    Logs,
    /// `[ollama]` (and `[ollama.extra_env]`).
    Ollama,
    /// `[model_policy]`.
    ModelPolicy,
    /// The `[[models]]` entry with this index.
    Model(usize),
}

/// Comment lines (without their `# `), by the table they end.
pub(crate) type Comments = BTreeMap<Table, Vec<String>>;

/// The text of `raw` with `comments`: every table present, then its comments.
///
/// # Errors
/// What the `toml` crate refuses to serialize (nothing a `RawConfig` holds).
pub(crate) fn to_toml(raw: &RawConfig, comments: &Comments) -> Result<String, toml::ser::Error> {
    let RawConfig {
        service,
        listen,
        network,
        logs,
        ollama,
        model_policy,
        models,
    } = raw;
    let mut tables: Vec<(Table, RawConfig)> = Vec::new();
    let mut table = |at: Table, fill: &dyn Fn(&mut RawConfig)| {
        let mut one = RawConfig::default();
        fill(&mut one);
        tables.push((at, one));
    };
    if service.is_some() {
        table(Table::Service, &|one| one.service.clone_from(service));
    }
    if listen.is_some() {
        table(Table::Listen, &|one| one.listen.clone_from(listen));
    }
    if network.is_some() {
        table(Table::Network, &|one| one.network.clone_from(network));
    }
    if logs.is_some() {
        table(Table::Logs, &|one| one.logs.clone_from(logs));
    }
    if ollama.is_some() {
        table(Table::Ollama, &|one| one.ollama.clone_from(ollama));
    }
    if model_policy.is_some() {
        table(Table::ModelPolicy, &|one| {
            one.model_policy.clone_from(model_policy);
        });
    }
    for (index, model) in models.iter().flatten().enumerate() {
        table(Table::Model(index), &|one| {
            one.models = Some(vec![model.clone()]);
        });
    }
    let mut out = String::new();
    for (at, one) in &tables {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&toml::to_string(one)?);
        for line in comments.get(at).into_iter().flatten() {
            let _ = writeln!(out, "# {line}");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{Comments, Table, to_toml};

    const FILE: &str = r#"[service]
label = "com.ollama"
mode = "daemon"
user = "ai"

[listen]
host = "192.168.250.20"
port = 11434

[network]
service = "Ethernet"
address = "192.168.250.20"
subnet_mask = "255.255.255.0"
router = "192.168.250.1"
dns = []

[logs]
stdout = "/tmp/o.log"
stderr = "/tmp/e.log"

[ollama]
context_length = 8192
flash_attention = true
keep_alive = 300

[ollama.extra_env]
HTTPS_PROXY = "http://proxy:3128"

[model_policy]
prune = true

[[models]]
name = "llama3.2"
warm = true

[[models]]
name = "nomic-embed-text"
"#;

    fn raw(text: &str) -> crate::config::raw::RawConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn a_file_in_its_own_order_is_written_back_verbatim() {
        assert_eq!(to_toml(&raw(FILE), &Comments::new()).unwrap(), FILE);
    }

    #[test]
    fn ollama_keys_are_written_in_the_order_of_their_variables() {
        let text = "[listen]\nhost = \"::1\"\n\n[ollama]\nno_prune = true\nkeep_alive = \"1h\"\ndebug = false\n";
        assert_eq!(
            to_toml(&raw(text), &Comments::new()).unwrap(),
            "[listen]\nhost = \"::1\"\n\n[ollama]\ndebug = false\nkeep_alive = \"1h\"\nno_prune = true\n"
        );
    }

    #[test]
    fn comments_end_their_table_and_only_extra_env_has_no_bare_ollama_header() {
        let text = "[listen]\nhost = \"::1\"\n\n[ollama.extra_env]\nA = \"1\"\n\n[[models]]\nname = \"a\"\n\n[[models]]\nname = \"b\"\n";
        let comments = Comments::from([
            (Table::Listen, vec!["one".to_owned(), "two".to_owned()]),
            (Table::Model(1), vec!["last".to_owned()]),
        ]);
        assert_eq!(
            to_toml(&raw(text), &comments).unwrap(),
            "[listen]\nhost = \"::1\"\n# one\n# two\n\n[ollama.extra_env]\nA = \"1\"\n\n[[models]]\nname = \"a\"\n\n[[models]]\nname = \"b\"\n# last\n"
        );
    }
}
