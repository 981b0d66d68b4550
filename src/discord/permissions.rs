//! Channel permissions as Discord computes them (base role permissions, then `@everyone`, role
//! and member overwrites), and the check `/summarize` and `!summary` run before reading anything.
//! Pure: plain bit sets in, a verdict out; the serenity adapter feeds it.

/// `ADMINISTRATOR`: every permission, overwrites ignored.
pub const ADMINISTRATOR: u64 = 1 << 3;
/// `MANAGE_CHANNELS`.
pub const MANAGE_CHANNELS: u64 = 1 << 4;
/// `MANAGE_GUILD` ("Manage Server").
pub const MANAGE_GUILD: u64 = 1 << 5;
/// `VIEW_CHANNEL`.
pub const VIEW_CHANNEL: u64 = 1 << 10;
/// `SEND_MESSAGES`.
pub const SEND_MESSAGES: u64 = 1 << 11;
/// `EMBED_LINKS`.
pub const EMBED_LINKS: u64 = 1 << 14;
/// Send Messages in Threads (what posting in a thread needs instead of Send Messages).
pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
/// `READ_MESSAGE_HISTORY`.
pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
/// Every permission bit.
pub const ALL: u64 = u64::MAX;

/// What reading a channel's history needs, with the names shown in refusals.
const NEEDED_TO_READ: [(u64, &str); 2] = [
    (VIEW_CHANNEL, "View Channel"),
    (READ_MESSAGE_HISTORY, "Read Message History"),
];

/// Who a permission overwrite applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A role (the `@everyone` role has the guild's id).
    Role(u64),
    /// One member.
    Member(u64),
}

/// One channel permission overwrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overwrite {
    /// Role or member it applies to.
    pub target: Target,
    /// Bits granted.
    pub allow: u64,
    /// Bits removed.
    pub deny: u64,
}

/// What is needed to compute one member's permissions in one channel.
#[derive(Clone, Debug, Default)]
pub struct MemberContext<'a> {
    /// The guild id (also the id of its `@everyone` role).
    pub guild_id: u64,
    /// The guild owner.
    pub owner_id: u64,
    /// The member.
    pub user_id: u64,
    /// Permissions of `@everyone`.
    pub everyone: u64,
    /// Permissions of each role the member has (not `@everyone`).
    pub roles: &'a [(u64, u64)],
    /// The channel's overwrites (a thread uses its parent's).
    pub overwrites: &'a [Overwrite],
}

/// The member's permission bits in the channel (Discord's documented algorithm).
pub fn compute(ctx: &MemberContext<'_>) -> u64 {
    if ctx.user_id == ctx.owner_id {
        return ALL;
    }
    let base = ctx.roles.iter().fold(ctx.everyone, |acc, (_, p)| acc | p);
    if base & ADMINISTRATOR != 0 {
        return ALL;
    }
    let mut perms = base;
    let find = |t: Target| ctx.overwrites.iter().find(|o| o.target == t);
    if let Some(o) = find(Target::Role(ctx.guild_id)) {
        perms = (perms & !o.deny) | o.allow;
    }
    let (mut allow, mut deny) = (0, 0);
    for (role, _) in ctx.roles {
        if let Some(o) = find(Target::Role(*role)) {
            allow |= o.allow;
            deny |= o.deny;
        }
    }
    perms = (perms & !deny) | allow;
    if let Some(o) = find(Target::Member(ctx.user_id)) {
        perms = (perms & !o.deny) | o.allow;
    }
    perms
}

/// The first permission missing to read a channel's history, by its user-facing name.
pub fn missing_to_read(perms: u64) -> Option<&'static str> {
    if perms & ADMINISTRATOR != 0 {
        return None;
    }
    NEEDED_TO_READ
        .iter()
        .find(|(bit, _)| perms & bit == 0)
        .map(|(_, name)| *name)
}

/// The first permission missing to post a summary (a message of embeds) in a channel, or in a
/// thread (which needs Send Messages in Threads instead of Send Messages), by its user-facing
/// name (Create Message: <https://discord.com/developers/docs/resources/message#create-message>).
pub fn missing_to_post(perms: u64, thread: bool) -> Option<&'static str> {
    missing_to_send(perms, thread).or((!has(perms, EMBED_LINKS)).then_some("Embed Links"))
}

/// The first permission missing to send a plain text message in a channel or thread.
pub fn missing_to_send(perms: u64, thread: bool) -> Option<&'static str> {
    let send = if thread {
        (SEND_MESSAGES_IN_THREADS, "Send Messages in Threads")
    } else {
        (SEND_MESSAGES, "Send Messages")
    };
    [(VIEW_CHANNEL, "View Channel"), send]
        .iter()
        .find(|(bit, _)| !has(perms, *bit))
        .map(|(_, name)| *name)
}

