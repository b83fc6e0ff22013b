//! [`Knowable`]: a value that observation may fail to learn.

use serde::{Deserialize, Serialize};

/// A fact about the Mac that is either known or explicitly unknown, with the reason.
///
/// Unknown is data, not an error: the planner never turns an unknown into a destructive change,
/// and `apply` re-observes until the unknowns are resolved (see `specs/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "value", rename_all = "snake_case")]
pub enum Knowable<T> {
    /// Observed successfully.
    Known(T),
    /// Could not be observed; `reason` says why, for the user.
    Unknown {
        /// Why the fact could not be observed.
        reason: String,
    },
}

impl<T> Knowable<T> {
    /// An unknown with a reason.
    pub fn unknown(reason: impl Into<String>) -> Self {
        Self::Unknown {
            reason: reason.into(),
        }
    }

    /// The known value, if any.
    pub fn known(&self) -> Option<&T> {
        match self {
            Self::Known(value) => Some(value),
            Self::Unknown { .. } => None,
        }
    }

    /// Maps the known value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Knowable<U> {
        match self {
            Self::Known(value) => Knowable::Known(f(value)),
            Self::Unknown { reason } => Knowable::Unknown { reason },
        }
    }

    /// Borrows the known value.
    pub fn as_ref(&self) -> Knowable<&T> {
        match self {
            Self::Known(value) => Knowable::Known(value),
            Self::Unknown { reason } => Knowable::Unknown {
                reason: reason.clone(),
            },
        }
    }
}
