//! Derived models (`[[models]] context_length`, `[models.parameters]`, `serve_as`) against the
//! simulated Mac: what `observe` sees of them, what `plan` and `apply` do with them.

use super::support::Mac;

/// `llama3.2` warm, served as `llama3.2:8k` (its default derived name) with an 8k context.
const DERIVED: &str = r#"
[[models]]
name = "llama3.2"
warm = true
context_length = 8192
"#;

#[test]
fn observe_shows_every_declared_and_derived_model_and_the_served_context() {
    let mac = Mac::with(DERIVED, "");
    mac.converge_by_hand();
    let run = mac.run(&["observe", "--json"]);
    run.success();
    let json = run.json();
    let server = &json["ollama"]["server"];
    // The base is installed: its show has no parent, and its geometry and capabilities.
    let base = &server["shown"]["llama3.2:latest"];
    assert_eq!(base["status"], "known", "{base}");
    assert_eq!(base["value"]["parent"], serde_json::Value::Null, "{base}");
    assert_eq!(base["value"]["kv"]["block_count"], 28, "{base}");
    assert!(
        base["value"]["capabilities"]
            .as_array()
            .unwrap()
            .contains(&"completion".into()),
        "{base}"
    );
    // The derived model does not exist yet: Ollama's 404 is a known absence.
    let derived = &server["shown"]["llama3.2:8k"];
    assert_eq!(derived["status"], "known", "{derived}");
    assert_eq!(derived["value"], serde_json::Value::Null, "{derived}");
    // The base was warmed by hand with the server's default context.
    let loaded = &server["loaded"]["value"][0];
    assert!(loaded["context_length"].as_u64().unwrap() > 0, "{loaded}");
}
