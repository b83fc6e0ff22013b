//! The judge on crafted facts: a converged server passes every check; each fault fails the
//! check that is about it (and skips what depends on it) with a hint.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use super::catalogue::{self, is_dedicated, planned_probes};
use super::choice::{choose_model, installed_models};
use super::*;
use crate::launchd::plist::{desired_plist, desired_plist_xml, loaded_of};
use crate::model::observed::{
    FileMeta, HostFacts, InstalledModel, IpConfig, IpMethod, JobStatus, LastExit, LoadedModel,
    LogFile, NetworkService, NetworkState, OllamaState, PlistFile, ProgramState, ServerStatus,
};

const UID: u32 = 501;
const PID: u32 = 4242;
const PROGRAM: &str = "/opt/homebrew/opt/ollama/bin/ollama";

const TOML: &str = r#"
[listen]
host = "192.168.250.20"
[network]
service = "Ethernet"
address = "192.168.250.20"
subnet_mask = "255.255.255.0"
router = "192.168.250.1"
dns = ["192.168.250.1"]
[[models]]
name = "llama3"
[[models]]
name = "qwen2.5-coder:32b"
warm = true
"#;

fn desired(text: &str) -> Desired {
    crate::config::parse("server.toml", text).unwrap().desired
}

fn answered(status: u16, content_type: &str, body: &str) -> Outcome {
    Outcome::Answered {
        status,
        content_type: Some(content_type.to_owned()),
        body: body.to_owned(),
    }
}

const JSON: &str = "application/json";
const SSE: &str = "text/event-stream";

fn good_reply(probe: Probe, model: &str) -> Outcome {
    match probe {
        Probe::Root => answered(200, "text/plain; charset=utf-8", "Ollama is running"),
        Probe::Loopback => Outcome::Failed {
            reason: "Connection refused (os error 111)".to_owned(),
        },
        Probe::ModelsList => answered(
            200,
            JSON,
            &format!(
                r#"{{"object":"list","data":[{{"id":"{model}","object":"model","created":1,"owned_by":"library"}}]}}"#
            ),
        ),
        Probe::ModelRetrieve => answered(
            200,
            JSON,
            &format!(r#"{{"id":"{model}","object":"model","created":1,"owned_by":"library"}}"#),
        ),
        Probe::Chat => answered(
            200,
            JSON,
            r#"{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok."},"finish_reason":"length"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"#,
        ),
        Probe::ChatStream => answered(
            200,
            SSE,
            "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"ok.\"},\"finish_reason\":null}]}\n\n\
             data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n\
             data: {\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,\"total_tokens\":10}}\n\n\
             data: [DONE]\n\n",
        ),
        Probe::JsonMode => answered(
            200,
            JSON,
            r#"{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"{\"reply\":\"ok\"}"},"finish_reason":"stop"}]}"#,
        ),
        Probe::Responses => answered(
            200,
            JSON,
            r#"{"id":"resp_1","object":"response","status":"completed","output":[{"type":"message","content":[{"type":"output_text","text":"ok."}]}]}"#,
        ),
        Probe::Messages | Probe::MessagesSystem | Probe::MessagesMultiTurn => answered(
            200,
            JSON,
            r#"{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"ok."}],"stop_reason":"max_tokens","usage":{"input_tokens":9,"output_tokens":1}}"#,
        ),
        Probe::MessagesStream => answered(
            200,
            SSE,
            "event: message_start\ndata: {\"type\":\"message_start\"}\n\n\
             event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0}\n\n\
             event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0}\n\n\
             event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
             event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}\n\n\
             event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        ),
        Probe::MessagesError => answered(
            400,
            "application/json; charset=utf-8",
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens is required and must be positive"}}"#,
        ),
        Probe::UnknownModel => answered(
            404,
            JSON,
            r#"{"error":{"message":"model 'ssollama-verify-no-such-model:latest' not found","type":"not_found_error","param":null,"code":null}}"#,
        ),
        Probe::Malformed => answered(
            400,
            "application/json; charset=utf-8",
            r#"{"error":{"message":"unexpected EOF","type":"invalid_request_error","param":null,"code":null}}"#,
        ),
        Probe::ClaudeCode => good_reply(Probe::MessagesStream, model),
        Probe::CountTokens => answered(404, "text/plain", "404 page not found"),
        Probe::PrefixFirst => native_chat(1412, 2_824_000_000),
        Probe::PrefixSecond => native_chat(1414, 24_000_000),
        Probe::Loaded => answered(
            200,
            JSON,
            &format!(
                r#"{{"models":[{{"name":"{model}","model":"{model}","size":1,"digest":"0","expires_at":"2318-04-12T23:47:16Z","size_vram":1,"context_length":65536}}]}}"#
            ),
        ),
    }
}

