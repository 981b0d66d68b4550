//! Build script: records the git commit and target triple for `summarybot --version`.

use std::path::Path;
use std::process::Command;

fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown-target".into());
    println!("cargo:rustc-env=SUMMARYBOT_TARGET={target}");
    println!("cargo:rerun-if-env-changed=SUMMARYBOT_GIT_COMMIT");
    let commit = std::env::var("SUMMARYBOT_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SUMMARYBOT_GIT_COMMIT={commit}");
    // Rebuild the version line when HEAD moves (only when this is a plain git checkout).
    let head = Path::new(".git/HEAD");
    if head.is_file() {
        println!("cargo:rerun-if-changed=.git/HEAD");
        if let Ok(text) = std::fs::read_to_string(head) {
            if let Some(reference) = text.strip_prefix("ref: ") {
                let path = Path::new(".git").join(reference.trim());
                if path.is_file() {
                    println!("cargo:rerun-if-changed={}", path.display());
                }
            }
        }
    }
}

fn git_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!commit.is_empty()).then_some(commit)
}
