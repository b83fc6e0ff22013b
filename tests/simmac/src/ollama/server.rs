//! `ollama serve`: binding (with the loopback-only safety rule), the listener file, log lines,
//! faults that act at startup, routing with gin's 404/405 texts, and the request journal.
//!
//! Owns the process-level side of the fake server. Endpoint bodies live in [`super::native`] and
//! [`super::compat`].

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::engine::{self, App};
use super::env::{self, Env};
use super::gotime::{self, now_ns};
use super::state;
use super::{compat, native};

/// Why `serve` stopped with an error. `Display` is the line `ollama serve` prints on stderr.
#[derive(Debug)]
pub enum ServeError {
    /// The port is taken (Go: `bind: address already in use`).
    InUse(String),
    /// The simulated Mac refuses to bind a non-loopback address (tests never leave loopback).
    NotLoopback(String),
    /// An IP address the simulated Mac does not have (Go: `bind: can't assign requested address`).
    CannotAssign(String),
    /// `ollama-crash` fault fired.
    Crash(u64),
    /// Any other I/O error (state files, listener).
    Io(io::Error),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InUse(a) => write!(f, "Error: listen tcp {a}: bind: address already in use"),
            Self::NotLoopback(a) => write!(
                f,
                "Error: listen tcp {a}: bind: can't assign requested address \
                 (simmac: the simulated Mac only binds loopback addresses)"
            ),
            Self::CannotAssign(a) => {
                write!(
                    f,
                    "Error: listen tcp {a}: bind: can't assign requested address"
                )
            }
            Self::Crash(ms) => write!(
                f,
                "Error: simulated crash after {ms} ms (fault ollama-crash)"
            ),
            Self::Io(e) => write!(f, "Error: {e}"),
        }
    }
}

impl std::error::Error for ServeError {}

impl From<io::Error> for ServeError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// What the server reached after startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Listening on this socket address (the real bound address).
    Listening(SocketAddr),
    /// The `ollama-never-ready` fault is set: nothing will ever listen.
    NeverReady,
}

/// How the simulated Mac sees a bind address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindKind {
    /// A loopback address, bound as is.
    Exact,
    /// All interfaces (empty host, `0.0.0.0`, `::`): logged `[::]:PORT`, lsof `*:PORT`.
    Wildcard,
    /// One of the simulated Mac's LAN addresses, really bound on its loopback alias.
    Alias(IpAddr),
}

/// Where to bind for a parsed `OLLAMA_HOST`, and how the log/lsof names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindPlan {
    /// What is really bound (always loopback).
    pub bind: SocketAddr,
    /// How the address is presented.
    pub kind: BindKind,
}

impl BindPlan {
    /// `Listening on …` text for the bound port.
    pub fn shown(&self, port: u16) -> String {
        match self.kind {
            BindKind::Exact => SocketAddr::new(self.bind.ip(), port).to_string(),
            BindKind::Wildcard => format!("[::]:{port}"),
            BindKind::Alias(ip) => SocketAddr::new(ip, port).to_string(),
        }
    }

    /// The `address` lsof shows.
    pub fn lsof_name(&self, port: u16) -> String {
        match self.kind {
            BindKind::Wildcard => format!("*:{port}"),
            _ => self.shown(port),
        }
    }
}

/// The simulated Mac's own IPv4 addresses: every enabled network service's current address
/// (`<mac>/network/services.json`, owned by the fake networksetup).
pub fn mac_addresses(mac: &Path) -> Vec<IpAddr> {
    use crate::network::NetConfig;
    crate::network::load(&crate::state::Mac::new(mac))
        .services
        .iter()
        .filter(|s| s.enabled)
        .filter_map(|s| match &s.config {
            NetConfig::Dhcp(Some(lease)) | NetConfig::Manual(lease) => lease.address.parse().ok(),
            NetConfig::Dhcp(None) => None,
        })
        .collect()
}

