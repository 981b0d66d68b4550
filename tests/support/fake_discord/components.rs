//! Message components in the fake Discord ("Message Components" and "Receiving and Responding"
//! in Discord's developer docs): the action rows of buttons the bot puts on the messages it
//! sends or edits are kept on the created message, and a member's click on a button is
//! dispatched as INTERACTION_CREATE of type 3 (MESSAGE_COMPONENT) with `data.custom_id`,
//! `data.component_type` 2, the whole `message` (its id and components) and the clicking
//! `member`, a fresh interaction id and token. Its callback must be answered once, with type 4
//! (a message), 5, 6 (DEFERRED_UPDATE_MESSAGE) or 7 (UPDATE_MESSAGE); anything else gets
//! Discord's 400.

use std::collections::HashMap;
use std::time::Duration;

use rouille::Response;
use serde_json::{json, Value};

use super::{
    member, member_permissions, now_ms, roles_of, snowflake_at, FakeDiscord, RestCall, State,
    APP_ID, EVERYONE_PERMS, GUILD,
};

/// Callback types Discord accepts for a component interaction.
const COMPONENT_CALLBACKS: [u64; 5] = [4, 5, 6, 7, 9];

/// What the fake keeps about components.
#[derive(Default)]
pub(super) struct Components {
    /// Messages created with components (REST shape), oldest first.
    posted: Vec<Value>,
    /// Component interactions dispatched, by id: whether their callback was answered.
    clicks: HashMap<u64, bool>,
    /// Interactions created so far (for fresh ids).
    count: u64,
}

/// Keep the components a send carried on the message it created, and note the message.
pub(super) fn keep(state: &mut State, msg: &mut Value, call: &RestCall) {
    let Some(rows) = call
        .json
        .get("components")
        .filter(|c| c.as_array().is_some_and(|a| !a.is_empty()))
    else {
        return;
    };
    msg["components"] = rows.clone();
    state.components.posted.push(msg.clone());
}

/// Discord's answer to a callback of a component interaction `id`: `None` when it is fine
/// (204), 400 when it was answered before or its type is not one for components.
pub(super) fn callback(state: &mut State, id: &str, call: &RestCall) -> Option<Response> {
    let id: u64 = id.parse().ok()?;
    let answered = state.components.clicks.get_mut(&id)?;
    if *answered {
        return Some(
            Response::json(
                &json!({"message": "Interaction has already been acknowledged.",
                "code": 40060}),
            )
            .with_status_code(400),
        );
    }
    let kind = call.json["type"].as_u64().unwrap_or(0);
    if !COMPONENT_CALLBACKS.contains(&kind) {
        return Some(
            Response::json(&json!({"message": "Invalid Form Body", "code": 50035,
                "errors": {"type": {"_errors": [{"code": "BASE_TYPE_CHOICES",
                    "message": format!("Value must be one of {COMPONENT_CALLBACKS:?}.")}]}}}))
            .with_status_code(400),
        );
    }
    *answered = true;
    None
}

/// The `custom_id`s of a message's buttons, in order.
pub fn custom_ids(message: &Value) -> Vec<String> {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["custom_id"].as_str().map(str::to_owned))
        .collect()
}

/// An INTERACTION_CREATE of type 3 for `user` clicking the button `custom_id` of `message` (a
/// message of `GUILD` as the REST API returned it), with interaction `id` and token `token-<id>`.
pub fn button_click(id: u64, user: u64, message: &Value, custom_id: &str) -> Value {
    let channel = super::id_of(&message["channel_id"]);
    let mut member = member(user, roles_of(user));
    member["permissions"] = json!(member_permissions(user, channel).to_string());
    json!({
        "id": id.to_string(), "application_id": APP_ID.to_string(), "type": 3,
        "data": {"custom_id": custom_id, "component_type": 2},
        "guild_id": GUILD.to_string(), "channel_id": channel.to_string(),
        "channel": {"id": channel.to_string(), "type": 0, "name": "general"},
        "member": member, "message": message, "token": format!("token-{id}"), "version": 1,
        "locale": "en-US", "guild_locale": "en-US", "app_permissions": EVERYONE_PERMS.to_string(),
        "entitlements": [], "attachment_size_limit": 8_388_608,
    })
}

