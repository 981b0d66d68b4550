//! The webhook server: signed HTTP triggers (`POST /webhook`), job status, health and metrics,
//! over rouille; jobs go through [`crate::jobs`].

pub mod backup;
pub mod exchange;
pub mod listener;
pub mod metrics;
pub mod payload;
mod permits;
pub mod routes;
pub mod schedule_update;
pub mod server;
pub mod signature;
pub mod standard;

pub use server::{start, StartError, WebServer};
