//! The reader's language: which of the supported languages a user means by what they typed
//! (`German`, `de`, `Deutsch`, `pt-BR`, any case), and the fixed words summarybot itself writes
//! around a summary (headings, labels, footers, notes) in each of them.
//!
//! A language that is not in the table is still passed to the LLM, which writes in it; the text
//! summarybot writes itself then stays English (see [`keeps_english_note`]).

use crate::model::SectionKind;

/// A language summarybot's own words are translated into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English (the default).
    En,
    /// German.
    De,
    /// French.
    Fr,
    /// Spanish.
    Es,
    /// Portuguese.
    Pt,
    /// Italian.
    It,
    /// Dutch.
    Nl,
    /// Polish.
    Pl,
    /// Russian.
    Ru,
    /// Japanese.
    Ja,
    /// Chinese (simplified).
    Zh,
    /// Korean.
    Ko,
}

impl Lang {
    /// Every supported language.
    pub const ALL: [Self; 12] = [
        Self::En,
        Self::De,
        Self::Fr,
        Self::Es,
        Self::Pt,
        Self::It,
        Self::Nl,
        Self::Pl,
        Self::Ru,
        Self::Ja,
        Self::Zh,
        Self::Ko,
    ];

    /// The language a user means by `text` (a name in English or in the language itself, or an
    /// ISO 639-1 code, optionally with a region such as `pt-BR`; any case), if it is supported.
    /// The first word naming a language decides, so `Brazilian Portuguese` and
    /// `Portuguese (Brazil)` are Portuguese.
    pub fn resolve(text: &str) -> Option<Self> {
        let lower = text.trim().to_lowercase();
        lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .find_map(|word| {
                Self::ALL
                    .into_iter()
                    .find(|l| l.code() == word || l.aliases().contains(&word))
            })
    }

    /// The language to write summarybot's own words in for an output language setting: the
    /// resolved one, else English (no setting, or a language not in the table).
    pub fn for_output(language: Option<&str>) -> Self {
        language.and_then(Self::resolve).unwrap_or(Self::En)
    }

    /// ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
            Self::Fr => "fr",
            Self::Es => "es",
            Self::Pt => "pt",
            Self::It => "it",
            Self::Nl => "nl",
            Self::Pl => "pl",
            Self::Ru => "ru",
            Self::Ja => "ja",
            Self::Zh => "zh",
            Self::Ko => "ko",
        }
    }

    /// The language's English name (as the prompt names it).
    pub fn english_name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::De => "German",
            Self::Fr => "French",
            Self::Es => "Spanish",
            Self::Pt => "Portuguese",
            Self::It => "Italian",
            Self::Nl => "Dutch",
            Self::Pl => "Polish",
            Self::Ru => "Russian",
            Self::Ja => "Japanese",
            Self::Zh => "Chinese",
            Self::Ko => "Korean",
        }
    }

    /// Lower-case names users type for this language (see [`ALIASES`]).
    fn aliases(self) -> &'static [&'static str] {
        ALIASES
            .iter()
            .find(|(l, _)| *l == self)
            .map_or(&[], |(_, names)| names)
    }

    /// The fixed words in this language.
    pub fn strings(self) -> &'static Strings {
        match self {
            Self::En => &EN,
            Self::De => &DE,
            Self::Fr => &FR,
            Self::Es => &ES,
            Self::Pt => &PT,
            Self::It => &IT,
            Self::Nl => &NL,
            Self::Pl => &PL,
            Self::Ru => &RU,
            Self::Ja => &JA,
            Self::Zh => &ZH,
            Self::Ko => &KO,
        }
    }

    /// Which plural form a count takes.
    fn plural_form(self, n: usize) -> PluralForm {
        let (mod10, mod100) = (n % 10, n % 100);
        let few = (2..=4).contains(&mod10) && !(12..=14).contains(&mod100);
        let one = match self {
            Self::Ja | Self::Zh | Self::Ko => false,
            Self::Fr => n <= 1,
            Self::Ru => mod10 == 1 && mod100 != 11,
            _ => n == 1,
        };
        if one {
            PluralForm::One
        } else if few && matches!(self, Self::Ru | Self::Pl) {
            PluralForm::Few
        } else {
            PluralForm::Many
        }
    }

    /// `forms` with the count filled in, in the form the count takes in this language.
    pub fn count(self, forms: &Plural, n: usize) -> String {
        let template = match self.plural_form(n) {
            PluralForm::One => forms.one,
            PluralForm::Few => forms.few,
            PluralForm::Many => forms.many,
        };
        template.replace("{n}", &n.to_string())
    }
}