/// A native `/api/chat` reply that evaluated `count` prompt tokens in `duration_ns`.
fn native_chat(count: u64, duration_ns: u64) -> Outcome {
    answered(
        200,
        "application/json; charset=utf-8",
        &format!(
            r#"{{"model":"m","created_at":"2026-11-01T10:00:00Z","message":{{"role":"assistant","content":"ok."}},"done":true,"done_reason":"length","total_duration":{duration_ns},"prompt_eval_count":{count},"prompt_eval_duration":{duration_ns},"eval_count":1,"eval_duration":1000000}}"#
        ),
    )
}

fn exchange(probe: Probe, model: &str, base: &str) -> Exchange {
    let request = catalogue::request(probe, model, ModelKind::Plain, 1);
    Exchange {
        method: request.method.to_owned(),
        url: format!("{base}{}", request.path),
        request: request.body,
        outcome: good_reply(probe, model),
        elapsed_ms: 3,
    }
}

/// The facts of a server that is exactly what `desired` declares.
fn converged(desired: &Desired) -> Facts {
    let home = PathBuf::from("/Users/tester");
    let path =
        crate::launchd::domain::plist_path(&desired.service.mode, &desired.service.label, &home);
    let program = PathBuf::from(PROGRAM);
    let mut job = loaded_of(&desired_plist(desired, &program), &path);
    job.state = Some("running".to_owned());
    job.pid = Some(PID);
    job.last_exit = Some(LastExit::NeverExited);
    let network = desired.network.as_ref().map(|spec| {
        Knowable::Known(NetworkState {
            services: vec![NetworkService {
                name: spec.service.clone(),
                enabled: true,
            }],
            info: Some(Knowable::Known(IpConfig {
                method: IpMethod::Manual,
                address: Some(spec.address),
                subnet_mask: Some(spec.subnet_mask),
                router: Some(spec.router),
            })),
            dns: Some(Knowable::Known(
                spec.dns
                    .iter()
                    .flatten()
                    .copied()
                    .map(std::net::IpAddr::V4)
                    .collect(),
            )),
        })
    });
    let url = format!("http://{}", desired.listen.connect_addr());
    let observed = Observed {
        format: crate::model::observed::OBSERVATION_FORMAT,
        host: HostFacts {
            uid: UID,
            home,
            os_version: Knowable::Known("14.2.1".to_owned()),
        },
        plist: PlistFile::Present {
            path: path.clone(),
            text: desired_plist_xml(desired, &program),
            owner: UID,
            mode: 0o644,
            binary: false,
        },
        job: Knowable::Known(JobStatus::Loaded(job)),
        network,
        ollama: OllamaState {
            url: url.clone(),
            server: ServerStatus::Up {
                version: "0.14.2".to_owned(),
                models: Knowable::Known(
                    desired
                        .models
                        .iter()
                        .map(|m| InstalledModel {
                            name: m.name.display(),
                            digest: "0".repeat(64),
                            size: 1,
                            modified_at: "2026-11-01T10:00:00Z".to_owned(),
                            capabilities: Vec::new(),
                            family: None,
                        })
                        .collect(),
                ),
                loaded: Knowable::Known(Vec::<LoadedModel>::new()),
                shown: std::collections::BTreeMap::new(),
            },
        },
        program: ProgramState {
            path: Some(program.clone()),
            candidates: vec![program],
            version: Knowable::Known("ollama version is 0.14.2".to_owned()),
            brew: None,
        },
        logs: [&desired.logs.stdout, &desired.logs.stderr]
            .into_iter()
            .map(|p| LogFile {
                path: p.clone(),
                meta: Some(FileMeta {
                    owner: UID,
                    mode: 0o644,
                    regular: true,
                }),
            })
            .collect(),
        conflicts: Knowable::Known(Vec::new()),
        memory: None,
        server_config: None,
    };
    let options = Options::default();
    let model = choose_model(desired, &options, &installed_models(&observed)).ok();
    let name = model.as_ref().map(|m| m.name.clone()).unwrap_or_default();
    let mut http = BTreeMap::new();
    http.insert(Probe::Root, exchange(Probe::Root, &name, &url));
    if is_dedicated(desired.listen.host) {
        http.insert(
            Probe::Loopback,
            exchange(Probe::Loopback, &name, "http://127.0.0.1:11434"),
        );
    }
    for probe in planned_probes(&options, model.is_some()) {
        http.insert(probe, exchange(probe, &name, &url));
    }
    let address = match desired.listen.host {
        host if host.is_unspecified() => format!("*:{}", desired.listen.port),
        host => format!("{host}:{}", desired.listen.port),
    };
    Facts {
        observed,
        target: crate::launchd::domain::ServiceTarget::new(
            crate::launchd::domain::Domain::Gui(UID),
            desired.service.label.clone(),
        ),
        url,
        listeners: Knowable::Known(vec![crate::process::Listener {
            command: "ollama".to_owned(),
            pid: PID,
            user: "tester".to_owned(),
            address,
        }]),
        processes: Knowable::Known(vec![
            crate::process::ProcessInfo {
                pid: 1,
                ppid: 0,
                user: "root".to_owned(),
                command: "/sbin/launchd".to_owned(),
            },
            crate::process::ProcessInfo {
                pid: PID,
                ppid: 1,
                user: "tester".to_owned(),
                command: PROGRAM.to_owned(),
            },
        ]),
        model,
        no_model: None,
        http,
        ping: desired.network.as_ref().map(|_| PingOutcome::Ran {
            status: Some(0),
            last_line: "round-trip min/avg/max/stddev = 0.412/0.412/0.412/0.000 ms".to_owned(),
        }),
    }
}

