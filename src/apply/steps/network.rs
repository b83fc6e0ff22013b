//! The network service: `networksetup` changes (manual IP, DNS, DHCP), through `sudo` when
//! they need admin rights.

use std::net::Ipv4Addr;

use super::{Ctx, StepError, excerpt, run};
use crate::apply::Settings;
use crate::network::networksetup::{self, NetworksetupError};
use crate::sys::exec::Cmd;

/// `networksetup -setmanual`: the service's static address, mask and router.
pub(super) async fn set_manual(
    ctx: &Ctx<'_>,
    service: &str,
    address: Ipv4Addr,
    subnet_mask: Ipv4Addr,
    router: Ipv4Addr,
) -> Result<String, StepError> {
    let cmd = networksetup::set_manual(service, address, subnet_mask, router);
    run_admin(ctx.settings, &cmd).await
}

/// `networksetup -setdnsservers` (`empty` for none).
pub(super) async fn set_dns_servers(
    ctx: &Ctx<'_>,
    service: &str,
    servers: &[Ipv4Addr],
) -> Result<String, StepError> {
    let cmd = networksetup::set_dns_servers(service, servers);
    run_admin(ctx.settings, &cmd).await
}

/// `networksetup -setdhcp`: back to an address from DHCP (`destroy --network`).
pub(super) async fn set_dhcp(ctx: &Ctx<'_>, service: &str) -> Result<String, StepError> {
    run_admin(ctx.settings, &networksetup::set_dhcp(service)).await
}

/// Runs a `networksetup` change; on "requires admin privileges" (exit 14) runs it again through
/// `sudo` (`-n` without a terminal, so it never hangs on a password prompt).
async fn run_admin(settings: &Settings, cmd: &Cmd) -> Result<String, StepError> {
    let out = run(settings, cmd).await?;
    match networksetup::check(out.status, &out.stdout, &out.stderr) {
        Ok(()) => return Ok(format!("ran `{cmd}`")),
        Err(NetworksetupError::NeedsAdmin { .. }) => {}
        Err(source) => {
            return Err(StepError::Network {
                cmd: cmd.to_string(),
                source,
            });
        }
    }
    let sudo = cmd.clone().via_sudo(!settings.machine().interactive);
    tracing::info!(command = %sudo, "networksetup needs admin privileges; retrying through sudo");
    let out = run(settings, &sudo).await?;
    if out.status != Some(0) && out.stderr.contains("sudo:") {
        return Err(StepError::SudoRefused {
            cmd: sudo.to_string(),
            message: excerpt(&out.stderr),
        });
    }
    networksetup::check(out.status, &out.stdout, &out.stderr).map_err(|source| {
        StepError::Network {
            cmd: sudo.to_string(),
            source,
        }
    })?;
    Ok(format!("ran `{sudo}`"))
}
