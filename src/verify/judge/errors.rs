//! The `errors` checks: the statuses of bad requests.

use super::replies::need_status;
use super::text::excerpt;
use super::{Check, Judge};
use crate::verify::{Group, Probe};

pub(super) fn checks(j: &mut Judge<'_>) {
    let g = Group::Errors;
    j.http(
        Check {
            group: g,
            id: "unknown_model",
            name: "a nonexistent model answers 404",
        },
        Probe::UnknownModel,
        "HTTP 404",
        |status, _, body| {
            need_status(status, 404)?;
            Ok(format!("HTTP 404: {}", excerpt(body, 80)))
        },
    );
    j.http(
        Check {
            group: g,
            id: "malformed",
            name: "a malformed request answers 400",
        },
        Probe::Malformed,
        "HTTP 400",
        |status, _, body| {
            need_status(status, 400)?;
            Ok(format!("HTTP 400: {}", excerpt(body, 80)))
        },
    );
}