fn result<'v>(verdict: &'v Verdict, id: &str) -> &'v CheckResult {
    verdict
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

fn failed_ids(verdict: &Verdict) -> Vec<&str> {
    verdict
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.id.as_str())
        .collect()
}

#[test]
fn a_converged_server_passes_every_check() {
    let desired = desired(TOML);
    let verdict = judge(&desired, &converged(&desired), &Options::default());
    assert_eq!(
        verdict.counts(),
        (31, 0, 0),
        "{}",
        report::text(&verdict, false)
    );
    // Ollama serves no count_tokens: a warning, and the server still passes.
    assert_eq!(verdict.warned(), 1);
    assert_eq!(
        result(&verdict, "anthropic.count_tokens").status,
        Status::Warn
    );
    assert!(verdict.passed());
    let model = verdict.model.as_ref().unwrap();
    assert_eq!(model.name, "qwen2.5-coder:32b");
    assert_eq!(model.source, "the first warm model in server.toml");
    insta::assert_snapshot!(report::text(&verdict, false));
}

#[test]
fn ids_are_unique_and_grouped_in_print_order() {
    let desired = desired(TOML);
    let verdict = judge(&desired, &converged(&desired), &Options::default());
    let mut ids: Vec<&str> = verdict.checks.iter().map(|c| c.id.as_str()).collect();
    let groups: Vec<Group> = verdict.checks.iter().map(|c| c.group).collect();
    let mut sorted = groups.clone();
    sorted.sort();
    assert_eq!(groups, sorted);
    sorted.dedup();
    assert_eq!(
        sorted,
        [
            Group::Service,
            Group::Openai,
            Group::Anthropic,
            Group::Errors,
            Group::Security,
            Group::Network,
            Group::Clients
        ],
        "every group is judged"
    );
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), verdict.checks.len());
}

#[test]
fn a_server_running_as_root_fails_the_owner_check() {
    let desired = desired(TOML);
    let mut facts = converged(&desired);
    if let Knowable::Known(list) = &mut facts.processes {
        list[1].user = "root".to_owned();
    }
    let verdict = judge(&desired, &facts, &Options::default());
    assert_eq!(failed_ids(&verdict), ["security.process_user"]);
    let check = result(&verdict, "security.process_user");
    assert_eq!(check.received, format!("root (pid {PID})"));
    assert!(check.hint.as_ref().unwrap().contains("root"));
}

#[test]
fn the_seeds_spelling_of_the_same_bind_passes_ollama_host() {
    let desired = desired(TOML);
    let mut facts = converged(&desired);
    if let Knowable::Known(JobStatus::Loaded(job)) = &mut facts.observed.job {
        job.environment
            .insert("OLLAMA_HOST".to_owned(), "192.168.250.20".to_owned());
    }
    let verdict = judge(&desired, &facts, &Options::default());
    assert_eq!(failed_ids(&verdict), Vec::<String>::new());
    assert_eq!(
        result(&verdict, "security.ollama_host").received,
        "192.168.250.20"
    );
}

#[test]
fn a_job_bound_elsewhere_fails_bind_and_ollama_host() {
    let desired = desired(TOML);
    let mut facts = converged(&desired);
    if let Knowable::Known(JobStatus::Loaded(job)) = &mut facts.observed.job {
        job.environment
            .insert("OLLAMA_HOST".to_owned(), "0.0.0.0:11434".to_owned());
    }
    facts.listeners = Knowable::Known(vec![crate::process::Listener {
        command: "ollama".to_owned(),
        pid: PID,
        user: "tester".to_owned(),
        address: "*:11434".to_owned(),
    }]);
    facts.http.get_mut(&Probe::Loopback).unwrap().outcome =
        answered(200, "text/plain", "Ollama is running");
    let verdict = judge(&desired, &facts, &Options::default());
    assert_eq!(
        failed_ids(&verdict),
        ["security.ollama_host", "network.bind", "network.loopback"]
    );
    assert_eq!(result(&verdict, "network.bind").received, "*:11434");
}

