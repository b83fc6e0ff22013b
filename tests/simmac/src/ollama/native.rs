//! Native `/api/*` endpoints with Ollama v0.12.6 shapes (key order, status codes, error texts from
//! docs/ollama.md §1). Fields that newer versions add (`capabilities`, `details.context_length`, …)
//! appear when the configured version is ≥ 0.30.
//!
//! Owns request semantics only; persistence goes through [`super::state`] / [`super::seed`].

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::engine::{self, App, Loaded};
use super::gojson::{Obj, arr, enc};
use super::gotime::{self, now_ns};
use super::name::Name;
use super::seed;
use super::server::{Feed, gin_error, gin_json, streaming, with_type};
use super::state::{self, Installed, ModelSpec};

fn details(spec: &ModelSpec, with_lengths: bool) -> Obj {
    Obj::new()
        .field("parent_model", &spec.parent_model)
        .field("format", &spec.format)
        .field("family", &spec.family)
        .field("families", &spec.families)
        .field("parameter_size", &spec.parameter_size)
        .field("quantization_level", &spec.quantization_level)
        .field_if(
            with_lengths && spec.context_length > 0,
            "context_length",
            &spec.context_length,
        )
        .field_if(
            with_lengths && spec.embedding_length > 0,
            "embedding_length",
            &spec.embedding_length,
        )
}

/// Installed models, most recently modified first (stable by Unix seconds).
pub fn sorted_installed(app: &App) -> Vec<Installed> {
    let mut models = state::installed(&app.mac).unwrap_or_default();
    models.reverse(); // newest install last in the file; stable sort keeps that first on ties
    models.sort_by_key(|m| std::cmp::Reverse(m.modified_at_ns.div_euclid(1_000_000_000)));
    models
}

/// `GET|HEAD /api/tags`.
pub fn tags(app: &App) -> Response {
    let new = app.version_at_least(0, 30);
    let entries: Vec<String> = sorted_installed(app)
        .iter()
        .map(|m| {
            Obj::new()
                .field("name", &m.name)
                .field("model", &m.name)
                .field(
                    "modified_at",
                    &gotime::rfc3339_nano(i128::from(m.modified_at_ns)),
                )
                .field("size", &m.size)
                .field("digest", &m.digest)
                .obj("details", details(&m.spec, new))
                .field_if(
                    new && !m.spec.capabilities.is_empty(),
                    "capabilities",
                    &m.spec.capabilities,
                )
                .done()
        })
        .collect();
    gin_json(
        StatusCode::OK,
        Obj::new().raw("models", &arr(&entries)).done(),
    )
}

/// `GET /api/status` (v0.16.2+, `Server.StatusHandler`): `{"cloud":{"disabled":…,"source":…}}`.
pub fn status(app: &App) -> Response {
    gin_json(
        StatusCode::OK,
        Obj::new()
            .obj(
                "cloud",
                Obj::new()
                    .field("disabled", &app.cloud.0)
                    .field("source", app.cloud.1),
            )
            .done(),
    )
}

/// `GET /api/ps`.
pub fn ps(app: &App) -> Response {
    let entries: Vec<String> = app
        .loaded()
        .iter()
        .map(|l: &Loaded| {
            Obj::new()
                .field("name", &l.model.name)
                .field("model", &l.model.name)
                .field("size", &l.size())
                .field("digest", &l.model.digest)
                .obj("details", details(&l.model.spec, false))
                .field("expires_at", &gotime::rfc3339_nano(l.expires_ns))
                .field("size_vram", &l.size())
                .field("context_length", &l.context_length)
                .done()
        })
        .collect();
    gin_json(
        StatusCode::OK,
        Obj::new().raw("models", &arr(&entries)).done(),
    )
}

type Req = serde_json::Map<String, Value>;

fn parse(body: &[u8]) -> Result<Req, Box<Response>> {
    engine::parse_body(body, "missing request body")
        .map_err(|e| Box::new(gin_error(StatusCode::BAD_REQUEST, &e)))
}

/// `cmp.Or(req.Model, req.Name)`.
fn model_field(req: &Req) -> String {
    match engine::str_field(req, "model") {
        "" => engine::str_field(req, "name").to_owned(),
        m => m.to_owned(),
    }
}

