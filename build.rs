//! Build script: records the git commit and target triple for `summarybot --version`, and packs
//! the tiktoken vocabularies the budgets use (see `src/summarize/vocab.rs`).

use std::io::Write;
use std::path::Path;
use std::process::Command;

use tiktoken_rs::CoreBPE;

fn main() {
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let out_dir = Path::new(&out_dir);
    let o200k = tiktoken_rs::o200k_base().expect("tiktoken-rs builds o200k_base");
    pack_vocab(&o200k, &out_dir.join("o200k_base.vocab"));
    let cl100k = tiktoken_rs::cl100k_base().expect("tiktoken-rs builds cl100k_base");
    pack_vocab(&cl100k, &out_dir.join("cl100k_base.vocab"));
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown-target".into());
    println!("cargo:rustc-env=SUMMARYBOT_TARGET={target}");
    // Static-pie musl binaries: pack the ~60,000 relative relocations (1.4 MB as RELA, x86_64)
    // as RELR, which musl's static-pie start-up applies (musl >= 1.2.4). Same address-space
    // layout randomisation, 1.4 MB less. `-z X` is understood by ld.lld and by gcc as a driver.
    if target.contains("-linux-musl") {
        println!("cargo:rustc-link-arg-bins=-z");
        println!("cargo:rustc-link-arg-bins=pack-relative-relocs");
    }
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

/// Write the ordinary tokens of `bpe` (ranks 0, 1, ... up to the first rank that is not one),
/// deflated: `count` (u32 LE), one length byte per token, then the tokens' bytes in rank order.
fn pack_vocab(bpe: &CoreBPE, path: &Path) {
    let mut lengths = Vec::new();
    let mut bytes = Vec::new();
    let mut rank: u32 = 0;
    while let Ok(token) = bpe.decode_bytes(&[rank]) {
        lengths.push(u8::try_from(token.len()).expect("a token longer than 255 bytes"));
        bytes.extend_from_slice(&token);
        rank += 1;
    }
    let mut packed = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    packed.write_all(&rank.to_le_bytes()).expect("in memory");
    packed.write_all(&lengths).expect("in memory");
    packed.write_all(&bytes).expect("in memory");
    let packed = packed.finish().expect("in memory");
    std::fs::write(path, packed).expect("cannot write to OUT_DIR");
}