#[test]
fn a_missing_model_fails_once_with_a_pull_hint_and_skips_the_other_model_checks() {
    let desired = desired(TOML);
    let mut facts = converged(&desired);
    let not_found = answered(
        404,
        JSON,
        r#"{"error":{"message":"model 'qwen2.5-coder:32b' not found","type":"not_found_error","param":null,"code":null}}"#,
    );
    for probe in catalogue::SENT
        .into_iter()
        .filter(|p| catalogue::spec(*p).needs_model)
    {
        facts.http.get_mut(&probe).unwrap().outcome = not_found.clone();
    }
    let verdict = judge(&desired, &facts, &Options::default());
    assert_eq!(
        verdict.counts(),
        (17, 1, 14),
        "{}",
        report::text(&verdict, false)
    );
    let model = result(&verdict, "openai.model");
    assert!(
        model.received.starts_with("HTTP 404: "),
        "{}",
        model.received
    );
    assert!(
        model
            .hint
            .as_ref()
            .unwrap()
            .contains("ollama pull qwen2.5-coder:32b")
    );
    let chat = result(&verdict, "openai.chat");
    assert_eq!(chat.received, "model `qwen2.5-coder:32b` is not installed");
    assert_eq!(chat.hint.as_deref(), Some("fix `openai.model` first"));
}

#[test]
fn an_old_server_without_the_endpoints_gets_an_upgrade_hint() {
    let desired = desired(TOML);
    let mut facts = converged(&desired);
    let missing = answered(404, "text/plain", "404 page not found");
    facts.http.get_mut(&Probe::Responses).unwrap().outcome = missing.clone();
    facts.http.get_mut(&Probe::Messages).unwrap().outcome = missing;
    let verdict = judge(&desired, &facts, &Options::default());
    let responses = result(&verdict, "openai.responses");
    assert!(responses.hint.as_ref().unwrap().contains("0.13.3"));
    let messages = result(&verdict, "anthropic.messages");
    assert!(
        messages
            .hint
            .as_ref()
            .unwrap()
            .contains("--skip-anthropic-tests")
    );
}

#[test]
fn anthropic_errors_fail_every_anthropic_check() {
    let desired = desired(TOML);
    let mut facts = converged(&desired);
    let error = answered(
        500,
        JSON,
        r#"{"type":"error","error":{"type":"api_error","message":"boom"}}"#,
    );
    for probe in [
        Probe::Messages,
        Probe::MessagesStream,
        Probe::MessagesSystem,
        Probe::MessagesMultiTurn,
        Probe::MessagesError,
    ] {
        facts.http.get_mut(&probe).unwrap().outcome = error.clone();
    }
    let verdict = judge(&desired, &facts, &Options::default());
    assert_eq!(
        failed_ids(&verdict),
        [
            "anthropic.messages",
            "anthropic.stream",
            "anthropic.system",
            "anthropic.error",
            "anthropic.multi_turn",
            "anthropic.stream_usage"
        ]
    );
}

#[test]
fn a_server_that_does_not_answer_fails_once_and_skips_the_api_checks() {
    let desired = desired(TOML);
    let mut facts = converged(&desired);
    if let Knowable::Known(JobStatus::Loaded(job)) = &mut facts.observed.job {
        job.state = Some("spawn scheduled".to_owned());
        job.pid = None;
        job.last_exit = Some(LastExit::Code {
            code: 78,
            name: Some("EX_CONFIG".to_owned()),
        });
    }
    facts.listeners = Knowable::Known(Vec::new());
    let root = facts.http.remove(&Probe::Root).unwrap();
    let loopback = facts.http.remove(&Probe::Loopback).unwrap();
    facts.http.clear();
    facts.http.insert(
        Probe::Root,
        Exchange {
            outcome: Outcome::Failed {
                reason: "Connection refused (os error 111)".to_owned(),
            },
            ..root
        },
    );
    facts.http.insert(Probe::Loopback, loopback);
    let verdict = judge(&desired, &facts, &Options::default());
    assert_eq!(failed_ids(&verdict), ["service.process", "service.http"]);
    assert_eq!(
        result(&verdict, "service.process").received,
        "state = spawn scheduled, last exit: 78: EX_CONFIG"
    );
    let chat = result(&verdict, "openai.chat");
    assert_eq!(chat.status, Status::Skip);
    assert_eq!(chat.hint.as_deref(), Some("fix `service.http` first"));
    assert_eq!(
        result(&verdict, "security.process_user").status,
        Status::Skip
    );
    assert_eq!(result(&verdict, "network.bind").status, Status::Skip);
    insta::assert_snapshot!(report::text(&verdict, false));
}

