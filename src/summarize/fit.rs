//! Holding an LLM summary to its `detail` budget when the model wrote more than it was asked
//! for: the tail of the longest section goes first, then whole low-priority sections, and a
//! last point that is still too long is cut after a word (never inside a link). Measured as a
//! reader sees the Markdown ([`render::visible_chars`]).

use crate::model::{SectionKind, Summary};

use super::render;

/// Sections dropped whole when every section is down to one point, least important first.
const DROP_ORDER: [SectionKind; 8] = [
    SectionKind::Threads,
    SectionKind::Links,
    SectionKind::CodeChanges,
    SectionKind::Technical,
    SectionKind::OpenQuestions,
    SectionKind::KeyPoints,
    SectionKind::ActionItems,
    SectionKind::Decisions,
];

/// Visible characters of `summary` rendered as Markdown (header included).
pub fn visible_len(summary: &Summary) -> usize {
    render::visible_chars(&render::markdown(summary))
}

/// Trim `summary` to at most `budget` visible characters. Returns how many points were
/// dropped or cut (0: it already fitted).
pub fn trim(summary: &mut Summary, budget: usize) -> usize {
    let mut changed = 0;
    loop {
        summary.sections.retain(|s| !s.points.is_empty());
        let len = visible_len(summary);
        if len <= budget {
            return changed;
        }
        changed += 1;
        // The tail of the longest section that has more than one point.
        let longest = summary
            .sections
            .iter_mut()
            .filter(|s| s.points.len() > 1)
            .max_by_key(|s| {
                s.points
                    .iter()
                    .map(|p| render::visible_chars(&p.text) + 4 * p.citations.len())
                    .sum::<usize>()
            });
        if let Some(section) = longest {
            section.points.pop();
            continue;
        }
        if summary.sections.len() > 1 {
            let rank = |k: SectionKind| DROP_ORDER.iter().position(|d| *d == k).unwrap_or(0);
            if let Some(i) =
                (0..summary.sections.len()).min_by_key(|&i| rank(summary.sections[i].kind))
            {
                summary.sections.remove(i);
            }
            continue;
        }
        // One section with one point, still too long: cut its text.
        let Some(point) = summary
            .sections
            .first_mut()
            .and_then(|s| s.points.first_mut())
        else {
            return changed; // only the header is left
        };
        let over = len - budget;
        let keep = render::visible_chars(&point.text).saturating_sub(over);
        match render::cut_visible(&point.text, keep) {
            Some(cut) if cut != point.text => point.text = cut,
            _ => {
                summary.sections.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        ChannelId, ChannelInfo, GuildId, MessageId, Point, Section, TimeWindow, Timestamp,
        TokenUsage,
    };

    fn point(text: &str, id: u64) -> Point {
        Point {
            text: text.to_owned(),
            citations: vec![MessageId(id)],
        }
    }

    fn summary(sections: Vec<Section>) -> Summary {
        Summary {
            channel: ChannelInfo {
                id: ChannelId(2),
                guild_id: Some(GuildId(1)),
                guild_name: None,
                name: "general".into(),
                topic: None,
                parent_id: None,
            },
            window: TimeWindow {
                start: Timestamp(0),
                end: Timestamp(3_600_000),
            },
            message_count: 40,
            participants: vec!["Mara".into()],
            sections,
            provider: "openai".into(),
            model: "m".into(),
            usage: TokenUsage::default(),
            cached: false,
            fallback_reason: None,
            focus: None,
            created_at: Timestamp(0),
            language: None,
            withheld: 0,
            left_out: 0,
            cache_entry: None,
        }
    }

    fn long_summary() -> Summary {
        let many = |prefix: &str, base: u64| -> Vec<Point> {
            (0..8)
                .map(|i| {
                    point(
                        &format!("{prefix} point {i} {}", "word ".repeat(20)),
                        base + i,
                    )
                })
                .collect()
        };
        summary(vec![
            Section {
                kind: SectionKind::KeyPoints,
                points: many("key", 100),
            },
            Section {
                kind: SectionKind::Decisions,
                points: vec![point("Lua is dropped, WASM it is", 7)],
            },
            Section {
                kind: SectionKind::Technical,
                points: many("tech", 200),
            },
        ])
    }

    #[test]
    fn long_sections_lose_their_tails_first_and_the_result_fits() {
        let mut s = long_summary();
        assert!(visible_len(&s) > 2_000);
        let dropped = trim(&mut s, 700);
        assert!(dropped > 0);
        assert!(visible_len(&s) <= 700, "{}", render::markdown(&s));
        let decisions = s.sections.iter().find(|x| x.kind == SectionKind::Decisions);
        assert!(decisions.is_some(), "the one decision is kept: {s:?}");
        let keys = &s.sections[0];
        assert_eq!(keys.kind, SectionKind::KeyPoints);
        assert!(
            keys.points[0].text.starts_with("key point 0"),
            "first points stay"
        );
    }

    #[test]
    fn a_summary_within_budget_is_left_alone() {
        let mut s = long_summary();
        let before = s.clone();
        assert_eq!(trim(&mut s, 100_000), 0);
        assert_eq!(s, before);
    }

    #[test]
    fn one_giant_point_is_cut_after_a_word() {
        let text = format!("{} [docs](https://a.io/x) end", "word ".repeat(300));
        let mut s = summary(vec![Section {
            kind: SectionKind::KeyPoints,
            points: vec![point(&text, 5)],
        }]);
        trim(&mut s, 700);
        assert!(visible_len(&s) <= 700);
        let kept = &s.sections[0].points[0].text;
        assert!(kept.ends_with("word…"), "{kept}");
    }
}
