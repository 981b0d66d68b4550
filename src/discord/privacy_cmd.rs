//! `/summarybot forget-me|optin-me|my-data`: a member's own data, usable by any member (no
//! permission needed: each acts on the invoker only). The opt-out is per member and holds on
//! every server this bot serves; the operation itself is [`crate::privacy`]'s. Answers are
//! ephemeral and mention nobody (as every `/summarybot` answer).

use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{json, Value};
use serenity::all::{CommandDataOption, CommandDataOptionValue};

use super::Shared;
use crate::model::{Timestamp, UserId};
use crate::privacy::{self, SCOPE};
use crate::store::{Store, StoreError, UserData};

/// A member's request about their own data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Request {
    /// Forget me; deletes only when confirmed.
    ForgetMe {
        /// `confirm:True` was given.
        confirm: bool,
    },
    /// Store and summarize my messages again.
    OptInMe,
    /// Show what is stored about me.
    MyData,
}

/// The three subcommands' definitions (options of `/summarybot`).
pub(super) fn subcommands() -> Vec<Value> {
    vec![
        json!({"type": 1, "name": "forget-me",
        "description": "Delete your stored messages; stop storing and summarizing yours (all servers)",
        "options": [
            {"type": 5, "name": "confirm", "description": "Yes, delete my stored messages"}
        ]}),
        json!({"type": 1, "name": "optin-me",
            "description": "Undo forget-me: your new messages are stored and summarized again"}),
        json!({"type": 1, "name": "my-data",
            "description": "What the bot stores about you: messages per channel and the oldest date"}),
    ]
}

/// The request a subcommand named `name` makes, if it is one of these.
pub(super) fn parse(name: &str, opts: &[CommandDataOption]) -> Option<Request> {
    match name {
        "forget-me" => Some(Request::ForgetMe {
            confirm: opts.iter().any(|o| {
                o.name == "confirm" && matches!(o.value, CommandDataOptionValue::Boolean(true))
            }),
        }),
        "optin-me" => Some(Request::OptInMe),
        "my-data" => Some(Request::MyData),
        _ => None,
    }
}

/// Carry out `request` for `user`; the text is the answer.
pub(super) async fn run(
    shared: &Arc<Shared>,
    user: UserId,
    request: Request,
) -> Result<String, StoreError> {
    let store = Arc::clone(&shared.store);
    // The scans read every stored message: off the async threads.
    tokio::task::spawn_blocking(move || answer(&store, user, &request))
        .await
        .map_err(|e| StoreError::Database {
            detail: e.to_string(),
        })?
}

/// The answer to `request` by `user`, acting on `store`.
fn answer(store: &Store, user: UserId, request: &Request) -> Result<String, StoreError> {
    match request {
        Request::ForgetMe { confirm: false } => {
            let data = store.user_data(user)?;
            Ok(explain_forget(&data))
        }
        Request::ForgetMe { confirm: true } => {
            let forgotten = privacy::forget(store, user)?;
            Ok(format!(
                "Done: {} of yours deleted (in {}), with the cached summaries of those \
                 channels. From now on your messages are neither stored nor \
                 quoted or cited in summaries, {SCOPE}; other members' messages still are. \
                 Summaries posted before stay as posted. `/summarybot optin-me` undoes this for \
                 new messages.",
                counted(forgotten.messages, "stored message"),
                counted(forgotten.channels.len() as u64, "channel")
            ))
        }
        Request::OptInMe => Ok(if privacy::opt_in(store, user)? {
            format!(
                "You are opted in again, {SCOPE}: your new messages are stored and may be \
                 summarized. The deleted ones are not restored."
            )
        } else {
            "You are not opted out: your messages are stored and summarized like everyone's. \
             `/summarybot forget-me` stops that."
                .to_owned()
        }),
        Request::MyData => Ok(describe(
            &store.user_data(user)?,
            store.subscriptions_of(user, None)?.len(),
        )),
    }
}

