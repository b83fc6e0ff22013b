//! "Is this an embedding model": Ollama's `capabilities` when the server reports them (an
//! embedding model lists `embedding`, docs/ollama.md §1.3), else the name.
//! The one statement of that rule; the planner, apply's warm-up and verify ask it.

use crate::ollama::name::ModelName;

impl ModelName {
    /// Whether the name is an embedding model's (`*embed*`: `nomic-embed-text`,
    /// `mxbai-embed-large`, `snowflake-arctic-embed`): the guess when the server reports no
    /// capabilities (servers before v0.30).
    #[must_use]
    pub(crate) fn named_like_embedding(&self) -> bool {
        self.key().contains("embed")
    }
}

/// Whether `name` is an embedding model (warmed through `/api/embed`, cannot chat), from the
/// `capabilities` the server reports for it (empty: not reported, or not installed).
#[must_use]
pub(crate) fn is_embedding(name: &ModelName, capabilities: &[String]) -> bool {
    if capabilities.is_empty() {
        name.named_like_embedding()
    } else {
        capabilities.iter().any(|c| c == "embedding")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> ModelName {
        ModelName::parse(text).unwrap()
    }

    #[test]
    fn capabilities_decide_and_the_name_is_the_fallback() {
        let caps = |list: &[&str]| list.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        assert!(is_embedding(&name("all-minilm"), &caps(&["embedding"])));
        assert!(!is_embedding(
            &name("nomic-embed-text"),
            &caps(&["completion"])
        ));
        assert!(is_embedding(&name("nomic-embed-text"), &[]));
        assert!(is_embedding(&name("mxbai-embed-large:335m"), &[]));
        assert!(!is_embedding(&name("llama3.2"), &[]));
    }
}
