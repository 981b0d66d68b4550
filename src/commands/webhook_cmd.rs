//! `summarybot webhook sign`: print the signature header for a request body.

use std::io::Read;

use anyhow::Context as _;

use crate::cli::WebhookCommand;
use crate::config::Scope;
use crate::webhook::signature;

use super::output::outln;
use super::{Context, Failure};

/// Run a `webhook` subcommand.
pub fn run(ctx: &Context, cmd: &WebhookCommand) -> Result<(), Failure> {
    let WebhookCommand::Sign { secret, file } = cmd;
    let secret = match secret {
        Some(s) if !s.is_empty() => s.clone(),
        _ => {
            let config = ctx.config(Scope::Offline)?;
            if config.webhook.secret.is_empty() {
                return Err(Failure::Usage(
                    "no secret: pass --secret, set WEBHOOK_SECRET, or set webhook.secret in the config"
                        .into(),
                ));
            }
            config.webhook.secret.expose().to_string()
        }
    };
    let body = if let Some(path) = file {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
    } else {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read the body from standard input")?;
        buf
    };
    outln!("{}", signature::sign_header(secret.as_bytes(), &body));
    Ok(())
}
