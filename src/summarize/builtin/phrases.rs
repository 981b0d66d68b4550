//! Every fixed phrase the builtin summarizer writes around the quoted chat, in one place so it can
//! be translated, and their translations for every language of [`Lang`]. Templates use `{name}`
//! placeholders filled by [`fill`].

use crate::summarize::lang::Lang;

/// The builtin's own words, in one language.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Phrases {
    /// A proposal someone agreed to: `{text}` is the proposal point, `{who}` the person agreeing.
    pub agreed_by: &'static str,
    /// Someone committed to a task: `{owner}`, `{task}`.
    pub will: &'static str,
    /// Someone was asked to do a task: `{owner}`, `{task}`, `{asker}`.
    pub asked_to: &'static str,
    /// Someone was asked to do a task, without naming who asked (short summaries): `{owner}`, `{task}`.
    pub to_do: &'static str,
    /// An error report: `{code}`.
    pub reported_error: &'static str,
    /// A code snippet without a language: `{context}` (may be empty), `{code}`.
    pub shared_snippet: &'static str,
    /// A code snippet in a language: `{lang}`, `{context}`, `{code}`.
    pub shared_lang_snippet: &'static str,
    /// A shell command: `{code}`.
    pub ran_command: &'static str,
    /// A technical remark: `{text}`.
    pub noted: &'static str,
    /// A shared link: `{label}`, `{url}`, `{sharers}`.
    pub shared_link: &'static str,
    /// A short change message and the change it is about: `{text}`, `{object}`.
    pub about: &'static str,
}

/// English, the builtin's default.
pub(crate) const ENGLISH: Phrases = Phrases {
    agreed_by: "{text} (agreed by **{who}**)",
    will: "**{owner}** will {task}",
    asked_to: "**{owner}** to {task} (asked by **{asker}**)",
    to_do: "**{owner}** to {task}",
    reported_error: "reported an error: {code}",
    shared_snippet: "shared a snippet{context}: {code}",
    shared_lang_snippet: "shared a {lang} snippet{context}: {code}",
    ran_command: "ran/suggested {code}",
    noted: "noted: {text}",
    shared_link: "{label} — {url} (shared by {sharers})",
    about: "{text} (re {object})",
};

const GERMAN: Phrases = Phrases {
    agreed_by: "{text} (zugestimmt: **{who}**)",
    will: "**{owner}** übernimmt: {task}",
    asked_to: "**{owner}** soll: {task} (Bitte von **{asker}**)",
    to_do: "**{owner}** soll: {task}",
    reported_error: "meldete einen Fehler: {code}",
    shared_snippet: "teilte ein Snippet{context}: {code}",
    shared_lang_snippet: "teilte ein {lang}-Snippet{context}: {code}",
    ran_command: "führte aus/schlug vor: {code}",
    noted: "merkte an: {text}",
    shared_link: "{label} — {url} (geteilt von {sharers})",
    about: "{text} (zu {object})",
};

const FRENCH: Phrases = Phrases {
    agreed_by: "{text} (approuvé par **{who}**)",
    will: "**{owner}** s'en charge : {task}",
    asked_to: "**{owner}** doit : {task} (demandé par **{asker}**)",
    to_do: "**{owner}** doit : {task}",
    reported_error: "a signalé une erreur : {code}",
    shared_snippet: "a partagé un extrait{context} : {code}",
    shared_lang_snippet: "a partagé un extrait {lang}{context} : {code}",
    ran_command: "a exécuté/proposé {code}",
    noted: "a noté : {text}",
    shared_link: "{label} — {url} (partagé par {sharers})",
    about: "{text} (concerne {object})",
};

const SPANISH: Phrases = Phrases {
    agreed_by: "{text} (aprobado por **{who}**)",
    will: "**{owner}** se encarga: {task}",
    asked_to: "**{owner}** debe: {task} (pedido por **{asker}**)",
    to_do: "**{owner}** debe: {task}",
    reported_error: "informó de un error: {code}",
    shared_snippet: "compartió un fragmento{context}: {code}",
    shared_lang_snippet: "compartió un fragmento de {lang}{context}: {code}",
    ran_command: "ejecutó/sugirió {code}",
    noted: "anotó: {text}",
    shared_link: "{label} — {url} (compartido por {sharers})",
    about: "{text} (sobre {object})",
};

