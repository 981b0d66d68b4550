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

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn collapses_whitespace() {
        assert_eq!(one_line("  a\n\n b\t c  "), "a b c");
        assert_eq!(one_line(""), "");
        assert_eq!(one_line("ünï  cødé"), "ünï cødé");
    }
}
