//! The one HTTP gateway: a typed client for the Ollama API at `listen.host:listen.port`.
//!
//! Plain HTTP (loopback or LAN). Every call has a timeout; errors name the URL. Streams
//! (`/api/pull`) are read line by line as NDJSON.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::api;
use crate::model::observed::{InstalledModel, LoadedModel};

/// Talking to Ollama failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum OllamaError {
    /// Nothing answered at the address (refused, timed out, reset).
    #[error("Ollama did not answer at {url}: {reason}")]
    #[diagnostic(code(ssollama::ollama::unreachable))]
    Unreachable {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// Ollama answered with an error status.
    #[error("{method} {url} answered {status}: {message}")]
    #[diagnostic(code(ssollama::ollama::status))]
    Status {
        /// HTTP method.
        method: &'static str,
        /// The URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Ollama's `error` text, or the body.
        message: String,
    },
    /// The body was not what Ollama sends.
    #[error("{url} answered something that is not Ollama's API: {reason}")]
    #[diagnostic(code(ssollama::ollama::decode))]
    Decode {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A streamed operation reported an error line (`{"error": …}`) or ended early.
    #[error("{operation} failed: {message}")]
    #[diagnostic(code(ssollama::ollama::stream))]
    Stream {
        /// e.g. `pull llama3:latest`.
        operation: String,
        /// Ollama's message.
        message: String,
    },
}

/// How long a pull may go without a single progress line before it counts as stalled. Ollama
/// reports download progress every 60 ms, but hashing a large blob (`verifying sha256 digest`)
/// prints nothing for a while on a slow disk.
pub(crate) const PULL_IDLE_TIMEOUT: Duration = Duration::from_mins(10);

/// How long loading one model may take (a 70B model from a slow disk takes minutes; Ollama's own
/// stall limit, `OLLAMA_LOAD_TIMEOUT`, defaults to 5 minutes).
pub(crate) const LOAD_TIMEOUT: Duration = Duration::from_mins(15);

/// A raw HTTP exchange, for `verify` (status, content type, body text).
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body, lossily decoded.
    pub body: String,
}

/// A typed Ollama client bound to one server address.
#[derive(Debug, Clone)]
pub struct Client {
    #[expect(clippy::disallowed_types, reason = "the HTTP gateway")]
    http: reqwest::Client,
    base: String,
}