/// Lower-case names users type for each language (besides its code): in English, in the
/// language itself and in the other supported languages.
const ALIASES: [(Lang, &[&str]); 12] = [
    (
        Lang::En,
        &[
            "english",
            "englisch",
            "anglais",
            "inglés",
            "ingles",
            "inglês",
            "inglese",
            "engels",
            "angielski",
            "английский",
            "英語",
            "英语",
            "영어",
        ],
    ),
    (
        Lang::De,
        &[
            "german",
            "deutsch",
            "allemand",
            "alemán",
            "aleman",
            "alemão",
            "tedesco",
            "duits",
            "niemiecki",
            "немецкий",
            "ドイツ語",
            "德语",
            "德語",
            "독일어",
        ],
    ),
    (
        Lang::Fr,
        &[
            "french",
            "français",
            "francais",
            "französisch",
            "francés",
            "frances",
            "francês",
            "francese",
            "frans",
            "francuski",
            "французский",
            "フランス語",
            "法语",
            "法語",
            "프랑스어",
        ],
    ),
    (
        Lang::Es,
        &[
            "spanish",
            "español",
            "espanol",
            "castellano",
            "spanisch",
            "espagnol",
            "espanhol",
            "spagnolo",
            "spaans",
            "hiszpański",
            "испанский",
            "スペイン語",
            "西班牙语",
            "西班牙語",
            "스페인어",
        ],
    ),
    (
        Lang::Pt,
        &[
            "portuguese",
            "português",
            "portugues",
            "portugiesisch",
            "portugais",
            "portugués",
            "portoghese",
            "portugees",
            "portugalski",
            "португальский",
            "ポルトガル語",
            "葡萄牙语",
            "葡萄牙語",
            "포르투갈어",
        ],
    ),
    (
        Lang::It,
        &[
            "italian",
            "italiano",
            "italienisch",
            "italien",
            "italiaans",
            "włoski",
            "итальянский",
            "イタリア語",
            "意大利语",
            "義大利語",
            "이탈리아어",
        ],
    ),
    (
        Lang::Nl,
        &[
            "dutch",
            "nederlands",
            "flemish",
            "vlaams",
            "niederländisch",
            "néerlandais",
            "neerlandés",
            "holandês",
            "olandese",
            "holenderski",
            "нидерландский",
            "голландский",
            "オランダ語",
            "荷兰语",
            "荷蘭語",
            "네덜란드어",
        ],
    ),
    (
        Lang::Pl,
        &[
            "polish",
            "polski",
            "polnisch",
            "polonais",
            "polaco",
            "polacco",
            "pools",
            "польский",
            "ポーランド語",
            "波兰语",
            "波蘭語",
            "폴란드어",
        ],
    ),
    (
        Lang::Ru,
        &[
            "russian",
            "русский",
            "russisch",
            "russe",
            "ruso",
            "russo",
            "rosyjski",
            "ロシア語",
            "俄语",
            "俄語",
            "러시아어",
        ],
    ),
    (
        Lang::Ja,
        &[
            "japanese",
            "日本語",
            "japanisch",
            "japonais",
            "japonés",
            "japones",
            "japonês",
            "giapponese",
            "japans",
            "japoński",
            "японский",
            "日语",
            "日語",
            "일본어",
        ],
    ),
    (
        Lang::Zh,
        &[
            "chinese",
            "mandarin",
            "中文",
            "汉语",
            "漢語",
            "简体中文",
            "繁體中文",
            "普通话",
            "chinesisch",
            "chinois",
            "chino",
            "chinês",
            "cinese",
            "chinees",
            "chiński",
            "китайский",
            "中国語",
            "중국어",
        ],
    ),
    (
        Lang::Ko,
        &[
            "korean",
            "한국어",
            "조선말",
            "koreanisch",
            "coréen",
            "coreen",
            "coreano",
            "koreaans",
            "koreański",
            "корейский",
            "韓国語",
            "韩语",
            "韓語",
        ],
    ),
];

/// Plural categories the supported languages need.
enum PluralForm {
    One,
    Few,
    Many,
}

/// A phrase with a count `{n}`: singular, "few" (Polish and Russian 2–4, 22–24 …) and the rest.
#[derive(Debug)]
pub struct Plural {
    /// For one.
    pub one: &'static str,
    /// For 2–4 (and 22–24 …) in Polish and Russian; other languages repeat `many`.
    pub few: &'static str,
    /// For every other count.
    pub many: &'static str,
}

/// The fixed words of one language. Templates mark what is filled in with `{name}`.
#[derive(Debug)]
pub struct Strings {
    /// Section headings in [`SectionKind`] order: key points, decisions, action items, open
    /// questions, technical details, code changes, links, threads.
    pub sections: [&'static str; 8],
    /// Header label before the participant names.
    pub participants: &'static str,
    /// Header count of messages.
    pub messages: Plural,
    /// Title of the Discord embed: `{channel}` is `#name`.
    pub summary_of: &'static str,
    /// Shown instead of sections for a window without messages.
    pub no_messages: &'static str,
    /// Shown instead of sections when nothing stood out.
    pub nothing_stood_out: &'static str,
    /// The builtin stood in for the LLM: `{reason}` is the (English) error.
    pub fallback: &'static str,
    /// Label before a note in plain text.
    pub note: &'static str,
    /// Title of the source list in plain text.
    pub sources: &'static str,
    /// Footer mark of a summary served from the cache.
    pub cached: &'static str,
    /// Footer note: this many secrets were withheld from the LLM.
    pub withheld: Plural,
    /// Footer note: this many older messages of the window were left out
    /// (`summary.max_window_messages`).
    pub left_out: Plural,
    /// What joins the last two names of a list, spaces included (" and ").
    pub and: &'static str,
    /// What joins the other names of a list (", ").
    pub list_sep: &'static str,
    /// Link label of a thread without a name.
    pub unnamed_thread: &'static str,
    /// A digest's note for a day without messages: `{channels}` and `{since}` are filled in.
    pub quiet_day: &'static str,
    /// `/catchup` footer: since the member's last message here, `{ago}` ago, at `{time}`.
    pub catchup_since: &'static str,
    /// `/catchup` footer: no message of theirs within `{cap}`, so the last `{hours}` hours.
    pub catchup_last: &'static str,
    /// Note on a summary of stored messages only, with no Discord connection to complete it.
    pub stored_only_offline: &'static str,
    /// Note on a summary of stored messages only, because fetching the rest failed.
    pub stored_only_fetch_failed: &'static str,
}

impl Strings {
    /// The heading of a section.
    pub fn section(&self, kind: SectionKind) -> &'static str {
        self.sections[section_index(kind)]
    }

