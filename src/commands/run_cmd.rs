//! `summarybot run`: validate everything, take the database lock, run the appliance until
//! SIGINT/SIGTERM.

use std::sync::Arc;

use crate::app::{self, RunError};
use crate::config::Scope;

use super::{open_store_verified, Context, Failure};

/// Run `run`.
pub fn run(ctx: &Context) -> Result<(), Failure> {
    let config = ctx.config(Scope::Full)?;
    let _log = ctx.init_logging(&config);
    crate::panic_policy::install();
    let started = std::time::Instant::now();
    let store = Arc::new(open_store_verified(&config)?);
    tracing::info!(
        path = %config.storage.path.display(),
        ms = started.elapsed().as_millis() as u64,
        "database opened; every page checksum verified"
    );
    let commands = super::remote::runner(config.clone(), Arc::clone(&store));
    let result = super::runtime()?.block_on(app::run(&config, &store, commands));
    drop(store);
    match result {
        Ok(()) => {
            tracing::info!("stopped cleanly");
            Ok(())
        }
        Err(RunError::Config(why)) => Err(Failure::Usage(why)),
        Err(RunError::Failed(e)) => Err(Failure::Runtime(e)),
    }
}