const PORTUGUESE: Phrases = Phrases {
    agreed_by: "{text} (aprovado por **{who}**)",
    will: "**{owner}** vai fazer: {task}",
    asked_to: "**{owner}** deve: {task} (pedido por **{asker}**)",
    to_do: "**{owner}** deve: {task}",
    reported_error: "relatou um erro: {code}",
    shared_snippet: "compartilhou um trecho{context}: {code}",
    shared_lang_snippet: "compartilhou um trecho de {lang}{context}: {code}",
    ran_command: "executou/sugeriu {code}",
    noted: "observou: {text}",
    shared_link: "{label} — {url} (compartilhado por {sharers})",
    about: "{text} (sobre {object})",
};

const ITALIAN: Phrases = Phrases {
    agreed_by: "{text} (approvato da **{who}**)",
    will: "**{owner}** se ne occupa: {task}",
    asked_to: "**{owner}** deve: {task} (chiesto da **{asker}**)",
    to_do: "**{owner}** deve: {task}",
    reported_error: "ha segnalato un errore: {code}",
    shared_snippet: "ha condiviso uno snippet{context}: {code}",
    shared_lang_snippet: "ha condiviso uno snippet {lang}{context}: {code}",
    ran_command: "ha eseguito/suggerito {code}",
    noted: "ha notato: {text}",
    shared_link: "{label} — {url} (condiviso da {sharers})",
    about: "{text} (riguardo a {object})",
};

const DUTCH: Phrases = Phrases {
    agreed_by: "{text} (goedgekeurd door **{who}**)",
    will: "**{owner}** neemt op zich: {task}",
    asked_to: "**{owner}** moet: {task} (gevraagd door **{asker}**)",
    to_do: "**{owner}** moet: {task}",
    reported_error: "meldde een fout: {code}",
    shared_snippet: "deelde een fragment{context}: {code}",
    shared_lang_snippet: "deelde een {lang}-fragment{context}: {code}",
    ran_command: "voerde uit/stelde voor: {code}",
    noted: "merkte op: {text}",
    shared_link: "{label} — {url} (gedeeld door {sharers})",
    about: "{text} (over {object})",
};

const POLISH: Phrases = Phrases {
    agreed_by: "{text} (zaakceptowane przez **{who}**)",
    will: "**{owner}** zajmie się: {task}",
    asked_to: "**{owner}** ma: {task} (prośba od **{asker}**)",
    to_do: "**{owner}** ma: {task}",
    reported_error: "zgłoszono błąd: {code}",
    shared_snippet: "udostępniono fragment kodu{context}: {code}",
    shared_lang_snippet: "udostępniono fragment kodu {lang}{context}: {code}",
    ran_command: "uruchomiono/zaproponowano {code}",
    noted: "uwaga: {text}",
    shared_link: "{label} — {url} (udostępnione przez {sharers})",
    about: "{text} (dotyczy {object})",
};

const RUSSIAN: Phrases = Phrases {
    agreed_by: "{text} (одобрено: **{who}**)",
    will: "**{owner}** берёт на себя: {task}",
    asked_to: "**{owner}** должен: {task} (просьба **{asker}**)",
    to_do: "**{owner}** должен: {task}",
    reported_error: "сообщение об ошибке: {code}",
    shared_snippet: "фрагмент кода{context}: {code}",
    shared_lang_snippet: "фрагмент кода на {lang}{context}: {code}",
    ran_command: "выполнено/предложено: {code}",
    noted: "заметка: {text}",
    shared_link: "{label} — {url} (поделились: {sharers})",
    about: "{text} (по поводу {object})",
};

const JAPANESE: Phrases = Phrases {
    agreed_by: "{text}（**{who}** が同意）",
    will: "**{owner}** が担当: {task}",
    asked_to: "**{owner}** の担当: {task}（**{asker}** からの依頼）",
    to_do: "**{owner}** の担当: {task}",
    reported_error: "エラーを報告: {code}",
    shared_snippet: "スニペットを共有{context}: {code}",
    shared_lang_snippet: "{lang} のスニペットを共有{context}: {code}",
    ran_command: "実行/提案: {code}",
    noted: "メモ: {text}",
    shared_link: "{label} — {url}（共有: {sharers}）",
    about: "{text}（{object} について）",
};

