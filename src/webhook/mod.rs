//! Webhook support: request signing and verification (the HTTP server lands with the webhook issue).

pub mod signature;
pub mod standard;
