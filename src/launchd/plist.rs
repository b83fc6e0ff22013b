//! The job's plist: building the desired one, reading an existing one, and comparing both the
//! file and the definition launchd has loaded.
//!
//! Pure: no fs, no env, no process. Entry points: [`desired_plist`] / [`desired_plist_xml`]
//! (what `server.toml` implies), [`parse_plist`] + [`canonical_xml`] + [`semantically_equal`]
//! (compare an existing file by meaning, display it canonically), and [`loaded_matches`] (compare
//! the job `launchctl print` reports against the desired plist).
//!
//! Canonical XML is the Apple look (`plutil -convert xml1`, Homebrew's `service.rb`): the standard
//! header, keys sorted, one TAB per level, only `&`, `<` and `>` escaped, a final newline.

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;
use std::path::Path;

use plist::{Dictionary, Value};

use crate::model::desired::{Desired, Mode, ProcessType};
use crate::model::observed::LoadedJob;
use crate::ollama::env;
use crate::text::{Xml, xml_escape};

/// The `XML` prologue, `DOCTYPE` and root element Apple's tools write.
const HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n";

/// Environment variables launchd adds to every job by itself (`launchctl print` shows them in
/// `environment`); they are not drift. See docs/macos.md §1.1.
const LAUNCHD_ADDED_ENV: [&str; 2] = ["XPC_SERVICE_NAME", "OSLogRateLimit"];

/// The group daemons run as (the primary group of macOS user accounts).
const DAEMON_GROUP: &str = "staff";

/// Why a plist text could not be read as a dictionary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PlistError {
    /// The text is not a well-formed XML property list.
    #[error("not a valid XML property list: {message}")]
    Parse {
        /// The `plist` crate's message.
        message: String,
    },
    /// The property list parsed, but its root is not a `<dict>`.
    #[error("the root of the property list is not a <dict>")]
    NotADictionary,
}

/// The home directory of a daemon's `UserName` (`HOME` is not set for daemons, and Ollama panics
/// without it: docs/macos.md §4.2).
pub(crate) fn daemon_home(user: &str) -> String {
    format!("/Users/{user}")
}

/// The plist `server.toml` implies, running `program serve`.
///
/// Keys: `Label`, `ProgramArguments`, `EnvironmentVariables` (`OLLAMA_HOST`, the `[ollama]`
/// settings, and for daemons `HOME`), `RunAtLoad`, `KeepAlive`, `StandardOutPath`,
/// `StandardErrorPath`, `ProcessType` from `service.process_type` (`Interactive` by default:
/// launchd otherwise throttles CPU and I/O of the job, docs/macos.md §4; `Standard`, launchd's
/// default, is written as no key), and for daemons `UserName`, `GroupName` and
/// `WorkingDirectory`.
pub(crate) fn desired_plist(desired: &Desired, program: &Path) -> Dictionary {
    let mut env = BTreeMap::new();
    env.insert("OLLAMA_HOST".to_owned(), desired.listen.ollama_host());
    env.extend(desired.ollama.environment());
    let mut dict = Dictionary::new();
    if let Mode::Daemon { user } = &desired.service.mode {
        env.insert("HOME".to_owned(), daemon_home(user));
        dict.insert("UserName".to_owned(), Value::String(user.clone()));
        dict.insert(
            "GroupName".to_owned(),
            Value::String(DAEMON_GROUP.to_owned()),
        );
        dict.insert(
            "WorkingDirectory".to_owned(),
            Value::String(daemon_home(user)),
        );
    }
    let env: Dictionary = env
        .into_iter()
        .map(|(key, value)| (key, Value::String(value)))
        .collect();
    dict.insert(
        "Label".to_owned(),
        Value::String(desired.service.label.as_str().to_owned()),
    );
    dict.insert(
        "ProgramArguments".to_owned(),
        Value::Array(vec![
            Value::String(program.display().to_string()),
            Value::String("serve".to_owned()),
        ]),
    );
    dict.insert("EnvironmentVariables".to_owned(), Value::Dictionary(env));
    dict.insert("RunAtLoad".to_owned(), Value::Boolean(true));
    dict.insert("KeepAlive".to_owned(), Value::Boolean(true));
    dict.insert(
        "StandardOutPath".to_owned(),
        Value::String(desired.logs.stdout.display().to_string()),
    );
    dict.insert(
        "StandardErrorPath".to_owned(),
        Value::String(desired.logs.stderr.display().to_string()),
    );
    if desired.service.process_type != ProcessType::Standard {
        dict.insert(
            "ProcessType".to_owned(),
            Value::String(desired.service.process_type.plist_value().to_owned()),
        );
    }
    dict
}

