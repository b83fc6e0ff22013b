//! How the judge quotes bodies and exchanges: excerpts, one-line descriptions, `--verbose` traces.

use crate::verify::{Exchange, Outcome};

/// How many characters of a body a message quotes.
pub(super) const EXCERPT: usize = 160;
/// How many characters of a request or reply `--verbose` shows.
pub(super) const TRACE_EXCERPT: usize = 400;

/// One line, at most `max` characters, with `…` when cut (`text::one_line`).
pub(super) use crate::text::one_line as excerpt;

/// `HTTP 404: 404 page not found` / `no answer: Connection refused`.
pub(super) fn describe(exchange: &Exchange) -> String {
    match &exchange.outcome {
        Outcome::Answered { status, body, .. } if body.trim().is_empty() => {
            format!("HTTP {status} with an empty body")
        }
        Outcome::Answered { status, body, .. } => {
            format!("HTTP {status}: {}", excerpt(body, EXCERPT))
        }
        Outcome::Failed { reason } => format!("no answer: {reason}"),
    }
}

/// The request and reply, for `--verbose`.
pub(super) fn trace(exchange: &Exchange) -> Vec<String> {
    let mut lines = vec![format!("> {} {}", exchange.method, exchange.url)];
    if let Some(body) = &exchange.request {
        lines.push(format!("> {}", excerpt(body, TRACE_EXCERPT)));
    }
    match &exchange.outcome {
        Outcome::Answered {
            status,
            content_type,
            body,
        } => {
            lines.push(format!(
                "< {status} {} ({} ms)",
                content_type.as_deref().unwrap_or("(no content type)"),
                exchange.elapsed_ms
            ));
            if !body.trim().is_empty() {
                lines.push(format!("< {}", excerpt(body, TRACE_EXCERPT)));
            }
        }
        Outcome::Failed { reason } => {
            lines.push(format!(
                "< no answer ({} ms): {reason}",
                exchange.elapsed_ms
            ));
        }
    }
    lines
}
