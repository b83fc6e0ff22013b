//! Ollama's server log (`ollama serve`'s stderr, the file ssollama's launchd job writes): the
//! `log/slog` text lines it prints (`time=… level=INFO … msg="inference compute" id=0
//! library=Metal … total="21.3 GiB" available="21.3 GiB"`), what the last server
//! start said about its GPU, and the prompts it truncated. Pure: the caller reads the file.
//!
//! Formats (docs/ollama.md §14.5, and public logs in `tests/fixtures/ollama/logs/`):
//! - slog's `TextHandler` writes `key=value` pairs separated by one space; a key or value that
//!   is empty or holds a space, `=`, `"` or a non-printable character is written with
//!   `strconv.Quote` (`"total vram"="10.7 GiB"`), see [`super::goquote`].
//! - `inference compute` (one line per device): v0.12.5/v0.12.6
//!   `id library compute name description libdirs driver pci_id type total available`;
//!   v0.12.7–v0.12.10 add `filtered_id`; from v0.12.11 `filter_id` (and `pci_id=""`); later
//!   versions `name=MTL0 type=iGPU`; before v0.12 `id library variant compute driver name total
//!   available` with `library=metal`. `total`/`available` are `format.HumanBytes2`.
//! - `truncating input prompt`: `limit prompt keep new`; old versions print only
//!   `limit prompt`.
//! - A line may carry a prefix before `time=` (journald's `Aug 09 17:27:40 ollama[2540]: `);
//!   lines that are not slog records (`[GIN] …`, the runner's llama.cpp output) are skipped.

use super::goquote::unquote_prefix;

/// One slog text record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// `level`: `INFO`, `WARN`, …
    pub level: String,
    /// `msg`.
    pub msg: String,
    /// Every other attribute in order (`time`, `level`, `source` and `msg` included).
    pub attrs: Vec<(String, String)>,
}

impl Record {
    /// The first value of `key`.
    pub(crate) fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses one slog text line; `None` when the line is not one (no `time=` … `msg=` record).
pub(crate) fn parse_line(line: &str) -> Option<Record> {
    let line = line.trim_end_matches(['\r', '\n']);
    let start = if line.starts_with("time=") {
        0
    } else {
        line.find(" time=").map(|i| i + 1)?
    };
    let mut rest = &line[start..];
    let mut attrs = Vec::new();
    while !rest.is_empty() {
        let (key, after) = token(rest, true)?;
        let after = after.strip_prefix('=')?;
        let (value, after) = token(after, false)?;
        attrs.push((key, value));
        rest = after.trim_start_matches(' ');
    }
    let find = |k: &str| {
        attrs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    Some(Record {
        level: find("level")?,
        msg: find("msg")?,
        attrs,
    })
}

/// A key (up to `=`) or a value (up to a space), quoted or bare, and what follows it.
fn token(text: &str, key: bool) -> Option<(String, &str)> {
    if text.starts_with('"') {
        let (s, used) = unquote_prefix(text)?;
        return Some((s, &text[used..]));
    }
    let end = text
        .find(|c: char| c == ' ' || (key && c == '='))
        .unwrap_or(text.len());
    if key && end == 0 {
        return None;
    }
    Some((text[..end].to_owned(), &text[end..]))
}

/// `format.HumanBytes2` text (`21.3 GiB`, `512.0 MiB`, `17 B`) back to bytes; also the decimal
/// units of `format.HumanBytes` (`4.7 GB`). The value is as precise as the text: one decimal.
pub(crate) fn parse_human_bytes(text: &str) -> Option<u64> {
    let (number, unit) = text.trim().split_once(' ')?;
    let scale: f64 = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        _ => return None,
    };
    let value: f64 = number.parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a finite, non-negative size far below u64::MAX"
    )]
    let bytes = (value * scale).round() as u64;
    Some(bytes)
}

/// One `inference compute` line: a device Ollama found at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InferenceCompute {
    /// `library`: `Metal` (`metal` before v0.12), `cpu`, `CUDA`, …
    pub library: String,
    /// `name` (`Metal`, `MTL0`, empty before v0.12).
    pub name: String,
    /// `description` (the chip, `Apple M4`), when logged.
    pub description: Option<String>,
    /// `total` as logged (`21.3 GiB`).
    pub total_text: String,
    /// `total` in bytes (to the logged precision).
    pub total: u64,
    /// `available` in bytes, when logged and readable.
    pub available: Option<u64>,
}

impl InferenceCompute {
    /// Whether this is the Metal device (the library's spelling changed in v0.12).
    pub(crate) fn is_metal(&self) -> bool {
        self.library.eq_ignore_ascii_case("metal")
    }
}

