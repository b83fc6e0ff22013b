//! Signals of a run that may change the Mac (`apply`, `destroy`): SIGINT (Ctrl-C), SIGTERM and
//! SIGHUP (a closed SSH session).
//!
//! [`Guard::install`] takes them over before the lock is taken. Until [`Guard::converging`],
//! nothing has been changed: a signal prints `interrupted (SIGINT) while <phase>: nothing was
//! changed`, stops the programs ssollama started and waits until they are gone
//! (`sys::exec::stop_children`), then exits 1, also while the prompt waits for an answer. From then on a signal only sets the
//! [`Cancel`] flag: the current step finishes (a reload finishes or rolls back), the rest is
//! skipped, and the journal is printed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::printer::Printer;
use crate::apply::Cancel;
use crate::sys::exec;

/// What the run is doing, for the message of an interruption before anything changed.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    cancel: Cancel,
    converging: Arc<AtomicBool>,
    phase: Arc<Mutex<&'static str>>,
}

impl Guard {
    /// Takes over SIGINT, SIGTERM and SIGHUP for the rest of the process (a thread of its own, so
    /// it also works while the main thread blocks reading the prompt's answer). `None` when the
    /// handlers cannot be installed (the default dispositions stay).
    pub(crate) fn install(printer: Printer) -> Option<Self> {
        let guard = Self {
            cancel: Cancel::new(),
            converging: Arc::new(AtomicBool::new(false)),
            phase: Arc::new(Mutex::new("starting")),
        };
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let watcher = guard.clone();
        std::thread::Builder::new()
            .name("signals".to_owned())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    let _ = ready_tx.send(false);
                    return;
                };
                rt.block_on(watcher.watch(printer, ready_tx));
            })
            .ok()?;
        ready_rx.recv().ok().filter(|ok| *ok).map(|_| guard)
    }

    async fn watch(self, printer: Printer, ready: std::sync::mpsc::Sender<bool>) {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            let _ = ready.send(false);
            return;
        };
        let _ = ready.send(true);
        loop {
            let name = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
                _ = hup.recv() => "SIGHUP",
            };
            if self.converging.load(Ordering::SeqCst) {
                if !self.cancel.is_cancelled() {
                    printer.err(&format!(
                        "\ninterrupted ({name}): stopping after the current step (a reload finishes or rolls back first)\n"
                    ));
                }
                self.cancel.cancel();
                continue;
            }
            let phase = self.phase.lock().map_or("starting", |p| *p);
            printer.err(&format!(
                "\ninterrupted ({name}) while {phase}: nothing was changed\n"
            ));
            exec::stop_children();
            std::process::exit(1);
        }
    }

    /// Names what the run does now (`observing`, `waiting for the confirmation`).
    pub(crate) fn phase(&self, phase: &'static str) {
        if let Ok(mut slot) = self.phase.lock() {
            *slot = phase;
        }
    }

    /// From now on the Mac may change: a signal sets the returned flag instead of exiting.
    pub(crate) fn converging(&self) -> &Cancel {
        self.converging.store(true, Ordering::SeqCst);
        &self.cancel
    }
}
