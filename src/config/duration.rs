//! Durations as Ollama reads them from its environment.
//!
//! Pure. A port of Go's `time.ParseDuration` (the error texts are Go's), plus Ollama's
//! fallback for environment values: a bare integer is a number of seconds
//! (docs/ollama.md §1.9 and §4). Negative means "forever".

/// Why a text is not a duration; the `Display` text is Go's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DurationError {
    /// Not a duration at all (`"abc"`, `"1.s"` forms Go refuses, overflow).
    #[error("time: invalid duration \"{0}\"")]
    Invalid(String),
    /// A number without a unit (`"10"` is accepted by Ollama's fallback, `"1.5"` is not).
    #[error("time: missing unit in duration \"{0}\"")]
    MissingUnit(String),
    /// A unit Go does not know (`d`, `w`, `sec`).
    #[error("time: unknown unit \"{unit}\" in duration \"{text}\"")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole text.
        text: String,
    },
}

/// Nanoseconds in one unit of Go's table.
fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Go's `time.ParseDuration`: `Ok(Some(nanos))`, or `Ok(None)` for a negative duration.
///
/// # Errors
/// Go's three error kinds, with Go's texts.
pub(crate) fn parse_go_duration(text: &str) -> Result<Option<u64>, DurationError> {
    const LIMIT: u64 = 1 << 63;
    let invalid = || DurationError::Invalid(text.to_owned());
    let mut s = text;
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        negative = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(Some(0));
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !(s.starts_with('.') || s.starts_with(|c: char| c.is_ascii_digit())) {
            return Err(invalid());
        }
        // The integer part.
        let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let mut whole: u64 = 0;
        for d in s[..digits].bytes() {
            whole = whole
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
                .filter(|v| *v <= LIMIT)
                .ok_or_else(invalid)?;
        }
        let had_whole = digits > 0;
        s = &s[digits..];
        // The fraction: Go keeps digits until they would overflow, then drops the rest.
        let mut fraction: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut had_fraction = false;
        if let Some(rest) = s.strip_prefix('.') {
            s = rest;
            let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            had_fraction = digits > 0;
            let mut overflow = false;
            for d in s[..digits].bytes() {
                if overflow {
                    continue;
                }
                match fraction
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(u64::from(d - b'0')))
                    .filter(|v| *v <= LIMIT)
                {
                    Some(v) => {
                        fraction = v;
                        scale *= 10.0;
                    }
                    None => overflow = true,
                }
            }
            s = &s[digits..];
        }
        if !had_whole && !had_fraction {
            return Err(invalid());
        }
        // The unit: everything up to the next digit or `.`.
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(text.to_owned()));
        }
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let per_unit = unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
            unit: unit.to_owned(),
            text: text.to_owned(),
        })?;
        if whole > LIMIT / per_unit {
            return Err(invalid());
        }
        let mut value = whole * per_unit;
        if fraction > 0 {
            // Go: v += uint64(float64(f) * (float64(unit) / scale)).
            #[expect(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "Go computes the fraction in float64 and truncates; this copies it"
            )]
            let extra = (fraction as f64 * (per_unit as f64 / scale)) as u64;
            value = value
                .checked_add(extra)
                .filter(|v| *v <= LIMIT)
                .ok_or_else(invalid)?;
        }
        total = total
            .checked_add(value)
            .filter(|v| *v <= LIMIT)
            .ok_or_else(invalid)?;
    }
    if negative {
        return Ok(if total == 0 { Some(0) } else { None });
    }
    if total > LIMIT - 1 {
        return Err(invalid());
    }
    Ok(Some(total))
}

/// An environment duration as Ollama reads `OLLAMA_KEEP_ALIVE`/`OLLAMA_LOAD_TIMEOUT`:
/// `time.ParseDuration`, else an integer number of seconds. `Ok(None)` = negative (forever).
///
/// # Errors
/// Go's duration error when the text is neither form.
pub(crate) fn parse_env_duration(text: &str) -> Result<Option<u128>, DurationError> {
    match parse_go_duration(text) {
        Ok(nanos) => Ok(nanos.map(u128::from)),
        Err(err) => text.parse::<i64>().map(seconds_to_nanos).map_err(|_| err),
    }
}

