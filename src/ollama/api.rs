//! Wire types of Ollama's native HTTP API (`/api/*`), as serde structs.
//!
//! Pure data: no HTTP (the `ollama::client` gateway sends and receives these). Field names and
//! order follow Ollama's Go structs (docs/ollama.md §1), so serializing a response
//! type gives the bytes Ollama would send (the fake server relies on that); optional and newer
//! fields default when absent, so older servers still parse. Unknown fields are ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::Knowable;
use crate::model::observed::{InstalledModel, LoadedModel, ShownModel};

/// `GET /api/version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VersionResponse {
    /// The server version, e.g. `0.12.6` (`0.0.0` for a source build).
    pub version: String,
}

/// Every error body: `{"error": "..."}` (also a line of an NDJSON stream).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ErrorResponse {
    /// The message, e.g. `model 'llama3' not found`.
    pub error: String,
}

/// `details` of a model (`ModelDetails`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelDetails {
    /// `parent_model` (empty before v0.30.0).
    #[serde(default)]
    pub parent_model: String,
    /// `format`, e.g. `gguf`.
    #[serde(default)]
    pub format: String,
    /// `family`, e.g. `llama`.
    #[serde(default)]
    pub family: String,
    /// `families` (`null` when unset, kept as `None`).
    #[serde(default)]
    pub families: Option<Vec<String>>,
    /// `parameter_size`, e.g. `8.0B`.
    #[serde(default)]
    pub parameter_size: String,
    /// `quantization_level`, e.g. `Q4_0`.
    #[serde(default)]
    pub quantization_level: String,
    /// `context_length` (v0.30.0+, absent when 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u64>,
    /// `embedding_length` (v0.30.0+, absent when 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_length: Option<u64>,
}

/// `GET /api/tags`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ListResponse {
    /// Installed models, most recently modified first (`[]` when none).
    pub models: Vec<ListModelResponse>,
}

/// One `/api/tags` entry (`ListModelResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListModelResponse {
    /// Display name, e.g. `llama3:latest`.
    pub name: String,
    /// Same as `name`.
    #[serde(default)]
    pub model: String,
    /// Set for cloud stubs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_model: Option<String>,
    /// Set for cloud stubs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_host: Option<String>,
    /// Manifest mtime, RFC 3339 in the server's zone, as sent.
    pub modified_at: String,
    /// Bytes (all layers + config).
    pub size: u64,
    /// Bare lower-case hex SHA-256 of the manifest.
    pub digest: String,
    /// Model details.
    #[serde(default)]
    pub details: ModelDetails,
    /// `completion`, `embedding`, `vision`, … (v0.30.0+; absent before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
}

impl From<ListModelResponse> for InstalledModel {
    fn from(model: ListModelResponse) -> Self {
        let family = Some(model.details.family).filter(|f| !f.is_empty());
        Self {
            name: model.name,
            digest: model.digest,
            size: model.size,
            modified_at: model.modified_at,
            capabilities: model.capabilities,
            family,
        }
    }
}

/// `GET /api/ps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProcessResponse {
    /// Loaded models, latest expiry first (`[]` when none).
    pub models: Vec<ProcessModelResponse>,
}

/// One `/api/ps` entry (`ProcessModelResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessModelResponse {
    /// Display name, e.g. `llama3:latest`.
    pub name: String,
    /// Same as `name`.
    #[serde(default)]
    pub model: String,
    /// Runner memory in bytes.
    pub size: u64,
    /// Same digest as `/api/tags`.
    pub digest: String,
    /// Model details.
    #[serde(default)]
    pub details: ModelDetails,
    /// When the model unloads, RFC 3339, as sent (~292 years ahead for "forever").
    pub expires_at: String,
    /// The part of `size` in GPU memory.
    #[serde(default)]
    pub size_vram: u64,
    /// Context length of the runner (v0.10.0+; 0 when absent).
    #[serde(default)]
    pub context_length: u64,
}