/// `POST /api/show`.
pub fn show(app: &App, body: &[u8]) -> Response {
    let req = match parse(body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let model = model_field(&req);
    if model.is_empty() {
        return gin_error(StatusCode::BAD_REQUEST, "model is required");
    }
    let Some(name) = Name::parse(&model) else {
        return gin_error(StatusCode::BAD_REQUEST, "invalid model name");
    };
    let Some(m) = app.find_installed(&model) else {
        let shown = if app.version_at_least(0, 30) {
            name.display()
        } else {
            model
        };
        return gin_error(StatusCode::NOT_FOUND, &format!("model '{shown}' not found"));
    };
    let model_blob = m
        .spec
        .layers
        .first()
        .map(|l| l.digest.replace(':', "-"))
        .unwrap_or_default();
    let mut modelfile = format!(
        "# Modelfile generated by \"ollama show\"\n# To build a new Modelfile based on this, replace FROM with:\n# FROM {}\n\nFROM /var/empty/.ollama/models/blobs/{model_blob}\nTEMPLATE {{{{ .Prompt }}}}\n",
        m.name
    );
    let body_params = parameters_text(&m.spec.parameters);
    for line in modelfile_parameters(&m.spec.parameters) {
        modelfile.push_str(&line);
    }
    let info = model_info(&m.spec);
    let body = Obj::new()
        .field("license", "Simulated license text.")
        .field("modelfile", &modelfile)
        .field_if(!body_params.is_empty(), "parameters", &body_params)
        .field("template", "{{ .Prompt }}")
        .obj("details", details(&m.spec, false))
        .raw(
            "model_info",
            &super::gojson::sorted_obj(info.iter().map(|(k, v)| (k.as_str(), v.clone())).collect()),
        )
        .field_if(
            !m.spec.capabilities.is_empty(),
            "capabilities",
            &m.spec.capabilities,
        )
        .field(
            "modified_at",
            &gotime::rfc3339_nano(i128::from(m.modified_at_ns)),
        )
        .done();
    gin_json(StatusCode::OK, body)
}

/// `model_info`: the GGUF key-values `GetModelInfo` (`server/routes.go`) returns, minus
/// `general.name` and `tokenizer.chat_template`; the architecture keys are those of
/// [`state::Arch`] (keys a GGUF lacks are left out, as they are absent from the real file).
fn model_info(spec: &ModelSpec) -> Vec<(String, String)> {
    let family = &spec.family;
    let a = &spec.arch;
    let mut info = vec![
        ("general.architecture".to_owned(), enc(family)),
        ("general.file_type".to_owned(), enc(&15)),
        ("general.quantization_version".to_owned(), enc(&2)),
        (
            "general.parameter_count".to_owned(),
            enc(&param_count(&spec.parameter_size)),
        ),
        (
            format!("{family}.context_length"),
            enc(&spec.context_length),
        ),
        (
            format!("{family}.embedding_length"),
            enc(&spec.embedding_length),
        ),
    ];
    let keys = [
        ("block_count", a.block_count),
        ("attention.head_count", a.head_count),
        ("attention.head_count_kv", a.head_count_kv),
        ("attention.key_length", a.key_length),
        ("attention.value_length", a.value_length),
        ("feed_forward_length", a.feed_forward_length),
    ];
    for (key, value) in keys {
        if value > 0 {
            info.push((format!("{family}.{key}"), enc(&value)));
        }
    }
    if a.pooling {
        info.push((format!("{family}.pooling_type"), enc(&1)));
    }
    info
}

/// A JSON value as Go's `%#v` prints the `any` it decodes to: numbers (`float64`) in `%g`
/// shortest form (`65536`, `0.7`, `1e+06`), strings Go-quoted, booleans bare.
pub fn go_sharp_v(v: &Value) -> String {
    match v {
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), go_float),
        // `strconv.Quote` (no HTML escaping, unlike the JSON encoder).
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Go's `%v` of a `float64`: `%g` with the shortest digits, in `%e` form when the exponent is
/// below -4 or at least 6 (`fmt` `fmtFloat`: "if precision was the shortest possible, use
/// precision 6 for this decision").
fn go_float(f: f64) -> String {
    if f == 0.0 {
        return "0".to_owned();
    }
    let sci = format!("{f:e}"); // e.g. 6.5536e4
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{f}")
}

/// `/api/show` `parameters`: one `%-30s %#v` line per value (an array gives one line per
/// element), as `GetModelInfo` builds it. Ollama ranges over a Go map (random order); the fake
/// sorts by name, one of the orders a real server prints.
pub fn parameters_text(params: &std::collections::BTreeMap<String, Value>) -> String {
    let mut lines = Vec::new();
    for (k, v) in params {
        match v {
            Value::Array(items) => {
                for item in items {
                    lines.push(format!("{k:<30} {}", go_sharp_v(item)));
                }
            }
            other => lines.push(format!("{k:<30} {}", go_sharp_v(other))),
        }
    }
    lines.join("\n")
}

/// The `PARAMETER` lines of the generated Modelfile (`Model.String`, `server/images.go`).
fn modelfile_parameters(params: &std::collections::BTreeMap<String, Value>) -> Vec<String> {
    let mut lines = Vec::new();
    for (k, v) in params {
        let values: Vec<&Value> = match v {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for value in values {
            let shown = match value {
                Value::String(s) => s.clone(),
                other => go_sharp_v(other),
            };
            lines.push(format!("PARAMETER {k} {shown}\n"));
        }
    }
    lines
}

/// `8.0B` → 8000000000, `137M` → 137000000.
fn param_count(s: &str) -> u64 {
    let (num, mult) = match s.chars().last() {
        Some('B') => (&s[..s.len() - 1], 1e9),
        Some('M') => (&s[..s.len() - 1], 1e6),
        _ => (s, 1.0),
    };
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "display data only"
    )]
    let n = (num.parse::<f64>().unwrap_or(0.0) * mult) as u64;
    n
}

