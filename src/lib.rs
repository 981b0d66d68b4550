//! summarybot: a self-hosted Discord summary bot in one static binary.
//!
//! The binary (`src/main.rs`) only parses the command line and calls into this library, so
//! every capability is reachable from tests.

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod import;
pub mod llm;
pub mod logging;
pub mod model;
pub mod secret;
pub mod store;
pub mod summarize;
pub mod webhook;

/// `--version` text: version, git commit and target triple.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SUMMARYBOT_GIT_COMMIT"),
    ", ",
    env!("SUMMARYBOT_TARGET"),
    ")"
);
