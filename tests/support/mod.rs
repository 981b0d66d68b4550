//! Fake peers shared by the black-box tests (each test binary uses a different subset).

#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the fake's API"
)]
pub mod fake_openai;

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
