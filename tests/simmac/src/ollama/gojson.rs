//! JSON bytes as Go's `encoding/json` writes them (docs/ollama.md §0): keys in the order the caller
//! gives (Go struct order), `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c` etc.
//!
//! Pure. [`Obj`] builds one object field by field so key order is explicit and never depends on
//! `serde_json`'s map features.

use serde::Serialize;

/// Applies Go's HTML-safe escaping to compact JSON produced by `serde_json`.
/// Those characters can only occur inside JSON strings, so a plain replacement is exact.
pub fn go_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(c),
        }
    }
    out
}

/// One JSON value in Go's encoding.
pub fn enc<T: Serialize + ?Sized>(v: &T) -> String {
    go_escape(&serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned()))
}

/// A JSON object under construction, keys in insertion order.
#[derive(Debug, Default)]
pub struct Obj {
    body: String,
}

impl Obj {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `key: <already encoded JSON>`.
    #[must_use]
    pub fn raw(mut self, key: &str, json: &str) -> Self {
        if !self.body.is_empty() {
            self.body.push(',');
        }
        self.body.push_str(&enc(key));
        self.body.push(':');
        self.body.push_str(json);
        self
    }

    /// Appends `key: value`.
    #[must_use]
    pub fn field<T: Serialize + ?Sized>(self, key: &str, v: &T) -> Self {
        let json = enc(v);
        self.raw(key, &json)
    }

    /// Appends `key: value` unless `keep` is false (Go `omitempty`).
    #[must_use]
    pub fn field_if<T: Serialize + ?Sized>(self, keep: bool, key: &str, v: &T) -> Self {
        if keep { self.field(key, v) } else { self }
    }

    /// Appends a nested object.
    #[must_use]
    pub fn obj(self, key: &str, o: Obj) -> Self {
        let json = o.done();
        self.raw(key, &json)
    }

    /// The finished object text.
    pub fn done(self) -> String {
        format!("{{{}}}", self.body)
    }
}

/// A JSON array of already encoded values.
pub fn arr(items: &[String]) -> String {
    format!("[{}]", items.join(","))
}

/// An object whose keys are sorted, like a Go `map[string]any` (values already encoded).
pub fn sorted_obj(mut pairs: Vec<(&str, String)>) -> String {
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs
        .into_iter()
        .fold(Obj::new(), |o, (k, v)| o.raw(k, &v))
        .done()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html_like_go() {
        assert_eq!(enc("</s> & co"), "\"\\u003c/s\\u003e \\u0026 co\"");
    }

    #[test]
    fn keeps_given_key_order() {
        let o = Obj::new()
            .field("b", &1)
            .field("a", "x")
            .field_if(false, "c", &0);
        assert_eq!(o.done(), r#"{"b":1,"a":"x"}"#);
        assert_eq!(
            sorted_obj(vec![("type", enc("t")), ("delta", enc("d"))]),
            r#"{"delta":"d","type":"t"}"#
        );
    }
}
