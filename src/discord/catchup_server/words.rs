//! The fixed words of the server-wide `/catchup` reply, per output language (a table beside the
//! feature, like the builtin summarizer's phrases), in the 12 languages of [`Lang`].

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
        Lang::Pt => &PT,
        Lang::It => &IT,
        Lang::Nl => &NL,
        Lang::Pl => &PL,
        Lang::Ru => &RU,
        Lang::Ja => &JA,
        Lang::Zh => &ZH,
        Lang::Ko => &KO,
        Lang::En => &EN,
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

static PT: Words = Words {
    title: Plural {
        one: "O que você perdeu: {n} canal",
        few: "O que você perdeu: {n} canais",
        many: "O que você perdeu: {n} canais",
    },
    mentions: Plural {
        one: "{n} menção a você",
        few: "{n} menções a você",
        many: "{n} menções a você",
    },
    replies: Plural {
        one: "{n} resposta a você",
        few: "{n} respostas a você",
        many: "{n} respostas a você",
    },
    posted_thread: "um tópico em que você escreveu",
    jump: "ir",
    more: Plural {
        one: "+{n} outro canal com mensagens novas.",
        few: "+{n} outros canais com mensagens novas.",
        many: "+{n} outros canais com mensagens novas.",
    },
    since: "desde a sua última mensagem neste servidor, há {ago} ({time})",
    last: "últimas {hours} h (você não escreveu neste servidor nas últimas {cap})",
    nothing: "Nada de novo nos canais que você pode ler: {since}.",
};

static IT: Words = Words {
    title: Plural {
        one: "Cosa ti sei perso: {n} canale",
        few: "Cosa ti sei perso: {n} canali",
        many: "Cosa ti sei perso: {n} canali",
    },
    mentions: Plural {
        one: "{n} menzione di te",
        few: "{n} menzioni di te",
        many: "{n} menzioni di te",
    },
    replies: Plural {
        one: "{n} risposta a te",
        few: "{n} risposte a te",
        many: "{n} risposte a te",
    },
    posted_thread: "un thread in cui hai scritto",
    jump: "vai",
    more: Plural {
        one: "+{n} altro canale con nuovi messaggi.",
        few: "+{n} altri canali con nuovi messaggi.",
        many: "+{n} altri canali con nuovi messaggi.",
    },
    since: "dal tuo ultimo messaggio in questo server, {ago} fa ({time})",
    last: "ultime {hours} h (non hai scritto in questo server nelle ultime {cap})",
    nothing: "Niente di nuovo nei canali che puoi leggere: {since}.",
};

static NL: Words = Words {
    title: Plural {
        one: "Wat je gemist hebt: {n} kanaal",
        few: "Wat je gemist hebt: {n} kanalen",
        many: "Wat je gemist hebt: {n} kanalen",
    },
    mentions: Plural {
        one: "{n} vermelding van jou",
        few: "{n} vermeldingen van jou",
        many: "{n} vermeldingen van jou",
    },
    replies: Plural {
        one: "{n} antwoord aan jou",
        few: "{n} antwoorden aan jou",
        many: "{n} antwoorden aan jou",
    },
    posted_thread: "een thread waarin je schreef",
    jump: "ga naar",
    more: Plural {
        one: "+{n} ander kanaal met nieuwe berichten.",
        few: "+{n} andere kanalen met nieuwe berichten.",
        many: "+{n} andere kanalen met nieuwe berichten.",
    },
    since: "sinds je laatste bericht op deze server, {ago} geleden ({time})",
    last: "laatste {hours} u (je hebt op deze server de laatste {cap} niets geschreven)",
    nothing: "Niets nieuws in de kanalen die je kunt lezen: {since}.",
};

static PL: Words = Words {
    title: Plural {
        one: "Co cię ominęło: {n} kanał",
        few: "Co cię ominęło: {n} kanały",
        many: "Co cię ominęło: {n} kanałów",
    },
    mentions: Plural {
        one: "{n} wzmianka o tobie",
        few: "{n} wzmianki o tobie",
        many: "{n} wzmianek o tobie",
    },
    replies: Plural {
        one: "{n} odpowiedź do ciebie",
        few: "{n} odpowiedzi do ciebie",
        many: "{n} odpowiedzi do ciebie",
    },
    posted_thread: "wątek, w którym pisałeś",
    jump: "przejdź",
    more: Plural {
        one: "+{n} kanał więcej z nowymi wiadomościami.",
        few: "+{n} kanały więcej z nowymi wiadomościami.",
        many: "+{n} kanałów więcej z nowymi wiadomościami.",
    },
    since: "od twojej ostatniej wiadomości na tym serwerze, {ago} temu ({time})",
    last: "ostatnie {hours} h (nie pisałeś na tym serwerze przez ostatnie {cap})",
    nothing: "Nic nowego w kanałach, które możesz czytać: {since}.",
};

