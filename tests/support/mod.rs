//! Fake peers shared by the black-box tests (each test binary uses a different subset).

#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the fake's API"
)]
pub mod fake_openai;

#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the harness"
)]
pub mod appliance;
#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the harness"
)]
pub mod bot_process;
#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the harness"
)]
pub mod discord_bot;
#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the fake's API"
)]
pub mod fake_discord;
#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the fake's API"
)]
pub mod fake_github;

/// The real `summarybot` binary, run in `dir` with a cleared environment (only `PATH`, and `HOME`
/// set to `dir`), so no variable of the machine running the tests changes the outcome.
#[allow(dead_code, reason = "not every test binary starts the binary")]
pub fn summarybot(dir: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_summarybot"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .stdin(std::process::Stdio::null());
    cmd
}

#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the client"
)]
pub mod webhook_http;

#[allow(
    dead_code,
    reason = "the HTTP and browser tests use different parts of the harness"
)]
pub mod status_site;

#[allow(dead_code, reason = "only the disk-full tests mount a tmpfs")]
pub mod tmpfs;

#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the harness"
)]
pub mod private_answers;
