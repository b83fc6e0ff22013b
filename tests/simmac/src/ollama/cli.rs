//! The client side of the fake `ollama` executable: `--version`/`-v`, `list`, `ps`
//! (docs/ollama.md §5), talking to the server named by `OLLAMA_HOST` over loopback only.
//!
//! Owns stdout/stderr texts of those commands. A non-loopback `OLLAMA_HOST` is treated as
//! unreachable: the simulated Mac never opens connections off loopback.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

use std::path::Path;

use super::env::{self, Env};
use super::gotime::{SECOND, now_ns};
use super::{server, state};

/// `ConnectableHost()`: wildcards become loopback (the sandbox's alias when configured, else
/// `127.0.0.1`); the simulated Mac's own LAN addresses map to the alias; anything else is
/// unreachable (`None`): the fake never connects off loopback.
pub fn connect_addr(mac: &Path, env: &Env) -> Option<SocketAddr> {
    let h = env::host(env);
    if h.scheme != "http" {
        return None;
    }
    let alias = state::config(mac)
        .ok()
        .and_then(|c| c.loopback)
        .and_then(|a| a.parse::<IpAddr>().ok());
    let ip: IpAddr = match h.host.as_str() {
        "" | "0.0.0.0" | "::" => alias.unwrap_or(IpAddr::from([127, 0, 0, 1])),
        "localhost" => IpAddr::from([127, 0, 0, 1]),
        other => {
            let ip: IpAddr = other.parse().ok()?;
            if ip.is_loopback() {
                ip
            } else if server::mac_addresses(mac).contains(&ip) {
                alias?
            } else {
                return None;
            }
        }
    };
    Some(SocketAddr::new(ip, h.port))
}

/// A minimal HTTP/1.1 exchange; returns `(status, body)`.
pub fn http(addr: SocketAddr, method: &str, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: ollama/simmac\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("bad response"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok((status, body))
}

/// Decodes a chunked body (stops at the last complete chunk).
pub fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..pos]).trim(), 16).unwrap_or(0);
        if size == 0 || b.len() < pos + 2 + size {
            break;
        }
        out.extend_from_slice(&b[pos + 2..pos + 2 + size]);
        b = b.get(pos + 4 + size..).unwrap_or(&[]);
    }
    out
}

/// `ollama --version`: the lines to print (stdout; exit 0 always).
pub fn version_lines(mac: &Path, env: &Env, client_version: &str) -> Vec<String> {
    let mut out = Vec::new();
    let server = connect_addr(mac, env)
        .and_then(|a| http(a, "GET", "/api/version").ok())
        .filter(|(s, _)| *s == 200)
        .and_then(|(_, b)| serde_json::from_slice::<Value>(&b).ok())
        .map(|v| {
            v.get("version")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        });
    match &server {
        None => out.push("Warning: could not connect to a running Ollama instance".to_owned()),
        Some(v) if !v.is_empty() => out.push(format!("ollama version is {v}")),
        Some(_) => {}
    }
    if server.as_deref() != Some(client_version) {
        out.push(format!("Warning: client version is {client_version}"));
    }
    out
}

/// `format.HumanBytes`.
pub fn human_bytes(b: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "display only")]
    let f = b as f64;
    let (v, unit) = if b >= 1_000_000_000_000 {
        (f / 1e12, "TB")
    } else if b >= 1_000_000_000 {
        (f / 1e9, "GB")
    } else if b >= 1_000_000 {
        (f / 1e6, "MB")
    } else if b >= 1_000 {
        (f / 1e3, "KB")
    } else {
        return format!("{b} B");
    };
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "display only"
    )]
    let int = v as u64;
    #[expect(clippy::cast_precision_loss, reason = "display only")]
    let is_int = (v - int as f64).abs() < f64::EPSILON;
    if v >= 10.0 || is_int {
        format!("{int} {unit}")
    } else {
        format!("{v:.1} {unit}")
    }
}

/// `format.HumanTime(t, "Never")` for a time in ns since the epoch.
pub fn human_time(t_ns: i128) -> String {
    let now = now_ns();
    let d = t_ns - now;
    if d > 20 * 365 * 86_400 * SECOND {
        return "Forever".to_owned();
    }
    let (abs, suffix) = if d > 0 { (d, "from now") } else { (-d, "ago") };
    let secs = abs / SECOND;
    let text = match secs {
        0 => "Less than a second".to_owned(),
        1 => "1 second".to_owned(),
        s if s < 60 => format!("{s} seconds"),
        s if s < 120 => "About a minute".to_owned(),
        s if s < 3600 => format!("{} minutes", s / 60),
        s if s < 7200 => "About an hour".to_owned(),
        s if s < 48 * 3600 => format!("{} hours", (s + 1800) / 3600),
        s if s < 14 * 86_400 => format!("{} days", s / 86_400),
        s if s < 60 * 86_400 => format!("{} weeks", s / (7 * 86_400)),
        s if s < 730 * 86_400 => format!("{} months", s / (30 * 86_400)),
        s => format!("{} years", s / (365 * 86_400)),
    };
    format!("{text} {suffix}")
}

