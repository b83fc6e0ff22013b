//! Test support for the fake Ollama tests: a throw-away Mac dir, a server on a private
//! `127.0.0.X` address, and a raw HTTP/1.1 client that keeps the exact bytes.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    dead_code,
    unreachable_pub,
    missing_debug_implementations,
    reason = "test support: files, sockets and helpers not every test file uses"
)]

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use simmac::ollama::env::Env;
use simmac::ollama::{RunningServer, spawn};

/// A sandboxed Mac state dir plus (optionally) a running fake server.
pub struct Mac {
    pub dir: tempfile::TempDir,
    pub ip: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Mac {
    /// A fresh state dir and a private loopback IP (127.0.0.100–249).
    pub fn new() -> Self {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let x = 100 + (std::process::id().wrapping_mul(7).wrapping_add(n * 13)) % 150;
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            ip: format!("127.0.0.{x}"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn env(host: &str) -> Env {
        let mut env = Env::new();
        env.insert("OLLAMA_HOST".to_owned(), host.to_owned());
        env.insert("HOME".to_owned(), "/Users/admin".to_owned());
        env
    }

    /// Starts the server on `<ip>:0` (a free port).
    pub fn start(&self) -> RunningServer {
        self.start_on(&format!("{}:0", self.ip))
    }

    /// Starts the server on `<ip>:0` and returns it with the address it listens on. Keep the
    /// server bound (`let (_srv, addr)`): dropping it stops the server.
    pub fn serve(&self) -> (RunningServer, SocketAddr) {
        let srv = self.start();
        let addr = srv.addr().expect("a started server has an address");
        (srv, addr)
    }

    /// Installs each model of `names` (as `ollama pull` would have), in order.
    pub fn install(&self, names: &[&str]) -> &Self {
        for name in names {
            simmac::ollama::seed::install_model(self.path(), name).expect("install model");
        }
        self
    }

    pub fn start_on(&self, host: &str) -> RunningServer {
        spawn(self.path(), Self::env(host)).expect("server starts")
    }

    pub fn fault(&self, name: &str, content: &str) {
        simmac::ollama::seed::set_fault(self.path(), name, content).expect("fault");
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }
}

/// One raw HTTP exchange.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    /// Header names lower-cased, in wire order.
    pub headers: Vec<(String, String)>,
    /// De-chunked body.
    pub body: Vec<u8>,
    /// Whether a chunked body ended with its terminating zero chunk.
    pub complete: bool,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("utf-8 body")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// Asserts the status, the exact `Content-Type` and the exact body text.
    #[track_caller]
    pub fn assert_is(&self, status: u16, content_type: &str, text: impl AsRef<str>) {
        assert_eq!(self.status, status, "status");
        self.assert_body(content_type, text);
    }

    /// Asserts the exact `Content-Type` and the exact body text.
    #[track_caller]
    pub fn assert_body(&self, content_type: &str, text: impl AsRef<str>) {
        assert_eq!(self.header("content-type"), Some(content_type));
        assert_eq!(self.text(), text.as_ref());
    }

    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_owned).collect()
    }
}

/// Sends one request (`Connection: close`) and reads everything.
pub fn request(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> Resp {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(b) = body {
        let _ = write!(
            req,
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        );
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    raw_request(addr, &req)
}

/// Sends `req` (the exact request bytes: request line, headers, body) and reads the reply.
pub fn raw_request(addr: SocketAddr, req: &str) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(req.as_bytes()).expect("write");
    let mut raw = Vec::new();
    // A server that dies mid-stream may reset the connection: keep what arrived.
    let mut buf = [0_u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v == "chunked");
    let (body, complete) = if chunked {
        dechunk(rest)
    } else {
        (rest.to_vec(), true)
    };
    Resp {
        status,
        headers,
        body,
        complete,
    }
}

fn dechunk(mut b: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    while let Some(pos) = b.windows(2).position(|w| w == b"\r\n") {
        let Ok(size) = usize::from_str_radix(String::from_utf8_lossy(&b[..pos]).trim(), 16) else {
            return (out, false);
        };
        if size == 0 {
            return (out, true);
        }
        if b.len() < pos + 2 + size {
            out.extend_from_slice(&b[pos + 2..]);
            return (out, false);
        }
        out.extend_from_slice(&b[pos + 2..pos + 2 + size]);
        b = b.get(pos + 4 + size..).unwrap_or(&[]);
    }
    (out, false)
}

pub fn get(addr: SocketAddr, path: &str) -> Resp {
    request(addr, "GET", path, None)
}

pub fn post(addr: SocketAddr, path: &str, body: &str) -> Resp {
    request(addr, "POST", path, Some(body))
}

/// The string tokens of `json`, in order: the byte range of each one's contents (between the
/// quotes; an escaped quote does not end it) and the `{`/`[` depth it sits at.
fn string_tokens(json: &str) -> Vec<(usize, usize, i32)> {
    let b = json.as_bytes();
    let (mut depth, mut i, mut tokens) = (0_i32, 0, Vec::new());
    while i < b.len() {
        match b[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'"' {
                    if b[j] == b'\\' {
                        j += 1;
                    }
                    j += 1;
                }
                tokens.push((start, j.min(b.len()), depth));
                i = j;
            }
            _ => {}
        }
        i += 1;
    }
    tokens
}

/// The keys of every JSON object in `json`, in the order they appear, depth-first (a scan of
/// the text, so it sees the wire order that `serde_json::Value` would lose). A key is a string
/// followed by `:`, whitespace allowed between.
pub fn key_sequence(json: &str) -> Vec<String> {
    let b = json.as_bytes();
    string_tokens(json)
        .into_iter()
        .filter(|&(_, end, _)| {
            b.get(end + 1..)
                .and_then(|rest| rest.iter().find(|c| !c.is_ascii_whitespace()))
                == Some(&b':')
        })
        .map(|(start, end, _)| json[start..end].to_owned())
        .collect()
}

/// Reads a fixture under `tests/fixtures/ollama/`.
pub fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/ollama")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Replaces the value of every `"created_at":"…"`/`"modified_at":"…"`/`"expires_at":"…"` with `T`.
pub fn mask_times(s: &str) -> String {
    let mut out = s.to_owned();
    for key in ["created_at", "modified_at", "expires_at"] {
        let pat = format!("\"{key}\":\"");
        let mut from = 0;
        while let Some(p) = out[from..].find(&pat) {
            let start = from + p + pat.len();
            let end = start + out[start..].find('"').expect("closing quote");
            out.replace_range(start..end, "T");
            from = start + 1;
        }
    }
    out
}

/// The keys of the outermost object only, in wire order (a string at depth 1 immediately
/// followed by `:`).
pub fn top_level_keys(json: &str) -> Vec<String> {
    let b = json.as_bytes();
    string_tokens(json)
        .into_iter()
        .filter(|&(_, end, depth)| depth == 1 && b.get(end + 1) == Some(&b':'))
        .map(|(start, end, _)| json[start..end].to_owned())
        .collect()
}
