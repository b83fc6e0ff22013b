//! Text as messages and documents show it: excerpts of output, XML escaping, paths under `HOME`
//! as `~/…`. Pure.

use std::path::Path;

/// How many characters of a tool's output a message quotes ([`tool_excerpt`]).
const TOOL_EXCERPT_CHARS: usize = 200;

/// A tool's output as a message quotes it: [`excerpt`] at 200 characters. The parsers of
/// `launchctl` and `networksetup` output use it.
#[must_use]
pub(crate) fn tool_excerpt(text: &str) -> String {
    excerpt(text, TOOL_EXCERPT_CHARS)
}

/// `text` as a message quotes it: the trimmed non-empty lines joined by ` / `, cut to `max`
/// characters (then `…`).
#[must_use]
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let joined = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" / ");
    cut(&joined, max)
}

/// `text` trimmed on one line (each line break a space), cut to `max` characters (then `…`):
/// how `verify` quotes an HTTP body.
#[must_use]
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .trim()
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    cut(&flat, max)
}

/// At most `max` characters of `text`, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// Which characters [`xml_escape`] rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Xml {
    /// `&`, `<` and `>` only: element text as Apple's plist writer leaves it.
    Text,
    /// Also `"` and `'` (attribute values), and the control characters XML 1.0 forbids even
    /// escaped, as spaces.
    Attribute,
}

/// `text` escaped for an XML document.
#[must_use]
pub(crate) fn xml_escape(text: &str, xml: Xml) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if xml == Xml::Attribute => out.push_str("&quot;"),
            '\'' if xml == Xml::Attribute => out.push_str("&apos;"),
            c if xml == Xml::Attribute && c.is_control() && !matches!(c, '\n' | '\t' | '\r') => {
                out.push(' ');
            }
            c => out.push(c),
        }
    }
    out
}

/// `path` shown relative to `home` (`~/Library/LaunchAgents/…`), as messages do; as it is when
/// it is not below `home` (or is `home` itself).
#[must_use]
pub(crate) fn home_path(path: &Path, home: Option<&Path>) -> String {
    match home.and_then(|home| path.strip_prefix(home).ok()) {
        Some(rest) if !rest.as_os_str().is_empty() => format!("~/{}", rest.display()),
        _ => path.display().to_string(),
    }
}

/// Every path under `home` in `text` (a message that quotes paths) shown as `~/…`.
#[must_use]
pub(crate) fn shorten_home(text: &str, home: Option<&Path>) -> String {
    match home {
        Some(home) if !home.as_os_str().is_empty() => {
            text.replace(&format!("{}/", home.display()), "~/")
        }
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_join_lines_and_cut() {
        assert_eq!(excerpt("  a \n\n b\r\n", 10), "a / b");
        assert_eq!(excerpt("abcdef", 3), "abc…");
        assert_eq!(excerpt("abc", 3), "abc");
        assert_eq!(excerpt("\n \n", 3), "");
        assert_eq!(
            tool_excerpt(&"x".repeat(201)),
            format!("{}…", "x".repeat(200))
        );
        assert_eq!(tool_excerpt(&"x".repeat(200)), "x".repeat(200));
    }

    #[test]
    fn one_line_turns_breaks_into_spaces() {
        assert_eq!(one_line(" a\n\nb\r\nc ", 10), "a  b  c");
        assert_eq!(one_line("é".repeat(5).as_str(), 4), "éééé…");
    }

    #[test]
    fn xml_text_escapes_markup_and_attributes_also_quotes_and_controls() {
        let raw = "a<b>&\"c'\u{1}\n";
        assert_eq!(xml_escape(raw, Xml::Text), "a&lt;b&gt;&amp;\"c'\u{1}\n");
        assert_eq!(
            xml_escape(raw, Xml::Attribute),
            "a&lt;b&gt;&amp;&quot;c&apos; \n"
        );
    }

    #[test]
    fn paths_under_home_are_shown_from_tilde() {
        let home = Some(Path::new("/Users/me"));
        assert_eq!(
            home_path(Path::new("/Users/me/Library/x.plist"), home),
            "~/Library/x.plist"
        );
        assert_eq!(home_path(Path::new("/Users/me"), home), "/Users/me");
        assert_eq!(home_path(Path::new("/Users/mel/x"), home), "/Users/mel/x");
        assert_eq!(home_path(Path::new("/tmp/x"), None), "/tmp/x");
        assert_eq!(
            shorten_home("wrote /Users/me/a and /Users/me/b", home),
            "wrote ~/a and ~/b"
        );
        assert_eq!(
            shorten_home("/Users/me/a", Some(Path::new(""))),
            "/Users/me/a"
        );
        assert_eq!(shorten_home("/Users/me/a", None), "/Users/me/a");
    }
}
