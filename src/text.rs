//! Small text helpers shared by rendering, the builtin summarizer, prompts and error messages.

/// Collapse every run of whitespace (newlines included) into one space and trim the ends.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// `s` cut to at most `max` characters for a message that echoes input: a longer text keeps its
/// start and says how much was left out, so a 10 MB value never lands whole on a terminal.
pub fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((cut, _)) => std::borrow::Cow::Owned(format!(
            "{}… ({} more bytes)",
            &s[..cut],
            thousands((s.len() - cut) as u64)
        )),
    }
}

/// `n` with its thousands separated by commas: `4812` → `4,812`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{clip, one_line, thousands};

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(100_000), "100,000");
    }

    #[test]
    fn collapses_whitespace() {
        assert_eq!(one_line("  a\n\n b\t c  "), "a b c");
        assert_eq!(one_line(""), "");
        assert_eq!(one_line("ünï  cødé"), "ünï cødé");
    }

    #[test]
    fn clip_keeps_short_texts_and_cuts_long_ones_on_a_char_boundary() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("exactly10!", 10), "exactly10!");
        assert_eq!(
            clip(&"é".repeat(12), 10),
            format!("{}… (4 more bytes)", "é".repeat(10))
        );
        let huge = "x".repeat(10_485_760);
        let cut = clip(&huge, 200);
        assert!(cut.len() < 240, "{}", cut.len());
        assert!(cut.ends_with("… (10,485,560 more bytes)"), "{cut}");
    }
}