fn status_line(status: &str) -> String {
    Obj::new().field("status", status).done()
}

fn progress_line(digest: &str, total: u64, completed: u64) -> String {
    let short = digest.get(7..19).unwrap_or(digest);
    Obj::new()
        .field("status", &format!("pulling {short}"))
        .field("digest", digest)
        .field_if(total > 0, "total", &total)
        .field_if(completed > 0, "completed", &completed)
        .done()
}

/// `POST /api/pull`.
pub fn pull(app: &Arc<App>, body: &[u8]) -> Response {
    let req = match parse(body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let model = model_field(&req);
    let Some(name) = Name::parse(&model) else {
        return gin_error(StatusCode::BAD_REQUEST, "invalid model name");
    };
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(true);
    let reg = state::registry(&app.mac).unwrap_or_default();
    let found = seed::lookup(&reg, &model);
    let die_at = state::fault(&app.mac, "pull-die-at-percent").and_then(|s| s.parse::<u64>().ok());
    if !stream {
        // waitForStream: the last message as one object, `application/json` without charset.
        return match found {
            None => no_newline_json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &Obj::new()
                    .field("error", "pull model manifest: file does not exist")
                    .done(),
            ),
            Some((_, spec)) => {
                if die_at.is_some() {
                    return no_newline_json(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &Obj::new().field("error", "unexpected EOF").done(),
                    );
                }
                match seed::record_install(&app.mac, &name.display(), &spec) {
                    Ok(_) => no_newline_json(StatusCode::OK, &status_line("success")),
                    Err(e) => no_newline_json(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &Obj::new().field("error", &e.to_string()).done(),
                    ),
                }
            }
        };
    }
    let (resp, tx) = streaming("application/x-ndjson", false);
    let app = Arc::clone(app);
    tokio::spawn(async move {
        let _ = pull_stream(&app, &tx, &name, found.map(|f| f.1), die_at).await;
    });
    resp
}

fn no_newline_json(status: StatusCode, body: &str) -> Response {
    with_type(status, "application/json", Body::from(body.to_owned()))
}

async fn send(tx: &Feed, line: String) -> Result<(), ()> {
    tokio::time::sleep(Duration::from_millis(2)).await;
    tx.send(Ok(Bytes::from(format!("{line}\n"))))
        .await
        .map_err(|_| ())
}

