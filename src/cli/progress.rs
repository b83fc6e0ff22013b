//! [`Progress`]: turns apply/destroy/warm [`Event`]s into output: journal lines on stdout,
//! pull progress bars on a terminal's stderr (one line per event otherwise), or NDJSON on stdout
//! with `--json`. Writes only through the [`Printer`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Printer;
use crate::apply::journal::{StepRecord, StepStatus};
use crate::apply::{Event, Reporter};
use crate::plan::Address;
use crate::render::text::View;
use crate::render::{self, Style};

/// Off a terminal, a pulled layer's progress is printed this many times at most (plus 100 %).
pub(crate) const PULL_STEPS: u64 = 4;

/// The off-terminal line of a pull event, and the key that changes only [`PULL_STEPS`] times per
/// layer (a line is printed when the key changes).
fn pull_line(
    model: &str,
    status: &str,
    completed: Option<u64>,
    total: Option<u64>,
) -> (String, String) {
    let mut line = format!("pull {model}: {status}");
    let mut key = line.clone();
    if let (Some(done), Some(total)) = (completed, total)
        && total > 0
    {
        let percent = done.saturating_mul(100) / total;
        let _ = write!(line, " {percent}%");
        let _ = write!(key, " {}", percent * PULL_STEPS / 100);
    }
    (line, key)
}

/// How events are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Lines for people.
    Text,
    /// One JSON object per line on stdout.
    Json,
}

/// The CLI's [`Reporter`].
#[derive(Debug)]
pub(crate) struct Progress {
    printer: Printer,
    mode: Mode,
    /// stderr is a terminal: draw bars instead of lines.
    bars: bool,
    home: Option<PathBuf>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    multi: Option<MultiProgress>,
    pulls: BTreeMap<String, ProgressBar>,
    /// Spinners of running steps (terminal only), by `action resource`.
    running: BTreeMap<String, ProgressBar>,
    /// The last status line printed per model (non-terminal mode prints changes only once).
    last: BTreeMap<String, String>,
}

impl Progress {
    /// A reporter printing through `printer`.
    pub(crate) fn new(
        printer: Printer,
        mode: Mode,
        stderr_tty: bool,
        home: Option<PathBuf>,
    ) -> Self {
        Self {
            printer,
            mode,
            bars: stderr_tty && !printer.quiet && mode == Mode::Text,
            home,
            state: Mutex::new(State::default()),
        }
    }

    /// Whether events go out as JSON lines.
    pub(crate) fn is_json(&self) -> bool {
        self.mode == Mode::Json
    }

    /// Prints one JSON value as a line (JSON mode), with `format_version` like every document.
    pub(crate) fn json_line(&self, value: &serde_json::Value) {
        let value = render::json::versioned(value.clone());
        self.printer.out(&format!("{value}\n"));
    }

    fn multi(state: &mut State) -> MultiProgress {
        state
            .multi
            .get_or_insert_with(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
            .clone()
    }

    /// On a terminal, a spinner while a step runs (a reload may wait a minute for Ollama).
    fn started(&self, action: &str, resource: &Address) {
        if !self.bars {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let spinner = Self::multi(&mut state).add(ProgressBar::new_spinner());
        spinner.set_message(format!("{action} {resource}"));
        spinner.enable_steady_tick(Duration::from_millis(120));
        state
            .running
            .insert(format!("{action} {resource}"), spinner);
    }

    fn finished(&self, record: &StepRecord) {
        if let Ok(mut state) = self.state.lock()
            && let Some(spinner) = state
                .running
                .remove(&format!("{} {}", record.action, record.resource))
        {
            spinner.finish_and_clear();
        }
        self.printer.extra(&self.step_line(record));
    }

    fn pull(&self, model: &str, status: &str, completed: Option<u64>, total: Option<u64>) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if self.bars {
            let multi = state
                .multi
                .get_or_insert_with(
                    || MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                )
                .clone();
            let bar = state
                .pulls
                .entry(model.to_owned())
                .or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new(0));
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix:.bold} {msg:24} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                    );
                    bar.set_prefix(format!("pull {model}"));
                    bar
                })
                .clone();
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar.set_position(completed.unwrap_or(0));
            bar.set_message(status.to_owned());
            if status == "success" {
                bar.finish_and_clear();
            }
            return;
        }
        // Off a terminal (cron mail, a log): at most PULL_STEPS + 1 lines per layer, at 0, 25, 50,
        // 75 and 100 %, however many progress events Ollama sends.
        let (line, key) = pull_line(model, status, completed, total);
        if state.last.get(model) == Some(&key) {
            return;
        }
        state.last.insert(model.to_owned(), key);
        drop(state);
        self.printer.note(&format!("{line}\n"));
    }

    /// The journal line of a finished step.
    pub(crate) fn step_line(&self, record: &StepRecord) -> String {
        let word = record.status.word();
        let seconds = Duration::from_millis(record.millis);
        let mut line = format!("  {word:<8} {} {}", record.action, record.resource);
        match &record.status {
            StepStatus::Done { detail } => {
                let _ = write!(
                    line,
                    " ({:.1} s): {}",
                    seconds.as_secs_f64(),
                    self.shorten(detail)
                );
            }
            StepStatus::Failed { error } => {
                let _ = write!(line, ": {}", self.shorten(error));
            }
            StepStatus::Skipped { because } => {
                let _ = write!(line, ": {because}");
            }
        }
        line.push('\n');
        line
    }

    /// Paths under `HOME` shown as `~/…`, as messages do.
    pub(crate) fn shorten(&self, text: &str) -> String {
        crate::text::shorten_home(text, self.home.as_deref())
    }
}

impl Reporter for Progress {
    fn event(&self, event: &Event) {
        if self.mode == Mode::Json {
            if let Ok(value) = serde_json::to_value(event) {
                self.json_line(&value);
            }
            return;
        }
        match event {
            Event::Round {
                round,
                plan,
                changes,
            } => {
                if *round == 1 {
                    self.printer
                        .extra(&format!("\nApplying {changes} change(s), round 1:\n"));
                } else {
                    // Only what is left, one line each: the diffs were shown with the plan.
                    let text = render::text::plan_view(
                        plan,
                        View {
                            style: Style {
                                color: self.printer.color,
                            },
                            brief: true,
                            ..View::default()
                        },
                    );
                    self.printer.extra(&format!(
                        "\nRound {round}: observed again; {changes} change(s) left:\n{text}\nApplying round {round}:\n"
                    ));
                }
            }
            Event::StepStarted {
                resource, action, ..
            } => self.started(action, resource),
            Event::StepFinished(record) => self.finished(record),
            Event::Pull {
                model,
                status,
                completed,
                total,
            } => self.pull(model, status, *completed, *total),
            Event::Note { message } => self.printer.note(&format!("{message}\n")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{PULL_STEPS, pull_line};

    #[test]
    fn off_a_terminal_a_layer_gets_a_bounded_number_of_lines() {
        let total = 4_661_224_676_u64;
        let mut keys: Vec<String> = (0..=10_000)
            .map(|i| {
                pull_line(
                    "llama3",
                    "pulling 6a0746a1ec1a",
                    Some(total * i / 10_000),
                    Some(total),
                )
                .1
            })
            .collect();
        keys.dedup();
        assert_eq!(
            keys.len(),
            usize::try_from(PULL_STEPS).unwrap() + 1,
            "{keys:?}"
        );
        let (line, _) = pull_line(
            "llama3",
            "pulling 6a0746a1ec1a",
            Some(total / 2),
            Some(total),
        );
        assert_eq!(line, "pull llama3: pulling 6a0746a1ec1a 50%");
    }
}
