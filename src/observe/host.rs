//! Host facts: the macOS version (`sw_vers`).

use super::{Settings, describe, tool_fact};
use crate::model::Knowable;
use crate::process;
use crate::sys::exec::Output;

pub(super) async fn os_version(settings: &Settings) -> Knowable<String> {
    tool_fact(
        "sw_vers",
        settings.run(&process::sw_vers_product_version()).await,
        Output::success,
        process::parse_product_version,
        describe,
    )
}