async fn pull_stream(
    app: &App,
    tx: &Feed,
    name: &Name,
    spec: Option<ModelSpec>,
    die_at: Option<u64>,
) -> Result<(), ()> {
    send(tx, status_line("pulling manifest")).await?;
    let Some(spec) = spec else {
        return send(
            tx,
            Obj::new()
                .field("error", "pull model manifest: file does not exist")
                .done(),
        )
        .await;
    };
    let existing = app.find_installed(&name.display());
    let cached = existing.is_some();
    // getExistingName: a model already on disk keeps the casing it was first pulled with.
    let display = existing.map_or_else(|| name.display(), |m| m.name);
    let grand_total = spec.size().max(1);
    let mut done_bytes: u64 = 0;
    for blob in spec.blobs() {
        let ticks: Vec<u64> = if cached || blob.size < 1_000_000 {
            vec![blob.size]
        } else {
            vec![
                0,
                blob.size / 4,
                blob.size / 2,
                blob.size / 4 * 3,
                blob.size,
            ]
        };
        for completed in ticks {
            send(tx, progress_line(&blob.digest, blob.size, completed)).await?;
            let overall = (done_bytes + completed) * 100 / grand_total;
            if let Some(p) = die_at
                && overall >= p
            {
                {
                    // The server dies: the connection closes without a final chunk.
                    let _ = tx
                        .send(Err(std::io::Error::other("simulated death mid-pull")))
                        .await;
                    return Err(());
                }
            }
        }
        done_bytes += blob.size;
    }
    send(tx, status_line("verifying sha256 digest")).await?;
    send(tx, status_line("writing manifest")).await?;
    if let Err(e) = seed::record_install(&app.mac, &display, &spec) {
        return send(tx, Obj::new().field("error", &e.to_string()).done()).await;
    }
    send(tx, status_line("success")).await
}

/// `POST /api/create` with `from` (+ `parameters`), as v0.12.6's `Server.CreateHandler`
/// (`server/create.go`) runs it: the base's layers become the new model's (`parseFromModel`,
/// each `using existing layer sha256:…`; a base that is not installed is pulled first, with
/// the pull's own statuses, `server/model.go`), the parameters are merged over the base's and
/// written as a new params layer (`setParameters`: the request wins; `creating new layer …`,
/// or `using existing layer …` when that blob exists), then `writing manifest` and `success`.
/// Parameters are not validated here (neither name nor type): Ollama checks them only when the
/// model is loaded (`api.Options.FromMap`). The model layer's `From` is the base's display
/// name: `details.parent_model`. Errors: see `README.md`.
pub fn create(app: &Arc<App>, body: &[u8]) -> Response {
    let req = match parse(body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(true);
    let Some(name) = Name::parse(&model_field(&req)) else {
        return gin_error(StatusCode::BAD_REQUEST, "invalid model name");
    };
    let lines = create_lines(app, &req, &name);
    let first_error = lines
        .iter()
        .position(|l| matches!(l, CreateLine::Error(..)));
    if !stream {
        // `waitForStream`: the first error with its status, else the last status.
        let (status, body) = match lines.iter().find(|l| matches!(l, CreateLine::Error(..))) {
            Some(CreateLine::Error(status, msg)) => {
                (*status, Obj::new().field("error", msg).done())
            }
            _ => (StatusCode::OK, status_line("success")),
        };
        return gin_json_plain(status, body);
    }
    if first_error == Some(0)
        && let Some(CreateLine::Error(status, msg)) = lines.first()
    {
        // `streamResponse`: an error before anything was written is a plain JSON reply.
        return gin_json_plain(*status, Obj::new().field("error", msg).done());
    }
    let (resp, tx) = streaming("application/x-ndjson", false);
    tokio::spawn(async move {
        for line in lines {
            let (text, last) = match line {
                CreateLine::Status(t) => (t, false),
                CreateLine::Error(_, msg) => (Obj::new().field("error", &msg).done(), true),
            };
            if send(&tx, text).await.is_err() || last {
                break;
            }
        }
    });
    resp
}

/// gin's `c.JSON` after `c.Header("Content-Type", "application/json")`: no charset.
fn gin_json_plain(status: StatusCode, body: String) -> Response {
    with_type(status, "application/json", Body::from(body))
}

/// One message of the create stream.
enum CreateLine {
    /// A `ProgressResponse` line.
    Status(String),
    /// A `gin.H{"error": …, "status": …}` (500 without a status).
    Error(StatusCode, String),
}

/// Runs the create and returns its messages (the model is installed when they end in
/// `success`).
fn create_lines(app: &App, req: &Req, name: &Name) -> Vec<CreateLine> {
    let bad = |msg: &str| CreateLine::Error(StatusCode::BAD_REQUEST, msg.to_owned());
    let from = engine::str_field(req, "from");
    if from.is_empty() {
        // `files` (GGUF/safetensors uploads) are not modelled.
        return vec![bad("neither 'from' or 'files' was specified")];
    }
    let Some(from_name) = Name::parse(from) else {
        return vec![bad("invalid model name")];
    };
    let mut lines = Vec::new();
    let base = if let Some(m) = app.find_installed(from) {
        m
    } else {
        // `parseFromModel`: a base that is not installed is pulled (`PullModel`).
        lines.push(CreateLine::Status(status_line("pulling manifest")));
        let reg = state::registry(&app.mac).unwrap_or_default();
        let Some((_, spec)) = seed::lookup(&reg, from) else {
            lines.push(CreateLine::Error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "pull model manifest: file does not exist".to_owned(),
            ));
            return lines;
        };
        for blob in spec.blobs() {
            lines.push(CreateLine::Status(progress_line(
                &blob.digest,
                blob.size,
                blob.size,
            )));
        }
        for s in ["verifying sha256 digest", "writing manifest", "success"] {
            lines.push(CreateLine::Status(status_line(s)));
        }
        match seed::record_install(&app.mac, &from_name.display(), &spec) {
            Ok(m) => m,
            Err(e) => {
                lines.push(CreateLine::Error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    e.to_string(),
                ));
                return lines;
            }
        }
    };
    let params = match req.get("parameters") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(other) => {
            let kind = match other {
                Value::Array(_) => "array",
                Value::String(_) => "string",
                Value::Number(_) => "number",
                _ => "bool",
            };
            return vec![bad(&format!(
                "json: cannot unmarshal {kind} into Go struct field CreateRequest.parameters of type map[string]interface {{}}"
            ))];
        }
    };
    let spec = derived_spec(
        app,
        &base,
        &from_name.display(),
        &name.display(),
        params,
        &mut lines,
    );
    lines.push(CreateLine::Status(status_line("writing manifest")));
    match seed::record_install(&app.mac, &name.display(), &spec) {
        Ok(_) => lines.push(CreateLine::Status(status_line("success"))),
        Err(e) => lines.push(CreateLine::Error(
            StatusCode::INTERNAL_SERVER_ERROR,
            e.to_string(),
        )),
    }
    lines
}