#[test]
fn skips_say_how_to_enable_them() {
    let desired = desired(
        r#"
[listen]
host = "127.0.0.1"
"#,
    );
    let options = Options {
        skip_anthropic_tests: true,
        ..Options::default()
    };
    let mut facts = converged(&desired);
    facts.http.retain(|p, _| !matches!(p, Probe::MessagesError));
    let verdict = judge(&desired, &facts, &options);
    let skipped: Vec<(&str, &str)> = verdict
        .checks
        .iter()
        .filter(|c| c.status == Status::Skip)
        .map(|c| (c.id.as_str(), c.hint.as_deref().unwrap_or("")))
        .collect();
    insta::assert_debug_snapshot!(skipped);
    assert!(verdict.passed());
}

#[test]
fn model_choice_follows_the_flag_then_warm_then_first_then_installed() {
    let warm = desired(TOML);
    let observed = converged(&warm).observed;
    let models = installed_models(&observed);
    let flag = Options {
        model: Some("x:1".to_owned()),
        ..Options::default()
    };
    assert_eq!(choose_model(&warm, &flag, &models).unwrap().name, "x:1");
    assert_eq!(
        choose_model(&warm, &Options::default(), &models)
            .unwrap()
            .name,
        "qwen2.5-coder:32b"
    );
    let cold = desired("[listen]\nhost = \"127.0.0.1\"\n[[models]]\nname = \"llama3\"\n");
    assert_eq!(
        choose_model(&cold, &Options::default(), &models)
            .unwrap()
            .name,
        "llama3:latest"
    );
    let none = desired("[listen]\nhost = \"127.0.0.1\"\n");
    let installed = choose_model(&none, &Options::default(), &models).unwrap();
    assert_eq!(
        (installed.name.as_str(), installed.source.as_str()),
        ("llama3:latest", "the first installed model")
    );
    assert_eq!(choose_model(&none, &Options::default(), &[]), Err(None));
}

fn info(name: &str, caps: &[&str], family: &str) -> ModelInfo {
    ModelInfo {
        name: name.to_owned(),
        capabilities: caps.iter().map(|c| (*c).to_owned()).collect(),
        family: Some(family.to_owned()),
    }
}

#[test]
fn model_choice_passes_over_models_that_cannot_chat_and_says_so() {
    let toml = "[listen]\nhost = \"127.0.0.1\"\n[[models]]\nname = \"all-minilm\"\nwarm = true\n[[models]]\nname = \"nomic-embed-text\"\nwarm = true\n[[models]]\nname = \"gpt-oss:20b\"\n";
    let desired = desired(toml);
    let models = [
        info("all-minilm:latest", &["embedding"], "bert"),
        info(
            "gpt-oss:20b",
            &["completion", "tools", "thinking"],
            "gptoss",
        ),
        info("qwen3:latest", &["completion", "thinking"], "qwen3"),
    ];
    let chosen = choose_model(&desired, &Options::default(), &models).unwrap();
    assert_eq!(chosen.name, "gpt-oss:20b");
    assert_eq!(chosen.kind, ModelKind::Harmony);
    // nomic-embed-text is not installed: its name gives it away.
    assert_eq!(
        chosen.source,
        "the first model in server.toml that can chat; passed over all-minilm:latest (embedding only), nomic-embed-text:latest (an embedding model, by its name)"
    );
    let only_embedding = crate::config::parse(
        "server.toml",
        "[listen]\nhost = \"127.0.0.1\"\n[[models]]\nname = \"all-minilm\"\n",
    )
    .unwrap()
    .desired;
    assert_eq!(
        choose_model(&only_embedding, &Options::default(), &models[..1]),
        Err(Some(
            "no model that can chat: all-minilm:latest (embedding only)".to_owned()
        ))
    );
    let none = crate::config::parse("server.toml", "[listen]\nhost = \"127.0.0.1\"\n")
        .unwrap()
        .desired;
    let first = choose_model(&none, &Options::default(), &models).unwrap();
    assert_eq!(
        (first.name.as_str(), first.kind),
        ("gpt-oss:20b", ModelKind::Harmony)
    );
    let thinking = choose_model(&none, &Options::default(), &models[2..]).unwrap();
    assert_eq!(thinking.kind, ModelKind::Thinking);
}

