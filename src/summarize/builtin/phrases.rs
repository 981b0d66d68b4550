//! Every fixed phrase the builtin summarizer writes around the quoted chat, in one place so it can
//! be translated. Templates use `{name}` placeholders filled by [`fill`].

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
}