/// A `truncating input prompt` line: a prompt longer than the runner's context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Truncation {
    /// `time` as logged.
    pub time: String,
    /// `limit`: the runner's context, tokens.
    pub limit: u64,
    /// `prompt`: the prompt's length, tokens.
    pub prompt: u64,
    /// `keep` (tokens kept from the start), when logged.
    pub keep: Option<u64>,
    /// `new` (the length after truncation), when logged.
    pub new: Option<u64>,
}

/// What one server start logged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ServerStart {
    /// The version of `Listening on … (version X)`, once logged.
    pub version: Option<String>,
    /// The `inference compute` devices, in log order.
    pub devices: Vec<InferenceCompute>,
    /// The prompts truncated since this start.
    pub truncations: Vec<Truncation>,
}

impl ServerStart {
    /// The Metal device's `total`: what Metal lets this server use.
    pub(crate) fn metal(&self) -> Option<&InferenceCompute> {
        self.devices.iter().find(|d| d.is_metal())
    }
}

/// The last server start of a log that may hold several (the launchd job appends to one
/// file): `None` when the log shows no start at all.
///
/// A start begins at `server config` (logged first; before v0.6 as a plain
/// `… INFO server config env=…` line: docs/ollama.md §14.5), or at `Listening on` when no
/// `server config` opened the current start (a log excerpt, or a second `Listening on`).
/// Records before the first start marker (a log that begins mid-run) count as a start too.
pub(crate) fn last_start(log: &str) -> Option<ServerStart> {
    let mut current: Option<ServerStart> = None;
    // Whether a start marker opened `current`, and whether it has listened already.
    let mut opened = false;
    let mut listened = false;
    for line in log.lines() {
        let Some(record) = parse_line(line) else {
            if line.contains(" INFO server config env=") {
                current = Some(ServerStart::default());
                (opened, listened) = (true, false);
            }
            continue;
        };
        if record.msg == "server config" {
            current = Some(ServerStart::default());
            (opened, listened) = (true, false);
            continue;
        }
        if let Some(rest) = record.msg.strip_prefix("Listening on ") {
            if listened || !opened {
                current = Some(ServerStart::default());
            }
            (opened, listened) = (true, true);
            let start = current.get_or_insert_default();
            start.version = rest
                .rsplit_once("(version ")
                .and_then(|(_, v)| v.strip_suffix(')'))
                .map(str::to_owned);
            continue;
        }
        if record.msg == "inference compute" {
            if let Some(device) = inference_compute(&record) {
                current.get_or_insert_default().devices.push(device);
            }
        } else if record.msg == "truncating input prompt"
            && let Some(t) = truncation(&record)
        {
            current.get_or_insert_default().truncations.push(t);
        }
    }
    current
}

fn inference_compute(record: &Record) -> Option<InferenceCompute> {
    let total_text = record.attr("total")?.to_owned();
    Some(InferenceCompute {
        library: record.attr("library")?.to_owned(),
        name: record.attr("name").unwrap_or_default().to_owned(),
        description: record.attr("description").map(str::to_owned),
        total: parse_human_bytes(&total_text)?,
        total_text,
        available: record.attr("available").and_then(parse_human_bytes),
    })
}

fn truncation(record: &Record) -> Option<Truncation> {
    let num = |k: &str| record.attr(k).and_then(|v| v.parse::<u64>().ok());
    Some(Truncation {
        time: record.attr("time").unwrap_or_default().to_owned(),
        limit: num("limit")?,
        prompt: num("prompt")?,
        keep: num("keep"),
        new: num("new"),
    })
}

