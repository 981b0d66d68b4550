//! `summarybot webhook sign`: print the signature header(s) for a request body (`sha256=` or
//! Standard Webhooks).

use std::io::Read;

use anyhow::Context as _;

use crate::cli::WebhookCommand;
use crate::config::Scope;
use crate::encoding::to_hex;
use crate::model::Timestamp;
use crate::webhook::{signature, standard};
use sha2::{Digest, Sha256};

use super::output::outln;
use super::{Context, Failure};

/// Run a `webhook` subcommand.
pub fn run(ctx: &Context, cmd: &WebhookCommand) -> Result<(), Failure> {
    let WebhookCommand::Sign {
        secret,
        file,
        standard: use_standard,
        id,
        timestamp,
    } = cmd;
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
    if *use_standard {
        let timestamp = timestamp.unwrap_or_else(|| Timestamp::now().0 / 1000);
        let id = id.clone().unwrap_or_else(|| {
            let digest = Sha256::digest([body.as_slice(), &timestamp.to_be_bytes()].concat());
            format!("msg_{}", &to_hex(&digest)[..24])
        });
        let key = standard::secret_key(&secret);
        outln!("webhook-id: {id}");
        outln!("webhook-timestamp: {timestamp}");
        outln!(
            "webhook-signature: {}",
            standard::sign(&key, &id, timestamp, &body)
        );
    } else {
        outln!("{}", signature::sign_header(secret.as_bytes(), &body));
    }
    Ok(())
}