/// Integer seconds as Ollama reads them: negative = forever (`None`).
pub(crate) fn seconds_to_nanos(seconds: i64) -> Option<u128> {
    u128::try_from(seconds).ok().map(|s| s * 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::{DurationError, parse_env_duration, parse_go_duration};

    const S: u64 = 1_000_000_000;

    #[test]
    fn go_duration_accepts_what_go_accepts() {
        for (text, nanos) in [
            ("0", 0),
            ("+0", 0),
            ("-0", 0),
            ("0s", 0),
            ("5s", 5 * S),
            ("30s", 30 * S),
            ("1478s", 1478 * S),
            ("+5s", 5 * S),
            ("5.0s", 5 * S),
            ("5.6s", 5 * S + 600_000_000),
            ("5.s", 5 * S),
            (".5s", S / 2),
            ("1.0s", S),
            ("1.00s", S),
            ("1.004s", S + 4_000_000),
            ("100.00100s", 100 * S + 1_000_000),
            ("10ns", 10),
            ("11us", 11_000),
            ("12µs", 12_000),
            ("12μs", 12_000),
            ("13ms", 13_000_000),
            ("14s", 14 * S),
            ("15m", 15 * 60 * S),
            ("16h", 16 * 3600 * S),
            ("3h30m", (3 * 3600 + 30 * 60) * S),
            ("10.5s4m", 4 * 60 * S + 10 * S + S / 2),
            ("1h1m1s1ms1us1ns", 3_661_001_001_001),
            ("24h", 24 * 3600 * S),
            ("9223372036854775807ns", (1 << 63) - 1),
            ("9223372036.854775807s", (1 << 63) - 1),
        ] {
            assert_eq!(parse_go_duration(text), Ok(Some(nanos)), "{text}");
        }
    }

    #[test]
    fn negative_durations_mean_forever() {
        for text in ["-1m", "-5s", "-3h30m", "-9223372036854775808ns"] {
            assert_eq!(parse_go_duration(text), Ok(None), "{text}");
        }
    }

    #[test]
    fn go_duration_refuses_with_go_messages() {
        let cases = [
            ("", r#"time: invalid duration """#),
            ("3", r#"time: missing unit in duration "3""#),
            ("-", r#"time: invalid duration "-""#),
            ("s", r#"time: invalid duration "s""#),
            (".", r#"time: invalid duration ".""#),
            ("-.", r#"time: invalid duration "-.""#),
            (".s", r#"time: invalid duration ".s""#),
            ("+.s", r#"time: invalid duration "+.s""#),
            ("1d", r#"time: unknown unit "d" in duration "1d""#),
            ("1.5", r#"time: missing unit in duration "1.5""#),
            ("10x", r#"time: unknown unit "x" in duration "10x""#),
            (
                "9223372036854775808ns",
                r#"time: invalid duration "9223372036854775808ns""#,
            ),
            (
                "9223372036854775.808us",
                r#"time: invalid duration "9223372036854775.808us""#,
            ),
            ("3000000h", r#"time: invalid duration "3000000h""#),
        ];
        for (text, message) in cases {
            let err = parse_go_duration(text).unwrap_err();
            assert_eq!(err.to_string(), message, "{text}");
        }
        assert!(matches!(
            parse_go_duration("2w"),
            Err(DurationError::UnknownUnit { .. })
        ));
    }

    #[test]
    fn env_durations_also_take_integer_seconds() {
        assert_eq!(parse_env_duration("3600"), Ok(Some(3600 * u128::from(S))));
        assert_eq!(parse_env_duration("-1"), Ok(None));
        assert_eq!(parse_env_duration("0"), Ok(Some(0)));
        assert_eq!(
            parse_env_duration("24h"),
            Ok(Some(24 * 3600 * u128::from(S)))
        );
        assert!(parse_env_duration("1.5").is_err());
        assert!(parse_env_duration("1d").is_err());
    }
}