#[test]
fn requests_turn_thinking_off_or_down_and_json_mode_leaves_room_for_it() {
    let body = |probe, kind| {
        let body = catalogue::request(probe, "m", kind, 1).body;
        serde_json::from_str::<serde_json::Value>(&body.unwrap()).unwrap()
    };
    for kind in [ModelKind::Plain, ModelKind::Thinking, ModelKind::Unknown] {
        assert_eq!(body(Probe::Chat, kind)["reasoning_effort"], "none");
        assert_eq!(body(Probe::Responses, kind)["reasoning"]["effort"], "none");
        assert_eq!(body(Probe::Messages, kind)["thinking"]["type"], "disabled");
        assert_eq!(body(Probe::JsonMode, kind)["max_tokens"], 32);
    }
    let harmony = ModelKind::Harmony;
    assert_eq!(body(Probe::ChatStream, harmony)["reasoning_effort"], "low");
    assert_eq!(
        body(Probe::MessagesStream, harmony)["output_config"]["effort"],
        "low"
    );
    assert!(
        body(Probe::MessagesStream, harmony)
            .get("thinking")
            .is_none()
    );
    assert_eq!(body(Probe::JsonMode, harmony)["max_tokens"], 512);
}

/// The verdict with `probe`'s reply replaced.
fn with_reply(probe: Probe, outcome: Outcome) -> Verdict {
    let desired = desired(TOML);
    let mut facts = converged(&desired);
    facts.http.get_mut(&probe).unwrap().outcome = outcome;
    judge(&desired, &facts, &Options::default())
}

/// A chat completion whose budget ended while the model was thinking.
fn thinking_only() -> Outcome {
    answered(
        200,
        JSON,
        r#"{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"","reasoning":"Okay"},"finish_reason":"length"}]}"#,
    )
}

#[test]
fn thinking_only_and_empty_replies_pass_as_real_ollama_sends_them() {
    let v = with_reply(
        Probe::Messages,
        answered(
            200,
            JSON,
            r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":null,"stop_reason":"max_tokens","usage":{"input_tokens":9,"output_tokens":1}}"#,
        ),
    );
    let c = result(&v, "anthropic.messages");
    assert_eq!(
        (c.status, c.received.as_str()),
        (Status::Pass, "empty (stop_reason max_tokens)")
    );
    let v = with_reply(
        Probe::Messages,
        answered(
            200,
            JSON,
            r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"thinking","thinking":"Okay"}],"stop_reason":"max_tokens","usage":{"input_tokens":9,"output_tokens":1}}"#,
        ),
    );
    assert_eq!(
        result(&v, "anthropic.messages").received,
        "thinking only (stop_reason max_tokens)"
    );
    // A stream without content_block_* events (the budget ended on the thinking tag).
    let v = with_reply(
        Probe::MessagesStream,
        answered(
            200,
            SSE,
            "event: message_start\ndata: {\"type\":\"message_start\"}\n\n\
             event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}\n\n\
             event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        ),
    );
    assert_eq!(result(&v, "anthropic.stream").status, Status::Pass);
    assert_eq!(result(&v, "anthropic.stream_usage").status, Status::Pass);
    let v = with_reply(Probe::Chat, thinking_only());
    let c = result(&v, "openai.chat");
    assert_eq!(
        (c.status, c.received.as_str()),
        (Status::Pass, "thinking only (finish_reason length)")
    );
    assert!(v.passed());
}

