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

/// `llama3.2:8k` has `num_ctx` = `context` and `/api/ps` serves it with that context.
#[track_caller]
fn assert_built_and_served(mac: &Mac, context: u64) {
    assert_eq!(
        mac.sb.model_parameters("llama3.2:8k").unwrap()["num_ctx"],
        context
    );
    let ps = mac.loaded_models();
    assert!(
        ps.contains(&format!("\"context_length\":{context}")),
        "{ps}"
    );
}

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

#[test]
fn apply_creates_the_derived_model_warms_it_with_its_context_and_converges() {
    let mac = Mac::with(DERIVED, "");
    mac.apply().success();
    // Built from the declared model, which stays pulled; num_ctx is the declared context.
    assert_eq!(
        mac.sb.created_models(),
        [("llama3.2:8k".to_owned(), "llama3.2:latest".to_owned())]
    );
    let parameters = mac.sb.model_parameters("llama3.2:8k").unwrap();
    assert_eq!(parameters["num_ctx"], 8192);
    // The derived model is what is warm, served with the declared context.
    let ps: serde_json::Value =
        serde_json::from_str(mac.loaded_models().split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let warm: Vec<(&str, u64)> = ps["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap(),
                m["context_length"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(warm, [("llama3.2:8k", 8192)], "{ps}");
    // Idempotent: nothing left to do.
    assert_eq!(mac.planned(), Vec::<String>::new());
    mac.apply().success().says("No changes");
}

#[test]
fn a_changed_context_replaces_the_derived_model_and_warms_it_again() {
    let mac = Mac::with(DERIVED, "");
    mac.apply().success();
    mac.configure(
        &DERIVED
            .replace("8192", "16384")
            .replace("warm = true", "warm = true\nserve_as = \"llama3.2:8k\""),
        "",
    );
    let plan = mac.run(&["plan"]);
    plan.success()
        .says("-/+ ollama.model[\"llama3.2:8k\"]")
        .says("num_ctx is 8192, declared 16384");
    mac.apply().success();
    assert_built_and_served(&mac, 16384);
    assert_eq!(mac.planned(), Vec::<String>::new());
}

#[test]
fn prune_keeps_the_derived_model_and_its_base() {
    let mac = Mac::with(DERIVED, "");
    mac.apply().success();
    simmac::ollama::seed::install_model(&mac.sb.mac_dir(), "all-minilm").unwrap();
    let prune = format!("{DERIVED}\n[model_policy]\nprune = true\n");
    mac.configure(&prune, "");
    let plan = mac.run(&["plan"]);
    plan.success()
        .says("- ollama.model[\"all-minilm:latest\"]")
        .never_says("- ollama.model[\"llama3.2");
    mac.apply().success();
    let names: Vec<String> = mac
        .sb
        .installed_models()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert!(names.iter().any(|n| n == "llama3.2:latest"), "{names:?}");
    assert!(names.iter().any(|n| n == "llama3.2:8k"), "{names:?}");
    assert!(
        !names.iter().any(|n| n.starts_with("all-minilm")),
        "{names:?}"
    );
}

#[test]
fn warm_creates_a_missing_derived_model_and_loads_it_with_its_context() {
    let mac = Mac::with(DERIVED, "");
    mac.apply().success();
    mac.http(
        "POST",
        "/api/generate",
        r#"{"model":"llama3.2:8k","keep_alive":0}"#,
    );
    mac.http("DELETE", "/api/delete", r#"{"model":"llama3.2:8k"}"#);
    assert!(mac.sb.model_parameters("llama3.2:8k").is_none());
    assert!(
        !mac.loaded_models().contains("llama3.2"),
        "{}",
        mac.loaded_models()
    );
    mac.run(&["warm"]).success().says("llama3.2:8k");
    assert_built_and_served(&mac, 8192);
    assert!(!mac.loaded_models().contains("\"name\":\"llama3.2:latest\""));
}
