//! `summarybot run`: validate everything, take the database lock, run the appliance until
//! SIGINT/SIGTERM.

use std::sync::Arc;

use crate::app::{self, RunError};
use crate::config::Scope;

use super::{open_store, Context, Failure};

/// Run `run`.
pub fn run(ctx: &Context) -> Result<(), Failure> {
    let config = ctx.config(Scope::Full)?;
    let _log = ctx.init_logging(&config);
    let store = Arc::new(open_store(&config)?);
    let result = super::runtime()?.block_on(app::run(&config, &store));
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
