//! The capacity plan and cloud off end to end: the real binary against the
//! simulated Mac, whose fake Ollama logs `inference compute` with the Mac's Metal total and
//! whose fake `sysctl` answers `hw.memsize` and `iogpu.wired_limit_mb`.

use super::support::{MODELS, Mac};

const GIB: u64 = 1 << 30;

/// A converged Mac declaring `models` with `ollama` lines, the warm models loaded.
fn converged(models: &str, ollama: &str) -> Mac {
    let mac = Mac::with(models, ollama);
    mac.converge_by_hand();
    mac
}

#[test]
fn a_warm_set_that_does_not_fit_is_blocked_with_advice_before_anything_changes() {
    // A 64 GiB Mac: Metal allows 48.0 GiB. qwen2.5-coder:32b at 32k × 4 sequences needs
    // 18.5 GiB of weights + 32.0 GiB of KV cache + its graph; at 2 sequences it fits.
    let mac = Mac::with(
        "[[models]]\nname = \"qwen2.5-coder:32b\"\nwarm = true\n",
        "context_length = 32768\nnum_parallel = 4\n",
    );
    mac.sb.set_memsize(64 * GIB);
    mac.converge_by_hand();
    let json = mac.run(&["plan", "--json"]).json();
    let capacity = &json["capacity"];
    assert_eq!(capacity["fits"], false, "{json:#}");
    assert_eq!(capacity["limit"]["source"], "measured");
    assert_eq!(capacity["limit"]["text"], "48.0 GiB");
    assert_eq!(capacity["models"][0]["name"], "qwen2.5-coder:32b");
    assert_eq!(capacity["models"][0]["context"], 32768);
    assert_eq!(capacity["models"][0]["parallel"], 4);
    assert_eq!(capacity["models"][0]["kv_cache"], 32 * GIB);
    assert_eq!(capacity["advice"]["parallel"], 2);
    assert_eq!(json["blockers"][0]["resource"], "capacity");
    let text = mac.run(&["plan"]);
    text.says("Blocked: apply will not start")
        .says("! capacity: the warm models cannot stay loaded together: they need ")
        .says("(qwen2.5-coder:32b ")
        .says("but Metal lets Ollama use 48.0 GiB (logged by the server at its last start)")
        .says("`num_parallel = 2` in [ollama]")
        .says("`context_length = ")
        .says("`kv_cache_type = \"q8_0\"`")
        .says("does not fit (over by ");
    // apply stops before it changes anything.
    let before = mac.mutations().len();
    let apply = mac.apply();
    apply.code(1).says("capacity");
    assert_eq!(mac.mutations().len(), before, "{}", mac.shown(&apply));
    // check reports it (cron mail).
    mac.run(&["check"]).code(2).says("blocked: capacity: ");
}

#[test]
fn a_warm_set_that_fits_shows_its_budget_measured_then_estimated() {
    let mac = converged(MODELS, "");
    let run = mac.run(&["plan"]);
    run.success()
        .says("No changes. This Mac matches server.toml.")
        .says("Capacity: Metal lets Ollama use 21.3 GiB (logged by the server at its last start)")
        .says("llama3.2:latest    4096 × 1")
        .says("fits (18.3 GiB to spare)")
        // The embedding model is not warm: not budgeted.
        .never_says("all-minilm");
    mac.run(&["check"]).success();
    // `status` shows what is loaded (`/api/ps`) against the same limit.
    let status = mac.run(&["status"]);
    status
        .success()
        .says("Memory: Metal lets Ollama use 21.3 GiB (logged by the server at its last start)")
        .says("llama3.2:latest    4096       2.3 GiB")
        .says("loaded 2.3 GiB of 21.3 GiB (19.0 GiB free)");
    let doc = mac.run(&["status", "--json"]).json();
    assert_eq!(
        doc["capacity"]["loaded"][0]["context_length"], 4096,
        "{doc:#}"
    );
    assert_eq!(doc["capacity"]["fits"], true);
    // Before the server has logged its limit (a log rotated away), the estimate from sysctl,
    // said so: a 24 GiB wired limit.
    std::fs::write(mac.logs_dir().join("ollama.stderr.log"), "").unwrap();
    mac.sb.set_wired_limit_mb(24 * 1024);
    let json = mac.run(&["plan", "--json"]).json();
    let limit = &json["capacity"]["limit"];
    assert_eq!(limit["source"], "estimated", "{json:#}");
    assert_eq!(limit["bytes"], 24 * GIB);
    assert_eq!(limit["wired_limit_mb"], 24 * 1024);
    mac.run(&["plan"])
        .says("Capacity: Metal lets Ollama use 24.0 GiB (an estimate from `sysctl`");
}

/// Writes the server user's `~/.ollama/server.json` (Ollama.app's file).
fn write_server_json(mac: &Mac, text: &str) {
    let dir = mac.sb.home().join(".ollama");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("server.json"), text).unwrap();
}

#[test]
fn server_json_that_keeps_a_declared_cloud_off_is_drift_with_what_to_do() {
    // What Ollama.app writes when its cloud toggle is off.
    const DISABLED: &str = "{\n  \"disable_ollama_cloud\": true\n}\n";
    let mac = converged(MODELS, "cloud = true\n");
    mac.run(&["plan", "--detailed-exitcode"]).code(0);
    write_server_json(&mac, DISABLED);
    mac.run(&["plan"])
        .says("! ollama.cloud: `cloud = true` is declared, but ")
        .says("ssollama does not own that file: turn cloud back on in Ollama.app's settings");
    mac.run(&["check"]).code(2).says("blocked: ollama.cloud: ");
    // With cloud = false, OLLAMA_NO_CLOUD=1 turns it off whatever the file says: no drift.
    let mac_off = converged(MODELS, "cloud = false\n");
    write_server_json(&mac_off, DISABLED);
    mac_off.run(&["plan"]).never_says("ollama.cloud");
    mac_off.run(&["check"]).success();
}