/// Decides what to bind (see `README.md`, "Binding"). `alias` is the sandbox's loopback address
/// (`config.json` `loopback`) that stands in for the wildcard and for the Mac's LAN addresses;
/// without it the wildcard is `127.0.0.1` and LAN addresses are refused.
pub fn bind_plan(
    host: &env::OllamaHost,
    alias: Option<IpAddr>,
    owned: &[IpAddr],
) -> Result<BindPlan, ServeError> {
    let h = host.host.as_str();
    let wildcard_ip = alias.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let (ip, kind) = match h {
        "" | "0.0.0.0" | "::" => (wildcard_ip, BindKind::Wildcard),
        "localhost" => (IpAddr::V4(Ipv4Addr::LOCALHOST), BindKind::Exact),
        _ => match h.parse::<IpAddr>() {
            Ok(ip) if ip.is_loopback() => (ip, BindKind::Exact),
            Ok(ip) if owned.contains(&ip) => match alias {
                Some(a) => (a, BindKind::Alias(ip)),
                None => return Err(ServeError::NotLoopback(host.host_port())),
            },
            Ok(_) => return Err(ServeError::CannotAssign(host.host_port())),
            Err(_) => return Err(ServeError::NotLoopback(host.host_port())),
        },
    };
    Ok(BindPlan {
        bind: SocketAddr::new(ip, host.port),
        kind,
    })
}

/// slog text time (`2006-01-02T15:04:05.000Z07:00`).
fn log_time() -> String {
    let ns = now_ns();
    let ms = ns - ns.rem_euclid(1_000_000);
    let t = gotime::rfc3339_nano(ms);
    // rfc3339_nano trims zeros; slog keeps exactly three digits.
    let (base, frac) = match t.trim_end_matches('Z').split_once('.') {
        Some((b, f)) => (b.to_owned(), f.to_owned()),
        None => (t.trim_end_matches('Z').to_owned(), String::new()),
    };
    format!("{base}.{frac:0<3}Z")
}

/// One Ollama-style INFO log line on stderr.
pub fn log_info(source: &str, msg: &str, extra: &str) {
    log_line("INFO", source, msg, extra);
}

/// One Ollama-style log line (slog's text handler) on stderr.
pub fn log_line(level: &str, source: &str, msg: &str, extra: &str) {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(" {extra}")
    };
    eprintln!(
        "time={} level={level} source={source} msg={}{extra}",
        log_time(),
        quote_if_needed(msg)
    );
}

/// The runner's warning for a prompt longer than its context (`runner/ollamarunner/runner.go`
/// `Server.NewSequence`: `slog.Warn("truncating input prompt", "limit", …, "prompt", …,
/// "keep", …, "new", …)`), which reaches the server's log with the runner's output.
pub fn log_prompt_eval(eval: &engine::PromptEval) {
    if let Some((limit, prompt, keep, new)) = eval.truncated {
        log_line(
            "WARN",
            "runner.go:171",
            "truncating input prompt",
            &format!("limit={limit} prompt={prompt} keep={keep} new={new}"),
        );
    }
}

fn quote_if_needed(s: &str) -> String {
    if s.contains([' ', '"', '=']) {
        format!("{s:?}")
    } else {
        s.to_owned()
    }
}

/// Listener file `<mac>/ollama/listeners/<pid>.json`, removed on drop.
///
/// It carries the process's parent (`ppid`), which the fake `ps` prints as real `ps` does: the
/// real parent, or the fake one named by [`crate::state::PARENT_PID_ENV`] (Ollama.app's pid,
/// the app that started this `ollama serve` as its child), and the executable named by
/// [`crate::state::COMMAND_ENV`] when it stands for another one (the app's bundled server).
#[derive(Debug)]
struct ListenerFile(PathBuf);

impl ListenerFile {
    fn create(mac: &Path, address: &str, bound: SocketAddr) -> io::Result<Self> {
        let pid = std::process::id();
        let path = state::dir(mac)
            .join("listeners")
            .join(format!("{pid}.json"));
        let parent = std::env::var(crate::state::PARENT_PID_ENV)
            .ok()
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or_else(std::os::unix::process::parent_id);
        let command = std::env::var(crate::state::COMMAND_ENV).ok();
        let body = super::gojson::Obj::new()
            .field("pid", &pid)
            .field("ppid", &parent)
            .field_if(command.is_some(), "command", &command)
            .field("address", address)
            .field("bound", &bound.to_string())
            .done();
        state::write_atomic(&path, body.as_bytes())?;
        Ok(Self(path))
    }
}