    /// "Alex, Bo and Kim": names joined with commas and the word for "and".
    pub fn join_names(&self, names: &[&str]) -> String {
        match names {
            [] => String::new(),
            [one] => (*one).to_string(),
            [init @ .., last] => format!("{}{}{last}", init.join(self.list_sep), self.and),
        }
    }
}

/// Position of a section in [`Strings::sections`].
fn section_index(kind: SectionKind) -> usize {
    match kind {
        SectionKind::KeyPoints => 0,
        SectionKind::Decisions => 1,
        SectionKind::ActionItems => 2,
        SectionKind::OpenQuestions => 3,
        SectionKind::Technical => 4,
        SectionKind::CodeChanges => 5,
        SectionKind::Links => 6,
        SectionKind::Threads => 7,
    }
}

/// The sentence (in English, since the language is unknown to it) the builtin summary shows when
/// it was asked for a language it has no words for; None when the language is supported or unset.
pub fn keeps_english_note(language: Option<&str>) -> Option<String> {
    let name = crate::text::one_line(language?);
    if name.is_empty() || Lang::resolve(&name).is_some() {
        return None;
    }
    Some(format!(
        "The offline builtin summarizer has no words for \"{name}\", so its own text stays in English."
    ))
}

/// The section a heading written in any supported language names: a heading of the table,
/// or a part of one such as "Entscheidungen" (whole words; CJK text by characters, at least
/// two), compared on [`normalize_heading`]d text. Never [`SectionKind::Threads`].
pub fn section_by_heading(normalized: &str) -> Option<SectionKind> {
    if normalized.is_empty() {
        return None;
    }
    let mut partial = None;
    for lang in Lang::ALL {
        for kind in SectionKind::ALL {
            let title = normalize_heading(lang.strings().section(kind));
            if title == normalized {
                return Some(kind);
            }
            if partial.is_none() && (part_of(normalized, &title) || part_of(&title, normalized)) {
                partial = Some(kind);
            }
        }
    }
    partial
}

/// `needle` is a run of whole words of `haystack` (for CJK text, a substring of at least two
/// characters; for other text, at least four characters).
fn part_of(needle: &str, haystack: &str) -> bool {
    let chars = needle.chars().count();
    if needle.chars().any(is_cjk) {
        return chars >= 2 && haystack.contains(needle);
    }
    if chars < 4 {
        return false;
    }
    let words: Vec<&str> = haystack.split(' ').collect();
    let parts: Vec<&str> = needle.split(' ').collect();
    words.windows(parts.len()).any(|w| w == parts.as_slice())
}

/// A Chinese, Japanese or Korean character (words are not separated by spaces).
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{2e80}'..='\u{9fff}' | '\u{ac00}'..='\u{d7af}' | '\u{f900}'..='\u{faff}')
}