/// `desired_plist` as canonical XML text, the exact content `apply` writes.
pub fn desired_plist_xml(desired: &Desired, program: &Path) -> String {
    canonical_xml(&Value::Dictionary(desired_plist(desired, program)))
}

/// Parses XML plist text; the root must be a dictionary (launchd refuses anything else).
pub(crate) fn parse_plist(text: &str) -> Result<Value, PlistError> {
    let value = Value::from_reader_xml(text.as_bytes()).map_err(|error| PlistError::Parse {
        message: error.to_string(),
    })?;
    if value.as_dictionary().is_none() {
        return Err(PlistError::NotADictionary);
    }
    Ok(value)
}

/// The canonical XML rendering of a plist value: equal values give equal text, whatever the key
/// order or whitespace of the file they came from.
pub(crate) fn canonical_xml(value: &Value) -> String {
    let mut out = String::from(HEADER);
    write_value(&mut out, value, 0);
    out.push_str("</plist>\n");
    out
}

/// Whether two plists mean the same to launchd and Ollama: key order and formatting never
/// matter; two dictionaries are compared key by key as in [`differing_keys`] (Ollama's
/// environment by meaning, a missing `ProcessType` as `Standard`); other values by value.
pub(crate) fn semantically_equal(a: &Value, b: &Value) -> bool {
    match (a.as_dictionary(), b.as_dictionary()) {
        (Some(a), Some(b)) => differing_keys(a, b).is_empty(),
        _ => same_value(a, b),
    }
}

/// Equal values (key order and formatting never matter).
fn same_value(a: &Value, b: &Value) -> bool {
    canonical_xml(a) == canonical_xml(b)
}

/// Whether two `EnvironmentVariables` values set the same environment for Ollama: the same
/// names, each value meaning the same ([`env::same_meaning`]).
fn same_environment(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_dictionary(), b.as_dictionary()) else {
        return same_value(a, b);
    };
    a.len() == b.len()
        && a.iter().all(|(name, x)| {
            b.get(name)
                .is_some_and(|y| match (x.as_string(), y.as_string()) {
                    (Some(x), Some(y)) => env::same_meaning(name, x, y),
                    _ => same_value(x, y),
                })
        })
}

