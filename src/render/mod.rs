//! Renderers: a [`Plan`](crate::plan::Plan) as text for people ([`text`]) or JSON for machines
//! ([`json`]), and an observation as text ([`observed`]).
//!
//! Pure: they return `String`s/values and take a [`Style`] value; they never query the terminal
//! or print (the CLI printer writes).

pub(crate) mod client;
pub(crate) mod json;
pub(crate) mod observed;
pub(crate) mod text;

pub(crate) use observed::observed_text;

/// How to render text output; decided by the CLI (`NO_COLOR`, `--color`, tty), never here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Style {
    /// Colour markers and diff lines with plain ANSI escapes.
    pub color: bool,
}
