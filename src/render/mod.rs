//! Renderers: a [`Plan`](crate::plan::Plan) as text for people ([`text`]) or JSON for machines
//! ([`json`]), and an observation as text ([`observed`]).
//!
//! Pure: they return `String`s/values and take a [`Style`] value; they never query the terminal
//! or print (the CLI printer writes).

pub(crate) mod client;
pub(crate) mod json;
pub(crate) mod observed;
pub(crate) mod status;
pub(crate) mod text;

pub(crate) use observed::observed_text;

use std::fmt::Write as _;

/// How to render text output; decided by the CLI (`NO_COLOR`, `--color`, tty), never here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Style {
    /// Colour markers and diff lines with plain ANSI escapes.
    pub color: bool,
}

/// `format.HumanBytes` of Ollama: decimal units; below 10 one decimal, else truncated.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TB", 1_000_000_000_000),
        ("GB", 1_000_000_000),
        ("MB", 1_000_000),
        ("KB", 1_000),
    ];
    for (unit, size) in UNITS {
        if bytes >= size {
            let whole = bytes / size;
            if bytes.is_multiple_of(size) || whole >= 10 {
                return format!("{whole} {unit}");
            }
            // Go's `%.1f` rounds to one decimal; this rounds on the hundredths digit.
            let tenths = (bytes % size) * 10 / size;
            let rest = (bytes % size) * 100 / size % 10;
            let (mut whole, mut tenths) = (whole, tenths + u64::from(rest >= 5));
            if tenths == 10 {
                whole += 1;
                tenths = 0;
            }
            return format!("{whole}.{tenths} {unit}");
        }
    }
    format!("{bytes} B")
}

/// Rows as left-aligned columns, four spaces apart, indented by two (the last cell unpadded).
pub(crate) fn column_table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::from("  ");
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}    ", width = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
