//! Ollama's environment parsing (`envconfig/config.go`, docs/ollama.md §4): `Var`, `Host()`,
//! `OLLAMA_KEEP_ALIVE`, and the `server config` log line.
//!
//! Pure: the environment is passed in as a map, never read from the process here.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::gotime::{self, FOREVER, SECOND};

/// The environment the server or CLI runs with (what launchd gave the job).
pub type Env = BTreeMap<String, String>;

/// Ollama's `Var(key)`: trim white space, then every leading/trailing `"` and `'`.
pub fn var(env: &Env, key: &str) -> String {
    env.get(key)
        .map(|v| v.trim().trim_matches(['"', '\'']).to_owned())
        .unwrap_or_default()
}

/// The parsed `OLLAMA_HOST` (`Host()`): scheme, host (empty = all interfaces), port, path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OllamaHost {
    /// `http`, `https` or whatever was written.
    pub scheme: String,
    /// Host part without brackets; empty means all interfaces.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// URL path (without the leading `/`), usually empty.
    pub path: String,
}

impl OllamaHost {
    /// `host:port` as Go's `net.JoinHostPort` writes it (IPv6 in brackets).
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The URL as `Host().String()` prints it in the `server config` line.
    pub fn url(&self) -> String {
        let path = if self.path.is_empty() {
            String::new()
        } else {
            format!("/{}", self.path)
        };
        format!("{}://{}{path}", self.scheme, self.host_port())
    }
}

/// Go's `net.SplitHostPort` (enough of it): `host:port`, `[v6]:port`, `:port`.
fn split_host_port(s: &str) -> Option<(String, String)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return Some((h.to_owned(), port.to_owned()));
    }
    let (h, p) = s.rsplit_once(':')?;
    if h.contains(':') {
        return None; // bare IPv6: "too many colons"
    }
    Some((h.to_owned(), p.to_owned()))
}

/// `Host()` from `envconfig/config.go`, step by step as docs/ollama.md §4 lists it.
pub fn host(env: &Env) -> OllamaHost {
    let mut default_port: u16 = 11434;
    let s = var(env, "OLLAMA_HOST");
    let s = s.trim();
    let (scheme, hostport) = match s.split_once("://") {
        None if s == "ollama.com" => {
            default_port = 443;
            ("https".to_owned(), "ollama.com:443".to_owned())
        }
        None => ("http".to_owned(), s.to_owned()),
        Some((sch, rest)) => {
            if sch == "http" {
                default_port = 80;
            } else if sch == "https" {
                default_port = 443;
            }
            (sch.to_owned(), rest.to_owned())
        }
    };
    let (hostport, path) = match hostport.split_once('/') {
        Some((hp, p)) => (hp.to_owned(), p.to_owned()),
        None => (hostport, String::new()),
    };
    let (host, port_text) = if let Some((h, p)) = split_host_port(&hostport) {
        (h, p)
    } else {
        let mut h = "127.0.0.1".to_owned();
        let trimmed = hostport.trim_matches(['[', ']']);
        if let Ok(ip) = trimmed.parse::<IpAddr>() {
            h = ip.to_string();
        } else if !hostport.is_empty() {
            h.clone_from(&hostport);
        }
        (h, default_port.to_string())
    };
    let port = port_text.parse::<u16>().unwrap_or(default_port);
    OllamaHost {
        scheme,
        host,
        port,
        path,
    }
}

/// `OLLAMA_KEEP_ALIVE` in nanoseconds: a Go duration, else integer seconds; negative → forever;
/// unparsable or unset → 5 minutes.
pub fn keep_alive(env: &Env) -> i128 {
    let s = var(env, "OLLAMA_KEEP_ALIVE");
    let d = if s.is_empty() {
        None
    } else if let Ok(d) = gotime::parse_duration(&s) {
        Some(d)
    } else {
        s.parse::<i64>().ok().map(|n| i128::from(n) * SECOND)
    };
    match d {
        Some(d) if d < 0 => FOREVER,
        Some(d) => d,
        None => 300 * SECOND,
    }
}

/// Ollama's `BoolWithDefault`: empty → default, Go `ParseBool`, anything else non-empty → true.
pub fn bool_var(env: &Env, key: &str, default: bool) -> bool {
    match var(env, key).as_str() {
        "" => default,
        "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
        _ => true,
    }
}

/// Unsigned integer variable, default on absence or parse failure.
fn uint_var(env: &Env, key: &str, default: u64) -> u64 {
    var(env, key).parse().unwrap_or(default)
}

/// `OLLAMA_CONTEXT_LENGTH` (v0.12.6 default 4096).
pub fn context_length(env: &Env) -> u64 {
    match uint_var(env, "OLLAMA_CONTEXT_LENGTH", 4096) {
        0 => 4096,
        n => n,
    }
}

