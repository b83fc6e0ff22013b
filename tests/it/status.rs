//! `ssollama status` end to end on a converged simulated Mac: the one screen, and the stable
//! fields of `--json`.

use super::support::Mac;

#[test]
fn status_of_a_converged_server() {
    let server = Mac::converged_server(false);
    // Warm the declared model for good (keep_alive -1, as server.toml says).
    server.load("llama3.2", "-1");
    let out = server.run(&["status"]);
    insta::assert_snapshot!(server.shown(&out));

    let out = server.run(&["status", "--json"]);
    assert_eq!(out.code, Some(0));
    let doc = out.json();
    assert_eq!(doc["format_version"], "1");
    assert_eq!(doc["service"]["job"]["status"], "running");
    assert_eq!(doc["ollama"]["status"], "up");
    assert_eq!(doc["ollama"]["loaded"][0]["name"], "llama3.2:latest");
    assert_eq!(doc["ollama"]["loaded"][0]["until"], "Forever");
    assert_eq!(doc["ollama"]["models"][0]["declared"], true);
    assert_eq!(doc["conflicts"], serde_json::json!([]));
    assert_eq!(doc["listen"]["declared"], doc["listen"]["loaded"]);

    // Booted out: the job is gone and nothing answers; status still reports (exit 0).
    let target = server.target();
    assert!(server.sb.launchctl(&["bootout", &target]).status.success());
    let start = std::time::Instant::now();
    let doc = loop {
        let out = server.run(&["status", "--json"]);
        assert_eq!(out.code, Some(0));
        let doc = out.json();
        if doc["service"]["job"]["status"] == "not_loaded" || start.elapsed().as_secs() > 10 {
            break doc;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(doc["service"]["job"]["status"], "not_loaded");
    assert_eq!(doc["ollama"]["status"], "down");
    assert_eq!(doc["listen"]["loaded"], serde_json::Value::Null);
}

#[test]
fn status_of_a_job_that_is_down_says_how_to_start_it() {
    let server = Mac::converged_server(false);
    let converged = server.run(&["status"]);
    assert!(
        !converged.stdout.contains("Start it with"),
        "{}",
        converged.stdout
    );
    let target = server.target();
    assert!(server.sb.launchctl(&["bootout", &target]).status.success());
    let start = std::time::Instant::now();
    let out = loop {
        let out = server.run(&["status"]);
        if out.stdout.contains("job ") && out.stdout.contains("not loaded")
            || start.elapsed().as_secs() > 10
        {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    out.success()
        .says("The job is not loaded. Start it with `ssollama apply`");
}