impl Client {
    /// A client for the server at `addr` (`0.0.0.0` already mapped to loopback by the caller),
    /// with a per-request `timeout` for short calls (pulls and loads have none: they stream).
    #[expect(clippy::disallowed_types, reason = "the HTTP gateway")]
    pub fn new(addr: SocketAddr, connect_timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .no_proxy()
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            http,
            base: format!("http://{addr}"),
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:11434`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn unreachable(&self, path: &str, err: &reqwest::Error) -> OllamaError {
        let mut reason = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(inner) = source {
            reason = inner.to_string();
            source = inner.source();
        }
        OllamaError::Unreachable {
            url: self.url(path),
            reason,
        }
    }

    async fn status_error(
        &self,
        method: &'static str,
        path: &str,
        response: reqwest::Response,
    ) -> OllamaError {
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<api::ErrorResponse>(&body)
            .map_or_else(|_| body.trim().to_owned(), |e| e.error);
        OllamaError::Status {
            method,
            url: self.url(path),
            status,
            message,
        }
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        timeout: Duration,
    ) -> Result<T, OllamaError> {
        let response = self
            .http
            .get(self.url(path))
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| self.unreachable(path, &e))?;
        if !response.status().is_success() {
            return Err(self.status_error("GET", path, response).await);
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| self.unreachable(path, &e))?;
        serde_json::from_slice(&body).map_err(|e| OllamaError::Decode {
            url: self.url(path),
            reason: e.to_string(),
        })
    }

    async fn post<B: Serialize>(
        &self,
        path: &str,
        body: &B,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, OllamaError> {
        let mut request = self.http.post(self.url(path)).json(body);
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.unreachable(path, &e))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(self.status_error("POST", path, response).await)
        }
    }

    /// `GET /api/version`.
    pub async fn version(&self, timeout: Duration) -> Result<String, OllamaError> {
        let v: api::VersionResponse = self.get_json("/api/version", timeout).await?;
        Ok(v.version)
    }

    /// `GET /api/tags`.
    pub async fn tags(&self, timeout: Duration) -> Result<Vec<InstalledModel>, OllamaError> {
        let list: api::ListResponse = self.get_json("/api/tags", timeout).await?;
        Ok(list.models.into_iter().map(InstalledModel::from).collect())
    }

    /// `POST /api/show` (capabilities and details of one model; `verify` asks it of servers
    /// whose `/api/tags` has no `capabilities`, before v0.30.0).
    pub async fn show(
        &self,
        model: &str,
        timeout: Duration,
    ) -> Result<api::ShowResponse, OllamaError> {
        let request = api::ShowRequest {
            model: model.to_owned(),
            verbose: None,
        };
        let response = self.post("/api/show", &request, Some(timeout)).await?;
        let body = response
            .bytes()
            .await
            .map_err(|e| self.unreachable("/api/show", &e))?;
        serde_json::from_slice(&body).map_err(|e| OllamaError::Decode {
            url: self.url("/api/show"),
            reason: e.to_string(),
        })
    }

    /// `GET /api/ps`.
    pub async fn ps(&self, timeout: Duration) -> Result<Vec<LoadedModel>, OllamaError> {
        let list: api::ProcessResponse = self.get_json("/api/ps", timeout).await?;
        Ok(list.models.into_iter().map(LoadedModel::from).collect())
    }

    /// `POST /api/pull`, streaming: calls `on_progress` for every progress line; an `error`
    /// line, or a stream that ends without `success`, is an error.
    pub async fn pull(
        &self,
        model: &str,
        on_progress: impl FnMut(&api::ProgressResponse),
    ) -> Result<(), OllamaError> {
        let request = api::PullRequest {
            model: model.to_owned(),
            insecure: None,
            stream: Some(true),
        };
        self.stream(format!("pull {model}"), "/api/pull", &request, on_progress)
            .await
    }

    /// `POST /api/create` with `from` and `parameters` (docs/ollama.md §14.4),
    /// streaming like a pull: the same status lines (`using existing layer …`, `creating new
    /// layer …`, `writing manifest`, `success`) and the same errors (docs/ollama.md §12).
    pub(crate) async fn create(
        &self,
        request: &api::CreateRequest,
        on_progress: impl FnMut(&api::ProgressResponse),
    ) -> Result<(), OllamaError> {
        let operation = format!("create {} from {}", request.model, request.from);
        self.stream(operation, "/api/create", request, on_progress)
            .await
    }

    /// POSTs `body` to `path` and reads the NDJSON progress stream: calls `on_progress` for
    /// every progress line; an `error` line, a stall, or a stream that ends without `success`
    /// is an [`OllamaError::Stream`] naming `operation`.
    async fn stream<B: Serialize>(
        &self,
        operation: String,
        path: &str,
        body: &B,
        mut on_progress: impl FnMut(&api::ProgressResponse),
    ) -> Result<(), OllamaError> {
        let response = self.post(path, body, None).await?;
        let mut stream = response.bytes_stream();
        let mut buffer = Vec::new();
        let mut succeeded = false;
        let mut handle_line = |line: &[u8]| -> Result<(), OllamaError> {
            let line = String::from_utf8_lossy(line);
            if line.trim().is_empty() {
                return Ok(());
            }
            match api::PullLine::parse(&line) {
                Err(e) => Err(OllamaError::Stream {
                    operation: operation.clone(),
                    message: format!("unreadable progress line: {e}"),
                }),
                Ok(api::PullLine::Error(error)) => Err(OllamaError::Stream {
                    operation: operation.clone(),
                    message: error.error,
                }),
                Ok(api::PullLine::Progress(progress)) => {
                    succeeded |= progress.is_success();
                    on_progress(&progress);
                    Ok(())
                }
            }
        };
        loop {
            let Ok(next) = tokio::time::timeout(PULL_IDLE_TIMEOUT, stream.next()).await else {
                return Err(OllamaError::Stream {
                    operation,
                    message: format!(
                        "no progress for {} s: it stalled",
                        PULL_IDLE_TIMEOUT.as_secs()
                    ),
                });
            };
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(|e| OllamaError::Stream {
                operation: operation.clone(),
                message: format!("the connection broke: {e}"),
            })?;
            buffer.extend_from_slice(&chunk);
            while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buffer.drain(..=end).collect();
                handle_line(&line)?;
            }
        }
        handle_line(&buffer)?;
        if succeeded {
            Ok(())
        } else {
            Err(OllamaError::Stream {
                operation,
                message: "the stream ended before `success` (the server stopped or the connection dropped)".to_owned(),
            })
        }
    }