impl From<ProcessModelResponse> for LoadedModel {
    fn from(model: ProcessModelResponse) -> Self {
        Self {
            name: model.name,
            digest: model.digest,
            expires_at: model.expires_at,
            size: model.size,
            size_vram: model.size_vram,
            context_length: Some(model.context_length).filter(|&n| n > 0),
        }
    }
}

/// `POST /api/pull` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PullRequest {
    /// The model to pull.
    pub model: String,
    /// Allow plain-HTTP registries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// `false`: one final object instead of an NDJSON stream (absent = stream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
}

/// One progress object of `/api/pull` (`ProgressResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressResponse {
    /// `pulling manifest`, `pulling <12 hex>`, `verifying sha256 digest`, `writing manifest`,
    /// `removing unused layers`, `success`.
    pub status: String,
    /// The layer digest (`sha256:…`), on per-layer lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Layer size in bytes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Bytes received so far (absent while 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<u64>,
}

impl ProgressResponse {
    /// Whether this is the final `success` line.
    pub(crate) fn is_success(&self) -> bool {
        self.status == "success"
    }
}

/// One line of the `/api/pull` NDJSON stream: progress, or an error after which the stream ends
/// (the HTTP status stays 200 once a line was written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum PullLine {
    /// `{"error": "..."}`.
    Error(ErrorResponse),
    /// `{"status": ..., ...}`.
    Progress(ProgressResponse),
}

impl PullLine {
    /// Parses one stream line (surrounding whitespace ignored).
    ///
    /// # Errors
    /// The JSON error when the line is neither a progress object nor an error object.
    pub(crate) fn parse(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line.trim())
    }
}

/// `POST /api/create` request: the subset ssollama sends (a model made
/// `from` an installed one with `parameters` merged over the base's, the request winning;
/// docs/ollama.md §14.4). Streams the same lines as a pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CreateRequest {
    /// The model to create (replaced when it exists).
    pub model: String,
    /// The model it is built from.
    pub from: String,
    /// Modelfile parameters (`num_ctx`, `temperature`, `stop`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, Value>,
    /// `true`: an NDJSON stream (the default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
}

/// `DELETE /api/delete` request (success is 200 with an empty body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeleteRequest {
    /// The model to delete.
    pub model: String,
}

/// The JSON value for a request's `keep_alive` from a duration as written in `server.toml`:
/// a number for integer or decimal seconds (`"-1"` as a *string* is a 400 — Go's
/// `time.ParseDuration` wants a unit), else the string (`"24h"`, `"-1m"`) (docs/ollama.md §1.9).
pub(crate) fn keep_alive_value(text: &str) -> Value {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Value::from(seconds);
    }
    if let Some(number) = text
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .and_then(serde_json::Number::from_f64)
    {
        return Value::Number(number);
    }
    Value::String(text.to_owned())
}

/// `POST /api/generate` request (ssollama uses it with an empty prompt to load or unload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GenerateRequest {
    /// The model.
    pub model: String,
    /// The prompt; empty = only load (or unload with `keep_alive: 0`).
    #[serde(default)]
    pub prompt: String,
    /// Number (seconds; negative = forever) or duration string; absent = server default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<Value>,
    /// Runner options (`num_ctx`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Map<String, Value>>,
    /// `false`: one JSON reply.
    #[serde(default)]
    pub stream: bool,
}

impl GenerateRequest {
    /// Load `model` and keep it for `keep_alive` (see [`keep_alive_value`]).
    pub(crate) fn load(model: &str, keep_alive: Option<Value>) -> Self {
        Self {
            model: model.to_owned(),
            prompt: String::new(),
            keep_alive,
            options: None,
            stream: false,
        }
    }

    /// Unload `model` now (`keep_alive: 0`).
    pub(crate) fn unload(model: &str) -> Self {
        Self::load(model, Some(Value::from(0)))
    }
}