/// What `forget-me` without `confirm` says: what confirming deletes and changes.
fn explain_forget(data: &UserData) -> String {
    let state = match data.opted_out_since {
        Some(since) => format!(
            "You are already opted out (since {}): your messages are neither stored nor \
             summarized. ",
            day(since)
        ),
        None => String::new(),
    };
    let stored = match data.messages() {
        0 => "Nothing of yours is stored now, so nothing would be deleted".to_owned(),
        n => format!(
            "Confirming deletes the {} of yours stored in {}, and the cached summaries of \
             those channels",
            counted(n, "message"),
            counted(data.channels.len() as u64, "channel")
        ),
    };
    format!(
        "{state}{stored}; from then on your messages are neither stored nor quoted or cited in \
         summaries, {SCOPE} (others' messages still are). Nothing was changed. To confirm, run \
         `/summarybot forget-me confirm:True`."
    )
}

/// What `my-data` says: the stored messages per channel with the oldest date, and the opt-out.
fn describe(data: &UserData, digests: usize) -> String {
    let digests = match digests {
        0 => String::new(),
        n => format!(
            "\nYour personal digest settings: {} (`/digest list` shows them, \
             `/digest unsubscribe` deletes them).",
            counted(n as u64, "subscription")
        ),
    };
    let text = describe_messages(data);
    text + &digests
}

/// The stored messages part of [`describe`].
fn describe_messages(data: &UserData) -> String {
    let state = match data.opted_out_since {
        Some(since) => format!(
            "You are opted out since {}: your messages are neither stored nor summarized \
             (`/summarybot optin-me` undoes this).",
            day(since)
        ),
        None => "You are not opted out (`/summarybot forget-me` deletes what is stored and \
                 stops storing yours)."
            .to_owned(),
    };
    if data.channels.is_empty() {
        return format!("Nothing of yours is stored: no messages, {SCOPE}. {state}");
    }
    let mut text = format!(
        "Stored about you, {SCOPE}: {} in {} (each with your id and name, its text, time \
         and attachments' names).\n",
        counted(data.messages(), "message"),
        counted(data.channels.len() as u64, "channel")
    );
    for (channel, (count, oldest)) in &data.channels {
        let _ = writeln!(
            text,
            "- <#{channel}>: {}, the oldest from {}",
            counted(*count, "message"),
            day(*oldest)
        );
    }
    text.push_str(&state);
    text
}

/// `1 message`, `2 messages`.
fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `2026-12-06` (UTC).
fn day(at: Timestamp) -> String {
    at.to_datetime().format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChannelId;

    #[test]
    fn my_data_lists_channels_with_counts_and_oldest_dates() {
        let mut data = UserData::default();
        let day_ms = 86_400_000;
        data.channels
            .insert(ChannelId(5), (3, Timestamp(20_000 * day_ms)));
        data.channels.insert(ChannelId(7), (1, Timestamp(0)));
        let text = describe(&data, 0);
        assert!(!text.contains("digest"), "{text}");
        assert!(
            text.contains("4 messages in 2 channels"),
            "the total comes first: {text}"
        );
        assert!(
            text.contains("- <#5>: 3 messages, the oldest from 2024-10-04"),
            "{text}"
        );
        assert!(text.contains("- <#7>: 1 message, the oldest from 1970-01-01"));
        assert!(text.contains("You are not opted out"), "{text}");
        let with_digests = describe(&data, 2);
        assert!(
            with_digests.ends_with(
                "Your personal digest settings: 2 subscriptions (`/digest list` shows them, \
                 `/digest unsubscribe` deletes them)."
            ),
            "{with_digests}"
        );
        let empty = describe(
            &UserData {
                opted_out_since: Some(Timestamp(0)),
                ..UserData::default()
            },
            0,
        );
        assert!(empty.starts_with("Nothing of yours is stored"), "{empty}");
        assert!(empty.contains("opted out since 1970-01-01"), "{empty}");
    }

    #[test]
    fn forget_me_without_confirm_says_what_it_would_delete_and_how_to_confirm() {
        let mut data = UserData::default();
        data.channels.insert(ChannelId(5), (3, Timestamp(0)));
        let text = explain_forget(&data);
        assert!(text.contains("deletes the 3 messages of yours stored in 1 channel,"));
        assert!(text.contains("Nothing was changed"));
        assert!(text.contains("`/summarybot forget-me confirm:True`"));
        assert!(text.contains(SCOPE));
        let nothing = explain_forget(&UserData::default());
        assert!(
            nothing.starts_with("Nothing of yours is stored now"),
            "{nothing}"
        );
    }
}
