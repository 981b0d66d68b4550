//! `summarybot forget --user ID [--undo]`: the operator's way to forget a member (or opt them
//! back in), the same operation as `/summarybot forget-me`. Runs beside the service through
//! its control socket.

use crate::cli::ForgetArgs;
use crate::config::Scope;
use crate::model::UserId;
use crate::privacy;

use super::output::outln;
use super::{Context, Failure};

/// Run `forget`.
pub fn run(ctx: &Context, args: &ForgetArgs) -> Result<(), Failure> {
    let config = ctx.config(Scope::Offline)?;
    let _log = ctx.init_logging(&config);
    let store = ctx.store(&config)?;
    let user = UserId(args.user);
    if args.undo {
        if privacy::opt_in(&store, user).map_err(anyhow::Error::from)? {
            outln!(
                "user {user} is opted in again {}: their new messages are stored and summarized \
                 (the deleted ones are not restored)",
                privacy::SCOPE
            );
        } else {
            outln!("user {user} was not opted out; nothing changed");
        }
        return Ok(());
    }
    let forgotten = privacy::forget(&store, user).map_err(anyhow::Error::from)?;
    let state = if forgotten.already {
        "was already opted out"
    } else {
        "is opted out"
    };
    outln!(
        "user {user} {state} {}: {} stored message(s) deleted in {} channel(s), with the cached \
         summaries of those channels; their messages are neither stored nor summarized from now \
         on (`summarybot forget --user {user} --undo` reverses this)",
        privacy::SCOPE,
        forgotten.messages,
        forgotten.channels.len()
    );
    Ok(())
}