    /// `DELETE /api/delete`.
    pub async fn delete(&self, model: &str, timeout: Duration) -> Result<(), OllamaError> {
        let path = "/api/delete";
        let response = self
            .http
            .delete(self.url(path))
            .json(&api::DeleteRequest {
                model: model.to_owned(),
            })
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| self.unreachable(path, &e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.status_error("DELETE", path, response).await)
        }
    }

    /// Unloads a model now: `/api/generate` with no prompt and `keep_alive: 0`, as `ollama rm`
    /// does before it deletes (docs/ollama.md §1.7). The server unloads
    /// before it checks capabilities, so this works for embedding-only models too. `Ok(false)`
    /// when Ollama does not know the model (404: nothing to unload).
    ///
    /// # Errors
    /// Any other failure, with the URL.
    pub async fn unload(&self, model: &str, timeout: Duration) -> Result<bool, OllamaError> {
        let body = api::GenerateRequest::unload(model);
        match self.post("/api/generate", &body, Some(timeout)).await {
            Ok(_) => Ok(true),
            Err(OllamaError::Status { status: 404, .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Loads a model and keeps it loaded for `keep_alive` (Ollama's syntax; `None` = the
    /// server's `OLLAMA_KEEP_ALIVE`): `/api/generate` with an empty prompt, or `/api/embed`
    /// with no input for embedding models (they refuse generate). `num_ctx`: sent as
    /// `options.num_ctx` (a runner with another context is reloaded, docs/ollama.md §12).
    pub async fn load(
        &self,
        model: &str,
        keep_alive: Option<&str>,
        embedding: bool,
        num_ctx: Option<u32>,
    ) -> Result<(), OllamaError> {
        let keep_alive = keep_alive.map(api::keep_alive_value);
        let options = num_ctx.map(|n| {
            let mut options = serde_json::Map::new();
            options.insert("num_ctx".to_owned(), n.into());
            options
        });
        let sent = if embedding {
            let mut body = api::EmbedRequest::load(model, keep_alive);
            body.options = options;
            self.post("/api/embed", &body, Some(LOAD_TIMEOUT)).await
        } else {
            let mut body = api::GenerateRequest::load(model, keep_alive);
            body.options = options;
            self.post("/api/generate", &body, Some(LOAD_TIMEOUT)).await
        };
        sent.map(drop)
    }

    /// Any request, raw (for `verify`), with extra `headers`: never fails on an HTTP error
    /// status.
    pub async fn raw(
        &self,
        method: &'static str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
        timeout: Duration,
    ) -> Result<RawResponse, OllamaError> {
        let method_value =
            reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut request = self
            .http
            .request(method_value, self.url(path))
            .timeout(timeout);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.unreachable(path, &e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .text()
            .await
            .map_err(|e| self.unreachable(path, &e))?;
        Ok(RawResponse {
            status,
            content_type,
            body,
        })
    }
}
