//! Reading the model's Markdown answer back into sections, points and message citations,
//! tolerant of the ways models deviate from the requested format.

use std::fmt::Write as _;
use std::ops::RangeInclusive;

use super::cite::extract_citations;
use crate::model::{MessageId, Point, Section, SectionKind};
use crate::summarize::lang;

/// Why a model answer could not be used.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The answer was empty or only whitespace.
    #[error("the model's answer was empty")]
    Empty,
    /// The answer had text but no usable summary points.
    #[error("the model's answer contained no summary points (it began: {start:?})")]
    NoPoints {
        /// The first characters of the answer.
        start: String,
    },
}

/// A point whose citations are message numbers (`[m3]` is 3), before mapping to ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IndexedPoint {
    pub text: String,
    pub cites: Vec<usize>,
}

/// A section of [`IndexedPoint`]s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IndexedSection {
    pub kind: SectionKind,
    pub points: Vec<IndexedPoint>,
}

/// Parse a Markdown answer into sections in display order.
///
/// Headings (`##`, `###`, bold lines, numbered or plain `Title:` lines; any case; synonyms such
/// as "Decisions", "Next steps", "To-do") pick the section; `- `/`* `/`1. ` bullets become
/// points; `[m3]`, `[m3][m7]`, `[m3, m7]` and `[m3-m5]` become citations of
/// `ids[2]`, `ids[6]`, ... (ids that do not exist are dropped) and are removed from the text.
/// Text before the first heading, or an answer without headings, goes to Key Discussion Points.
/// Placeholder points such as "None" are skipped. An answer with no points is an error.
pub fn parse_answer(text: &str, ids: &[MessageId]) -> Result<Vec<Section>, ParseError> {
    parse_answer_within(text, ids, 1..=ids.len())
}

/// [`parse_answer`] accepting only citations of message numbers in `allowed` (those the model
/// was shown); numbers outside `1..=ids.len()` are never accepted.
pub(crate) fn parse_answer_within(
    text: &str,
    ids: &[MessageId],
    allowed: RangeInclusive<usize>,
) -> Result<Vec<Section>, ParseError> {
    let allowed = (*allowed.start()).max(1)..=(*allowed.end()).min(ids.len());
    let sections = parse_indexed(text, &allowed)?;
    Ok(sections
        .into_iter()
        .map(|s| Section {
            kind: s.kind,
            points: s
                .points
                .into_iter()
                .map(|p| Point {
                    text: p.text,
                    citations: p.cites.iter().map(|&n| ids[n - 1]).collect(),
                })
                .collect(),
        })
        .collect())
}

