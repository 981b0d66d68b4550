//! Technical details (code blocks, errors, commands, file paths, versions) and code changes
//! (pull requests, commits, merges, branches, releases) for the builtin summarizer.

use std::collections::HashMap;

use super::detect::{find_any, sentences_of, Candidate};
use super::phrases::{fill, Phrases};
use super::text::{self, POINT_CHARS};
use super::Msg;
use crate::model::MessageId;

const CHANGE_MARKERS: &[&str] = &[
    "pull request",
    "pr #",
    "pr#",
    "merged",
    "merge ",
    "commit",
    "branch",
    "released",
    "release v",
    "new release",
    "releasing",
    "tagged",
    "deployed",
    "/pull/",
    "/commit/",
    "rebased",
    "cherry-pick",
    "pushed",
];

const ERROR_MARKERS: &[&str] = &[
    "traceback (most recent call last)",
    "panicked at",
    "exception:",
    "exception in thread",
    "uncaught exception",
    "error:",
    "error[e",
    "stack trace",
    "segfault",
    "fatal:",
];

const COMMANDS: &[&str] = &[
    "$ ",
    "apt ",
    "cargo ",
    "curl ",
    "docker ",
    "git ",
    "go ",
    "kubectl ",
    "make ",
    "npm ",
    "pip ",
    "pnpm ",
    "python ",
    "rustup ",
    "sudo ",
    "systemctl ",
    "yarn ",
];

const FILE_EXTENSIONS: &[&str] = &[
    "c", "cfg", "cpp", "css", "go", "h", "html", "ini", "java", "js", "json", "kt", "lock", "md",
    "py", "rb", "rs", "sh", "sql", "toml", "ts", "tsx", "yaml", "yml",
];

/// Code blocks, errors, commands, file paths and versions.
pub(crate) fn technical(msgs: &[Msg<'_>], ph: &Phrases) -> Vec<Candidate> {
    msgs.iter()
        .filter(|m| m.human)
        .filter_map(|m| {
            technical_point(m, ph).map(|(bonus, text)| {
                let text = format!("**{}** {}", m.author, text);
                Candidate::new(m.score + bonus, m.index, text, vec![m.raw.id])
            })
        })
        .collect()
}

/// What the message contributes technically, phrased after the author's name, with a bonus.
fn technical_point(m: &Msg<'_>, ph: &Phrases) -> Option<(f32, String)> {
    let code = |s: &str| format!("`{}`", text::shorten(&s.replace('`', "'"), 100));
    if let Some(line) = error_line(&m.full) {
        return Some((1.0, fill(ph.reported_error, &[("code", &code(line))])));
    }
    if let Some((lang, first)) = code_block(&m.full) {
        let template = if lang.is_empty() {
            ph.shared_snippet
        } else {
            ph.shared_lang_snippet
        };
        let context = if m.words >= 3 {
            format!(" ({})", text::shorten(&m.prose, 120))
        } else {
            String::new()
        };
        let values = [
            ("lang", lang),
            ("context", &context),
            ("code", &code(first)),
        ];
        return Some((0.8, fill(template, &values)));
    }
    if let Some(cmd) = command(&m.full) {
        return Some((0.6, fill(ph.ran_command, &[("code", &code(cmd))])));
    }
    let has_tech = m.prose.contains('`') || m.prose.split_whitespace().any(is_path_or_version);
    has_tech.then(|| {
        (
            0.4,
            fill(ph.noted, &[("text", &text::shorten(&m.prose, POINT_CHARS))]),
        )
    })
}

/// The first line that looks like an error or stack trace.
fn error_line(full: &str) -> Option<&str> {
    full.lines()
        .map(|l| l.trim().trim_matches('`'))
        .find(|l| find_any(&l.to_ascii_lowercase(), ERROR_MARKERS).is_some())
        .filter(|l| !l.is_empty())
}

/// The language tag and first non-empty line of the first fenced code block.
fn code_block(full: &str) -> Option<(&str, &str)> {
    let body = full.split("```").nth(1)?;
    let (tag, rest) = body.split_once('\n').unwrap_or(("", body));
    let tag = tag.trim();
    let is_tag = !tag.is_empty() && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '+');
    let (lang, code) = if is_tag { (tag, rest) } else { ("", body) };
    let first = code.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some((lang, first))
}

/// A shell command: a line or inline code span starting with `$ ` or a known tool.
fn command(full: &str) -> Option<&str> {
    let inline = full.split('`').skip(1).step_by(2);
    let lines = full.lines();
    inline.chain(lines).map(str::trim).find(|s| {
        let lower = s.to_ascii_lowercase();
        COMMANDS.iter().any(|c| lower.starts_with(c)) && s.split_whitespace().count() >= 2
    })
}

/// `src/main.rs`, `config.toml`, `v1.2.3`, `2.0.1`.
fn is_path_or_version(word: &str) -> bool {
    let word = word
        .trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '(' | ')' | '"' | '\'' | '!' | '?'));
    let word = word.strip_suffix('.').unwrap_or(word);
    if word.contains("://") {
        return false;
    }
    let version = word.strip_prefix('v').unwrap_or(word);
    let parts: Vec<&str> = version.split('.').collect();
    let is_version = parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let is_file = word.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && FILE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
    });
    let is_path = word.matches('/').count() >= 2 && word.chars().all(|c| !c.is_whitespace());
    is_version || is_file || is_path
}