/// The `env="map[…]"` value of the `server config` log line, v0.12.x key set for macOS, keys
/// sorted as Go prints maps.
pub fn config_map(env: &Env) -> String {
    let home = var(env, "HOME");
    let models = match var(env, "OLLAMA_MODELS") {
        m if m.is_empty() => format!("{home}/.ollama/models"),
        m => m,
    };
    let mut origins: Vec<String> = var(env, "OLLAMA_ORIGINS")
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect();
    for base in ["localhost", "127.0.0.1", "0.0.0.0"] {
        for p in ["http", "https"] {
            origins.push(format!("{p}://{base}"));
            origins.push(format!("{p}://{base}:*"));
        }
    }
    for o in [
        "app://*",
        "file://*",
        "tauri://*",
        "vscode-webview://*",
        "vscode-file://*",
    ] {
        origins.push(o.to_owned());
    }
    let debug = match var(env, "OLLAMA_DEBUG").as_str() {
        "" | "0" | "false" | "f" | "F" | "FALSE" | "False" => "INFO",
        "2" => "TRACE",
        _ => "DEBUG",
    };
    let entries: Vec<(&str, String)> = vec![
        ("HTTPS_PROXY", var(env, "HTTPS_PROXY")),
        ("HTTP_PROXY", var(env, "HTTP_PROXY")),
        ("NO_PROXY", var(env, "NO_PROXY")),
        ("OLLAMA_CONTEXT_LENGTH", context_length(env).to_string()),
        ("OLLAMA_DEBUG", debug.to_owned()),
        (
            "OLLAMA_FLASH_ATTENTION",
            bool_var(env, "OLLAMA_FLASH_ATTENTION", false).to_string(),
        ),
        (
            "OLLAMA_GPU_OVERHEAD",
            uint_var(env, "OLLAMA_GPU_OVERHEAD", 0).to_string(),
        ),
        ("OLLAMA_HOST", host(env).url()),
        (
            "OLLAMA_KEEP_ALIVE",
            gotime::duration_string(keep_alive(env)),
        ),
        ("OLLAMA_KV_CACHE_TYPE", var(env, "OLLAMA_KV_CACHE_TYPE")),
        ("OLLAMA_LLM_LIBRARY", var(env, "OLLAMA_LLM_LIBRARY")),
        ("OLLAMA_LOAD_TIMEOUT", "5m0s".to_owned()),
        (
            "OLLAMA_MAX_LOADED_MODELS",
            uint_var(env, "OLLAMA_MAX_LOADED_MODELS", 0).to_string(),
        ),
        (
            "OLLAMA_MAX_QUEUE",
            uint_var(env, "OLLAMA_MAX_QUEUE", 512).to_string(),
        ),
        ("OLLAMA_MODELS", models),
        (
            "OLLAMA_MULTIUSER_CACHE",
            bool_var(env, "OLLAMA_MULTIUSER_CACHE", false).to_string(),
        ),
        (
            "OLLAMA_NEW_ENGINE",
            bool_var(env, "OLLAMA_NEW_ENGINE", false).to_string(),
        ),
        (
            "OLLAMA_NOHISTORY",
            bool_var(env, "OLLAMA_NOHISTORY", false).to_string(),
        ),
        (
            "OLLAMA_NOPRUNE",
            bool_var(env, "OLLAMA_NOPRUNE", false).to_string(),
        ),
        (
            "OLLAMA_NUM_PARALLEL",
            uint_var(env, "OLLAMA_NUM_PARALLEL", 1).to_string(),
        ),
        ("OLLAMA_ORIGINS", format!("[{}]", origins.join(" "))),
        ("OLLAMA_REMOTES", "[ollama.com]".to_owned()),
        (
            "OLLAMA_SCHED_SPREAD",
            bool_var(env, "OLLAMA_SCHED_SPREAD", false).to_string(),
        ),
        ("http_proxy", var(env, "http_proxy")),
        ("https_proxy", var(env, "https_proxy")),
        ("no_proxy", var(env, "no_proxy")),
    ];
    let body: Vec<String> = entries.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("map[{}]", body.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> String {
        let mut env = Env::new();
        env.insert("OLLAMA_HOST".to_owned(), v.to_owned());
        host(&env).url()
    }

    #[test]
    fn host_matches_envconfig_test_table() {
        assert_eq!(h(""), "http://127.0.0.1:11434");
        assert_eq!(h("1.2.3.4"), "http://1.2.3.4:11434");
        assert_eq!(h(":1234"), "http://:1234");
        assert_eq!(h("example.com"), "http://example.com:11434");
        assert_eq!(h(":66000"), "http://:11434");
        assert_eq!(h(":-1"), "http://:11434");
        assert_eq!(h("[::1]"), "http://[::1]:11434");
        assert_eq!(h("::1"), "http://[::1]:11434");
        assert_eq!(h("[::]"), "http://[::]:11434");
        assert_eq!(h(" \"1.2.3.4\" "), "http://1.2.3.4:11434");
        assert_eq!(h("http://1.2.3.4"), "http://1.2.3.4:80");
        assert_eq!(h("https://1.2.3.4"), "https://1.2.3.4:443");
        assert_eq!(
            h("https://example.com/ollama"),
            "https://example.com:443/ollama"
        );
        assert_eq!(h("ollama.com"), "https://ollama.com:443");
        assert_eq!(h("127.0.0.7:11434"), "http://127.0.0.7:11434");
    }

    #[test]
    fn keep_alive_env_accepts_go_durations_and_seconds() {
        let mut env = Env::new();
        assert_eq!(keep_alive(&env), 300 * SECOND);
        env.insert("OLLAMA_KEEP_ALIVE".to_owned(), "-1".to_owned());
        assert_eq!(keep_alive(&env), FOREVER);
        env.insert("OLLAMA_KEEP_ALIVE".to_owned(), "24h".to_owned());
        assert_eq!(keep_alive(&env), 86_400 * SECOND);
        env.insert("OLLAMA_KEEP_ALIVE".to_owned(), "3600".to_owned());
        assert_eq!(keep_alive(&env), 3600 * SECOND);
        env.insert("OLLAMA_KEEP_ALIVE".to_owned(), "junk".to_owned());
        assert_eq!(keep_alive(&env), 300 * SECOND);
    }
}