/// `POST /api/generate` reply (the subset a load/unload needs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GenerateResponse {
    /// The request's `model`, as sent.
    pub model: String,
    /// UTC time, RFC 3339.
    #[serde(default)]
    pub created_at: String,
    /// Generated text (empty for load/unload).
    #[serde(default)]
    pub response: String,
    /// Always `true` for a non-streamed reply.
    #[serde(default)]
    pub done: bool,
    /// `load`, `unload`, `stop`, `length`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_reason: Option<String>,
}

/// `POST /api/embed` request (with no `input`, it only loads the model: how embedding-only
/// models are warmed, since `/api/generate` refuses them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EmbedRequest {
    /// The model.
    pub model: String,
    /// A string or an array of strings; absent = load only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// As for [`GenerateRequest::keep_alive`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<Value>,
    /// Runner options (`num_ctx`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Map<String, Value>>,
}

impl EmbedRequest {
    /// Load `model` without embedding anything.
    pub(crate) fn load(model: &str, keep_alive: Option<Value>) -> Self {
        Self {
            model: model.to_owned(),
            input: None,
            keep_alive,
            options: None,
        }
    }
}

/// `POST /api/show` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ShowRequest {
    /// The model.
    pub model: String,
    /// Full tokenizer arrays in `model_info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbose: Option<bool>,
}

/// `POST /api/show` reply: the subset ssollama reads (other fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowResponse {
    /// `parameters` (Modelfile `PARAMETER` lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<String>,
    /// Model details.
    #[serde(default)]
    pub details: ModelDetails,
    /// `completion`, `embedding`, …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    /// Manifest mtime, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<String>,
    /// `model_info`: the GGUF key/values (`general.architecture`, `<arch>.block_count`, …);
    /// read by [`super::show::kv_geometry`]. Empty when the server sent none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub model_info: BTreeMap<String, serde_json::Value>,
}

