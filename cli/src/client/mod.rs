//! The command-line clients of the API: `printcloud login`, `print`, `jobs` and `device` (a
//! simulated printer). Each command is an async function here that `main.rs` calls, so the
//! end-to-end tests run exactly the code people do; the functions take their config
//! directory as an argument and never read the environment themselves.

pub mod api;
pub mod device;
pub mod files;
pub mod jobs;
pub mod print;
pub mod release;
pub mod session;

use std::path::PathBuf;

/// The environment variable `main.rs` reads to move the config directory (tests, several
/// accounts).
pub const CONFIG_DIR_ENV: &str = "PRINTCLOUD_CONFIG_DIR";

/// The per-user config directory the clients keep their session and printer state in when
/// [`CONFIG_DIR_ENV`] does not say otherwise: the platform's config directory
/// (`$XDG_CONFIG_HOME` or `~/.config` on Linux) plus `printcloud`.
pub fn default_config_dir() -> anyhow::Result<PathBuf> {
    let base = dirs::config_dir()
        .ok_or_else(|| anyhow::anyhow!("no config directory is known for this user; set {CONFIG_DIR_ENV}"))?;
    Ok(base.join("printcloud"))
}
