//! Readers of HTTP replies shared by the API checks.

use serde_json::Value as Json;

use super::text::excerpt;

pub(super) fn parse_json(body: &str) -> Result<Json, String> {
    serde_json::from_str(body).map_err(|e| format!("not JSON ({e})"))
}

pub(super) fn need_status(status: u16, wanted: u16) -> Result<(), String> {
    if status == wanted {
        Ok(())
    } else {
        Err(format!("HTTP {status}"))
    }
}

/// `"ok"`, or what stands in for an empty answer: the model only thought, or said nothing, in
/// the tokens it was given.
pub(super) fn answer(text: &str, thinking: bool) -> String {
    match (text.is_empty(), thinking) {
        (false, _) => format!("{:?}", excerpt(text, 40)),
        (true, true) => "thinking only".to_owned(),
        (true, false) => "empty".to_owned(),
    }
}

pub(super) fn event_stream(content_type: Option<&str>) -> Result<(), String> {
    if content_type.is_some_and(|c| c.starts_with("text/event-stream")) {
        Ok(())
    } else {
        Err(format!(
            "content type {} is not text/event-stream",
            content_type.unwrap_or("(none)")
        ))
    }
}
