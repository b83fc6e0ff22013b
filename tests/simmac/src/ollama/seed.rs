//! Test-side setup of the fake Ollama's state, without a running server: install models from the
//! catalog, replace or extend the catalog, pin the reported version, set faults.
//!
//! Only writes files under `<mac>/ollama/` and `<mac>/faults/`. A running server re-reads
//! `models.json` on every request, so seeding while it runs is also fine.

use std::io;
use std::path::Path;

use super::gotime;
use super::name::{Name, key_of};
use super::state::{self, Installed, ModelSpec, Registry};

/// Serializes the read-modify-write of `models.json` within one process (the server handles
/// concurrent pulls and deletes on several threads).
static MODELS_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Finds `name` (any accepted spelling: `llama3`, `LLAMA3:latest`) in the catalog.
pub fn lookup(reg: &Registry, name: &str) -> Option<(String, ModelSpec)> {
    let key = key_of(name);
    reg.models
        .iter()
        .find(|(n, _)| key_of(n) == key)
        .map(|(n, s)| (n.clone(), s.clone()))
}

/// Records `spec` as installed under its display name, replacing an older entry; returns it.
pub fn record_install(mac: &Path, display: &str, spec: &ModelSpec) -> io::Result<Installed> {
    // Concurrent pulls in one server must not lose each other's read-modify-write.
    let _guard = MODELS_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut models = state::installed(mac)?;
    let key = key_of(display);
    models.retain(|m| key_of(&m.name) != key);
    let entry = Installed {
        name: display.to_owned(),
        digest: spec.digest(),
        size: spec.size(),
        modified_at_ns: i64::try_from(gotime::now_ns()).unwrap_or(i64::MAX),
        spec: spec.clone(),
    };
    models.push(entry.clone());
    state::save_installed(mac, &models)?;
    Ok(entry)
}

/// Installs `name` from the catalog as if it had been pulled.
pub fn install_model(mac: &Path, name: &str) -> io::Result<Installed> {
    let reg = state::registry(mac)?;
    let (catalog_name, spec) = lookup(&reg, name).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("model {name:?} is not in the simulated registry"),
        )
    })?;
    let display = Name::parse(name).map_or(catalog_name, |n| n.display());
    record_install(mac, &display, &spec)
}

/// Removes an installed model; `Ok(false)` when it was not installed.
pub fn remove_model(mac: &Path, name: &str) -> io::Result<bool> {
    let _guard = MODELS_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut models = state::installed(mac)?;
    let key = key_of(name);
    let before = models.len();
    models.retain(|m| key_of(&m.name) != key);
    if models.len() == before {
        return Ok(false);
    }
    state::save_installed(mac, &models)?;
    Ok(true)
}

/// Replaces the registry catalog.
pub fn set_registry(mac: &Path, catalog: &Registry) -> io::Result<()> {
    state::save_registry(mac, catalog)
}

/// Adds (or replaces) one model in the catalog, starting from the current catalog.
pub fn add_registry_model(mac: &Path, name: &str, spec: ModelSpec) -> io::Result<()> {
    let mut reg = state::registry(mac)?;
    reg.models.insert(name.to_owned(), spec);
    state::save_registry(mac, &reg)
}

/// Sets the version the server (and the `ollama` client) report.
pub fn set_version(mac: &Path, version: &str) -> io::Result<()> {
    let mut cfg = state::config(mac)?;
    version.clone_into(&mut cfg.version);
    state::save_config(mac, &cfg)
}

/// Sets the sandbox loopback address that stands in for `0.0.0.0` and the Mac's LAN addresses.
pub fn set_loopback(mac: &Path, loopback: std::net::IpAddr) -> io::Result<()> {
    let mut cfg = state::config(mac)?;
    cfg.loopback = Some(loopback.to_string());
    state::save_config(mac, &cfg)
}

/// Sets the memory the server has for runners (`None` = unlimited): see `engine::App::touch`.
pub fn set_memory(mac: &Path, bytes: Option<u64>) -> io::Result<()> {
    let mut cfg = state::config(mac)?;
    cfg.memory_bytes = bytes;
    state::save_config(mac, &cfg)
}

/// Replaces `config.json`.
pub fn set_config(mac: &Path, cfg: &state::Config) -> io::Result<()> {
    state::save_config(mac, cfg)
}

/// Sets the fault switch `<mac>/faults/<name>` to `content` (see the module list in `README.md`).
pub fn set_fault(mac: &Path, name: &str, content: &str) -> io::Result<()> {
    state::write_atomic(&mac.join("faults").join(name), content.as_bytes())
}

/// Clears a fault switch (no error when it was not set).
pub fn clear_fault(mac: &Path, name: &str) -> io::Result<()> {
    match std::fs::remove_file(mac.join("faults").join(name)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