/// True when a message may be sent as a reply (`message_reference`) with `perms`: Discord
/// refuses a reply without Read Message History (403 Missing Permissions).
pub fn may_reply(perms: u64) -> bool {
    has(perms, READ_MESSAGE_HISTORY)
}

/// True when `perms` include `bit` (administrators have every permission).
pub fn has(perms: u64, bit: u64) -> bool {
    perms & (bit | ADMINISTRATOR) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUILD: u64 = 1;
    const STAFF: u64 = 2;
    const USER: u64 = 3;
    const BASE: u64 = VIEW_CHANNEL | READ_MESSAGE_HISTORY | SEND_MESSAGES;

    fn ctx<'a>(roles: &'a [(u64, u64)], overwrites: &'a [Overwrite]) -> MemberContext<'a> {
        MemberContext {
            guild_id: GUILD,
            owner_id: 99,
            user_id: USER,
            everyone: BASE,
            roles,
            overwrites,
        }
    }

    fn hide_from_everyone_show_staff() -> [Overwrite; 2] {
        [
            Overwrite {
                target: Target::Role(GUILD),
                allow: 0,
                deny: VIEW_CHANNEL,
            },
            Overwrite {
                target: Target::Role(STAFF),
                allow: VIEW_CHANNEL,
                deny: 0,
            },
        ]
    }

    #[test]
    fn everyone_overwrite_hides_and_role_overwrite_restores() {
        let ow = hide_from_everyone_show_staff();
        let plain = compute(&ctx(&[], &ow));
        assert_eq!(missing_to_read(plain), Some("View Channel"));
        let staff = compute(&ctx(&[(STAFF, 0)], &ow));
        assert_eq!(missing_to_read(staff), None);
    }

    #[test]
    fn member_overwrite_wins_over_roles() {
        let mut ow = hide_from_everyone_show_staff().to_vec();
        ow.push(Overwrite {
            target: Target::Member(USER),
            allow: 0,
            deny: READ_MESSAGE_HISTORY,
        });
        let perms = compute(&ctx(&[(STAFF, 0)], &ow));
        assert_eq!(missing_to_read(perms), Some("Read Message History"));
    }

    #[test]
    fn role_allow_beats_role_deny_on_the_same_level() {
        let ow = [
            Overwrite {
                target: Target::Role(STAFF),
                allow: 0,
                deny: VIEW_CHANNEL,
            },
            Overwrite {
                target: Target::Role(5),
                allow: VIEW_CHANNEL,
                deny: 0,
            },
        ];
        let perms = compute(&ctx(&[(STAFF, 0), (5, 0)], &ow));
        assert_eq!(missing_to_read(perms), None);
    }

    #[test]
    fn administrators_and_owners_bypass_overwrites() {
        let ow = hide_from_everyone_show_staff();
        assert_eq!(compute(&ctx(&[(7, ADMINISTRATOR)], &ow)), ALL);
        let mut owner = ctx(&[], &ow);
        owner.owner_id = USER;
        assert_eq!(compute(&owner), ALL);
    }

    #[test]
    fn has_checks_one_bit_or_administrator() {
        assert!(has(MANAGE_GUILD, MANAGE_GUILD));
        assert!(has(ADMINISTRATOR, MANAGE_CHANNELS));
        assert!(!has(MANAGE_CHANNELS | VIEW_CHANNEL, MANAGE_GUILD));
    }

    #[test]
    fn posting_needs_send_messages_or_its_thread_variant_and_embed_links() {
        let base = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS;
        assert_eq!(missing_to_post(base, false), None);
        assert_eq!(
            missing_to_post(base, true),
            Some("Send Messages in Threads")
        );
        assert_eq!(
            missing_to_post(base & !SEND_MESSAGES | SEND_MESSAGES_IN_THREADS, true),
            None
        );
        assert_eq!(
            missing_to_post(base & !EMBED_LINKS, false),
            Some("Embed Links")
        );
        assert_eq!(missing_to_post(0, false), Some("View Channel"));
        assert_eq!(missing_to_post(ADMINISTRATOR, true), None);
        assert!(may_reply(READ_MESSAGE_HISTORY) && !may_reply(base));
    }

    #[test]
    fn missing_names_the_first_absent_permission() {
        assert_eq!(missing_to_read(0), Some("View Channel"));
        assert_eq!(missing_to_read(VIEW_CHANNEL), Some("Read Message History"));
        assert_eq!(missing_to_read(ADMINISTRATOR), None);
    }
}