impl FakeDiscord {
    /// Messages the bot created with components, oldest first.
    pub fn messages_with_components(&self) -> Vec<Value> {
        self.shared.lock().components.posted.clone()
    }

    /// Wait until the bot has created `count` messages with components; returns them all.
    pub fn wait_for_components(&self, timeout: Duration, count: usize) -> Vec<Value> {
        self.wait_until(timeout, |s| {
            (s.components.posted.len() >= count).then(|| s.components.posted.clone())
        })
        .unwrap_or_default()
    }

    /// `user` clicks the button `custom_id` of `message`: dispatch the interaction (a fresh id
    /// and token); returns the interaction id, which the bot's callback path carries.
    pub fn click(&self, message: &Value, custom_id: &str, user: u64) -> u64 {
        let id = {
            let mut state = self.shared.lock();
            state.components.count += 1;
            let id = snowflake_at(now_ms(), (3 << 20) + state.components.count);
            state.components.clicks.insert(id, false);
            id
        };
        self.dispatch(
            "INTERACTION_CREATE",
            &button_click(id, user, message, custom_id),
        );
        id
    }

    /// Wait for the bot's answer to the component interaction `id`: the callback's body.
    pub fn wait_for_click_answer(&self, id: u64, timeout: Duration) -> Option<Value> {
        let path = format!("/api/v10/interactions/{id}/token-{id}/callback");
        self.wait_for_call(timeout, |c| c.method == "POST" && c.path == path)
            .map(|c| c.json)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{message, rest_shape, ALICE, BOT};
    use super::*;
    use serenity::model::prelude::*;

    fn posted() -> Value {
        let mut m = rest_shape(&message(super::super::GENERAL, 77, BOT, "", now_ms()));
        m["components"] = json!([{"type": 1, "components": [
            {"type": 2, "style": 2, "custom_id": "fb:up:x", "emoji": {"name": "👍"}, "label": "Helpful"},
            {"type": 2, "style": 2, "custom_id": "fb:down:x", "emoji": {"name": "👎"}}]}]);
        m
    }

    #[test]
    fn a_click_is_answered_once_with_a_component_callback_type() {
        let call = |kind: u64| RestCall {
            method: "POST".into(),
            path: "/api/v10/interactions/5/token-5/callback".into(),
            query: String::new(),
            json: json!({"type": kind}),
            authorization: String::new(),
            at: std::time::Instant::now(),
        };
        let mut state = State::default();
        state.components.clicks.insert(5, false);
        assert!(
            callback(&mut state, "6", &call(4)).is_none(),
            "not a click: 204"
        );
        let wrong = callback(&mut state, "5", &call(1)).expect("PONG is not for clicks");
        assert_eq!(wrong.status_code, 400);
        for kind in [4, 6, 7] {
            let mut fresh = State::default();
            fresh.components.clicks.insert(5, false);
            assert!(
                callback(&mut fresh, "5", &call(kind)).is_none(),
                "type {kind}"
            );
        }
        assert!(callback(&mut state, "5", &call(6)).is_none());
        let twice = callback(&mut state, "5", &call(4)).expect("answered already");
        assert_eq!(twice.status_code, 400);
    }

    #[test]
    fn a_click_deserializes_as_serenity_s_component_interaction() {
        let click = button_click(9, ALICE, &posted(), "fb:up:x");
        let i = serde_json::from_value::<Interaction>(click.clone()).expect("INTERACTION_CREATE");
        let Interaction::Component(c) = i else {
            panic!("not a component interaction: {i:?}");
        };
        assert_eq!(c.data.custom_id, "fb:up:x");
        assert_eq!(c.message.id.get(), 77);
        assert_eq!(c.user.id.get(), ALICE);
        assert_eq!(c.message.components.len(), 1);
        let payload = json!({"op": 0, "s": 1, "t": "INTERACTION_CREATE", "d": click});
        let ev: serenity::model::event::GatewayEvent =
            serde_json::from_value(payload).expect("dispatch");
        assert!(!matches!(
            ev,
            serenity::model::event::GatewayEvent::Dispatch(
                _,
                serenity::model::event::Event::Unknown(_)
            )
        ));
        assert_eq!(custom_ids(&posted()), ["fb:up:x", "fb:down:x"]);
    }
}