impl From<ShowResponse> for ShownModel {
    fn from(show: ShowResponse) -> Self {
        let parameters = super::show::parse_parameters(show.parameters.as_deref().unwrap_or(""))
            .map_or_else(|e| Knowable::unknown(e.to_string()), Knowable::Known);
        Self {
            parameters,
            parent: Some(show.details.parent_model).filter(|p| !p.is_empty()),
            capabilities: show.capabilities,
            kv: super::show::kv_geometry(&show.model_info),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::proptest;
    use serde_json::{Value, json};

    use super::{
        DeleteRequest, EmbedRequest, ErrorResponse, GenerateRequest, GenerateResponse,
        ListResponse, ProcessResponse, ProgressResponse, PullLine, PullRequest, ShowRequest,
        ShowResponse, VersionResponse, keep_alive_value,
    };
    use crate::model::Knowable;
    use crate::model::observed::{InstalledModel, LoadedModel, ShownModel};

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/ollama/parsers/",
                $name
            ))
        };
    }

    #[test]
    fn version_sample_parses() {
        let version: VersionResponse =
            serde_json::from_str(fixture!("api-version-openapi.json")).unwrap();
        assert_eq!(version.version, "0.12.6");
    }

    #[test]
    fn tags_docs_sample_parses_without_capabilities() {
        let list: ListResponse = serde_json::from_str(fixture!("api-tags-docs.json")).unwrap();
        assert_eq!(list.models.len(), 2);
        assert_eq!(list.models[0].name, "deepseek-r1:latest");
        assert_eq!(list.models[0].size, 4_683_075_271);
        assert!(list.models[0].capabilities.is_empty());
        assert_eq!(list.models[0].details.context_length, None);
        let installed: Vec<InstalledModel> = list.models.into_iter().map(Into::into).collect();
        assert_eq!(installed[1].family.as_deref(), Some("llama"));
        insta::assert_debug_snapshot!(installed);
    }

    #[test]
    fn tags_head_sample_parses_and_reserializes_byte_for_byte() {
        let text = fixture!("api-tags-head-derived.json");
        let list: ListResponse = serde_json::from_str(text).unwrap();
        let model = &list.models[0];
        assert_eq!(model.capabilities, ["completion"]);
        assert_eq!(model.details.context_length, Some(8192));
        assert_eq!(model.details.embedding_length, Some(4096));
        assert_eq!(
            model.details.families.as_deref(),
            Some(&["llama".to_owned()][..])
        );
        // Field order follows Ollama's Go structs, so the fake server can reuse these types.
        assert_eq!(serde_json::to_string(&list).unwrap(), text);
        let installed = InstalledModel::from(model.clone());
        assert_eq!(
            installed.digest,
            "365c0bd3c000a25d28ddbf732fe1c6add414de7275464c4e4d1c3b5fcb5d8ad1"
        );
        assert_eq!(installed.capabilities, ["completion"]);
    }

    #[test]
    fn null_families_and_an_empty_family_are_kept_apart() {
        let text = r#"{"models":[{"name":"x:latest","model":"x:latest","modified_at":"t","size":1,"digest":"d","details":{"parent_model":"","format":"","family":"","families":null,"parameter_size":"","quantization_level":""}}]}"#;
        let list: ListResponse = serde_json::from_str(text).unwrap();
        assert_eq!(list.models[0].details.families, None);
        assert_eq!(serde_json::to_string(&list).unwrap(), text);
        assert_eq!(InstalledModel::from(list.models[0].clone()).family, None);
    }

    #[test]
    fn ps_sample_parses() {
        let ps: ProcessResponse = serde_json::from_str(fixture!("api-ps-openapi.json")).unwrap();
        let model = &ps.models[0];
        assert_eq!(model.context_length, 4096);
        assert_eq!(model.size_vram, 5_333_539_264);
        let loaded: Vec<LoadedModel> = ps.models.into_iter().map(Into::into).collect();
        insta::assert_debug_snapshot!(loaded, @r#"
        [
            LoadedModel {
                name: "gemma4",
                digest: "c6eb396dbd5992bbe3f5cdb947e8bbc0ee413d7c17e2beaae69f5d569cf982eb",
                expires_at: "2025-10-17T16:47:07.93355-07:00",
                size: 6591830464,
                size_vram: 5333539264,
                context_length: Some(
                    4096,
                ),
            },
        ]
        "#);
    }

    #[test]
    fn empty_lists_parse() {
        let list: ListResponse = serde_json::from_str(r#"{"models":[]}"#).unwrap();
        assert!(list.models.is_empty());
        let ps: ProcessResponse = serde_json::from_str(r#"{"models":[]}"#).unwrap();
        assert!(ps.models.is_empty());
    }

    #[test]
    fn pull_stream_lines_parse_in_order() {
        let lines: Vec<PullLine> = fixture!("api-pull-stream-derived.ndjson")
            .lines()
            .map(|line| PullLine::parse(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 7);
        assert_eq!(
            lines[2],
            PullLine::Progress(ProgressResponse {
                status: "pulling 6a0746a1ec1a".to_owned(),
                digest: Some(
                    "sha256:6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa"
                        .to_owned()
                ),
                total: Some(4_661_211_424),
                completed: Some(241_970),
            })
        );
        assert!(matches!(&lines[6], PullLine::Progress(p) if p.is_success()));
        assert!(!matches!(&lines[0], PullLine::Progress(p) if p.is_success()));
        insta::assert_debug_snapshot!(lines[..2]);
    }

    #[test]
    fn pull_docs_progress_object_parses() {
        let line = PullLine::parse(fixture!("api-pull-progress-docs.json")).unwrap();
        let PullLine::Progress(progress) = line else {
            panic!("expected progress");
        };
        assert_eq!(progress.total, Some(2_142_590_208));
        assert_eq!(progress.completed, Some(241_970));
    }

    #[test]
    fn pull_error_line_ends_the_stream() {
        let lines: Vec<PullLine> = fixture!("api-pull-unknown-model.ndjson")
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| PullLine::parse(line).unwrap())
            .collect();
        assert_eq!(
            lines[1],
            PullLine::Error(ErrorResponse {
                error: "pull model manifest: file does not exist".to_owned()
            })
        );
    }

    #[test]
    fn garbage_pull_lines_are_errors() {
        assert!(PullLine::parse("").is_err());
        assert!(PullLine::parse("pulling manifest").is_err());
        assert!(PullLine::parse(r#"{"completed":3}"#).is_err());
        assert!(PullLine::parse(r#"{"status":1}"#).is_err());
    }

    #[test]
    fn generate_load_and_unload_replies_parse() {
        let load: GenerateResponse =
            serde_json::from_str(fixture!("api-generate-load-derived.json")).unwrap();
        assert_eq!(load.done_reason.as_deref(), Some("load"));
        assert!(load.done);
        assert_eq!(
            serde_json::to_string(&load).unwrap(),
            fixture!("api-generate-load-derived.json")
        );
        let unload: GenerateResponse =
            serde_json::from_str(fixture!("api-generate-unload-docs.json")).unwrap();
        assert_eq!(unload.model, "llama3.2");
        assert_eq!(unload.done_reason.as_deref(), Some("unload"));
    }

    #[test]
    fn requests_serialize_as_ollama_expects() {
        let bodies = [
            serde_json::to_string(&PullRequest {
                model: "llama3:latest".to_owned(),
                insecure: None,
                stream: None,
            })
            .unwrap(),
            serde_json::to_string(&DeleteRequest {
                model: "llama3:13b".to_owned(),
            })
            .unwrap(),
            serde_json::to_string(&GenerateRequest::load(
                "llama3",
                Some(keep_alive_value("-1")),
            ))
            .unwrap(),
            serde_json::to_string(&GenerateRequest::load("llama3", None)).unwrap(),
            serde_json::to_string(&GenerateRequest::unload("llama3")).unwrap(),
            serde_json::to_string(&EmbedRequest::load(
                "all-minilm",
                Some(keep_alive_value("24h")),
            ))
            .unwrap(),
            serde_json::to_string(&ShowRequest {
                model: "llama3".to_owned(),
                verbose: None,
            })
            .unwrap(),
        ];
        insta::assert_snapshot!(bodies.join("\n"), @r#"
        {"model":"llama3:latest"}
        {"model":"llama3:13b"}
        {"model":"llama3","prompt":"","keep_alive":-1,"stream":false}
        {"model":"llama3","prompt":"","stream":false}
        {"model":"llama3","prompt":"","keep_alive":0,"stream":false}
        {"model":"all-minilm","keep_alive":"24h"}
        {"model":"llama3"}
        "#);
    }

    #[test]
    fn keep_alive_numbers_stay_numbers() {
        assert_eq!(keep_alive_value("-1"), json!(-1));
        assert_eq!(keep_alive_value("3600"), json!(3600));
        assert_eq!(keep_alive_value("1.5"), json!(1.5));
        assert_eq!(keep_alive_value("-1m"), json!("-1m"));
        assert_eq!(keep_alive_value("24h"), json!("24h"));
        assert_eq!(keep_alive_value("NaN"), json!("NaN"));
        assert_eq!(keep_alive_value("0"), json!(0));
    }

    #[test]
    fn show_replies_parse() {
        let show: ShowResponse = serde_json::from_str(
            r##"{"modelfile":"# Modelfile generated by \"ollama show\"","details":{"parent_model":"","format":"gguf","family":"nomic-bert","families":["nomic-bert"],"parameter_size":"137M","quantization_level":"F16"},"model_info":{"general.architecture":"nomic-bert"},"capabilities":["embedding"],"modified_at":"2026-08-18T09:12:44+02:00"}"##,
        )
        .unwrap();
        assert_eq!(show.capabilities, ["embedding"]);
        assert_eq!(show.details.family, "nomic-bert");
        assert_eq!(show.model_info["general.architecture"], "nomic-bert");
    }

    #[test]
    fn a_derived_models_show_reply_gives_parent_parameters_and_geometry() {
        // The shape `GetModelInfo` sends for a model created with `from` and `parameters`.
        let show: ShowResponse = serde_json::from_str(
            r#"{"modelfile":"FROM llama3.2:latest\nPARAMETER num_ctx 65536\n","parameters":"num_ctx                        65536\nstop                           \"<|eot_id|>\"\nstop                           \"<|eom_id|>\"","details":{"parent_model":"llama3.2:latest","format":"gguf","family":"llama","families":["llama"],"parameter_size":"3.2B","quantization_level":"Q4_K_M"},"model_info":{"general.architecture":"llama","llama.attention.head_count":24,"llama.attention.head_count_kv":8,"llama.attention.key_length":128,"llama.attention.value_length":128,"llama.block_count":28,"llama.context_length":131072,"llama.embedding_length":3072},"capabilities":["completion","tools"]}"#,
        )
        .unwrap();
        assert_eq!(show.details.parent_model, "llama3.2:latest");
        let params =
            crate::ollama::show::parse_parameters(show.parameters.as_deref().unwrap()).unwrap();
        assert_eq!(params["num_ctx"], [json!(65536)]);
        assert_eq!(params["stop"], [json!("<|eot_id|>"), json!("<|eom_id|>")]);
        let g = crate::ollama::show::kv_geometry(&show.model_info).unwrap();
        assert_eq!((g.block_count, g.head_count_kv, g.key_length), (28, 8, 128));
        // Re-serialised, `model_info` is kept and an empty one is left out.
        assert!(
            serde_json::to_string(&show)
                .unwrap()
                .contains("\"model_info\"")
        );
        let empty: ShowResponse = serde_json::from_str(r#"{"details":{}}"#).unwrap();
        assert!(
            !serde_json::to_string(&empty)
                .unwrap()
                .contains("model_info")
        );
        // As observed: the parent, the parsed parameters and the geometry; a pulled model
        // (empty parent, no parameters) has none, and an unreadable line is unknown.
        let shown = ShownModel::from(show);
        assert_eq!(shown.parent.as_deref(), Some("llama3.2:latest"));
        assert_eq!(shown.capabilities, ["completion", "tools"]);
        assert_eq!(
            shown.parameters.known().map(|p| p["num_ctx"].clone()),
            Some(vec![json!(65536)])
        );
        assert_eq!(shown.kv.map(|g| g.block_count), Some(28));
        let pulled = ShownModel::from(empty);
        assert_eq!(pulled.parent, None);
        assert_eq!(pulled.parameters, Knowable::Known(BTreeMap::new()));
        assert_eq!(pulled.kv, None);
        let broken: ShowResponse =
            serde_json::from_str(r#"{"parameters":"num_ctx","details":{}}"#).unwrap();
        assert!(ShownModel::from(broken).parameters.known().is_none());
    }

    #[test]
    fn error_bodies_parse() {
        let err: ErrorResponse =
            serde_json::from_str(r#"{"error":"model 'llama3' not found"}"#).unwrap();
        assert_eq!(err.error, "model 'llama3' not found");
        assert!(serde_json::from_str::<ErrorResponse>("404 page not found").is_err());
        assert!(serde_json::from_str::<ListResponse>(r#"{"error":"x"}"#).is_err());
    }

    proptest! {
        #[test]
        fn pull_lines_never_panic(text in "\\PC*") {
            let _ = PullLine::parse(&text);
            let _ = serde_json::from_str::<ListResponse>(&text);
            let _ = serde_json::from_str::<ProcessResponse>(&text);
        }

        #[test]
        fn keep_alive_value_never_panics(text in "\\PC*") {
            let value = keep_alive_value(&text);
            assert!(matches!(value, Value::Number(_) | Value::String(_)));
        }
    }
}
