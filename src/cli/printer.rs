//! [`Printer`]: the only writer to stdout and stderr. Data goes to stdout; diagnostics, progress
//! and logs to stderr.

use std::io::Write;

/// Where output goes and how it looks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    /// Colour on stdout.
    pub color: bool,
    /// `-q`: nothing but errors on stderr, and on stdout only what was asked for.
    pub quiet: bool,
    /// Width for wrapped diagnostics.
    pub width: usize,
}

impl Printer {
    /// Writes data to stdout (a closed pipe is not an error worth reporting).
    #[expect(
        clippy::unused_self,
        reason = "the printer is the one way to stdout and stderr: every write goes through it"
    )]
    pub(crate) fn out(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Writes what was not asked for to stdout (a journal, a final state, a next step), unless
    /// `-q`: quiet leaves stdout to the data the verb exists to print.
    pub(crate) fn extra(&self, text: &str) {
        if !self.quiet {
            self.out(text);
        }
    }

    /// Writes a diagnostic or status line to stderr, unless `-q`.
    pub(crate) fn note(&self, text: &str) {
        if !self.quiet {
            self.err(text);
        }
    }

    /// Writes to stderr, even with `-q` (errors).
    #[expect(
        clippy::unused_self,
        reason = "the printer is the one way to stdout and stderr: every write goes through it"
    )]
    pub(crate) fn err(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }
}
