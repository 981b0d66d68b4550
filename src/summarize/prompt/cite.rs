//! Citations in model answers: `[m3]`, `[m3][m7]`, `[m3, m7]`, `(m3)` and `[m3-m5]` groups,
//! turned into message numbers and removed from the point text.

use std::ops::RangeInclusive;

/// Longest `mA-mB` range accepted as a citation.
const MAX_RANGE: usize = 50;

/// Remove citation groups from a point, returning the cleaned text and the valid message
/// numbers cited (deduplicated, in order).
pub(super) fn extract_citations(
    text: &str,
    allowed: &RangeInclusive<usize>,
) -> (String, Vec<usize>) {
    let mut clean = String::with_capacity(text.len());
    let mut cites: Vec<usize> = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(['[', '(']) {
        clean.push_str(&rest[..open]);
        let close = if rest[open..].starts_with('[') {
            ']'
        } else {
            ')'
        };
        let after = &rest[open + 1..];
        let group = after
            .find(close)
            .and_then(|end| citation_group(&after[..end]).map(|n| (end, n)));
        if let Some((end, numbers)) = group {
            for n in numbers {
                if allowed.contains(&n) && !cites.contains(&n) {
                    cites.push(n);
                }
            }
            rest = &after[end + 1..];
        } else {
            clean.push_str(&rest[open..=open]);
            rest = after;
        }
    }
    clean.push_str(rest);
    (tidy(&clean), cites)
}

/// Message numbers in the inside of a `[...]`/`(...)` group made only of `m3`, `m3-m5`
/// items separated by commas, semicolons or spaces; `None` if it is anything else.
fn citation_group(inner: &str) -> Option<Vec<usize>> {
    let mut numbers = Vec::new();
    let items = inner
        .split([',', ';', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty());
    for item in items {
        let (from, to) = if let Some((a, b)) = item.split_once(['-', '–']) {
            (label_number(a)?, label_number(b)?)
        } else {
            let n = label_number(item)?;
            (n, n)
        };
        if to < from || to - from > MAX_RANGE {
            return None;
        }
        numbers.extend(from..=to);
    }
    (!numbers.is_empty()).then_some(numbers)
}

/// `m12` / `M12` → 12.
fn label_number(item: &str) -> Option<usize> {
    let digits = item.strip_prefix(['m', 'M'])?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Collapse spaces, drop spaces before punctuation and empty brackets left by removed citations.
fn tidy(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = collapsed
        .replace(" ()", "")
        .replace(" []", "")
        .replace(" .", ".")
        .replace(" ,", ",")
        .replace(" ;", ";");
    while out.ends_with([' ', '-', '–', '—']) {
        out.pop();
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_that_are_not_citations_stay() {
        let (text, cites) = extract_citations(
            "see [the docs](https://x) and (maybe) [m1] arr[0]",
            &(1..=1),
        );
        assert_eq!(text, "see [the docs](https://x) and (maybe) arr[0]");
        assert_eq!(cites, vec![1]);
    }

    #[test]
    fn groups_and_ranges() {
        let (text, cites) =
            extract_citations("a [m3, m1;m3] b (m2-m4) c [m1–m2] [m9-m1] [m0]", &(1..=5));
        assert_eq!(cites, vec![3, 1, 2, 4]);
        assert_eq!(text, "a b c [m9-m1]");
        assert_eq!(
            citation_group("m1-m99"),
            None,
            "absurd ranges are not citations"
        );
    }
}