impl Drop for ListenerFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs the fake server until `shutdown` resolves (or a crash fault fires). `on_ready` is called
/// once, with the bound address or [`Readiness::NeverReady`].
pub async fn serve(
    mac: &Path,
    env: &Env,
    on_ready: impl FnOnce(Readiness) + Send,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let cfg = state::config(mac)?;
    let host = env::host(env);
    log_info(
        "routes.go:1511",
        "server config",
        &format!("env={:?}", env::config_map(env)),
    );
    if state::fault(mac, "ollama-never-ready").is_some() && faults_apply(mac, env) {
        on_ready(Readiness::NeverReady);
        shutdown.await;
        return Ok(());
    }
    let alias = cfg
        .loopback
        .as_deref()
        .and_then(|a| a.parse::<IpAddr>().ok());
    let plan = bind_plan(&host, alias, &mac_addresses(mac))?;
    let count = state::installed(mac).map_or(0, |m| m.len());
    log_info("images.go:522", &format!("total blobs: {}", count * 4), "");
    log_info("images.go:529", "total unused blobs removed: 0", "");
    let listener = match tokio::net::TcpListener::bind(plan.bind).await {
        Ok(l) => l,
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            return Err(ServeError::InUse(host.host_port()));
        }
        Err(e) => return Err(ServeError::Io(e)),
    };
    let bound = listener.local_addr()?;
    let shown = plan.shown(bound.port());
    let lsof_name = plan.lsof_name(bound.port());
    let _listener_file = ListenerFile::create(mac, &lsof_name, bound)?;
    log_info(
        "routes.go:1564",
        &format!("Listening on {shown} (version {})", cfg.version),
        "",
    );
    let app = Arc::new(App::new(
        mac.to_path_buf(),
        env.clone(),
        cfg.version,
        plan.kind == BindKind::Exact,
    ));
    log_gpu(&app);
    let router = axum::Router::new().fallback(dispatch).with_state(app);
    on_ready(Readiness::Listening(bound));
    let crash_ms = state::fault(mac, "ollama-crash")
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|_| faults_apply(mac, env));
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown);
    match crash_ms {
        Some(ms) => {
            tokio::select! {
                r = server => r.map_err(ServeError::Io),
                () = tokio::time::sleep(Duration::from_millis(ms)) => Err(ServeError::Crash(ms)),
            }
        }
        None => server.await.map_err(ServeError::Io),
    }
}

/// The GPU lines `Server.Serve` (`server/routes.go`) logs once listening: `discovering
/// available GPUs...` (`discover/runner.go`), `inference compute` (`discover/types.go`
/// `LogDetails`: one Metal device whose `total` and `available` are Metal's
/// `recommendedMaxWorkingSetSize`, [`crate::state::Machine::metal_total`]), then `entering low
/// vram mode` below 20 GiB (before v0.15.5) or `vram-based default context` (from v0.15.5).
/// The attribute set follows the version: v0.12.6 (and the v0.12.5 capture) `id library compute
/// name description libdirs driver pci_id type total available` with `pci_id=00:00.0
/// type=discrete`; v0.12.7–v0.12.10 add `filtered_id`; from v0.12.11 `filter_id=0` and
/// `pci_id=""` (v0.13.5–v0.18 captures); from v0.33 `name=MTL0 type=iGPU` (v0.33/v0.35 captures).
fn log_gpu(app: &App) {
    log_info("runner.go:80", "discovering available GPUs...", "");
    let chip = crate::state::Mac::new(&app.mac).machine().chip;
    let total = engine::human_bytes2(app.metal_total);
    let (source, id, name, pci, kind) = if app.since("0.33.0") {
        ("types.go:42", "id=0 filter_id=0", "MTL0", "\"\"", "iGPU")
    } else if app.since("0.12.11") {
        (
            "types.go:42",
            "id=0 filter_id=0",
            "Metal",
            "\"\"",
            "discrete",
        )
    } else if app.since("0.12.7") {
        (
            "types.go:42",
            "id=0 filtered_id=\"\"",
            "Metal",
            "\"\"",
            "discrete",
        )
    } else {
        ("types.go:112", "id=0", "Metal", "00:00.0", "discrete")
    };
    log_info(
        source,
        "inference compute",
        &format!(
            "{id} library=Metal compute=0.0 name={name} description={} libdirs=\"\" driver=0.0 pci_id={pci} type={kind} total={total:?} available={total:?}",
            quote_if_needed(&chip)
        ),
    );
    if app.since("0.15.5") {
        let ctx = engine::default_context(app);
        log_info(
            "routes.go:1648",
            "vram-based default context",
            &format!("total_vram={total:?} default_num_ctx={ctx}"),
        );
    } else if app.metal_total < engine::LOW_VRAM_THRESHOLD {
        log_info(
            "routes.go:1605",
            "entering low vram mode",
            &format!(
                "\"total vram\"={total:?} threshold={:?}",
                engine::human_bytes2(engine::LOW_VRAM_THRESHOLD)
            ),
        );
    }
}

