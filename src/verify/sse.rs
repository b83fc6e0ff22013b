//! Server-sent events, as the `OpenAI` and Anthropic endpoints stream them: frames separated by a
//! blank line, each with optional `event:` and one or more `data:` lines. Pure.

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The `event:` field, if any.
    pub(crate) event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub(crate) data: String,
}

/// Splits an event-stream body into frames; comments (`:`) and frames without `data` are dropped.
pub(crate) fn frames(body: &str) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut event = None;
    let mut data: Vec<&str> = Vec::new();
    let mut flush = |event: &mut Option<String>, data: &mut Vec<&str>| {
        if !data.is_empty() {
            out.push(Frame {
                event: event.take(),
                data: data.join("\n"),
            });
        }
        *event = None;
        data.clear();
    };
    for line in body.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            flush(&mut event, &mut data);
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_owned()),
            "data" => data.push(value),
            _ => {}
        }
    }
    flush(&mut event, &mut data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_chunks_and_done_are_frames() {
        let body = "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n";
        let got: Vec<String> = frames(body).into_iter().map(|f| f.data).collect();
        assert_eq!(got, ["{\"a\":1}", "{\"b\":2}", "[DONE]"]);
    }

    #[test]
    fn anthropic_events_keep_their_names() {
        let body = "event: message_start\ndata: {}\n\n: comment\n\nevent: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";
        let got = frames(body);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].event.as_deref(), Some("message_start"));
        assert_eq!(got[1].event.as_deref(), Some("message_stop"));
        assert_eq!(got[1].data, "{\"type\":\"message_stop\"}");
    }

    #[test]
    fn garbage_gives_no_frames_and_no_panic() {
        assert!(frames("").is_empty());
        assert!(frames("event: x\n\n\n").is_empty());
        assert_eq!(frames("data").len(), 1);
    }
}