/// The top-level keys whose values differ in meaning between two plist dictionaries (present
/// in one only, or different), sorted. `EnvironmentVariables` is compared by what Ollama makes
/// of each value ([`env::same_meaning`]: `OLLAMA_HOST=192.168.250.20` is
/// `192.168.250.20:11434`); a missing `ProcessType` is launchd's default, `Standard`.
pub(crate) fn differing_keys(a: &Dictionary, b: &Dictionary) -> Vec<String> {
    let standard = Value::String(ProcessType::Standard.plist_value().to_owned());
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| match (key.as_str(), a.get(key), b.get(key)) {
            ("EnvironmentVariables", Some(x), Some(y)) => !same_environment(x, y),
            ("ProcessType", x, y) => !same_value(x.unwrap_or(&standard), y.unwrap_or(&standard)),
            (_, Some(x), Some(y)) => !same_value(x, y),
            _ => true,
        })
        .cloned()
        .collect()
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push('\t');
    }
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    indent(out, depth);
    match value {
        Value::Dictionary(dict) if dict.is_empty() => out.push_str("<dict/>\n"),
        Value::Dictionary(dict) => {
            out.push_str("<dict>\n");
            let mut entries: Vec<(&String, &Value)> = dict.iter().collect();
            entries.sort_by(|x, y| x.0.cmp(y.0));
            for (key, item) in entries {
                indent(out, depth + 1);
                let _ = writeln!(out, "<key>{}</key>", xml_escape(key, Xml::Text));
                write_value(out, item, depth + 1);
            }
            indent(out, depth);
            out.push_str("</dict>\n");
        }
        Value::Array(items) if items.is_empty() => out.push_str("<array/>\n"),
        Value::Array(items) => {
            out.push_str("<array>\n");
            for item in items {
                write_value(out, item, depth + 1);
            }
            indent(out, depth);
            out.push_str("</array>\n");
        }
        Value::Boolean(true) => out.push_str("<true/>\n"),
        Value::Boolean(false) => out.push_str("<false/>\n"),
        Value::String(text) => {
            let _ = writeln!(out, "<string>{}</string>", xml_escape(text, Xml::Text));
        }
        Value::Integer(number) => {
            let _ = writeln!(out, "<integer>{number}</integer>");
        }
        Value::Real(number) => {
            let _ = writeln!(out, "<real>{number}</real>");
        }
        Value::Date(date) => {
            let _ = writeln!(out, "<date>{}</date>", date.to_xml_format());
        }
        Value::Data(bytes) => {
            let _ = writeln!(out, "<data>{}</data>", base64(bytes));
        }
        Value::Uid(uid) => {
            // XML has no UID type; CoreFoundation writes `{CF$UID = n}`.
            let _ = writeln!(
                out,
                "<dict>\n{tabs}\t<key>CF$UID</key>\n{tabs}\t<integer>{}</integer>\n{tabs}</dict>",
                uid.get(),
                tabs = "\t".repeat(depth)
            );
        }
        // `plist::Value` is non-exhaustive; any future type is shown by its debug form.
        other => {
            let _ = writeln!(
                out,
                "<string>{}</string>",
                xml_escape(&format!("{other:?}"), Xml::Text)
            );
        }
    }
}

/// One way the loaded job differs from the desired plist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Difference {
    /// What differs, as `launchctl print` names it (`program`, `arguments`, `stdout path`, `path`,
    /// `username`) or an environment variable name.
    pub key: String,
    /// What launchd has loaded; `None` when absent.
    pub loaded: Option<String>,
    /// What the plist says; `None` when absent.
    pub desired: Option<String>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

fn string_at<'a>(dict: &'a Dictionary, key: &str) -> Option<&'a str> {
    dict.get(key).and_then(Value::as_string)
}

/// The plist's `ProgramArguments` (its string items; empty when absent).
pub(crate) fn program_arguments(dict: &Dictionary) -> Vec<String> {
    dict.get("ProgramArguments")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_string)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The plist's `EnvironmentVariables` (string values only: launchd ignores the others; empty