/// [`parse_answer`] with citations kept as message numbers, accepting only those in `allowed`.
pub(crate) fn parse_indexed(
    text: &str,
    allowed: &RangeInclusive<usize>,
) -> Result<Vec<IndexedSection>, ParseError> {
    if text.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    let mut sections: Vec<IndexedSection> = Vec::new();
    let mut current = SectionKind::KeyPoints;
    let mut last_was_bullet = false;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with("```") || is_rule(line) {
            last_was_bullet = false;
            continue;
        }
        match heading(line) {
            LineKind::Heading(kind) => {
                current = kind;
                last_was_bullet = false;
                continue;
            }
            LineKind::SubHeading => {
                last_was_bullet = false;
                continue;
            }
            LineKind::Text => {}
        }
        let (body, is_bullet) = match strip_bullet(line) {
            Some(body) => (body, true),
            None => (line, false),
        };
        let continuation = !is_bullet && last_was_bullet && raw.starts_with([' ', '\t']);
        let (clean, cites) = extract_citations(body, allowed);
        let section = section_mut(&mut sections, current);
        match section.points.last_mut() {
            Some(point) if continuation => {
                if !clean.is_empty() {
                    point.text.push(' ');
                    point.text.push_str(&clean);
                }
                for cite in cites {
                    if !point.cites.contains(&cite) {
                        point.cites.push(cite);
                    }
                }
            }
            _ => section.points.push(IndexedPoint { text: clean, cites }),
        }
        last_was_bullet = is_bullet || continuation;
    }
    let mut sections: Vec<IndexedSection> = sections
        .into_iter()
        .map(|mut s| {
            s.points.retain(|p| !is_placeholder(&p.text));
            s
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    sections.sort_by_key(|s| s.kind);
    if sections.is_empty() {
        return Err(ParseError::NoPoints {
            start: text.trim().chars().take(80).collect(),
        });
    }
    Ok(sections)
}

/// Canonical Markdown for indexed sections (`## Title` + `- text [m3][m7]`), used to feed chunk
/// summaries to the combine pass in a clean, uniform form.
pub(crate) fn render_indexed(sections: &[IndexedSection]) -> String {
    let mut out = String::new();
    for section in sections {
        out.push_str("## ");
        out.push_str(section.kind.title());
        out.push('\n');
        for point in &section.points {
            out.push_str("- ");
            out.push_str(&point.text);
            if !point.cites.is_empty() {
                out.push(' ');
            }
            for cite in &point.cites {
                let _ = write!(out, "[m{cite}]");
            }
            out.push('\n');
        }
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// The section to add points to, created on first use.
fn section_mut(sections: &mut Vec<IndexedSection>, kind: SectionKind) -> &mut IndexedSection {
    let pos = sections
        .iter()
        .position(|s| s.kind == kind)
        .unwrap_or_else(|| {
            sections.push(IndexedSection {
                kind,
                points: Vec::new(),
            });
            sections.len() - 1
        });
    &mut sections[pos]
}

/// `---`, `***`, `___` horizontal rules.
fn is_rule(line: &str) -> bool {
    line.len() >= 3 && line.chars().all(|c| matches!(c, '-' | '*' | '_' | ' '))
}

/// The section a heading or label title names (English keywords, or a heading of any
/// supported language), if any.
pub(crate) fn heading_kind(title: &str) -> Option<SectionKind> {
    let title = normalize(title);
    kind_by_keywords(&title).or_else(|| lang::section_by_heading(&title))
}

/// What a line of the answer is, as far as headings go.
enum LineKind {
    /// A heading naming a section.
    Heading(SectionKind),
    /// A `#` heading of unknown meaning (a sub-heading: the current section continues).
    SubHeading,
    /// Not a heading.
    Text,
}

/// English headings are recognized by keywords; headings in the other supported languages by
/// their (whole or partial) titles in [`lang`](crate::summarize::lang), since models asked for
/// German headings may answer in German, English or a mix.
fn heading(line: &str) -> LineKind {
    let title = line.trim_start_matches('#');
    if title.len() < line.len() && (title.is_empty() || title.starts_with(' ')) {
        let title = normalize(title);
        return kind_by_keywords(&title)
            .or_else(|| lang::section_by_heading(&title))
            .map_or(LineKind::SubHeading, LineKind::Heading);
    }
    let kind = if let Some(inner) = bold_line(line) {
        let title = normalize(inner);
        kind_by_keywords(&title)
            .or_else(|| lang::section_by_heading(&title))
            .filter(|_| title.split(' ').count() <= 6)
    } else {
        // A plain or numbered line counts only when it is exactly a known title.
        let title = normalize(line);
        kind_exact(&title).or_else(|| localized_exact(&title))
    };
    kind.map_or(LineKind::Text, LineKind::Heading)
}

/// The section whose heading, in any supported language, is exactly `title` (normalized).
fn localized_exact(title: &str) -> Option<SectionKind> {
    lang::Lang::ALL.into_iter().find_map(|l| {
        SectionKind::ALL
            .into_iter()
            .find(|&k| lang::normalize_heading(l.strings().section(k)) == title)
    })
}

/// The text inside a line that is entirely bold (`**Title**`, `__Title:__`, `**Title**:`).
fn bold_line(line: &str) -> Option<&str> {
    let line = line.strip_suffix(':').unwrap_or(line).trim();
    let line = strip_numbering(line).unwrap_or(line);
    for marker in ["**", "__"] {
        if let Some(inner) = line
            .strip_prefix(marker)
            .and_then(|l| l.strip_suffix(marker))
        {
            if !inner.contains(marker) && !inner.trim().is_empty() {
                return Some(inner);
            }
        }
    }
    None
}

/// Lowercase words of a title without numbering, markup, emoji or punctuation.
fn normalize(title: &str) -> String {
    let title = title.trim();
    let title = strip_numbering(title).unwrap_or(title);
    title
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Keyword phrases per section, most specific first.
const KEYWORDS: &[(SectionKind, &[&str])] = &[
    (
        SectionKind::CodeChanges,
        &[
            "code change",
            "code",
            "commit",
            "pull request",
            "merge request",
            "pr",
            "prs",
            "changelog",
        ],
    ),
    (
        SectionKind::ActionItems,
        &[
            "action",
            "next step",
            "todo",
            "to do",
            "follow up",
            "followup",
            "task",
            "assignment",
        ],
    ),
    (
        SectionKind::Decisions,
        &[
            "decision",
            "decided",
            "outcome",
            "conclusion",
            "resolution",
            "agreement",
            "agreed",
            "resolved",
        ],
    ),
    (
        SectionKind::OpenQuestions,
        &[
            "open question",
            "question",
            "unresolved",
            "unanswered",
            "open issue",
        ],
    ),
    (
        SectionKind::Technical,
        &[
            "technical",
            "tech",
            "implementation",
            "detail",
            "architecture",
        ],
    ),
    (
        SectionKind::Links,
        &["link", "resource", "url", "reference"],
    ),
    (
        SectionKind::KeyPoints,
        &[
            "key",
            "discussion",
            "point",
            "summary",
            "overview",
            "highlight",
            "topic",
            "main",
            "tldr",
        ],
    ),
];

/// Section for a heading title by keyword (each phrase word a prefix of consecutive title words).
fn kind_by_keywords(title: &str) -> Option<SectionKind> {
    let words: Vec<&str> = title.split(' ').filter(|w| !w.is_empty()).collect();
    KEYWORDS
        .iter()
        .find(|(_, phrases)| phrases.iter().any(|p| phrase_in(p, &words)))
        .map(|(kind, _)| *kind)
}

fn phrase_in(phrase: &str, words: &[&str]) -> bool {
    let parts: Vec<&str> = phrase.split(' ').collect();
    words.windows(parts.len()).any(|w| {
        w.iter().zip(&parts).all(|(word, part)| {
            // Short keywords ("pr", "key", "tech") must match whole words.
            if part.len() <= 4 {
                word == part
                    || (word.len() == part.len() + 1
                        && word.starts_with(part)
                        && word.ends_with('s'))
            } else {
                word.starts_with(part)
            }
        })
    })
}

/// Titles that make a plain (unmarked) line a heading.
fn kind_exact(title: &str) -> Option<SectionKind> {
    const EXACT: &[(&str, SectionKind)] = &[
        ("key discussion points", SectionKind::KeyPoints),
        ("key points", SectionKind::KeyPoints),
        ("discussion points", SectionKind::KeyPoints),
        ("summary", SectionKind::KeyPoints),
        ("important decisions outcomes", SectionKind::Decisions),
        ("decisions outcomes", SectionKind::Decisions),
        ("decisions", SectionKind::Decisions),
        ("outcomes", SectionKind::Decisions),
        ("action items", SectionKind::ActionItems),
        ("actions", SectionKind::ActionItems),
        ("next steps", SectionKind::ActionItems),
        ("todo", SectionKind::ActionItems),
        ("to do", SectionKind::ActionItems),
        ("open questions", SectionKind::OpenQuestions),
        ("technical details", SectionKind::Technical),
        ("code changes", SectionKind::CodeChanges),
        ("links", SectionKind::Links),
    ];
    EXACT.iter().find(|(t, _)| *t == title).map(|(_, k)| *k)
}

/// The text after a list marker (`- `, `* `, `+ `, `• `, `– `, `1. `, `1) `, `- [ ] `), if any.
fn strip_bullet(line: &str) -> Option<&str> {
    let body = ["- ", "* ", "+ ", "• ", "– ", "— "]
        .iter()
        .find_map(|m| line.strip_prefix(m))
        .or_else(|| strip_numbering(line))?;
    let body = ["[ ] ", "[x] ", "[X] "]
        .iter()
        .find_map(|m| body.strip_prefix(m))
        .unwrap_or(body);
    Some(body.trim())
}

/// The text after `12. ` or `3) ` numbering.
fn strip_numbering(line: &str) -> Option<&str> {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 3 {
        return None;
    }
    let rest = &line[digits..];
    rest.strip_prefix(". ")
        .or_else(|| rest.strip_prefix(") "))
        .map(str::trim_start)
}

/// Filler points that stand for "nothing here".
fn is_placeholder(text: &str) -> bool {
    const FILLER: &[&str] = &[
        "none",
        "n/a",
        "na",
        "nothing",
        "nothing to report",
        "none noted",
        "no items",
        "not applicable",
    ];
    let t = text
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    if t.is_empty() {
        return true;
    }
    if FILLER.contains(&t.as_str()) {
        return true;
    }
    let endings = [
        "mentioned",
        "noted",
        "identified",
        "discussed",
        "recorded",
        "made",
        "reported",
    ];
    t.starts_with("no ") && t.split(' ').count() <= 8 && endings.iter().any(|e| t.ends_with(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u64) -> Vec<MessageId> {
        (1..=n).map(|i| MessageId(1000 + i)).collect()
    }

    fn kinds(sections: &[Section]) -> Vec<SectionKind> {
        sections.iter().map(|s| s.kind).collect()
    }

    #[test]
    fn canonical_answer() {
        let answer = "## Key Discussion Points\n- Alex proposed shipping Friday. [m1][m3]\n\
                      ## Important Decisions/Outcomes\n- Release moves to Monday [m4]\n\
                      ## Action Items\n- Bo writes the changelog by Sunday. [m5]\n\
                      ## Technical Details\n- The build needs `cargo 1.85` [m2]\n\
                      ## Code Changes\n- PR #42 merged [m6]";
        let sections = parse_answer(answer, &ids(6)).unwrap();
        assert_eq!(
            kinds(&sections),
            vec![
                SectionKind::KeyPoints,
                SectionKind::Decisions,
                SectionKind::ActionItems,
                SectionKind::Technical,
                SectionKind::CodeChanges
            ]
        );
        assert_eq!(
            sections[0].points[0],
            Point {
                text: "Alex proposed shipping Friday.".into(),
                citations: vec![MessageId(1001), MessageId(1003)]
            }
        );
        assert_eq!(sections[1].points[0].text, "Release moves to Monday");
        assert_eq!(sections[4].points[0].citations, vec![MessageId(1006)]);
    }

    #[test]
    fn tolerant_headings_and_bullets() {
        let answer = "Here is the summary:\n\n\
                      ### 1. KEY POINTS\n* talked about lunch [m1, m2]\n\
                      **Decisions:**\n1. Use Postgres (m3)\n\
                      __Next steps__\n- [ ] Alex: migrate [M4]\n\
                      Action items:\n+ Bo reviews [m5-m6]\n\
                      ## 🔧 Technical details\n• timeout is 30s[m2]\n\
                      #### Backend\n- sub-heading keeps the section [m1]";
        let sections = parse_answer(answer, &ids(6)).unwrap();
        assert_eq!(
            kinds(&sections),
            vec![
                SectionKind::KeyPoints,
                SectionKind::Decisions,
                SectionKind::ActionItems,
                SectionKind::Technical
            ]
        );
        let key = &sections[0].points;
        assert_eq!(key[0].text, "Here is the summary:");
        assert_eq!(key[1].text, "talked about lunch");
        assert_eq!(key[1].citations, vec![MessageId(1001), MessageId(1002)]);
        assert_eq!(sections[1].points[0].text, "Use Postgres");
        assert_eq!(sections[1].points[0].citations, vec![MessageId(1003)]);
        let actions = &sections[2].points;
        assert_eq!(actions[0].text, "Alex: migrate");
        assert_eq!(actions[1].citations, vec![MessageId(1005), MessageId(1006)]);
        assert_eq!(sections[3].points.len(), 2);
        assert_eq!(sections[3].points[0].text, "timeout is 30s");
    }

    #[test]
    fn localized_and_mixed_headings_keep_their_sections() {
        let answer = "## Wichtigste Diskussionspunkte\n- Release am Freitag [m1]\n\
                      **Entscheidungen:**\n- WASM statt Lua [m2]\n\
                      ## Action Items\n- Bo schreibt das Changelog [m3]\n\
                      ## 未解決の質問\n- Pi 3 は対応? [m4]\n\
                      Technische Details\n- Timeout 30s [m5]\n\
                      ### Кодовая база\n- sub-heading keeps the section [m5]";
        let sections = parse_answer(answer, &ids(5)).unwrap();
        assert_eq!(
            kinds(&sections),
            vec![
                SectionKind::KeyPoints,
                SectionKind::Decisions,
                SectionKind::ActionItems,
                SectionKind::OpenQuestions,
                SectionKind::Technical
            ]
        );
        assert_eq!(sections[1].points[0].text, "WASM statt Lua");
        assert_eq!(sections[4].points.len(), 2);
    }

    #[test]
    fn unknown_ids_dropped_and_duplicates_merged() {
        let answer = "## Decisions\n- A [m2][m9][m0][m2]\n## Decisions\n- B [m1]\n- None\n## Action Items\n- No action items were identified.";
        let sections = parse_answer(answer, &ids(3)).unwrap();
        assert_eq!(sections.len(), 1);
        assert_eq!(sections[0].points.len(), 2);
        assert_eq!(sections[0].points[0].citations, vec![MessageId(1002)]);
    }

    #[test]
    fn no_headings_means_key_points_and_continuations_join() {
        let answer = "- first point [m1]\n  continues here [m2]\nA plain sentence.";
        let sections = parse_answer(answer, &ids(2)).unwrap();
        assert_eq!(kinds(&sections), vec![SectionKind::KeyPoints]);
        assert_eq!(sections[0].points[0].text, "first point continues here");
        assert_eq!(
            sections[0].points[0].citations,
            vec![MessageId(1001), MessageId(1002)]
        );
        assert_eq!(sections[0].points[1].text, "A plain sentence.");
    }

    #[test]
    fn unusable_answers_are_errors() {
        assert_eq!(parse_answer("", &ids(1)), Err(ParseError::Empty));
        assert_eq!(parse_answer("  \n ", &ids(1)), Err(ParseError::Empty));
        assert!(matches!(
            parse_answer(
                "## Key Discussion Points\n\n## Action Items\n- None\n---",
                &ids(1)
            ),
            Err(ParseError::NoPoints { .. })
        ));
        assert!(matches!(
            parse_answer("```\n[m1]\n```", &ids(1)),
            Err(ParseError::NoPoints { .. })
        ));
    }

    #[test]
    fn render_round_trips() {
        let answer = "## Action Items\n- do it [m2]\n## Key Discussion Points\n- talk [m1][m3]";
        let parsed = parse_indexed(answer, &(1..=3)).unwrap();
        let rendered = render_indexed(&parsed);
        assert_eq!(
            rendered,
            "## Key Discussion Points\n- talk [m1][m3]\n\n## Action Items\n- do it [m2]"
        );
        assert_eq!(parse_indexed(&rendered, &(1..=3)).unwrap(), parsed);
        let narrow = parse_answer_within(answer, &ids(3), 2..=9).unwrap();
        assert_eq!(narrow[0].points[0].citations, vec![MessageId(1003)]);
    }
}