static RU: Words = Words {
    title: Plural {
        one: "Что вы пропустили: {n} канал",
        few: "Что вы пропустили: {n} канала",
        many: "Что вы пропустили: {n} каналов",
    },
    mentions: Plural {
        one: "{n} упоминание вас",
        few: "{n} упоминания вас",
        many: "{n} упоминаний вас",
    },
    replies: Plural {
        one: "{n} ответ вам",
        few: "{n} ответа вам",
        many: "{n} ответов вам",
    },
    posted_thread: "ветка, в которой вы писали",
    jump: "перейти",
    more: Plural {
        one: "+ещё {n} канал с новыми сообщениями.",
        few: "+ещё {n} канала с новыми сообщениями.",
        many: "+ещё {n} каналов с новыми сообщениями.",
    },
    since: "с вашего последнего сообщения на этом сервере, {ago} назад ({time})",
    last: "последние {hours} ч (вы не писали на этом сервере последние {cap})",
    nothing: "Ничего нового в каналах, которые вы можете читать: {since}.",
};

static JA: Words = Words {
    title: Plural {
        one: "見逃した内容: {n} チャンネル",
        few: "見逃した内容: {n} チャンネル",
        many: "見逃した内容: {n} チャンネル",
    },
    mentions: Plural {
        one: "あなたへのメンション {n} 件",
        few: "あなたへのメンション {n} 件",
        many: "あなたへのメンション {n} 件",
    },
    replies: Plural {
        one: "あなたへの返信 {n} 件",
        few: "あなたへの返信 {n} 件",
        many: "あなたへの返信 {n} 件",
    },
    posted_thread: "あなたが投稿したスレッド",
    jump: "移動",
    more: Plural {
        one: "新しいメッセージのあるチャンネルがあと {n} 件あります。",
        few: "新しいメッセージのあるチャンネルがあと {n} 件あります。",
        many: "新しいメッセージのあるチャンネルがあと {n} 件あります。",
    },
    since: "このサーバーでのあなたの最後のメッセージ以降（{ago} 前、{time}）",
    last: "過去 {hours} 時間（このサーバーでは過去 {cap} 投稿していません）",
    nothing: "読めるチャンネルに新しいものはありません: {since}。",
};

static ZH: Words = Words {
    title: Plural {
        one: "你错过的内容：{n} 个频道",
        few: "你错过的内容：{n} 个频道",
        many: "你错过的内容：{n} 个频道",
    },
    mentions: Plural {
        one: "提及你 {n} 次",
        few: "提及你 {n} 次",
        many: "提及你 {n} 次",
    },
    replies: Plural {
        one: "回复你 {n} 条",
        few: "回复你 {n} 条",
        many: "回复你 {n} 条",
    },
    posted_thread: "你发过言的子区",
    jump: "跳转",
    more: Plural {
        one: "还有 {n} 个频道有新消息。",
        few: "还有 {n} 个频道有新消息。",
        many: "还有 {n} 个频道有新消息。",
    },
    since: "自你在本服务器的最后一条消息以来（{ago} 前，{time}）",
    last: "最近 {hours} 小时（你在最近 {cap} 内没有在本服务器发言）",
    nothing: "你可以阅读的频道中没有新内容：{since}。",
};

static KO: Words = Words {
    title: Plural {
        one: "놓친 내용: 채널 {n}개",
        few: "놓친 내용: 채널 {n}개",
        many: "놓친 내용: 채널 {n}개",
    },
    mentions: Plural {
        one: "나를 멘션 {n}회",
        few: "나를 멘션 {n}회",
        many: "나를 멘션 {n}회",
    },
    replies: Plural {
        one: "나에게 답장 {n}개",
        few: "나에게 답장 {n}개",
        many: "나에게 답장 {n}개",
    },
    posted_thread: "내가 글을 쓴 스레드",
    jump: "이동",
    more: Plural {
        one: "새 메시지가 있는 채널 {n}개가 더 있습니다.",
        few: "새 메시지가 있는 채널 {n}개가 더 있습니다.",
        many: "새 메시지가 있는 채널 {n}개가 더 있습니다.",
    },
    since: "이 서버에서 마지막으로 보낸 메시지 이후 ({ago} 전, {time})",
    last: "최근 {hours}시간 (최근 {cap} 동안 이 서버에 글을 쓰지 않았습니다)",
    nothing: "읽을 수 있는 채널에 새 소식이 없습니다: {since}.",
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