/// when absent).
pub(crate) fn environment_variables(dict: &Dictionary) -> BTreeMap<String, String> {
    dict.get("EnvironmentVariables")
        .and_then(Value::as_dictionary)
        .map(|env| {
            env.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_string()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Compares the job launchd has loaded with `desired` (the plist `apply` writes to `plist_path`).
///
/// Checks the program and arguments, the environment by meaning ([`env::same_meaning`];
/// ignoring what launchd adds itself: `XPC_SERVICE_NAME`, `OSLogRateLimit`), the stdout/stderr paths, the plist path launchd
/// imported, and the user of a daemon. A loaded job ignores edits to its file, so a file fixed on
/// disk but not reloaded still shows here. Empty = the loaded job is the desired one.
pub(crate) fn loaded_matches(
    desired: &Dictionary,
    plist_path: &Path,
    loaded: &LoadedJob,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut check = |key: &str, loaded: Option<&str>, desired: Option<&str>| {
        if loaded != desired {
            out.push(Difference {
                key: key.to_owned(),
                loaded: loaded.map(str::to_owned),
                desired: desired.map(str::to_owned),
            });
        }
    };
    let arguments = program_arguments(desired);
    // launchd infers `program` from `ProgramArguments[0]` ("inferred program"); some prints omit
    // the line (docs/macos.md §1.2 E), so only a printed program counts.
    if loaded.program.is_some() {
        check(
            "program",
            loaded.program.as_deref(),
            arguments.first().map(String::as_str),
        );
    }
    if loaded.arguments != arguments {
        check(
            "arguments",
            Some(&loaded.arguments.join(" ")),
            Some(&arguments.join(" ")),
        );
    }
    let empty = Dictionary::new();
    let env = desired
        .get("EnvironmentVariables")
        .and_then(Value::as_dictionary)
        .unwrap_or(&empty);
    let mut names: Vec<&str> = env
        .keys()
        .map(String::as_str)
        .chain(loaded.environment.keys().map(String::as_str))
        .filter(|name| !LAUNCHD_ADDED_ENV.contains(name))
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let (loaded, desired) = (
            loaded.environment.get(name).map(String::as_str),
            string_at(env, name),
        );
        // The loaded value counts when it means the same to Ollama (`192.168.250.20` is
        // `192.168.250.20:11434`): reloading would not change what the server does.
        if let (Some(x), Some(y)) = (loaded, desired)
            && env::same_meaning(name, x, y)
        {
            continue;
        }
        check(name, loaded, desired);
    }
    check(
        "stdout path",
        loaded.stdout_path.as_deref(),
        string_at(desired, "StandardOutPath"),
    );
    check(
        "stderr path",
        loaded.stderr_path.as_deref(),
        string_at(desired, "StandardErrorPath"),
    );
    check(
        "path",
        loaded.path.as_deref(),
        Some(&plist_path.display().to_string()),
    );
    if let Some(user) = string_at(desired, "UserName") {
        check("username", loaded.username.as_deref(), Some(user));
    }
    out
}

/// The job launchd would report right after loading `desired` from `plist_path` (run state
/// aside): the inverse of [`loaded_matches`], used by tests.
#[cfg(test)]
pub(crate) fn loaded_of(desired: &Dictionary, plist_path: &Path) -> LoadedJob {
    let arguments = program_arguments(desired);
    let mut environment = environment_variables(desired);
    if let Some(label) = string_at(desired, "Label") {
        environment.insert("XPC_SERVICE_NAME".to_owned(), label.to_owned());
    }
    LoadedJob {
        program: arguments.first().cloned(),
        arguments,
        environment,
        stdout_path: string_at(desired, "StandardOutPath").map(str::to_owned),
        stderr_path: string_at(desired, "StandardErrorPath").map(str::to_owned),
        path: Some(plist_path.display().to_string()),
        username: string_at(desired, "UserName").map(str::to_owned),
        properties: vec!["keepalive".to_owned(), "runatload".to_owned()],
        ..LoadedJob::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOMEBREW: &str = include_str!("testdata/homebrew.mxcl.ollama.plist");

    #[test]
    fn canonical_xml_reproduces_the_apple_look_byte_for_byte() {
        let value = parse_plist(HOMEBREW).unwrap();
        assert_eq!(canonical_xml(&value), HOMEBREW);
    }

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let shuffled = "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>B</key> <string>x &amp; y</string>\n<key>A</key><array><integer>1</integer><true/></array></dict></plist>";
        let sorted = "<plist version=\"1.0\"><dict><key>A</key><array><integer>1</integer><true/></array><key>B</key><string>x &amp; y</string></dict></plist>";
        let a = parse_plist(shuffled).unwrap();
        let b = parse_plist(sorted).unwrap();
        assert!(semantically_equal(&a, &b));
        insta::assert_snapshot!(canonical_xml(&a), @r#"
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
        <plist version="1.0">
        <dict>
        	<key>A</key>
        	<array>
        		<integer>1</integer>
        		<true/>
        	</array>
        	<key>B</key>
        	<string>x &amp; y</string>
        </dict>
        </plist>
        "#);
    }

    #[test]
    fn garbage_and_non_dictionaries_are_refused() {
        assert!(matches!(
            parse_plist("not a plist"),
            Err(PlistError::Parse { .. })
        ));
        assert!(matches!(
            parse_plist("<plist version=\"1.0\"><dict><key>A</key>"),
            Err(PlistError::Parse { .. })
        ));
        assert_eq!(
            parse_plist("<plist version=\"1.0\"><string>x</string></plist>"),
            Err(PlistError::NotADictionary)
        );
    }

    #[test]
    fn differing_keys_names_changed_added_and_removed_keys() {
        let a = parse_plist(HOMEBREW).unwrap().into_dictionary().unwrap();
        let mut b = a.clone();
        b.remove("WorkingDirectory");
        b.insert(
            "ProcessType".to_owned(),
            Value::String("Interactive".into()),
        );
        b.insert("RunAtLoad".to_owned(), Value::Boolean(false));
        assert_eq!(
            differing_keys(&a, &b),
            ["ProcessType", "RunAtLoad", "WorkingDirectory"]
        );
    }

    #[test]
    fn ollamas_environment_and_process_type_compare_by_meaning() {
        let env = |host: &str, flash: &str| {
            let mut vars = Dictionary::new();
            vars.insert("OLLAMA_HOST".to_owned(), Value::String(host.to_owned()));
            vars.insert(
                "OLLAMA_FLASH_ATTENTION".to_owned(),
                Value::String(flash.to_owned()),
            );
            let mut dict = Dictionary::new();
            dict.insert("EnvironmentVariables".to_owned(), Value::Dictionary(vars));
            dict
        };
        let written = env("192.168.250.20:11434", "1");
        let seed = env("192.168.250.20", "true");
        assert_eq!(differing_keys(&seed, &written), Vec::<String>::new());
        assert!(semantically_equal(
            &Value::Dictionary(seed.clone()),
            &Value::Dictionary(written.clone())
        ));
        assert_eq!(
            differing_keys(&env("192.168.250.20:8080", "1"), &written),
            ["EnvironmentVariables"]
        );
        assert_eq!(
            differing_keys(&env("192.168.250.20", "0"), &written),
            ["EnvironmentVariables"]
        );
        // No `ProcessType` is launchd's `Standard`, not `Interactive`.
        let mut standard = written.clone();
        standard.insert("ProcessType".to_owned(), Value::String("Standard".into()));
        assert_eq!(differing_keys(&standard, &written), Vec::<String>::new());
        let mut interactive = written.clone();
        interactive.insert(
            "ProcessType".to_owned(),
            Value::String("Interactive".into()),
        );
        assert_eq!(differing_keys(&interactive, &written), ["ProcessType"]);
        // The loaded job's environment, too.
        let path = Path::new("/Users/u/Library/LaunchAgents/com.ollama.plist");
        let job = loaded_of(&seed, path);
        assert_eq!(loaded_matches(&written, path, &job), []);
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    fn leaf() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        prop_oneof![
            "[ -~]{0,12}".prop_map(Value::String),
            any::<bool>().prop_map(Value::Boolean),
            any::<i64>().prop_map(|n| Value::Integer(n.into())),
        ]
    }

    fn tree() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[A-Za-z_&<>]{1,8}", inner, 0..4)
                    .prop_map(|m| Value::Dictionary(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn canonical_xml_round_trips_and_is_a_fixpoint(
            entries in proptest::collection::vec(("[A-Za-z]{1,6}", tree()), 0..5)
        ) {
            let mut dict = Dictionary::new();
            for (key, value) in entries.into_iter().rev() {
                dict.insert(key, value);
            }
            let value = Value::Dictionary(dict);
            let text = canonical_xml(&value);
            let parsed = parse_plist(&text).unwrap();
            proptest::prop_assert!(semantically_equal(&parsed, &value));
            proptest::prop_assert_eq!(canonical_xml(&parsed), text);
        }
    }

    #[test]
    fn loaded_job_with_launchd_additions_matches_its_plist() {
        let dict = parse_plist(HOMEBREW).unwrap().into_dictionary().unwrap();
        let path = Path::new("/Users/u/Library/LaunchAgents/homebrew.mxcl.ollama.plist");
        let mut job = loaded_of(&dict, path);
        job.environment
            .insert("OSLogRateLimit".to_owned(), "64".to_owned());
        assert_eq!(loaded_matches(&dict, path, &job), []);
        job.environment
            .insert("OLLAMA_HOST".to_owned(), "127.0.0.1".to_owned());
        job.path = Some("/elsewhere.plist".to_owned());
        let keys: Vec<String> = loaded_matches(&dict, path, &job)
            .into_iter()
            .map(|d| d.key)
            .collect();
        assert_eq!(keys, ["OLLAMA_HOST", "path"]);
    }
}