/// Whether the serve faults (`ollama-never-ready`, `ollama-crash`) apply to a server started with
/// `env`: always, unless `faults/ollama-faults-when-env` holds `KEY=VALUE` and `env` lacks it (so a
/// test can break one definition of a job, "the new plist", and keep the previous one working).
fn faults_apply(mac: &Path, env: &Env) -> bool {
    state::fault(mac, "ollama-faults-when-env").is_none_or(|pair| {
        pair.split_once('=')
            .is_some_and(|(key, value)| env.get(key).is_some_and(|v| v == value))
    })
}

/// A server running on a background thread (for tests; the binary uses [`serve`] directly).
#[derive(Debug)]
pub struct RunningServer {
    /// What the server reached.
    pub readiness: Readiness,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), ServeError>>>,
}

impl RunningServer {
    /// The bound address; panics-free `None` when the server never became ready.
    pub fn addr(&self) -> Option<SocketAddr> {
        match self.readiness {
            Readiness::Listening(a) => Some(a),
            Readiness::NeverReady => None,
        }
    }

    /// Stops the server (like SIGTERM) and returns how it ended.
    pub fn stop(mut self) -> Result<(), ServeError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(|_| {
                Err(ServeError::Io(io::Error::other("server thread panicked")))
            }),
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Starts [`serve`] on its own thread and runtime; returns once it listens (or refused, or will
/// never be ready).
pub fn spawn(mac: &Path, env: Env) -> Result<RunningServer, ServeError> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Readiness>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mac = mac.to_path_buf();
    let thread = std::thread::spawn(move || -> Result<(), ServeError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        rt.block_on(serve(
            &mac,
            &env,
            move |r| {
                let _ = ready_tx.send(r);
            },
            async move {
                let _ = stop_rx.await;
            },
        ))
    });
    if let Ok(readiness) = ready_rx.recv() {
        Ok(RunningServer {
            readiness,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    } else {
        // The thread ended before becoming ready: return its error.
        match thread.join() {
            Ok(Err(e)) => Err(e),
            Ok(Ok(())) => Err(ServeError::Io(io::Error::other(
                "server ended before listening",
            ))),
            Err(_) => Err(ServeError::Io(io::Error::other("server thread panicked"))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

/// gin `c.JSON`: `application/json; charset=utf-8`, no trailing newline.
pub fn gin_json(status: StatusCode, body: String) -> Response {
    with_type(status, "application/json; charset=utf-8", Body::from(body))
}

/// gin error body `{"error":"…"}`.
pub fn gin_error(status: StatusCode, msg: &str) -> Response {
    gin_json(status, super::gojson::Obj::new().field("error", msg).done())
}

/// `json.NewEncoder(w).Encode` behind `Content-Type: application/json`: trailing newline.
pub fn encoder_json(status: StatusCode, body: &str) -> Response {
    with_type(status, "application/json", Body::from(format!("{body}\n")))
}

/// A response with a body and a content type.
pub fn with_type(status: StatusCode, content_type: &'static str, body: Body) -> Response {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// gin's router replies: `404 page not found` / `405 method not allowed`, `text/plain`.
fn router_reply(status: StatusCode, allow: Option<String>) -> Response {
    let text = if status == StatusCode::NOT_FOUND {
        "404 page not found"
    } else {
        "405 method not allowed"
    };
    let mut r = with_type(status, "text/plain", Body::from(text));
    if let Some(a) = allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
        r.headers_mut().insert(header::ALLOW, a);
    }
    r
}

/// A streamed body fed through a channel: each item is one chunk; an `Err` aborts the
/// connection (no terminating chunk), like a server dying mid-stream.
pub type Feed = mpsc::Sender<Result<Bytes, io::Error>>;

/// A streaming response and the sender feeding it.
pub fn streaming(content_type: &'static str, extra_sse_headers: bool) -> (Response, Feed) {
    let (tx, rx) = mpsc::channel::<Result<Bytes, io::Error>>(16);
    let mut r = with_type(
        StatusCode::OK,
        content_type,
        Body::from_stream(ReceiverStream::new(rx)),
    );
    if extra_sse_headers {
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    (r, tx)
}

// ---------------------------------------------------------------------------------------------
// Routing

/// Methods per route, in gin tree order (HEAD, GET, POST, DELETE: order of first registration
/// in `GenerateRoutes`), for 405 `Allow`.
const ROUTES: &[(&str, &[&str])] = &[
    ("/", &["HEAD", "GET"]),
    ("/api/version", &["HEAD", "GET"]),
    ("/api/pull", &["POST"]),
    ("/api/tags", &["HEAD", "GET"]),
    ("/api/create", &["POST"]),
    ("/api/show", &["POST"]),
    ("/api/delete", &["DELETE"]),
    ("/api/copy", &["POST"]),
    ("/api/ps", &["GET"]),
    ("/api/status", &["GET"]),
    ("/api/generate", &["POST"]),
    ("/api/chat", &["POST"]),
    ("/api/embed", &["POST"]),
    ("/v1/chat/completions", &["POST"]),
    ("/v1/embeddings", &["POST"]),
    ("/v1/models", &["GET"]),
    ("/v1/models/:model", &["GET"]),
    ("/v1/responses", &["POST"]),
    ("/v1/messages", &["POST"]),
];

fn route_of(path: &str) -> Option<&'static (&'static str, &'static [&'static str])> {
    ROUTES.iter().find(|(p, _)| match p.strip_suffix(":model") {
        Some(prefix) => path
            .strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/')),
        None => *p == path,
    })
}

/// Journal classification: `(mutating, kind)`.
fn classify(method: &Method, path: &str) -> (bool, Option<&'static str>) {
    match (method.as_str(), path) {
        ("POST", "/api/pull" | "/api/copy" | "/api/create") | ("DELETE", "/api/delete") => {
            (true, None)
        }
        (
            "POST",
            "/api/generate"
            | "/api/chat"
            | "/api/embed"
            | "/v1/chat/completions"
            | "/v1/embeddings"
            | "/v1/responses"
            | "/v1/messages",
        ) => (false, Some("load")),
        _ => (false, None),
    }
}

/// The one handler: delay faults, journal, route, gin access log.
async fn dispatch(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Result<Response, Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let (mutating, kind) = classify(&method, &path);
    state::journal_http(&app.mac, method.as_str(), &path, mutating, kind);
    let cfg = state::config(&app.mac).unwrap_or_default();
    let slow = state::fault(&app.mac, "ollama-slow-ms")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    let delay = cfg.latency_ms + slow;
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let host_ok = !app.loopback_only
        || req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_none_or(allowed_host);
    let body = axum::body::to_bytes(req.into_body(), 64 << 20)
        .await
        .unwrap_or_default();
    // Routes newer than the configured version do not exist: gin's plain 404 for any method.
    let route = route_of(&path).filter(|(pattern, _)| match *pattern {
        // `server/routes.go` `GenerateRoutes`: `/v1/responses` came with v0.13.3 (#13351),
        // `/v1/messages` with v0.14.0 (#13600).
        "/v1/responses" => app.since("0.13.3"),
        "/v1/messages" => app.since("0.14.0"),
        // `/api/status` came with the cloud switch, v0.16.2 (#14221).
        "/api/status" => app.since("0.16.2"),
        _ => true,
    });
    let resp = match route {
        _ if !host_ok => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::FORBIDDEN;
            r
        }
        None => router_reply(StatusCode::NOT_FOUND, None),
        Some((pattern, methods)) if !methods.contains(&method.as_str()) => {
            let _ = pattern;
            router_reply(StatusCode::METHOD_NOT_ALLOWED, Some(methods.join(", ")))
        }
        Some((pattern, _)) => handle(&app, &method, pattern, &path, &body, &cfg),
    };
    // gin's default formatter without colors:
    // "[GIN] %v |%s %3d %s| %13v | %15s |%s %-7s %s %#v\n" (empty color strings).
    eprintln!(
        "[GIN] {} | {:>3} | {:>13} | {:>15} | {:<7}  {:?}",
        gin_time(),
        resp.status().as_u16(),
        gotime::duration_string(i128::try_from(started.elapsed().as_nanos()).unwrap_or(0)),
        peer.ip().to_string(),
        method.as_str(),
        path
    );
    Ok(resp)
}

/// `allowedHostsMiddleware`'s test: loopback/private/unspecified IPs, `localhost`, and
/// `*.localhost`, `*.local`, `*.internal` names (the machine's own hostname is not modelled).
pub fn allowed_host(host_header: &str) -> bool {
    let host = match host_header.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
        _ => host_header,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return true;
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return match ip {
            IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_unspecified(),
            IpAddr::V6(v6) => {
                v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xfe00) == 0xfc00
            }
        };
    }
    let lower = host.to_ascii_lowercase();
    lower == "localhost"
        || [".localhost", ".local", ".internal"]
            .iter()
            .any(|s| lower.ends_with(s))
}

fn gin_time() -> String {
    let t = gotime::rfc3339_nano(now_ns());
    // 2026-08-21T10:00:00.123Z → 2026/08/21 - 10:00:00
    let date = t.get(0..10).unwrap_or("").replace('-', "/");
    let clock = t.get(11..19).unwrap_or("");
    format!("{date} - {clock}")
}

fn handle(
    app: &Arc<App>,
    method: &Method,
    pattern: &str,
    path: &str,
    body: &[u8],
    cfg: &state::Config,
) -> Response {
    match pattern {
        "/" => {
            let mut r = with_type(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                Body::from("Ollama is running"),
            );
            if *method == Method::HEAD {
                r.headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from_static("17"));
            }
            r
        }
        "/api/version" => gin_json(
            StatusCode::OK,
            super::gojson::Obj::new()
                .field("version", &app.version)
                .done(),
        ),
        "/api/tags" => native::tags(app),
        "/api/ps" => native::ps(app),
        "/api/status" => native::status(app),
        "/api/show" => native::show(app, body),
        "/api/create" => native::create(app, body),
        "/api/pull" => native::pull(app, body),
        "/api/delete" => native::delete(app, body),
        "/api/copy" => native::copy(app, body),
        "/api/generate" => native::generate(app, body, false),
        "/api/chat" => native::generate(app, body, true),
        "/api/embed" => native::embed(app, body),
        "/v1/models" => compat::list_models(app),
        "/v1/models/:model" => compat::retrieve_model(app, path.trim_start_matches("/v1/models/")),
        "/v1/chat/completions" => compat::chat_completions(app, body),
        "/v1/embeddings" => compat::embeddings(app, body),
        "/v1/responses" => compat::responses(app, body),
        "/v1/messages" => compat::messages(app, body, cfg.anthropic_errors),
        _ => router_reply(StatusCode::NOT_FOUND, None),
    }
}
