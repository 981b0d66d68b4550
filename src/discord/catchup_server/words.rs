//! The fixed words of the server-wide `/catchup` reply, per output language (a table beside the
//! feature, like the builtin summarizer's phrases). A language without its own row uses English.

use crate::summarize::lang::{Lang, Plural};

/// The words of one language. Templates mark what is filled in with `{name}`.
#[derive(Debug)]
pub struct Words {
    /// Embed title: how many channels are listed.
    pub title: Plural,
    /// Messages mentioning the member or their roles.
    pub mentions: Plural,
    /// Replies to the member's messages.
    pub replies: Plural,
    /// The channel is a thread the member posted in.
    pub posted_thread: &'static str,
    /// Label of the link to the first new message.
    pub jump: &'static str,
    /// Channels with news that are not listed.
    pub more: Plural,
    /// Footer: since the member's last message in the server, `{ago}` ago, at `{time}`.
    pub since: &'static str,
    /// Footer: no message of theirs in the server within `{cap}`, so the last `{hours}` hours.
    pub last: &'static str,
    /// Nothing new in any channel they can read; `{since}` is one of the two notes above.
    pub nothing: &'static str,
}

/// The words for `lang`.
pub fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::De => &DE,
        Lang::Fr => &FR,
        Lang::Es => &ES,
        _ => &EN,
    }
}

static EN: Words = Words {
    title: Plural {
        one: "What you missed: {n} channel",
        few: "What you missed: {n} channels",
        many: "What you missed: {n} channels",
    },
    mentions: Plural {
        one: "{n} mention of you",
        few: "{n} mentions of you",
        many: "{n} mentions of you",
    },
    replies: Plural {
        one: "{n} reply to you",
        few: "{n} replies to you",
        many: "{n} replies to you",
    },
    posted_thread: "a thread you posted in",
    jump: "jump",
    more: Plural {
        one: "+{n} more channel with new messages.",
        few: "+{n} more channels with new messages.",
        many: "+{n} more channels with new messages.",
    },
    since: "since your last message in this server, {ago} ago ({time})",
    last: "last {hours} h (you haven't written in this server in the last {cap})",
    nothing: "Nothing new in the channels you can read: {since}.",
};

static DE: Words = Words {
    title: Plural {
        one: "Verpasst: {n} Kanal",
        few: "Verpasst: {n} Kanäle",
        many: "Verpasst: {n} Kanäle",
    },
    mentions: Plural {
        one: "{n} Erwähnung von dir",
        few: "{n} Erwähnungen von dir",
        many: "{n} Erwähnungen von dir",
    },
    replies: Plural {
        one: "{n} Antwort an dich",
        few: "{n} Antworten an dich",
        many: "{n} Antworten an dich",
    },
    posted_thread: "ein Thread, in dem du geschrieben hast",
    jump: "hinspringen",
    more: Plural {
        one: "+{n} weiterer Kanal mit neuen Nachrichten.",
        few: "+{n} weitere Kanäle mit neuen Nachrichten.",
        many: "+{n} weitere Kanäle mit neuen Nachrichten.",
    },
    since: "seit deiner letzten Nachricht auf diesem Server vor {ago} ({time})",
    last: "letzte {hours} h (du hast auf diesem Server in den letzten {cap} nichts geschrieben)",
    nothing: "Nichts Neues in den Kanälen, die du lesen kannst: {since}.",
};

static FR: Words = Words {
    title: Plural {
        one: "Ce que tu as manqué : {n} salon",
        few: "Ce que tu as manqué : {n} salons",
        many: "Ce que tu as manqué : {n} salons",
    },
    mentions: Plural {
        one: "{n} mention de toi",
        few: "{n} mentions de toi",
        many: "{n} mentions de toi",
    },
    replies: Plural {
        one: "{n} réponse à toi",
        few: "{n} réponses à toi",
        many: "{n} réponses à toi",
    },
    posted_thread: "un fil où tu as écrit",
    jump: "y aller",
    more: Plural {
        one: "+{n} autre salon avec de nouveaux messages.",
        few: "+{n} autres salons avec de nouveaux messages.",
        many: "+{n} autres salons avec de nouveaux messages.",
    },
    since: "depuis ton dernier message sur ce serveur, il y a {ago} ({time})",
    last: "dernières {hours} h (tu n'as rien écrit sur ce serveur depuis {cap})",
    nothing: "Rien de nouveau dans les salons que tu peux lire : {since}.",
};

static ES: Words = Words {
    title: Plural {
        one: "Lo que te perdiste: {n} canal",
        few: "Lo que te perdiste: {n} canales",
        many: "Lo que te perdiste: {n} canales",
    },
    mentions: Plural {
        one: "{n} mención tuya",
        few: "{n} menciones tuyas",
        many: "{n} menciones tuyas",
    },
    replies: Plural {
        one: "{n} respuesta a ti",
        few: "{n} respuestas a ti",
        many: "{n} respuestas a ti",
    },
    posted_thread: "un hilo en el que escribiste",
    jump: "ir",
    more: Plural {
        one: "+{n} canal más con mensajes nuevos.",
        few: "+{n} canales más con mensajes nuevos.",
        many: "+{n} canales más con mensajes nuevos.",
    },
    since: "desde tu último mensaje en este servidor, hace {ago} ({time})",
    last: "últimas {hours} h (no has escrito en este servidor en las últimas {cap})",
    nothing: "Nada nuevo en los canales que puedes leer: {since}.",
};

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(w: &Words) -> Vec<(&'static str, &'static str)> {
        let mut all = Vec::new();
        for (name, p) in [
            ("title", &w.title),
            ("mentions", &w.mentions),
            ("replies", &w.replies),
            ("more", &w.more),
        ] {
            all.extend([(name, p.one), (name, p.few), (name, p.many)]);
        }
        all.extend([
            ("posted_thread", w.posted_thread),
            ("jump", w.jump),
            ("since", w.since),
            ("last", w.last),
            ("nothing", w.nothing),
        ]);
        all
    }

    #[test]
    fn every_language_has_every_word_with_the_same_placeholders() {
        let english = fields(&EN);
        for lang in Lang::ALL {
            for ((key, text), (_, en)) in fields(words(lang)).iter().zip(&english) {
                assert!(!text.trim().is_empty(), "{lang:?} {key}");
                for p in ["{n}", "{ago}", "{time}", "{hours}", "{cap}", "{since}"] {
                    assert_eq!(text.contains(p), en.contains(p), "{lang:?} {key} {p}");
                }
            }
        }
        assert_eq!(
            Lang::De.count(&words(Lang::De).mentions, 2),
            "2 Erwähnungen von dir"
        );
    }
}
