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
    use super::{one_line, thousands};

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
}