#[test]
fn broken_shapes_and_sequences_still_fail() {
    let stream = |events: &str| {
        let v = with_reply(Probe::MessagesStream, answered(200, SSE, events));
        let c = result(&v, "anthropic.stream").clone();
        assert_eq!(c.status, Status::Fail, "{events}");
        c.received
    };
    let start = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n";
    let delta = "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":1}}\n\n";
    let stop = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    let block = |e: &str| format!("event: {e}\ndata: {{\"type\":\"{e}\",\"index\":0}}\n\n");
    assert!(stream(&format!("{delta}{stop}")).contains("not message_start"));
    assert!(stream(&format!("{start}{delta}")).contains("not message_stop"));
    assert!(stream(&format!("{start}{stop}")).contains("no message_delta"));
    assert!(
        stream(&format!(
            "{start}{}{delta}{stop}",
            block("content_block_start")
        ))
        .contains("while block 0 is open")
    );
    assert!(
        stream(&format!(
            "{start}{}{delta}{stop}",
            block("content_block_delta")
        ))
        .contains("outside a content block")
    );
    let v = with_reply(
        Probe::Messages,
        answered(
            200,
            JSON,
            r#"{"type":"message","role":"assistant","content":"ok"}"#,
        ),
    );
    assert_eq!(result(&v, "anthropic.messages").status, Status::Fail);
    let v = with_reply(Probe::Messages, answered(200, JSON, r#"{"type":"error"}"#));
    assert_eq!(result(&v, "anthropic.messages").status, Status::Fail);
    let v = with_reply(
        Probe::Chat,
        answered(200, JSON, r#"{"choices":[{"message":{"content":7}}]}"#),
    );
    assert_eq!(result(&v, "openai.chat").status, Status::Fail);
    let v = with_reply(Probe::Chat, answered(200, JSON, r#"{"choices":[]}"#));
    assert_eq!(result(&v, "openai.chat").status, Status::Fail);
    // JSON mode that spent its budget thinking.
    let v = with_reply(Probe::JsonMode, thinking_only());
    let c = result(&v, "openai.json_mode");
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.received
            .starts_with("the model was still thinking after 32 tokens"),
        "{}",
        c.received
    );
}

#[test]
fn json_and_junit_reports_carry_every_check() {
    let desired = desired(TOML);
    let mut facts = converged(&desired);
    if let Knowable::Known(list) = &mut facts.processes {
        list[1].user = "root".to_owned();
    }
    let verdict = judge(&desired, &facts, &Options::default());
    let json = report::json(&verdict);
    assert_eq!(json["summary"]["failed"], 1);
    assert_eq!(json["passed"], false);
    assert_eq!(json["checks"].as_array().unwrap().len(), 32);
    assert_eq!(json["summary"]["warned"], 1);
    let xml = report::junit(&verdict);
    assert_eq!(xml.matches("<testcase ").count(), 32);
    assert_eq!(xml.matches("<failure ").count(), 1);
    assert!(xml.contains("tests=\"32\" failures=\"1\" errors=\"0\" skipped=\"0\""));
    assert!(
        xml.contains("<system-out>warning: HTTP 404: 404 page not found: not served by Ollama")
    );
    assert!(xml.contains("&quot;") || !xml.contains("message=\"expected: \""));
}

#[test]
fn loopback_passes_only_when_refused_a_timeout_cannot_tell() {
    let desired = desired(TOML);
    let mut facts = converged(&desired);
    facts.http.get_mut(&Probe::Loopback).unwrap().outcome = Outcome::Failed {
        reason: "operation timed out".to_owned(),
    };
    let verdict = judge(&desired, &facts, &Options::default());
    let check = result(&verdict, "network.loopback");
    assert_eq!(check.status, Status::Skip, "{check:?}");
    assert!(check.received.contains("cannot tell"), "{check:?}");
}

/// Every request the probes send, for each kind of model: method, path, timeout, body. A guard
/// for the probe catalogue: moving or reshaping it must not change a byte that goes out.
#[test]
fn every_request_as_sent() {
    let mut out = String::new();
    for kind in [ModelKind::Plain, ModelKind::Harmony] {
        for probe in catalogue::SENT {
            let request = catalogue::request(probe, "qwen3:8b", kind, 1);
            let mut headers = String::new();
            for (name, value) in request.headers {
                write!(headers, "[{name}: {value}] ").unwrap();
            }
            let prefix = serde_json::to_string(&catalogue::long_prefix(1)).unwrap();
            writeln!(
                out,
                "{kind:?} {probe:?}: {} {} ({}s) {headers}{}",
                request.method,
                request.path,
                request.timeout.as_secs(),
                request
                    .body
                    .unwrap_or_default()
                    .replace(&prefix, "\"<long_prefix(1)>\"")
            )
            .unwrap();
        }
    }
    for (skip_model_tests, skip_anthropic_tests) in [(false, false), (true, false), (false, true)] {
        let options = Options {
            skip_model_tests,
            skip_anthropic_tests,
            ..Options::default()
        };
        writeln!(
            out,
            "planned ({options:?}): {:?}",
            planned_probes(&options, true)
        )
        .unwrap();
    }
    insta::assert_snapshot!(out);
}

/// `/api/ps` listing `models` (`(name, context_length)`).
fn ps(models: &[(&str, u64)]) -> Outcome {
    let list: Vec<String> = models
        .iter()
        .map(|(name, ctx)| format!(r#"{{"name":"{name}","model":"{name}","size":1,"digest":"0","expires_at":"2318-04-12T23:47:16Z","size_vram":1,"context_length":{ctx}}}"#))
        .collect();
    answered(200, JSON, &format!(r#"{{"models":[{}]}}"#, list.join(",")))
}

fn judged_with(desired: &Desired, replies: &[(Probe, Outcome)]) -> Verdict {
    let mut facts = converged(desired);
    for (probe, outcome) in replies {
        facts.http.get_mut(probe).unwrap().outcome = outcome.clone();
    }
    judge(desired, &facts, &Options::default())
}

#[test]
fn a_warm_model_served_below_its_declared_context_fails_and_names_context_length() {
    let desired = desired(&TOML.replace("warm = true", "warm = true\ncontext_length = 65536"));
    let served = desired.models[1].served_name().display();
    assert_ne!(served, "qwen2.5-coder:32b:latest", "a derived name");
    let verdict = judged_with(&desired, &[(Probe::Loaded, ps(&[(&served, 32768)]))]);
    let check = result(&verdict, "clients.context");
    assert_eq!(check.status, Status::Fail, "{check:?}");
    assert_eq!(check.received, format!("{served} 32768 (declares 65536)"));
    assert!(check.hint.as_ref().unwrap().contains("`context_length`"));
    // At the declared value it passes.
    let verdict = judged_with(&desired, &[(Probe::Loaded, ps(&[(&served, 65536)]))]);
    assert_eq!(result(&verdict, "clients.context").status, Status::Pass);
}

#[test]
fn an_undeclared_context_below_64k_warns_and_a_model_not_loaded_too() {
    let desired = desired(TOML);
    let verdict = judged_with(
        &desired,
        &[(Probe::Loaded, ps(&[("qwen2.5-coder:32b", 4096)]))],
    );
    let check = result(&verdict, "clients.context");
    assert_eq!(check.status, Status::Warn, "{check:?}");
    assert_eq!(
        check.received,
        "qwen2.5-coder:32b 4096 (none declared, below 64000)"
    );
    assert!(
        check
            .hint
            .as_ref()
            .unwrap()
            .contains("context_length = 65536")
    );
    assert!(verdict.passed(), "a warning is no failure");
    // Ollama's own example value, 64000, is enough.
    let verdict = judged_with(
        &desired,
        &[(Probe::Loaded, ps(&[("qwen2.5-coder:32b", 64000)]))],
    );
    assert_eq!(result(&verdict, "clients.context").status, Status::Pass);
    let verdict = judged_with(&desired, &[(Probe::Loaded, ps(&[]))]);
    let check = result(&verdict, "clients.context");
    assert_eq!(
        (check.status, check.received.as_str()),
        (Status::Warn, "qwen2.5-coder:32b not loaded")
    );
    // The first-token prediction needs the chosen model's served context.
    assert_eq!(result(&verdict, "clients.first_token").status, Status::Skip);
}

#[test]
fn no_reuse_of_a_repeated_prefix_warns() {
    let desired = desired(TOML);
    let verdict = judged_with(
        &desired,
        &[(Probe::PrefixSecond, native_chat(1414, 2_828_000_000))],
    );
    let check = result(&verdict, "clients.prompt_reuse");
    assert_eq!(check.status, Status::Warn, "{check:?}");
    assert!(
        check
            .received
            .starts_with("prompt_eval_duration 2824 ms then 2828 ms")
    );
    assert!(
        check
            .hint
            .as_ref()
            .unwrap()
            .contains("CLAUDE_CODE_ATTRIBUTION_HEADER=0")
    );
    // A server that does not report the durations fails the check.
    let verdict = judged_with(
        &desired,
        &[(
            Probe::PrefixFirst,
            answered(
                200,
                JSON,
                r#"{"message":{"role":"assistant","content":"ok"},"done":true}"#,
            ),
        )],
    );
    assert_eq!(failed_ids(&verdict), ["clients.prompt_reuse"]);
    assert_eq!(result(&verdict, "clients.first_token").status, Status::Skip);
}

#[test]
fn a_slow_prefill_at_the_served_context_warns_against_claude_codes_300_s() {
    let desired = desired(TOML);
    // 500 tokens/s: 262144 tokens take 524 s.
    let verdict = judged_with(
        &desired,
        &[(Probe::Loaded, ps(&[("qwen2.5-coder:32b", 262_144)]))],
    );
    let check = result(&verdict, "clients.first_token");
    assert_eq!(check.status, Status::Warn, "{check:?}");
    assert!(
        check
            .received
            .starts_with("prefill 500 tokens/s: about 524 s to the first token at 262144 tokens"),
        "{}",
        check.received
    );
    assert!(check.hint.as_ref().unwrap().contains("`context_length`"));
    // 300 s exactly is still within the limit: 150000 tokens at 500 tokens/s.
    let verdict = judged_with(
        &desired,
        &[(Probe::Loaded, ps(&[("qwen2.5-coder:32b", 150_000)]))],
    );
    assert_eq!(result(&verdict, "clients.first_token").status, Status::Pass);
}

#[test]
fn a_claude_code_shaped_request_must_stream_and_count_tokens_served_passes() {
    let desired = desired(TOML);
    let verdict = judged_with(
        &desired,
        &[
            (Probe::ClaudeCode, answered(200, JSON, "{}")),
            (
                Probe::CountTokens,
                answered(200, JSON, r#"{"input_tokens":42}"#),
            ),
        ],
    );
    assert_eq!(failed_ids(&verdict), ["anthropic.claude_code"]);
    let count = result(&verdict, "anthropic.count_tokens");
    assert_eq!(
        (count.status, count.received.as_str()),
        (Status::Pass, "input_tokens 42")
    );
    let verdict = judged_with(
        &desired,
        &[(
            Probe::CountTokens,
            answered(500, JSON, r#"{"error":"boom"}"#),
        )],
    );
    assert_eq!(failed_ids(&verdict), ["anthropic.count_tokens"]);
}