/// The derived model's manifest: the base's layers but its params layer, then the merged
/// parameters as a new params layer (`setParameters`), and a new config blob.
fn derived_spec(
    app: &App,
    base: &Installed,
    from: &str,
    name: &str,
    request: serde_json::Map<String, Value>,
    lines: &mut Vec<CreateLine>,
) -> ModelSpec {
    const PARAMS: &str = "application/vnd.ollama.image.params";
    let mut spec = base.spec.clone();
    let mut merged = base.spec.parameters.clone();
    merged.extend(request);
    let mut layers: Vec<state::Layer> = Vec::new();
    for layer in &base.spec.layers {
        lines.push(CreateLine::Status(status_line(&format!(
            "using existing layer {}",
            layer.digest
        ))));
        if layer.media_type != PARAMS || merged.is_empty() {
            layers.push(layer.clone());
        }
    }
    // `createModel` sends the status of each layer of the final list: the base's params
    // layer, replaced by `setParameters`, is not in it.
    if !merged.is_empty() {
        lines.retain(|l| match l {
            CreateLine::Status(t) => base
                .spec
                .layers
                .iter()
                .filter(|l| l.media_type == PARAMS)
                .all(|p| !t.contains(&p.digest)),
            CreateLine::Error(..) => true,
        });
        // `json.NewEncoder(&b).Encode(p)`: sorted keys, trailing newline.
        let mut json = enc(&merged);
        json.push('\n');
        let digest = format!("sha256:{}", state::sha256_hex(json.as_bytes()));
        let exists = state::installed(&app.mac)
            .unwrap_or_default()
            .iter()
            .any(|m| m.spec.layers.iter().any(|l| l.digest == digest));
        let verb = if exists {
            "using existing"
        } else {
            "creating new"
        };
        lines.push(CreateLine::Status(status_line(&format!(
            "{verb} layer {digest}"
        ))));
        layers.push(state::Layer {
            media_type: PARAMS.to_owned(),
            digest,
            size: u64::try_from(json.len()).unwrap_or(0),
        });
    }
    let digests: Vec<&str> = layers.iter().map(|l| l.digest.as_str()).collect();
    let config_text = format!("{name} config from {from}: {}", digests.join(","));
    spec.config = state::Layer {
        media_type: spec.config.media_type.clone(),
        digest: format!("sha256:{}", state::sha256_hex(config_text.as_bytes())),
        size: spec.config.size,
    };
    spec.layers = layers;
    spec.parameters = merged;
    from.clone_into(&mut spec.parent_model);
    spec
}

