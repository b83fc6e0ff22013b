//! Go's time and duration text formats, as the fake Ollama needs them.
//!
//! Owns: RFC 3339 with trimmed nanoseconds (`time.RFC3339Nano`), `time.Duration.String()`, and
//! `time.ParseDuration` with its error texts (docs/ollama.md §1.9). Pure: no clock reads here except
//! [`now_ns`]. The simulated Mac's local zone is UTC, so every time renders with `Z`.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds in one second.
pub const SECOND: i128 = 1_000_000_000;
/// Go's `math.MaxInt64` nanoseconds: Ollama's keep-alive "forever".
pub const FOREVER: i128 = i64::MAX as i128;

/// Current time as nanoseconds since the Unix epoch.
pub fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(0))
}

/// `(year, month, day)` of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i128) -> (i128, i128, i128) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Go `time.Time.Format(time.RFC3339Nano)` in UTC: `2026-08-21T10:00:00.123456Z` (trailing zeros of
/// the fraction trimmed, no fraction when it is zero).
pub fn rfc3339_nano(ns: i128) -> String {
    let secs = ns.div_euclid(SECOND);
    let frac = ns.rem_euclid(SECOND);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if frac != 0 {
        let f = format!("{frac:09}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Go `time.Duration.String()`: `5m0s`, `24h0m0s`, `1.5s`, `300ms`, `0s`,
/// `2562047h47m16.854775807s` for the maximum.
pub fn duration_string(ns: i128) -> String {
    if ns == 0 {
        return "0s".to_owned();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac_text(u, div));
        out.push_str(unit);
        return out;
    }
    let secs_total = u / 1_000_000_000;
    let h = secs_total / 3600;
    let m = (secs_total / 60) % 60;
    let s_ns = u % 60_000_000_000;
    if h > 0 {
        let _ = write!(out, "{h}h{m}m");
    } else if m > 0 {
        let _ = write!(out, "{m}m");
    }
    out.push_str(&frac_text(s_ns, 1_000_000_000));
    out.push('s');
    out
}

/// `v / div` as a decimal with trailing zeros of the fraction trimmed.
fn frac_text(v: u128, div: u128) -> String {
    let int = v / div;
    let rem = v % div;
    if rem == 0 {
        return int.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{rem:0width$}");
    format!("{int}.{}", f.trim_end_matches('0'))
}

/// Go `time.ParseDuration`, returning nanoseconds or Go's exact error text.
pub fn parse_duration(s: &str) -> Result<i128, String> {
    let orig = s;
    let invalid = || format!("time: invalid duration \"{orig}\"");
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_end];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(invalid());
        }
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration \"{orig}\""));
        }
        let mult: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => {
                return Err(format!(
                    "time: unknown unit \"{unit}\" in duration \"{orig}\""
                ));
            }
        };
        let v: f64 = num.parse().map_err(|_| invalid())?;
        total += v * mult;
    }
    if total > 9.223_372_036_854_776e18 {
        return Err(invalid());
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "bounded above; Go truncates fractions of a nanosecond too"
    )]
    let ns = total as i128;
    Ok(if neg { -ns } else { ns })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_like_go() {
        assert_eq!(rfc3339_nano(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_nano(1_767_225_600 * SECOND + 123_450_000),
            "2026-01-01T00:00:00.12345Z"
        );
        assert_eq!(
            rfc3339_nano(1_767_225_600 * SECOND + FOREVER),
            "2318-04-12T23:47:16.854775807Z"
        );
    }

    #[test]
    fn formats_durations_like_go() {
        assert_eq!(duration_string(300 * SECOND), "5m0s");
        assert_eq!(duration_string(86_400 * SECOND), "24h0m0s");
        assert_eq!(duration_string(FOREVER), "2562047h47m16.854775807s");
        assert_eq!(duration_string(1_500_000_000), "1.5s");
        assert_eq!(duration_string(300_000_000), "300ms");
        assert_eq!(duration_string(0), "0s");
    }

    #[test]
    fn parses_durations_like_go() {
        assert_eq!(parse_duration("90s"), Ok(90 * SECOND));
        assert_eq!(parse_duration("1h30m"), Ok(5400 * SECOND));
        assert_eq!(parse_duration("-1m"), Ok(-60 * SECOND));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(
            parse_duration("-1"),
            Err("time: missing unit in duration \"-1\"".to_owned())
        );
        assert_eq!(
            parse_duration("1d"),
            Err("time: unknown unit \"d\" in duration \"1d\"".to_owned())
        );
        assert_eq!(
            parse_duration("abc"),
            Err("time: invalid duration \"abc\"".to_owned())
        );
    }
}
