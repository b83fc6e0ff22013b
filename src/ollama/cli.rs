//! The `ollama` command line's text output (docs/ollama.md §5.3). Pure.

/// The CLI's own version from `ollama --version` output.
///
/// The CLI asks the server at `OLLAMA_HOST` first, so its output depends on what answers there:
/// `ollama version is X` (client and server agree, or only the server's version is known),
/// followed by `Warning: client version is Y` when they differ or no server answered. The
/// client's version is the program's; `None` when neither line is there.
pub(crate) fn parse_version_output(output: &str) -> Option<String> {
    let value = |prefix: &str| {
        output
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    value("Warning: client version is ").or_else(|| value("ollama version is "))
}

#[cfg(test)]
mod tests {
    use super::parse_version_output;

    #[test]
    fn versions_from_the_real_outputs() {
        // docs/ollama.md §5.3: a real capture, and the source.
        assert_eq!(
            parse_version_output("ollama version is 0.12.3\n").as_deref(),
            Some("0.12.3")
        );
        assert_eq!(
            parse_version_output("ollama version is 0.10.1\nWarning: client version is 0.11.2\n")
                .as_deref(),
            Some("0.11.2")
        );
        assert_eq!(
            parse_version_output(
                "Warning: could not connect to a running Ollama instance\nWarning: client version is 0.12.3\n"
            )
            .as_deref(),
            Some("0.12.3")
        );
    }

    #[test]
    fn other_text_has_no_version() {
        assert_eq!(parse_version_output(""), None);
        assert_eq!(parse_version_output("Warning: could not connect\n"), None);
        assert_eq!(parse_version_output("ollama version is \n"), None);
    }
}
