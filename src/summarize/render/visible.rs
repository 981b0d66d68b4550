//! What a reader sees of rendered Markdown: the measure of the `detail` budgets (a link counts
//! as its label, an escaped character as one) and cutting text to such a length.

use super::embeds::tokens;

/// Characters a reader sees of Markdown `text`: a link `[label](url)` counts as its label, an
/// escape such as `\*` as the one character it shows.
pub fn visible_chars(text: &str) -> usize {
    let mut count = 0;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '[' {
            if let Some(len) = super::embeds::link_len(rest) {
                let link = &rest[..len];
                let label_end = link.find("](").unwrap_or(1);
                count += link[1..label_end].chars().count();
                rest = &rest[len..];
                continue;
            }
        }
        if c == '\\' && rest[1..].starts_with(|n: char| n.is_ascii_punctuation()) {
            rest = &rest[1..];
            continue;
        }
        count += 1;
        rest = &rest[c.len_utf8()..];
    }
    count
}

/// `text` cut to at most `max` visible characters, ending on a word (never inside a link),
/// with "…" when something was cut; None when not even one word fits.
pub fn cut_visible(text: &str, max: usize) -> Option<String> {
    if visible_chars(text) <= max {
        return Some(text.to_owned());
    }
    let room = max.checked_sub(1)?; // the "…"
    let mut end = None;
    for (_, stop) in tokens(text) {
        if visible_chars(&text[..stop]) > room {
            break;
        }
        end = Some(stop);
    }
    end.map(|e| format!("{}…", text[..e].trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_count_as_their_label_and_escapes_as_one() {
        assert_eq!(visible_chars("see [docs](https://example.com/x) now"), 12);
        assert_eq!(
            visible_chars("- point [1](https://discord.com/channels/1/2/3)"),
            9
        );
        assert_eq!(visible_chars(r"Sam\_1 \*"), 7);
        assert_eq!(visible_chars("ünïcode"), 7);
        assert_eq!(visible_chars("[not a link"), 11);
    }

    #[test]
    fn cuts_end_on_words_and_keep_links_whole() {
        let text = "ship [the release notes](https://a.io/n) on Friday";
        assert_eq!(cut_visible(text, 100).as_deref(), Some(text));
        assert_eq!(
            cut_visible(text, 25).as_deref(),
            Some("ship [the release notes](https://a.io/n)…")
        );
        assert_eq!(cut_visible(text, 20).as_deref(), Some("ship…"));
        assert_eq!(cut_visible("enormousword", 5), None);
    }
}