/// Lower-case words of a heading, punctuation and markup removed, single spaces.
pub fn normalize_heading(title: &str) -> String {
    title
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

static EN: Strings = Strings {
    sections: [
        "Key Discussion Points",
        "Important Decisions/Outcomes",
        "Action Items",
        "Open Questions",
        "Technical Details",
        "Code Changes",
        "Links",
        "Threads",
    ],
    participants: "participants",
    messages: Plural {
        one: "{n} message",
        few: "{n} messages",
        many: "{n} messages",
    },
    summary_of: "Summary of {channel}",
    no_messages: "No messages in this window.",
    nothing_stood_out: "Nothing in this window stood out enough to summarize.",
    fallback: "The LLM could not be used ({reason}), so this is the offline builtin summary.",
    note: "Note",
    sources: "Sources",
    cached: "cached",
    withheld: Plural {
        one: "{n} secret withheld from the LLM",
        few: "{n} secrets withheld from the LLM",
        many: "{n} secrets withheld from the LLM",
    },
    left_out: Plural {
        one: "{n} older message left out (window limit)",
        few: "{n} older messages left out (window limit)",
        many: "{n} older messages left out (window limit)",
    },
    and: " and ",
    list_sep: ", ",
    unnamed_thread: "(unnamed thread)",
    quiet_day: "Quiet day: no new messages in {channels} since {since}.",
    catchup_since: "catch-up since your last message here, {ago} ago ({time})",
    catchup_last: "catch-up: last {hours} h (you haven't written here in the last {cap})",
    stored_only_offline: "This summary covers stored messages only (no Discord connection here).",
    stored_only_fetch_failed:
        "This summary covers stored messages only (fetching the rest from Discord failed).",
};

static DE: Strings = Strings {
    sections: [
        "Wichtigste Diskussionspunkte",
        "Wichtige Entscheidungen/Ergebnisse",
        "Aufgaben",
        "Offene Fragen",
        "Technische Details",
        "Codeänderungen",
        "Links",
        "Threads",
    ],
    participants: "Teilnehmende",
    messages: Plural {
        one: "{n} Nachricht",
        few: "{n} Nachrichten",
        many: "{n} Nachrichten",
    },
    summary_of: "Zusammenfassung von {channel}",
    no_messages: "Keine Nachrichten in diesem Zeitraum.",
    nothing_stood_out: "In diesem Zeitraum war nichts wichtig genug für eine Zusammenfassung.",
    fallback: "Das LLM war nicht verfügbar ({reason}), daher ist dies die Offline-Zusammenfassung des eingebauten Verfahrens.",
    note: "Hinweis",
    sources: "Quellen",
    cached: "aus dem Cache",
    withheld: Plural {
        one: "{n} Geheimnis dem LLM vorenthalten",
        few: "{n} Geheimnisse dem LLM vorenthalten",
        many: "{n} Geheimnisse dem LLM vorenthalten",
    },
    left_out: Plural {
        one: "{n} ältere Nachricht ausgelassen (Fensterlimit)",
        few: "{n} ältere Nachrichten ausgelassen (Fensterlimit)",
        many: "{n} ältere Nachrichten ausgelassen (Fensterlimit)",
    },
    and: " und ",
    list_sep: ", ",
    unnamed_thread: "(unbenannter Thread)",
    quiet_day: "Ruhiger Tag: keine neuen Nachrichten in {channels} seit {since}.",
    catchup_since: "Nachholen seit deiner letzten Nachricht hier vor {ago} ({time})",
    catchup_last: "Nachholen: letzte {hours} h (du hast hier in den letzten {cap} nichts geschrieben)",
    stored_only_offline: "Diese Zusammenfassung umfasst nur gespeicherte Nachrichten (hier keine Verbindung zu Discord).",
    stored_only_fetch_failed: "Diese Zusammenfassung umfasst nur gespeicherte Nachrichten (der Rest konnte nicht von Discord geladen werden).",
};

static FR: Strings = Strings {
    sections: [
        "Points clés de la discussion",
        "Décisions/résultats importants",
        "Actions à mener",
        "Questions ouvertes",
        "Détails techniques",
        "Modifications du code",
        "Liens",
        "Fils",
    ],
    participants: "participants",
    messages: Plural {
        one: "{n} message",
        few: "{n} messages",
        many: "{n} messages",
    },
    summary_of: "Résumé de {channel}",
    no_messages: "Aucun message sur cette période.",
    nothing_stood_out: "Rien sur cette période ne méritait d'être résumé.",
    fallback: "Le LLM n'a pas pu être utilisé ({reason}) : voici le résumé hors ligne intégré.",
    note: "Remarque",
    sources: "Sources",
    cached: "en cache",
    withheld: Plural {
        one: "{n} secret caché au LLM",
        few: "{n} secrets cachés au LLM",
        many: "{n} secrets cachés au LLM",
    },
    left_out: Plural {
        one: "{n} message plus ancien omis (limite de la fenêtre)",
        few: "{n} messages plus anciens omis (limite de la fenêtre)",
        many: "{n} messages plus anciens omis (limite de la fenêtre)",
    },
    and: " et ",
    list_sep: ", ",
    unnamed_thread: "(fil sans nom)",
    quiet_day: "Journée calme : aucun nouveau message dans {channels} depuis {since}.",
    catchup_since: "rattrapage depuis ton dernier message ici, il y a {ago} ({time})",
    catchup_last: "rattrapage : dernières {hours} h (tu n'as rien écrit ici depuis {cap})",
    stored_only_offline: "Ce résumé ne couvre que les messages enregistrés (pas de connexion à Discord ici).",
    stored_only_fetch_failed: "Ce résumé ne couvre que les messages enregistrés (la récupération du reste depuis Discord a échoué).",
};

static ES: Strings = Strings {
    sections: [
        "Puntos clave de la discusión",
        "Decisiones/resultados importantes",
        "Tareas pendientes",
        "Preguntas abiertas",
        "Detalles técnicos",
        "Cambios de código",
        "Enlaces",
        "Hilos",
    ],
    participants: "participantes",
    messages: Plural {
        one: "{n} mensaje",
        few: "{n} mensajes",
        many: "{n} mensajes",
    },
    summary_of: "Resumen de {channel}",
    no_messages: "No hay mensajes en este periodo.",
    nothing_stood_out: "Nada en este periodo destacó lo suficiente como para resumirlo.",
    fallback:
        "No se pudo usar el LLM ({reason}), así que este es el resumen integrado sin conexión.",
    note: "Nota",
    sources: "Fuentes",
    cached: "en caché",
    withheld: Plural {
        one: "{n} secreto ocultado al LLM",
        few: "{n} secretos ocultados al LLM",
        many: "{n} secretos ocultados al LLM",
    },
    left_out: Plural {
        one: "{n} mensaje más antiguo omitido (límite de la ventana)",
        few: "{n} mensajes más antiguos omitidos (límite de la ventana)",
        many: "{n} mensajes más antiguos omitidos (límite de la ventana)",
    },
    and: " y ",
    list_sep: ", ",
    unnamed_thread: "(hilo sin nombre)",
    quiet_day: "Día tranquilo: no hay mensajes nuevos en {channels} desde {since}.",
    catchup_since: "resumen desde tu último mensaje aquí, hace {ago} ({time})",
    catchup_last: "resumen: últimas {hours} h (no has escrito aquí en las últimas {cap})",
    stored_only_offline:
        "Este resumen solo cubre los mensajes guardados (aquí no hay conexión con Discord).",
    stored_only_fetch_failed:
        "Este resumen solo cubre los mensajes guardados (no se pudo obtener el resto de Discord).",
};

static PT: Strings = Strings {
    sections: [
        "Principais pontos da discussão",
        "Decisões/resultados importantes",
        "Itens de ação",
        "Perguntas em aberto",
        "Detalhes técnicos",
        "Alterações de código",
        "Links",
        "Tópicos",
    ],
    participants: "participantes",
    messages: Plural {
        one: "{n} mensagem",
        few: "{n} mensagens",
        many: "{n} mensagens",
    },
    summary_of: "Resumo de {channel}",
    no_messages: "Nenhuma mensagem neste período.",
    nothing_stood_out: "Nada neste período se destacou o suficiente para ser resumido.",
    fallback: "Não foi possível usar o LLM ({reason}), então este é o resumo offline integrado.",
    note: "Observação",
    sources: "Fontes",
    cached: "em cache",
    withheld: Plural {
        one: "{n} segredo omitido do LLM",
        few: "{n} segredos omitidos do LLM",
        many: "{n} segredos omitidos do LLM",
    },
    left_out: Plural {
        one: "{n} mensagem mais antiga omitida (limite da janela)",
        few: "{n} mensagens mais antigas omitidas (limite da janela)",
        many: "{n} mensagens mais antigas omitidas (limite da janela)",
    },
    and: " e ",
    list_sep: ", ",
    unnamed_thread: "(tópico sem nome)",
    quiet_day: "Dia tranquilo: nenhuma mensagem nova em {channels} desde {since}.",
    catchup_since: "resumo desde a sua última mensagem aqui, há {ago} ({time})",
    catchup_last: "resumo: últimas {hours} h (você não escreveu aqui nas últimas {cap})",
    stored_only_offline:
        "Este resumo cobre apenas as mensagens armazenadas (sem conexão com o Discord aqui).",
    stored_only_fetch_failed:
        "Este resumo cobre apenas as mensagens armazenadas (falha ao buscar o restante no Discord).",
};

static IT: Strings = Strings {
    sections: [
        "Punti chiave della discussione",
        "Decisioni/esiti importanti",
        "Azioni da intraprendere",
        "Domande aperte",
        "Dettagli tecnici",
        "Modifiche al codice",
        "Link",
        "Thread",
    ],
    participants: "partecipanti",
    messages: Plural {
        one: "{n} messaggio",
        few: "{n} messaggi",
        many: "{n} messaggi",
    },
    summary_of: "Riepilogo di {channel}",
    no_messages: "Nessun messaggio in questo periodo.",
    nothing_stood_out: "Niente in questo periodo era abbastanza rilevante da riassumere.",
    fallback: "Non è stato possibile usare l'LLM ({reason}), quindi questo è il riepilogo offline integrato.",
    note: "Nota",
    sources: "Fonti",
    cached: "dalla cache",
    withheld: Plural {
        one: "{n} segreto nascosto all'LLM",
        few: "{n} segreti nascosti all'LLM",
        many: "{n} segreti nascosti all'LLM",
    },
    left_out: Plural {
        one: "{n} messaggio più vecchio omesso (limite della finestra)",
        few: "{n} messaggi più vecchi omessi (limite della finestra)",
        many: "{n} messaggi più vecchi omessi (limite della finestra)",
    },
    and: " e ",
    list_sep: ", ",
    unnamed_thread: "(thread senza nome)",
    quiet_day: "Giornata tranquilla: nessun nuovo messaggio in {channels} dal {since}.",
    catchup_since: "recupero dal tuo ultimo messaggio qui, {ago} fa ({time})",
    catchup_last: "recupero: ultime {hours} h (non hai scritto qui nelle ultime {cap})",
    stored_only_offline: "Questo riepilogo copre solo i messaggi salvati (qui non c'è connessione a Discord).",
    stored_only_fetch_failed: "Questo riepilogo copre solo i messaggi salvati (il recupero del resto da Discord non è riuscito).",
};

static NL: Strings = Strings {
    sections: [
        "Belangrijkste discussiepunten",
        "Belangrijke besluiten/uitkomsten",
        "Actiepunten",
        "Open vragen",
        "Technische details",
        "Codewijzigingen",
        "Links",
        "Threads",
    ],
    participants: "deelnemers",
    messages: Plural {
        one: "{n} bericht",
        few: "{n} berichten",
        many: "{n} berichten",
    },
    summary_of: "Samenvatting van {channel}",
    no_messages: "Geen berichten in deze periode.",
    nothing_stood_out: "Niets in deze periode was belangrijk genoeg om samen te vatten.",
    fallback: "Het LLM kon niet worden gebruikt ({reason}), dus dit is de ingebouwde offline samenvatting.",
    note: "Opmerking",
    sources: "Bronnen",
    cached: "uit de cache",
    withheld: Plural {
        one: "{n} geheim achtergehouden voor het LLM",
        few: "{n} geheimen achtergehouden voor het LLM",
        many: "{n} geheimen achtergehouden voor het LLM",
    },
    left_out: Plural {
        one: "{n} ouder bericht weggelaten (vensterlimiet)",
        few: "{n} oudere berichten weggelaten (vensterlimiet)",
        many: "{n} oudere berichten weggelaten (vensterlimiet)",
    },
    and: " en ",
    list_sep: ", ",
    unnamed_thread: "(naamloze thread)",
    quiet_day: "Rustige dag: geen nieuwe berichten in {channels} sinds {since}.",
    catchup_since: "inhalen sinds je laatste bericht hier, {ago} geleden ({time})",
    catchup_last: "inhalen: laatste {hours} u (je hebt hier de laatste {cap} niets geschreven)",
    stored_only_offline: "Deze samenvatting omvat alleen opgeslagen berichten (hier geen verbinding met Discord).",
    stored_only_fetch_failed: "Deze samenvatting omvat alleen opgeslagen berichten (de rest ophalen bij Discord is mislukt).",
};

static PL: Strings = Strings {
    sections: [
        "Kluczowe punkty dyskusji",
        "Ważne decyzje/ustalenia",
        "Zadania do wykonania",
        "Otwarte pytania",
        "Szczegóły techniczne",
        "Zmiany w kodzie",
        "Linki",
        "Wątki",
    ],
    participants: "uczestnicy",
    messages: Plural {
        one: "{n} wiadomość",
        few: "{n} wiadomości",
        many: "{n} wiadomości",
    },
    summary_of: "Podsumowanie {channel}",
    no_messages: "Brak wiadomości w tym okresie.",
    nothing_stood_out: "Nic w tym okresie nie wyróżniało się na tyle, by to podsumować.",
    fallback: "Nie udało się użyć LLM ({reason}), więc to jest wbudowane podsumowanie offline.",
    note: "Uwaga",
    sources: "Źródła",
    cached: "z pamięci podręcznej",
    withheld: Plural {
        one: "{n} sekret ukryty przed LLM",
        few: "{n} sekrety ukryte przed LLM",
        many: "{n} sekretów ukrytych przed LLM",
    },
    left_out: Plural {
        one: "{n} starsza wiadomość pominięta (limit okna)",
        few: "{n} starsze wiadomości pominięte (limit okna)",
        many: "{n} starszych wiadomości pominiętych (limit okna)",
    },
    and: " i ",
    list_sep: ", ",
    unnamed_thread: "(wątek bez nazwy)",
    quiet_day: "Spokojny dzień: brak nowych wiadomości w {channels} od {since}.",
    catchup_since: "nadrabianie od twojej ostatniej wiadomości tutaj, {ago} temu ({time})",
    catchup_last: "nadrabianie: ostatnie {hours} h (nie pisałeś tu przez ostatnie {cap})",
    stored_only_offline: "To podsumowanie obejmuje tylko zapisane wiadomości (brak połączenia z Discordem).",
    stored_only_fetch_failed: "To podsumowanie obejmuje tylko zapisane wiadomości (nie udało się pobrać reszty z Discorda).",
};

static RU: Strings = Strings {
    sections: [
        "Ключевые моменты обсуждения",
        "Важные решения/итоги",
        "Задачи",
        "Открытые вопросы",
        "Технические детали",
        "Изменения в коде",
        "Ссылки",
        "Ветки",
    ],
    participants: "участники",
    messages: Plural {
        one: "{n} сообщение",
        few: "{n} сообщения",
        many: "{n} сообщений",
    },
    summary_of: "Сводка по {channel}",
    no_messages: "За этот период сообщений нет.",
    nothing_stood_out: "За этот период не нашлось ничего достаточно важного для сводки.",
    fallback: "Не удалось использовать LLM ({reason}), поэтому это встроенная офлайн-сводка.",
    note: "Примечание",
    sources: "Источники",
    cached: "из кэша",
    withheld: Plural {
        one: "{n} секрет скрыт от LLM",
        few: "{n} секрета скрыто от LLM",
        many: "{n} секретов скрыто от LLM",
    },
    left_out: Plural {
        one: "{n} более старое сообщение пропущено (лимит окна)",
        few: "{n} более старых сообщения пропущено (лимит окна)",
        many: "{n} более старых сообщений пропущено (лимит окна)",
    },
    and: " и ",
    list_sep: ", ",
    unnamed_thread: "(ветка без названия)",
    quiet_day: "Тихий день: новых сообщений в {channels} нет с {since}.",
    catchup_since: "сводка с вашего последнего сообщения здесь, {ago} назад ({time})",
    catchup_last: "сводка: последние {hours} ч (вы не писали здесь последние {cap})",
    stored_only_offline: "Эта сводка охватывает только сохранённые сообщения (здесь нет подключения к Discord).",
    stored_only_fetch_failed: "Эта сводка охватывает только сохранённые сообщения (не удалось загрузить остальное из Discord).",
};

static JA: Strings = Strings {
    sections: [
        "主な議論のポイント",
        "重要な決定事項/結果",
        "アクションアイテム",
        "未解決の質問",
        "技術的な詳細",
        "コードの変更",
        "リンク",
        "スレッド",
    ],
    participants: "参加者",
    messages: Plural {
        one: "{n}件のメッセージ",
        few: "{n}件のメッセージ",
        many: "{n}件のメッセージ",
    },
    summary_of: "{channel} の要約",
    no_messages: "この期間のメッセージはありません。",
    nothing_stood_out: "この期間には要約するほど目立った話題はありませんでした。",
    fallback: "LLM を利用できなかったため（{reason}）、内蔵のオフライン要約を表示しています。",
    note: "注記",
    sources: "出典",
    cached: "キャッシュ済み",
    withheld: Plural {
        one: "{n}件の秘密情報を LLM に送信しませんでした",
        few: "{n}件の秘密情報を LLM に送信しませんでした",
        many: "{n}件の秘密情報を LLM に送信しませんでした",
    },
    left_out: Plural {
        one: "古いメッセージ {n} 件を省略しました（ウィンドウの上限）",
        few: "古いメッセージ {n} 件を省略しました（ウィンドウの上限）",
        many: "古いメッセージ {n} 件を省略しました（ウィンドウの上限）",
    },
    and: "と",
    list_sep: "、",
    unnamed_thread: "（名前のないスレッド）",
    quiet_day: "静かな一日: {since} 以降、{channels} に新しいメッセージはありません。",
    catchup_since: "ここでのあなたの最後のメッセージ以降のまとめ（{ago} 前、{time}）",
    catchup_last: "まとめ: 直近 {hours} 時間（直近 {cap} の間、ここに投稿していません）",
    stored_only_offline: "この要約は保存済みのメッセージのみを対象としています（ここでは Discord に接続していません）。",
    stored_only_fetch_failed: "この要約は保存済みのメッセージのみを対象としています（残りを Discord から取得できませんでした）。",
};

static ZH: Strings = Strings {
    sections: [
        "主要讨论要点",
        "重要决定/结果",
        "待办事项",
        "未决问题",
        "技术细节",
        "代码变更",
        "链接",
        "子区",
    ],
    participants: "参与者",
    messages: Plural {
        one: "{n} 条消息",
        few: "{n} 条消息",
        many: "{n} 条消息",
    },
    summary_of: "{channel} 的摘要",
    no_messages: "此时间段内没有消息。",
    nothing_stood_out: "此时间段内没有值得摘要的重要内容。",
    fallback: "无法使用 LLM（{reason}），因此这是内置的离线摘要。",
    note: "注意",
    sources: "来源",
    cached: "已缓存",
    withheld: Plural {
        one: "已向 LLM 隐去 {n} 项机密信息",
        few: "已向 LLM 隐去 {n} 项机密信息",
        many: "已向 LLM 隐去 {n} 项机密信息",
    },
    left_out: Plural {
        one: "已省略 {n} 条较早的消息（窗口上限）",
        few: "已省略 {n} 条较早的消息（窗口上限）",
        many: "已省略 {n} 条较早的消息（窗口上限）",
    },
    and: "和",
    list_sep: "、",
    unnamed_thread: "（未命名子区）",
    quiet_day: "平静的一天：自 {since} 以来，{channels} 没有新消息。",
    catchup_since: "自你在此的最后一条消息以来的回顾（{ago} 前，{time}）",
    catchup_last: "回顾：最近 {hours} 小时（你在最近 {cap} 内未在此发言）",
    stored_only_offline: "此摘要仅涵盖已存储的消息（此处未连接 Discord）。",
    stored_only_fetch_failed: "此摘要仅涵盖已存储的消息（从 Discord 获取其余消息失败）。",
};

static KO: Strings = Strings {
    sections: [
        "주요 논의 사항",
        "중요한 결정/결과",
        "실행 항목",
        "미해결 질문",
        "기술 세부 사항",
        "코드 변경 사항",
        "링크",
        "스레드",
    ],
    participants: "참여자",
    messages: Plural {
        one: "메시지 {n}개",
        few: "메시지 {n}개",
        many: "메시지 {n}개",
    },
    summary_of: "{channel} 요약",
    no_messages: "이 기간에는 메시지가 없습니다.",
    nothing_stood_out: "이 기간에는 요약할 만큼 눈에 띄는 내용이 없었습니다.",
    fallback: "LLM을 사용할 수 없어({reason}) 내장 오프라인 요약을 표시합니다.",
    note: "참고",
    sources: "출처",
    cached: "캐시됨",
    withheld: Plural {
        one: "비밀 정보 {n}개를 LLM에 보내지 않았습니다",
        few: "비밀 정보 {n}개를 LLM에 보내지 않았습니다",
        many: "비밀 정보 {n}개를 LLM에 보내지 않았습니다",
    },
    left_out: Plural {
        one: "오래된 메시지 {n}개를 생략했습니다(창 한도)",
        few: "오래된 메시지 {n}개를 생략했습니다(창 한도)",
        many: "오래된 메시지 {n}개를 생략했습니다(창 한도)",
    },
    and: " 및 ",
    list_sep: ", ",
    unnamed_thread: "(이름 없는 스레드)",
    quiet_day: "조용한 하루: {since} 이후 {channels}에 새 메시지가 없습니다.",
    catchup_since: "여기서 마지막으로 보낸 메시지 이후 요약 ({ago} 전, {time})",
    catchup_last: "요약: 최근 {hours}시간 (최근 {cap} 동안 여기에 글을 쓰지 않았습니다)",
    stored_only_offline:
        "이 요약은 저장된 메시지만 다룹니다 (여기서는 Discord에 연결되어 있지 않음).",
    stored_only_fetch_failed:
        "이 요약은 저장된 메시지만 다룹니다 (Discord에서 나머지를 가져오지 못함).",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_users_type_resolves_to_a_language() {
        for (typed, want) in [
            ("German", Lang::De),
            ("de", Lang::De),
            ("DEUTSCH", Lang::De),
            ("pt-BR", Lang::Pt),
            ("Brazilian Portuguese", Lang::Pt),
            ("Portuguese (Brazil)", Lang::Pt),
            ("français", Lang::Fr),
            ("es", Lang::Es),
            ("italiano", Lang::It),
            ("Nederlands", Lang::Nl),
            ("polski", Lang::Pl),
            ("Русский", Lang::Ru),
            ("日本語", Lang::Ja),
            ("ja", Lang::Ja),
            ("zh_CN", Lang::Zh),
            ("简体中文", Lang::Zh),
            ("한국어", Lang::Ko),
            ("en-US", Lang::En),
        ] {
            assert_eq!(Lang::resolve(typed), Some(want), "{typed}");
        }
        for unknown in ["Klingon", "", "  ", "Esperanto", "sv"] {
            assert_eq!(Lang::resolve(unknown), None, "{unknown}");
        }
        assert_eq!(Lang::for_output(Some("Klingon")), Lang::En);
        assert_eq!(Lang::for_output(None), Lang::En);
    }

    /// Every language has every string, non-empty, with its placeholders, and translated: no
    /// English text left where the language has its own word (a few words are the same in
    /// both, such as "Links" in German and Dutch).
    #[test]
    fn every_language_has_every_string_translated() {
        const SAME_AS_ENGLISH: &[&str] = &[
            "Links",
            "Threads",
            "participants",
            "Sources",
            "{n} message",
            "{n} messages",
        ];
        let fields = |s: &'static Strings| -> Vec<(&'static str, &'static str)> {
            let mut all: Vec<(&str, &str)> = s.sections.iter().map(|t| ("section", *t)).collect();
            all.extend([
                ("participants", s.participants),
                ("messages.one", s.messages.one),
                ("messages.few", s.messages.few),
                ("messages.many", s.messages.many),
                ("summary_of", s.summary_of),
                ("no_messages", s.no_messages),
                ("nothing_stood_out", s.nothing_stood_out),
                ("fallback", s.fallback),
                ("note", s.note),
                ("sources", s.sources),
                ("cached", s.cached),
                ("withheld.one", s.withheld.one),
                ("withheld.few", s.withheld.few),
                ("withheld.many", s.withheld.many),
                ("unnamed_thread", s.unnamed_thread),
                ("quiet_day", s.quiet_day),
                ("catchup_since", s.catchup_since),
                ("catchup_last", s.catchup_last),
                ("stored_only_offline", s.stored_only_offline),
                ("stored_only_fetch_failed", s.stored_only_fetch_failed),
            ]);
            all
        };
        let english = fields(&EN);
        for lang in Lang::ALL {
            let got = fields(lang.strings());
            assert_eq!(got.len(), english.len());
            for ((key, text), (_, en)) in got.iter().zip(&english) {
                assert!(!text.trim().is_empty(), "{lang:?} {key} is empty");
                for placeholder in [
                    "{n}",
                    "{channel}",
                    "{reason}",
                    "{name}",
                    "{lang}",
                    "{what}",
                    "{channels}",
                    "{since}",
                    "{ago}",
                    "{time}",
                    "{hours}",
                    "{cap}",
                ] {
                    assert_eq!(
                        text.contains(placeholder),
                        en.contains(placeholder),
                        "{lang:?} {key}: {placeholder} in {text:?}"
                    );
                }
                if lang != Lang::En && !SAME_AS_ENGLISH.contains(en) {
                    assert_ne!(text, en, "{lang:?} {key} is still English");
                }
            }
            // Section headings are distinct within a language and map back to their section.
            for kind in SectionKind::ALL {
                let heading = normalize_heading(lang.strings().section(kind));
                assert_eq!(
                    section_by_heading(&heading),
                    Some(kind),
                    "{lang:?} {heading}"
                );
            }
        }
    }

    #[test]
    fn counts_take_the_languages_plural_forms() {
        let n = |lang: Lang, count| lang.count(&lang.strings().messages, count);
        assert_eq!(n(Lang::En, 1), "1 message");
        assert_eq!(n(Lang::En, 0), "0 messages");
        assert_eq!(n(Lang::Fr, 0), "0 message");
        assert_eq!(n(Lang::De, 2), "2 Nachrichten");
        assert_eq!(n(Lang::Ru, 21), "21 сообщение");
        assert_eq!(n(Lang::Ru, 3), "3 сообщения");
        assert_eq!(n(Lang::Ru, 12), "12 сообщений");
        let w = |lang: Lang, count| lang.count(&lang.strings().withheld, count);
        assert_eq!(w(Lang::Pl, 3), "3 sekrety ukryte przed LLM");
        assert_eq!(w(Lang::Pl, 5), "5 sekretów ukrytych przed LLM");
        assert_eq!(w(Lang::Ja, 2), "2件の秘密情報を LLM に送信しませんでした");
    }

    #[test]
    fn names_are_joined_in_the_language() {
        assert_eq!(EN.join_names(&["Alex", "Bo", "Kim"]), "Alex, Bo and Kim");
        assert_eq!(DE.join_names(&["Alex", "Bo"]), "Alex und Bo");
        assert_eq!(JA.join_names(&["Alex", "Bo", "Kim"]), "Alex、BoとKim");
        assert_eq!(EN.join_names(&["Alex"]), "Alex");
    }

    #[test]
    fn the_builtin_says_when_it_keeps_english() {
        assert_eq!(keeps_english_note(Some("German")), None);
        assert_eq!(keeps_english_note(None), None);
        let note = keeps_english_note(Some("Klingon")).expect("note");
        assert!(
            note.contains("\"Klingon\"") && note.contains("English"),
            "{note}"
        );
    }
}
