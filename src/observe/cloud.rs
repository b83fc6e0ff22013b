//! Cloud: the server's `~/.ollama/server.json`, whose `disable_ollama_cloud` turns cloud off
//! whatever `OLLAMA_NO_CLOUD` says (the variable **or** the file turns it off; Ollama.app
//! writes the file; ssollama only reads it: docs/ollama.md §4.4).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Scope, Settings};
use crate::launchd::plist::daemon_home;
use crate::model::Knowable;
use crate::model::desired::Mode;
use crate::model::observed::ServerConfig;
use crate::sys::fs;

/// The key `loadServerConfig` reads.
const KEY: &str = "disable_ollama_cloud";

/// The file of the user the server runs as: the agent's own home, a daemon's `UserName`'s
/// (the `HOME` its plist sets).
fn server_config_path(scope: &Scope, settings: &Settings) -> PathBuf {
    let home = match &scope.mode {
        Mode::Agent => settings.machine.home.clone(),
        Mode::Daemon { user } => PathBuf::from(daemon_home(user)),
    };
    home.join(".ollama").join("server.json")
}

/// `server.json` as the server reads it; unknown when it exists but cannot be read.
pub(super) fn server_config(scope: &Scope, settings: &Settings) -> Knowable<ServerConfig> {
    let path = server_config_path(scope, settings);
    match fs::read_optional(&path) {
        Ok(text) => Knowable::Known(read_server_config(&path, text.as_deref())),
        Err(err) => Knowable::unknown(format!("{} could not be read: {err}", path.display())),
    }
}

/// What Ollama takes from the file's text (`None` = no file), as `loadServerConfig` decodes it
/// with Go's `json.Unmarshal` into `struct { DisableOllamaCloud bool }`: invalid JSON or a
/// top-level value that is not an object leaves it `false`; the key matches case-insensitively
/// (an exact match first); `null` leaves it `false`; another type is a type error that leaves it
/// `false`.
fn read_server_config(path: &Path, text: Option<&str>) -> ServerConfig {
    let mut config = ServerConfig {
        path: path.to_owned(),
        exists: text.is_some(),
        disable_ollama_cloud: false,
        ignored: None,
    };
    let Some(text) = text else {
        return config;
    };
    let object = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => {
            config.ignored = Some("its top level is not a JSON object".to_owned());
            return config;
        }
        Err(err) => {
            config.ignored = Some(format!("it is not valid JSON ({err})"));
            return config;
        }
    };
    let value = object.get(KEY).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(KEY))
            .map(|(_, v)| v)
    });
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => config.disable_ollama_cloud = *b,
        Some(other) => config.ignored = Some(format!("`{KEY}` is {other}, not a boolean")),
    }
    config
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::read_server_config;

    fn disabled(text: Option<&str>) -> (bool, bool) {
        let c = read_server_config(Path::new("/Users/a/.ollama/server.json"), text);
        (c.disable_ollama_cloud, c.ignored.is_some())
    }

    #[test]
    fn only_a_json_true_disables_cloud() {
        // The shape Ollama.app writes (`setCloudEnabled`: indented, other keys kept).
        assert_eq!(
            disabled(Some(
                "{\n  \"another_key\": \"value\",\n  \"disable_ollama_cloud\": true\n}\n"
            )),
            (true, false)
        );
        assert_eq!(
            disabled(Some(r#"{"disable_ollama_cloud": false}"#)),
            (false, false)
        );
        assert_eq!(
            disabled(Some(r#"{"Disable_Ollama_Cloud": true}"#)),
            (true, false)
        );
        assert_eq!(disabled(None), (false, false));
        assert_eq!(disabled(Some("{}")), (false, false));
        assert_eq!(
            disabled(Some(r#"{"disable_ollama_cloud": null}"#)),
            (false, false)
        );
        // What Ollama ignores is said.
        assert_eq!(disabled(Some("{not json")), (false, true));
        assert_eq!(disabled(Some("[true]")), (false, true));
        assert_eq!(
            disabled(Some(r#"{"disable_ollama_cloud": "true"}"#)),
            (false, true)
        );
    }
}