/// Pull requests, commits, merges, branches and releases (CI bot messages included), each with
/// substance: a PR, a commit, a diff or a file in the message. A short "merged." takes its object
/// from the message it replies to or the few before it; without one it is left out.
pub(crate) fn code_changes(msgs: &[Msg<'_>], ph: &Phrases) -> Vec<Candidate> {
    let index: HashMap<MessageId, usize> = msgs.iter().map(|m| (m.raw.id, m.index)).collect();
    let mut out = Vec::new();
    for (k, m) in msgs.iter().enumerate() {
        if !(m.human || (m.raw.author.is_bot && !m.raw.kind.is_system())) {
            continue;
        }
        let found = sentences_of(m).find(|(_, lower)| find_any(lower, CHANGE_MARKERS).is_some());
        let Some((sentence, _)) = found else { continue };
        let bot_bonus = if m.human { 0.5 } else { 0.3 };
        if substance(&m.full).is_some() {
            out.push(Candidate::from_msg(m, bot_bonus, sentence));
            continue;
        }
        if sentence.split_whitespace().count() > 4 {
            continue;
        }
        let parent = m.raw.reply_to.and_then(|id| index.get(&id).copied());
        let object = parent
            .into_iter()
            .chain((k.saturating_sub(3)..k).rev())
            .find_map(|i| substance(&msgs[i].full));
        if let Some(object) = object {
            let text = fill(ph.about, &[("text", sentence), ("object", &object)]);
            out.push(Candidate::from_msg(m, bot_bonus, &text));
        }
    }
    out
}

/// What a change is about: the first PR (`#123`, `/pull/123`), commit (`/commit/…`, a backticked
/// hex hash), diff or file path in the text.
pub(crate) fn substance(full: &str) -> Option<String> {
    let words: Vec<&str> = full
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '(' | ')' | '!' | '?' | '.'))
        })
        .collect();
    // A pull request named as one wins over other numbers ("Build #2331 passed for PR #423").
    let named_pr = words.iter().enumerate().find_map(|(i, w)| {
        let after_pr = i > 0 && words[i - 1].eq_ignore_ascii_case("pr");
        let number = w
            .split("/pull/")
            .nth(1)
            .or(after_pr.then(|| w.strip_prefix('#')).flatten())?;
        pr_number(number)
    });
    if named_pr.is_some() {
        return named_pr;
    }
    for word in words {
        if let Some(n) = word.strip_prefix('#').and_then(pr_number) {
            return Some(n);
        }
        if let Some(sha) = word.split("/commit/").nth(1) {
            return Some(sha.chars().take(7).collect());
        }
        let code = word.trim_matches('`');
        let hex = code.len() >= 7
            && code.len() <= 40
            && word.starts_with('`')
            && code.bytes().all(|b| b.is_ascii_hexdigit());
        if hex || (is_path_or_version(code) && !is_version(code)) {
            return Some(code.to_string());
        }
    }
    full.contains("```diff").then(|| "diff".to_string())
}

/// `#123` from the digits at the start of `n`.
fn pr_number(n: &str) -> Option<String> {
    let digits: String = n.chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty() && digits.len() <= 7).then(|| format!("#{digits}"))
}

fn is_version(word: &str) -> bool {
    let version = word.strip_prefix('v').unwrap_or(word);
    version
        .split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tech_words() {
        assert!(is_path_or_version("src/main.rs"));
        assert!(is_path_or_version("v1.2.3,"));
        assert!(is_path_or_version("Cargo.toml."));
        assert!(!is_path_or_version("e.g."));
        assert!(!is_path_or_version("https://a.io/x/y"));
        assert!(!is_path_or_version("and/or"));
    }

    #[test]
    fn changes_need_substance() {
        assert_eq!(
            substance("fix is up: https://github.com/o/r/pull/412 ok"),
            Some("#412".into())
        );
        assert_eq!(substance("approved #420, merging"), Some("#420".into()));
        assert_eq!(
            substance("Build #2331 passed for PR #423 `fix`"),
            Some("#423".into())
        );
        assert_eq!(
            substance("tag from `release/0.9` at `c3f1e08`"),
            Some("c3f1e08".into())
        );
        assert_eq!(
            substance("touched src/gp/proxy_table.rs today"),
            Some("src/gp/proxy_table.rs".into())
        );
        assert_eq!(substance("I already have a branch that half works"), None);
        assert_eq!(substance("merged 0.9.0 into the notes"), None);
    }

    #[test]
    fn code_blocks_and_commands() {
        assert_eq!(
            code_block("look:\n```rust\nfn main() {}\n```"),
            Some(("rust", "fn main() {}"))
        );
        assert_eq!(code_block("```let x = 1;```"), Some(("", "let x = 1;")));
        assert_eq!(
            command("try `cargo build --release` now"),
            Some("cargo build --release")
        );
        assert_eq!(command("the git history"), None);
        assert_eq!(
            error_line("it fails\nthread 'main' panicked at src/x.rs:3"),
            Some("thread 'main' panicked at src/x.rs:3")
        );
    }
}