#[cfg(test)]
mod tests {
    use super::{last_start, parse_human_bytes, parse_line};

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/ollama/logs/",
                $name
            ))
        };
    }

    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "test sizes"
    )]
    fn gib(v: f64) -> u64 {
        (v * GIB).round() as u64
    }

    #[test]
    fn slog_quoted_keys_and_values_are_decoded() {
        let r = parse_line(
            r#"time=2025-10-13T12:58:43.583-04:00 level=INFO source=routes.go:1575 msg="entering low vram mode" "total vram"="10.7 GiB" threshold="20.0 GiB""#,
        )
        .unwrap();
        assert_eq!(r.level, "INFO");
        assert_eq!(r.msg, "entering low vram mode");
        assert_eq!(r.attr("total vram"), Some("10.7 GiB"));
        assert_eq!(r.attr("threshold"), Some("20.0 GiB"));
        assert_eq!(r.attr("source"), Some("routes.go:1575"));
        let r = parse_line(r#"time=t level=WARN msg="say \"hi\"\n" libdirs="""#).unwrap();
        assert_eq!(r.msg, "say \"hi\"\n");
        assert_eq!(r.attr("libdirs"), Some(""));
    }

    #[test]
    fn non_slog_lines_are_skipped() {
        assert_eq!(
            parse_line(
                r#"[GIN] 2025/10/13 - 12:58:43 | 200 |     253.917µs |       127.0.0.1 | GET      "/api/tags""#
            ),
            None
        );
        assert_eq!(
            parse_line("ggml_metal_device_init: GPU name:   Apple M1 Max"),
            None
        );
        assert_eq!(parse_line(""), None);
    }

    #[test]
    fn human_bytes2_units_read_back() {
        assert_eq!(parse_human_bytes("21.3 GiB"), Some(gib(21.3)));
        assert_eq!(parse_human_bytes("512.0 MiB"), Some(512 << 20));
        assert_eq!(parse_human_bytes("1.5 KiB"), Some(1536));
        assert_eq!(parse_human_bytes("17 B"), Some(17));
        assert_eq!(parse_human_bytes("4.7 GB"), Some(4_700_000_000));
        assert_eq!(parse_human_bytes("21.3GiB"), None);
        assert_eq!(parse_human_bytes("lots GiB"), None);
        assert_eq!(parse_human_bytes("-1.0 GiB"), None);
    }

    #[test]
    fn v0_12_5_start_gives_the_metal_total_and_version() {
        let start = last_start(fixture!("serve-v0.12.5-m4-excerpt.log")).unwrap();
        assert_eq!(start.version.as_deref(), Some("0.12.5"));
        let metal = start.metal().unwrap();
        assert_eq!(metal.library, "Metal");
        assert_eq!(metal.name, "Metal");
        assert_eq!(metal.description.as_deref(), Some("Apple M4"));
        assert_eq!(metal.total_text, "10.7 GiB");
        assert_eq!(metal.total, gib(10.7));
        assert_eq!(metal.available, Some(gib(10.7)));
    }

    #[test]
    fn every_versions_attribute_set_reads() {
        let cases = [
            (fixture!("serve-v0.11.3-excerpt.log"), "metal", "", 21.3),
            (
                fixture!("serve-v0.17.0-m4-excerpt.log"),
                "Metal",
                "Metal",
                25.0,
            ),
            (fixture!("serve-mtl0-m2-excerpt.log"), "Metal", "MTL0", 5.3),
            (
                fixture!("inference-compute-mtl0-m1max.log"),
                "Metal",
                "MTL0",
                51.8,
            ),
        ];
        for (log, library, name, total) in cases {
            let start = last_start(log).unwrap();
            let metal = start.metal().unwrap();
            assert_eq!(metal.library, library);
            assert_eq!(metal.name, name);
            assert_eq!(metal.total, gib(total), "{log}");
        }
    }

    #[test]
    fn the_last_of_several_starts_wins() {
        let log = format!(
            "{}{}",
            fixture!("serve-v0.12.5-m4-excerpt.log"),
            fixture!("serve-v0.11.3-excerpt.log")
        );
        let start = last_start(&log).unwrap();
        assert_eq!(start.version.as_deref(), Some("0.11.3"));
        assert_eq!(start.devices.len(), 1);
        assert_eq!(start.metal().unwrap().total, gib(21.3));
        // A start that has not logged its GPU yet does not inherit the previous one's.
        let log = format!(
            "{}time=2026-01-01T00:00:00Z level=INFO source=routes.go:1 msg=\"server config\" env=\"map[]\"\n",
            fixture!("serve-v0.12.5-m4-excerpt.log")
        );
        assert_eq!(last_start(&log).unwrap().metal(), None);
        // The pre-slog `server config` line opens a start too.
        let log = format!(
            "{}2025/02/11 14:24:45 routes.go:1187: INFO server config env=\"map[]\"\n",
            fixture!("serve-v0.12.5-m4-excerpt.log")
        );
        assert_eq!(last_start(&log).unwrap().metal(), None);
        assert_eq!(last_start("[GIN] nothing\n"), None);
    }

    #[test]
    fn truncations_read_with_and_without_keep_and_prefixes() {
        let t = &last_start(fixture!("truncating-no-keep.log"))
            .unwrap()
            .truncations[0];
        assert_eq!((t.limit, t.prompt, t.keep, t.new), (4096, 6537, None, None));
        assert_eq!(t.time, "2026-01-15T11:48:53.965Z");
        let j = last_start(fixture!("truncating-journald.log")).unwrap();
        assert_eq!(j.truncations.len(), 1);
        let t = &j.truncations[0];
        assert_eq!(
            (t.limit, t.prompt, t.keep, t.new),
            (2048, 2050, Some(1), Some(2048))
        );
        let t = &last_start(fixture!("truncating-llama-server.log"))
            .unwrap()
            .truncations[0];
        assert_eq!(
            (t.limit, t.prompt, t.keep, t.new),
            (1026, 11907, Some(4), Some(1026))
        );
        // Truncations belong to the start they happened in.
        let log = format!(
            "{}{}",
            fixture!("truncating-llama-server.log"),
            fixture!("serve-v0.12.5-m4-excerpt.log")
        );
        assert!(last_start(&log).unwrap().truncations.is_empty());
    }
}