/// `DELETE /api/delete`: 200 with an empty body.
pub fn delete(app: &App, body: &[u8]) -> Response {
    let req = match parse(body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let model = model_field(&req);
    if model.is_empty() {
        return gin_error(StatusCode::BAD_REQUEST, "model is required");
    }
    if Name::parse(&model).is_none() {
        return gin_error(
            StatusCode::BAD_REQUEST,
            &format!("name {model:?} is invalid"),
        );
    }
    // `Server.DeleteHandler` (`server/routes.go`) removes the manifest and the layers only: a
    // loaded runner stays in memory (`/api/ps` still lists it) until it expires. `ollama rm`
    // unloads first (`DeleteHandler` in `cmd/cmd.go`: generate with `keep_alive: 0`).
    match seed::remove_model(&app.mac, &model) {
        Ok(true) => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::OK;
            r
        }
        Ok(false) => gin_error(StatusCode::NOT_FOUND, &format!("model '{model}' not found")),
        Err(e) => gin_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `POST /api/copy`: 200 with an empty body.
pub fn copy(app: &App, body: &[u8]) -> Response {
    let req = match parse(body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let source = engine::str_field(&req, "source");
    let dest = engine::str_field(&req, "destination");
    let Some(dest_name) = Name::parse(dest) else {
        return gin_error(
            StatusCode::BAD_REQUEST,
            &format!("destination {dest:?} is invalid"),
        );
    };
    let Some(src) = app.find_installed(source) else {
        return gin_error(
            StatusCode::NOT_FOUND,
            &format!("model '{source}' not found"),
        );
    };
    match seed::record_install(&app.mac, &dest_name.display(), &src.spec) {
        Ok(_) => Response::new(Body::empty()),
        Err(e) => gin_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// The prompt text of a generate request, or the last user message of a chat request (native
/// `/api/chat` and the OpenAI/Anthropic `messages`) with the message count.
pub fn prompt_of(req: &Req, chat: bool) -> (String, usize) {
    if !chat {
        return (engine::str_field(req, "prompt").to_owned(), 1);
    }
    let msgs = req.get("messages").and_then(Value::as_array);
    let n = msgs.map_or(0, Vec::len);
    let last = msgs
        .and_then(|m| {
            m.iter()
                .rev()
                .find(|x| x.get("role").and_then(Value::as_str) == Some("user"))
        })
        .and_then(|m| m.get("content"))
        .map(content_text)
        .unwrap_or_default();
    (last, n)
}

/// The conversation of a request as `(role, text)` pairs: a generate request's `system` and
/// `prompt`; the `messages` of a chat request, after a top-level `system` (string or text
/// blocks, as `/v1/messages` sends it).
pub fn conversation(req: &Req, chat: bool) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    match req.get("system") {
        Some(Value::String(s)) if !s.is_empty() => out.push(("system", s.clone())),
        Some(v @ Value::Array(_)) => out.push(("system", content_text(v))),
        _ => {}
    }
    if !chat {
        out.push(("user", engine::str_field(req, "prompt").to_owned()));
        return out;
    }
    for m in req
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let role = match m.get("role").and_then(Value::as_str) {
            Some("system") => "system",
            Some("assistant") => "assistant",
            Some("tool") => "tool",
            _ => "user",
        };
        out.push((role, m.get("content").map(content_text).unwrap_or_default()));
    }
    out
}

/// Runs the request's prompt through the model's runner ([`App::evaluate_prompt`]) and logs a
/// truncation.
pub fn evaluate(app: &App, model: &Installed, req: &Req, chat: bool) -> engine::PromptEval {
    let eval = app.evaluate_prompt(
        &model.name,
        engine::prompt_sequence(conversation(req, chat)),
    );
    super::server::log_prompt_eval(&eval);
    eval
}

/// Text of a message `content` (string, or an array of parts with `text`).
pub fn content_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// Native error to send (status, message) before any generation.
#[derive(Debug)]
pub struct NativeError(pub StatusCode, pub String);

/// A model ready to answer: the installed model and how many words it thinks (`None`: it
/// answers straight away).
#[derive(Debug)]
pub struct Ready {
    /// The installed model.
    pub model: Installed,
    /// Thinking words ([`engine::thinking_words`]).
    pub thinking: Option<usize>,
}

/// Steps 2–7 of `GenerateHandler`/`ChatHandler` (`server/routes.go`; docs/ollama.md §1.8) without the
/// load reply: checks name, presence, `think` (a model without the `thinking` capability asked
/// to think: 400 `"<model>" does not support thinking`, unless `relax`), then the `completion`
/// capability (`scheduleRunner` → 400 `"<model>" does not support chat|generate`), applies
/// keep-alive and loads. `Ok(None)` = unloaded (`keep_alive` 0, empty prompt).
pub fn prepare(
    app: &App,
    req: &Req,
    chat: bool,
    empty_prompt: bool,
    relax: bool,
) -> Result<Option<Ready>, NativeError> {
    let model = engine::str_field(req, "model");
    let bad = |e: String| NativeError(StatusCode::BAD_REQUEST, e);
    let keep_alive = engine::keep_alive(req.get("keep_alive")).map_err(bad)?;
    let think = engine::Think::from_json(req.get("think")).map_err(bad)?;
    if model.is_empty() {
        return Err(NativeError(
            StatusCode::NOT_FOUND,
            "model '' not found".to_owned(),
        ));
    }
    if Name::parse(model).is_none() {
        return Err(bad("invalid model name".to_owned()));
    }
    // From v0.16.2 a cloud model is proxied to ollama.com, which cloud-off refuses first
    // (`server/routes.go` `GenerateHandler`/`ChatHandler` → `proxyCloudRequestWithPath`,
    // `server/cloud_proxy.go`; `internal/cloud/policy.go` `DisabledError`). With cloud on the
    // simulated Mac has no cloud to reach: the model is not found.
    if app.since("0.16.2") && engine::is_cloud_model(model) && app.cloud.0 {
        return Err(NativeError(
            StatusCode::FORBIDDEN,
            "ollama cloud is disabled: remote model is unavailable".to_owned(),
        ));
    }
    let Some(m) = app.find_installed(model) else {
        return Err(NativeError(
            StatusCode::NOT_FOUND,
            format!("model '{model}' not found"),
        ));
    };
    if empty_prompt && keep_alive == Some(0) {
        app.unload(&m.name);
        return Ok(None);
    }
    let thinking = engine::thinking_words(&m.spec, model, &think, relax).map_err(bad)?;
    if !m.spec.can_complete() {
        let what = if chat { "chat" } else { "generate" };
        return Err(bad(format!("\"{model}\" does not support {what}")));
    }
    let num_ctx = req
        .get("options")
        .and_then(|o| o.get("num_ctx"))
        .and_then(Value::as_u64);
    // A load that never fits: 500 (`handleScheduleError`, `server/routes.go`).
    app.touch(&m, keep_alive, num_ctx)
        .map_err(|e| NativeError(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    Ok(Some(Ready { model: m, thinking }))
}

fn message_obj(content: &str, thinking: &str) -> String {
    Obj::new()
        .field("role", "assistant")
        .field("content", content)
        .field_if(!thinking.is_empty(), "thinking", thinking)
        .done()
}

/// The head of a generate/chat reply: `message` (`role`, `content`, `thinking`) for chat,
/// `response` and `thinking` for generate (`api.Message`/`api.GenerateResponse` field order;
/// `thinking` is omitempty).
fn gen_head(model: &str, chat: bool, text: &str, thinking: &str) -> Obj {
    let o = Obj::new()
        .field("model", model)
        .field("created_at", &gotime::rfc3339_nano(now_ns()));
    if chat {
        o.raw("message", &message_obj(text, thinking))
    } else {
        o.field("response", text)
            .field_if(!thinking.is_empty(), "thinking", thinking)
    }
}

/// `POST /api/generate` and `POST /api/chat`.
pub fn generate(app: &Arc<App>, body: &[u8], chat: bool) -> Response {
    let req = match parse(body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let model = engine::str_field(&req, "model").to_owned();
    let (prompt, n_msgs) = prompt_of(&req, chat);
    let empty = if chat { n_msgs == 0 } else { prompt.is_empty() };
    let ready = match prepare(app, &req, chat, empty, false) {
        Err(NativeError(status, msg)) => return gin_error(status, &msg),
        Ok(None) => {
            return gin_json(
                StatusCode::OK,
                gen_head(&model, chat, "", "")
                    .field("done", &true)
                    .field("done_reason", "unload")
                    .done(),
            );
        }
        Ok(Some(r)) => r,
    };
    if empty {
        return gin_json(
            StatusCode::OK,
            gen_head(&model, chat, "", "")
                .field("done", &true)
                .field("done_reason", "load")
                .done(),
        );
    }
    let json_mode = req.get("format").is_some_and(|f| !f.is_null() && f != "");
    let num_predict = req
        .get("options")
        .and_then(|o| o.get("num_predict"))
        .and_then(Value::as_u64);
    let out = engine::generate(&prompt, json_mode, ready.thinking, num_predict);
    let reason = if out.cut { "length" } else { "stop" };
    let eval = evaluate(app, &ready.model, &req, chat);
    let p_tokens = eval.count;
    let prompt_ns = eval.processed * engine::PREFILL_NS_PER_TOKEN;
    let evals = usize::try_from(out.eval_count()).unwrap_or(0);
    let final_obj = |head: Obj| {
        head.field("done", &true)
            .field("done_reason", reason)
            .field(
                "total_duration",
                &(engine::fake_duration(evals) * 2 + prompt_ns),
            )
            .field("load_duration", &1_234_567_u64)
            .field("prompt_eval_count", &p_tokens)
            .field("prompt_eval_duration", &prompt_ns)
            .field("eval_count", &evals)
            .field("eval_duration", &engine::fake_duration(evals))
            .done()
    };
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(true);
    let unload_after = engine::keep_alive(req.get("keep_alive")).ok().flatten() == Some(0);
    if unload_after {
        app.unload(&ready.model.name);
    }
    if !stream {
        return gin_json(
            StatusCode::OK,
            final_obj(gen_head(&model, chat, &out.content(), &out.thinking())),
        );
    }
    let mut lines: Vec<String> = out
        .visible()
        .map(|piece| {
            let (text, thinking) = match piece {
                engine::Piece::Thinking(t) => ("", t.as_str()),
                engine::Piece::Content(t) => (t.as_str(), ""),
                engine::Piece::Tag => ("", ""),
            };
            gen_head(&model, chat, text, thinking)
                .field("done", &false)
                .done()
        })
        .collect();
    lines.push(final_obj(gen_head(&model, chat, "", "")));
    let (resp, tx) = streaming("application/x-ndjson", false);
    tokio::spawn(async move {
        for l in lines {
            if send(&tx, l).await.is_err() {
                break;
            }
        }
    });
    resp
}

/// `POST /api/embed`.
pub fn embed(app: &App, body: &[u8]) -> Response {
    let req = match parse(body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let model = engine::str_field(&req, "model").to_owned();
    let keep_alive = match engine::keep_alive(req.get("keep_alive")) {
        Ok(k) => k,
        Err(e) => return gin_error(StatusCode::BAD_REQUEST, &e),
    };
    let not_found = || {
        gin_error(
            StatusCode::NOT_FOUND,
            &format!("model \"{model}\" not found, try pulling it first"),
        )
    };
    if Name::parse(&model).is_none() {
        return not_found();
    }
    let Some(m) = app.find_installed(&model) else {
        return not_found();
    };
    let inputs: Vec<String> = match req.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    if keep_alive == Some(0) {
        app.unload(&m.name);
    } else if let Err(e) = app.touch(&m, keep_alive, None) {
        return gin_error(StatusCode::INTERNAL_SERVER_ERROR, &e);
    }
    if inputs.is_empty() {
        return gin_json(
            StatusCode::OK,
            Obj::new()
                .field("model", &model)
                .raw("embeddings", "[]")
                .done(),
        );
    }
    let dims = if m.spec.embedding_length > 0 {
        m.spec.embedding_length
    } else {
        384
    };
    let vecs: Vec<String> = inputs
        .iter()
        .map(|i| enc(&engine::embedding(i, dims)))
        .collect();
    let count: u64 = inputs.iter().map(|i| engine::prompt_tokens(i, 0)).sum();
    gin_json(
        StatusCode::OK,
        Obj::new()
            .field("model", &model)
            .raw("embeddings", &arr(&vecs))
            .field("total_duration", &engine::fake_duration(inputs.len() + 1))
            .field("load_duration", &1_234_567_u64)
            .field("prompt_eval_count", &count)
            .done(),
    )
}
