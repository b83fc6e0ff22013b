//! Model names as the fake server parses them (`types/model/name.go`, docs/ollama.md §2): defaults,
//! validity, `DisplayShortest()`, and the case-insensitive key used to find installed models.
//!
//! Pure. Kept separate from the ssollama crate's own parser on purpose: the fake must not share
//! code with the thing it checks.

use std::fmt::Write as _;

/// A parsed, fully qualified model name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// Registry host (`registry.ollama.ai` by default).
    pub host: String,
    /// Namespace (`library` by default).
    pub namespace: String,
    /// Model.
    pub model: String,
    /// Tag (`latest` by default).
    pub tag: String,
}

fn part_ok(s: &str, extra: &[char], max: usize) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    s.len() <= max
        && (first.is_ascii_alphanumeric() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || extra.contains(&c))
}

/// Result of cutting at the last separator (`cutPromised`).
enum Cut<'a> {
    /// No separator.
    Whole,
    /// Both sides non-empty.
    Split(&'a str, &'a str),
    /// An empty side: the name is invalid.
    Missing,
}

fn cut(s: &str, sep: char) -> Cut<'_> {
    match s.rfind(sep) {
        None => Cut::Whole,
        Some(i) => {
            let (l, r) = (&s[..i], &s[i + 1..]);
            if l.is_empty() || r.is_empty() {
                Cut::Missing
            } else {
                Cut::Split(l, r)
            }
        }
    }
}

impl Name {
    /// `ParseName` + `IsValid`: `None` for an invalid name.
    pub fn parse(s: &str) -> Option<Self> {
        let mut rest = s;
        let mut tag = "latest";
        let colon = s.rfind(':').map_or(-1, |i| i64::try_from(i).unwrap_or(-1));
        let slash = s.rfind('/').map_or(-1, |i| i64::try_from(i).unwrap_or(-1));
        if colon > slash {
            let Cut::Split(l, r) = cut(rest, ':') else {
                return None;
            };
            rest = l;
            tag = r;
        }
        let (mut host, mut namespace) = ("registry.ollama.ai", "library");
        let model;
        match cut(rest, '/') {
            Cut::Missing => return None,
            Cut::Whole => model = rest,
            Cut::Split(l, r) => {
                model = r;
                match cut(l, '/') {
                    Cut::Missing => return None,
                    Cut::Whole => namespace = l,
                    Cut::Split(h, ns) => {
                        namespace = ns;
                        host = h.split_once("://").map_or(h, |(_, after)| after);
                    }
                }
            }
        }
        let ok = part_ok(host, &['.', ':'], 350)
            && part_ok(namespace, &[], 80)
            && part_ok(model, &['.'], 80)
            && part_ok(tag, &['.'], 80);
        ok.then(|| Self {
            host: host.to_owned(),
            namespace: namespace.to_owned(),
            model: model.to_owned(),
            tag: tag.to_owned(),
        })
    }

    /// `DisplayShortest()`: `llama3:latest`, `ns/model:tag`, `hf.co/user/repo:tag`.
    pub fn display(&self) -> String {
        let mut out = String::new();
        if !self.host.eq_ignore_ascii_case("registry.ollama.ai") {
            let _ = write!(out, "{}/{}/", self.host, self.namespace);
        } else if !self.namespace.eq_ignore_ascii_case("library") {
            let _ = write!(out, "{}/", self.namespace);
        }
        let _ = write!(out, "{}:{}", self.model, self.tag);
        out
    }

    /// Case-insensitive identity (`EqualFold`).
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}:{}",
            self.host, self.namespace, self.model, self.tag
        )
        .to_ascii_lowercase()
    }
}

/// The case-insensitive key of a display name, or of the string itself when it does not parse.
pub fn key_of(s: &str) -> String {
    Name::parse(s).map_or_else(|| s.to_ascii_lowercase(), |n| n.key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_display_shortest() {
        let d = |s: &str| Name::parse(s).map(|n| n.display());
        assert_eq!(d("llama3").as_deref(), Some("llama3:latest"));
        assert_eq!(
            d("registry.ollama.ai/library/llama3:latest").as_deref(),
            Some("llama3:latest")
        );
        assert_eq!(d("ns/model:tag").as_deref(), Some("ns/model:tag"));
        assert_eq!(
            d("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M").as_deref(),
            Some("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M")
        );
        for bad in ["", "mm:", "//mm", "@t", "m@d", "-hh/nn/mm:tt", "a//b"] {
            assert_eq!(d(bad), None, "{bad}");
        }
        assert_eq!(key_of("LLAMA3"), key_of("llama3:latest"));
    }
}