const CHINESE: Phrases = Phrases {
    agreed_by: "{text}（**{who}** 同意）",
    will: "**{owner}** 负责：{task}",
    asked_to: "**{owner}** 负责：{task}（由 **{asker}** 请求）",
    to_do: "**{owner}** 待办：{task}",
    reported_error: "报告了一个错误：{code}",
    shared_snippet: "分享了一段代码{context}：{code}",
    shared_lang_snippet: "分享了一段 {lang} 代码{context}：{code}",
    ran_command: "运行/建议：{code}",
    noted: "备注：{text}",
    shared_link: "{label} — {url}（分享者：{sharers}）",
    about: "{text}（关于 {object}）",
};

const KOREAN: Phrases = Phrases {
    agreed_by: "{text} (**{who}** 동의)",
    will: "**{owner}** 담당: {task}",
    asked_to: "**{owner}** 할 일: {task} (**{asker}** 요청)",
    to_do: "**{owner}** 할 일: {task}",
    reported_error: "오류 보고: {code}",
    shared_snippet: "코드 조각 공유{context}: {code}",
    shared_lang_snippet: "{lang} 코드 조각 공유{context}: {code}",
    ran_command: "실행/제안: {code}",
    noted: "메모: {text}",
    shared_link: "{label} — {url} (공유: {sharers})",
    about: "{text} ({object} 관련)",
};

/// The phrases in the output language (English for a language the table does not have).
pub(crate) fn for_language(language: Option<&str>) -> &'static Phrases {
    match Lang::for_output(language) {
        Lang::En => &ENGLISH,
        Lang::De => &GERMAN,
        Lang::Fr => &FRENCH,
        Lang::Es => &SPANISH,
        Lang::Pt => &PORTUGUESE,
        Lang::It => &ITALIAN,
        Lang::Nl => &DUTCH,
        Lang::Pl => &POLISH,
        Lang::Ru => &RUSSIAN,
        Lang::Ja => &JAPANESE,
        Lang::Zh => &CHINESE,
        Lang::Ko => &KOREAN,
    }
}

/// `template` with each `{key}` replaced by its value (unknown keys are left as written).
pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let key = &after[..close];
            values
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (close, *v))
        });
        if let Some((close, v)) = value {
            out.push_str(v);
            rest = &after[close + 1..];
        } else {
            out.push('{');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_filled_and_values_are_not_reparsed() {
        assert_eq!(
            fill(ENGLISH.will, &[("owner", "Sam"), ("task", "fix {task}")]),
            "**Sam** will fix {task}"
        );
        assert_eq!(fill("{x} {unknown}", &[("x", "1")]), "1 {unknown}");
    }

    fn all(p: &Phrases) -> [&'static str; 11] {
        [
            p.agreed_by,
            p.will,
            p.asked_to,
            p.to_do,
            p.reported_error,
            p.shared_snippet,
            p.shared_lang_snippet,
            p.ran_command,
            p.noted,
            p.shared_link,
            p.about,
        ]
    }

    /// The `{key}`s of a template, sorted.
    fn keys(template: &str) -> Vec<&str> {
        let mut keys: Vec<&str> = template
            .split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(k, _)| k))
            .collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn every_language_has_every_phrase_with_its_placeholders_and_bold_owners_first() {
        for lang in Lang::ALL {
            let phrases = for_language(Some(lang.english_name()));
            for (got, en) in all(phrases).iter().zip(all(&ENGLISH)) {
                assert_eq!(keys(got), keys(en), "{lang:?}: {got:?}");
                if lang != Lang::En && !en.starts_with("{label}") {
                    assert_ne!(*got, en, "{lang:?} still English");
                }
                // Digest parsing finds an action item's owner in a bold lead.
                if en.starts_with("**{owner}**") {
                    assert!(got.starts_with("**{owner}**"), "{lang:?}: {got:?}");
                }
            }
        }
        assert_eq!(
            fill(
                for_language(Some("German")).will,
                &[("owner", "Ada"), ("task", "tag rc2")]
            ),
            "**Ada** übernimmt: tag rc2"
        );
        assert_eq!(all(for_language(Some("Klingon"))), all(&ENGLISH));
        assert_eq!(all(for_language(None)), all(&ENGLISH));
    }
}