/// tablewriter v0.0.5 as `ollama list/ps` configure it (docs/ollama.md §5.1).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain(std::iter::once(header[i].len()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, h) in header.iter().enumerate() {
        let pad = if i + 1 == header.len() { " " } else { "    " };
        let _ = write!(out, "{h:<w$}{pad}", w = widths[i]);
    }
    out.push('\n');
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            let _ = write!(out, "{c:<w$}    ", w = widths[i]);
        }
        out.push('\n');
    }
    out
}

fn parse_time(s: &str) -> i128 {
    // YYYY-MM-DDTHH:MM:SS[.frac]Z (the fake always writes UTC)
    let num = |a: usize, b: usize| {
        s.get(a..b)
            .and_then(|x| x.parse::<i128>().ok())
            .unwrap_or(0)
    };
    let (y, m, d) = (num(0, 4), num(5, 7), num(8, 10));
    let (hh, mm, ss) = (num(11, 13), num(14, 16), num(17, 19));
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let frac = s.get(20..).map(|f| f.trim_end_matches('Z')).map_or(0, |f| {
        format!("{f:0<9}")
            .get(0..9)
            .and_then(|x| x.parse::<i128>().ok())
            .unwrap_or(0)
    });
    (days * 86_400 + hh * 3600 + mm * 60 + ss) * SECOND + frac
}

/// `ollama list` / `ollama ps` output, or the error line.
pub fn list_or_ps(mac: &Path, env: &Env, ps: bool, filter: Option<&str>) -> Result<String, String> {
    let fail =
        || "Error: could not connect to ollama server, run 'ollama serve' to start it".to_owned();
    let addr = connect_addr(mac, env).ok_or_else(fail)?;
    http(addr, "HEAD", "/").map_err(|_| fail())?;
    let path = if ps { "/api/ps" } else { "/api/tags" };
    let (_, body) = http(addr, "GET", path).map_err(|_| fail())?;
    let v: Value = serde_json::from_slice(&body).map_err(|e| format!("Error: {e}"))?;
    let models = v
        .get("models")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let s = |m: &Value, k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let n = |m: &Value, k: &str| m.get(k).and_then(Value::as_u64).unwrap_or(0);
    let mut rows = Vec::new();
    for m in &models {
        let name = s(m, "name");
        if let Some(f) = filter {
            let keep = if ps {
                name.starts_with(f)
            } else {
                name.to_lowercase().starts_with(&f.to_lowercase())
            };
            if !keep {
                continue;
            }
        }
        let id: String = s(m, "digest").chars().take(12).collect();
        if ps {
            let (size, vram) = (n(m, "size"), n(m, "size_vram"));
            let proc_text = if vram == 0 {
                "100% CPU".to_owned()
            } else if vram == size {
                "100% GPU".to_owned()
            } else if vram > size || size == 0 {
                "Unknown".to_owned()
            } else {
                let cpu = ((size - vram) * 200 / size).div_ceil(2);
                format!("{cpu}%/{}% CPU/GPU", 100 - cpu)
            };
            let exp = parse_time(&s(m, "expires_at"));
            let until = if exp < now_ns() {
                "Stopping...".to_owned()
            } else {
                human_time(exp)
            };
            rows.push(vec![
                name,
                id,
                human_bytes(size),
                proc_text,
                n(m, "context_length").to_string(),
                until,
            ]);
        } else {
            rows.push(vec![
                name,
                id,
                human_bytes(n(m, "size")),
                human_time(parse_time(&s(m, "modified_at"))),
            ]);
        }
    }
    let header: &[&str] = if ps {
        &["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]
    } else {
        &["NAME", "ID", "SIZE", "MODIFIED"]
    };
    Ok(table(header, &rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_cmd_test_layout() {
        let rows = vec![
            vec![
                "model1".into(),
                "sha256:abc12".into(),
                "1.0 KB".into(),
                "24 hours ago".into(),
            ],
            vec![
                "model2".into(),
                "sha256:def45".into(),
                "2.0 KB".into(),
                "2 days ago".into(),
            ],
        ];
        // cmd_test.go prints "1.0 KB"/"2.0 KB" from its own fixture strings.
        assert_eq!(
            table(&["NAME", "ID", "SIZE", "MODIFIED"], &rows),
            "NAME      ID              SIZE      MODIFIED     \n\
             model1    sha256:abc12    1.0 KB    24 hours ago    \n\
             model2    sha256:def45    2.0 KB    2 days ago      \n"
        );
        assert_eq!(
            table(&["NAME", "ID", "SIZE", "MODIFIED"], &[]),
            "NAME    ID    SIZE    MODIFIED \n"
        );
    }

    #[test]
    fn human_bytes_like_format_package() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1000), "1 KB");
        assert_eq!(human_bytes(19_851_336_256), "19 GB");
        assert_eq!(human_bytes(4_661_224_676), "4.7 GB");
    }

    #[test]
    fn parses_back_rendered_times() {
        let t = 1_767_225_600 * SECOND + 5;
        assert_eq!(parse_time(&super::super::gotime::rfc3339_nano(t)), t);
    }
}
