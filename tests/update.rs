//! Black-box tests of `summarybot update` against a fake GitHub releases API: a copy of the real
//! binary updates itself from a signed archive; tampered, unsigned and wrongly-signed archives,
//! a missing key and GitHub rate limiting are refused with the old binary left unchanged.
//!
//! With `SUMMARYBOT_RELEASE_ASSETS` set (CI, after .ci/assets), the update test starts from the
//! shipped x86_64 binary and updates from the very files packaging/release-assets.sh built.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::fake_github::{
    public_key_base64, sha256_hex, sign, signing_key, tar_gz, FakeGithub, ShippedRelease,
};

const BIN: &str = env!("CARGO_BIN_EXE_summarybot");
const REPO: &str = "acme/summarybot";
const CURRENT: &str = env!("CARGO_PKG_VERSION");
const NEW_BINARY: &[u8] = b"#!/bin/sh\necho 'summarybot 99.0.0'\n";
/// The shipped asset the update tests use when CI built the assets (it runs on this machine).
const SHIPPED_TARGET: &str = "x86_64-unknown-linux-musl";

/// The target triple this build looks for, from `--version` ("0.1.0 (commit x, TARGET)").
fn target() -> String {
    let out = Command::new(BIN).arg("--version").output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .trim_end_matches(')')
        .rsplit(", ")
        .next()
        .expect("target in --version")
        .to_owned()
}

fn asset_name() -> String {
    format!("summarybot-{}.tar.gz", target())
}

/// The release's assets: a checksum file listed first (its name also contains the target, so
/// the updater must pick the archive by exact name), then the archive.
fn assets(archive: Vec<u8>) -> Vec<(String, Vec<u8>)> {
    let sums = format!("{}  {}\n", sha256_hex(&archive), asset_name());
    vec![
        (format!("{}.sha256", asset_name()), sums.into_bytes()),
        (asset_name(), archive),
    ]
}

/// A temp dir holding a config and a copy of the real binary (the one that gets replaced).
struct Sandbox {
    dir: tempfile::TempDir,
    gh: FakeGithub,
    bin: PathBuf,
}

impl Sandbox {
    fn new(keys: &[String]) -> Self {
        Self::starting_from(keys, Path::new(BIN))
    }

    /// A sandbox whose binary (the one that gets replaced) is a copy of `exe`.
    fn starting_from(keys: &[String], exe: &Path) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let gh = FakeGithub::start(REPO);
        let bin_dir = dir.path().join("bin");
        std::fs::create_dir(&bin_dir).expect("mkdir");
        let bin = bin_dir.join("summarybot");
        std::fs::copy(exe, &bin).expect("copy binary");
        let keys = keys
            .iter()
            .map(|k| format!("{k:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let config = format!(
            "[discord]\nenabled = false\n\n[update]\nrepository = \"{REPO}\"\n\
             api_base_url = \"{}\"\nverifying_keys = [{keys}]\n",
            gh.api_url()
        );
        std::fs::write(dir.path().join("summarybot.toml"), config).expect("config");
        Self { dir, gh, bin }
    }

    fn run(&self, exe: &Path, args: &[&str]) -> Output {
        let mut attempt = 0;
        loop {
            let ran = Command::new(exe)
                .args(args)
                .current_dir(self.dir.path())
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("HOME", self.dir.path())
                // This machine may itself be a container: look for markers in the sandbox instead.
                .env("SUMMARYBOT_SYSTEM_ROOT", self.dir.path())
                .stdin(Stdio::null())
                .output();
            match ran {
                // The copy was just written: a process another test thread forked meanwhile may
                // hold its write descriptor until it execs ("Text file busy"). Not the binary's
                // doing: try again shortly.
                Err(e) if e.raw_os_error() == Some(26) && attempt < 50 => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                ran => return ran.expect("binary runs"),
            }
        }
    }

    /// Run the copy (whose running executable is the file to replace).
    fn run_copy(&self, args: &[&str]) -> Output {
        self.run(&self.bin, args)
    }

    fn binary_unchanged(&self) -> bool {
        std::fs::read(&self.bin).expect("read copy") == std::fs::read(BIN).expect("read real")
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn signed_release(seed: u8, content: &[u8]) -> Vec<u8> {
    let archive = tar_gz(&[("summarybot", content, 0o755)]);
    sign(&archive, &asset_name(), &signing_key(seed))
}

fn good_key() -> String {
    public_key_base64(&signing_key(1))
}

#[test]
fn check_prints_current_and_latest() {
    let sb = Sandbox::new(&[good_key()]);
    sb.gh
        .publish("v99.0.0", assets(signed_release(1, NEW_BINARY)));
    let out = sb.run(Path::new(BIN), &["update", "--check"]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains(&format!("current version: {CURRENT}")),
        "{all}"
    );
    assert!(all.contains("latest release:  99.0.0"), "{all}");
    assert!(all.contains("an update is available"), "{all}");
    // A check downloads nothing.
    assert!(sb.gh.requests().iter().all(|p| !p.starts_with("/assets/")));
}

#[test]
fn signed_release_replaces_the_binary_and_asks_for_a_restart() {
    if let Some(shipped) = ShippedRelease::from_env(SHIPPED_TARGET) {
        update_from_shipped(&shipped);
        return;
    }
    let sb = Sandbox::new(&[good_key()]);
    sb.gh
        .publish("v99.0.0", assets(signed_release(1, NEW_BINARY)));
    let out = sb.run_copy(&["update"]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("to 99.0.0 (signature verified)"), "{all}");
    assert!(all.contains("restart"), "{all}");
    assert_eq!(std::fs::read(&sb.bin).expect("read"), NEW_BINARY);
    let run = Command::new(&sb.bin).output().expect("new binary runs");
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        "summarybot 99.0.0"
    );
}

/// The shipped binary updates itself from the shipped assets, checking the shipped signature;
/// the same assets with another trusted key are refused.
fn update_from_shipped(shipped: &ShippedRelease) {
    use std::os::unix::fs::MetadataExt;

    let unpacked = tempfile::tempdir().expect("tempdir");
    let shipped_bin = shipped.unpack_binary(SHIPPED_TARGET, unpacked.path());
    let sb = Sandbox::starting_from(&[shipped.public_key_base64()], &shipped_bin);
    sb.gh.publish("v99.0.0", shipped.assets());
    let inode = std::fs::metadata(&sb.bin).expect("meta").ino();
    let out = sb.run_copy(&["update"]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("to 99.0.0 (signature verified)"), "{all}");
    assert_ne!(
        std::fs::metadata(&sb.bin).expect("meta").ino(),
        inode,
        "not replaced"
    );
    assert_eq!(
        std::fs::read(&sb.bin).expect("read"),
        std::fs::read(&shipped_bin).expect("read shipped")
    );
    let version = Command::new(&sb.bin)
        .arg("--version")
        .output()
        .expect("runs");
    assert!(
        String::from_utf8_lossy(&version.stdout).contains(SHIPPED_TARGET),
        "{}",
        text(&version)
    );

    let other = Sandbox::starting_from(&[good_key()], &shipped_bin);
    other.gh.publish("v99.0.0", shipped.assets());
    let out = other.run_copy(&["update"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("signature is missing or does not match"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read(&other.bin).expect("read"),
        std::fs::read(&shipped_bin).expect("read shipped")
    );
}

#[test]
fn pinned_version_installs_that_release() {
    let sb = Sandbox::new(&[good_key()]);
    sb.gh.publish(
        "v98.0.0",
        assets(signed_release(1, b"#!/bin/sh\necho old\n")),
    );
    sb.gh
        .publish("v99.0.0", assets(signed_release(1, NEW_BINARY)));
    let out = sb.run_copy(&["update", "--version", "98.0.0"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read(&sb.bin).expect("read"),
        b"#!/bin/sh\necho old\n"
    );
}

fn assert_refused(sb: &Sandbox, needle: &str) {
    let out = sb.run_copy(&["update"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains(needle), "expected {needle:?} in: {all}");
    assert!(sb.binary_unchanged(), "the old binary must stay");
}

#[test]
fn tampered_archive_is_refused() {
    let sb = Sandbox::new(&[good_key()]);
    let mut archive = signed_release(1, NEW_BINARY);
    // Flip a byte inside the signed gzip payload (the signature block is appended at the end).
    archive[20] ^= 0x55;
    sb.gh.publish("v99.0.0", assets(archive));
    assert_refused(&sb, "signature is missing or does not match");
}

#[test]
fn unsigned_archive_is_refused() {
    let sb = Sandbox::new(&[good_key()]);
    let archive = tar_gz(&[("summarybot", NEW_BINARY, 0o755)]);
    sb.gh.publish("v99.0.0", assets(archive));
    assert_refused(&sb, "signature is missing or does not match");
}

#[test]
fn archive_signed_by_another_key_is_refused() {
    let sb = Sandbox::new(&[good_key()]);
    sb.gh
        .publish("v99.0.0", assets(signed_release(2, NEW_BINARY)));
    assert_refused(&sb, "signature is missing or does not match");
}

#[test]
fn no_verifying_key_is_refused_before_downloading() {
    let sb = Sandbox::new(&[]);
    sb.gh
        .publish("v99.0.0", assets(signed_release(1, NEW_BINARY)));
    assert_refused(&sb, "update.verifying_keys");
    assert!(sb.gh.requests().iter().all(|p| !p.starts_with("/assets/")));
}

#[test]
fn github_rate_limit_says_what_to_do() {
    let sb = Sandbox::new(&[good_key()]);
    sb.gh.set_rate_limited(true);
    assert_refused(&sb, "GH_TOKEN");
    let out = sb.run(Path::new(BIN), &["update", "--check"]);
    assert!(text(&out).contains("rate limited"), "{}", text(&out));
}

#[test]
fn up_to_date_changes_nothing() {
    let sb = Sandbox::new(&[good_key()]);
    sb.gh.publish(
        &format!("v{CURRENT}"),
        assets(signed_release(1, NEW_BINARY)),
    );
    let out = sb.run_copy(&["update"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("is up to date"), "{}", text(&out));
    assert!(sb.binary_unchanged());
}

#[test]
fn container_is_refused() {
    let sb = Sandbox::new(&[good_key()]);
    sb.gh
        .publish("v99.0.0", assets(signed_release(1, NEW_BINARY)));
    std::fs::write(sb.dir.path().join(".dockerenv"), b"").expect("marker");
    assert_refused(&sb, "pull the new image");
    assert!(
        sb.gh.requests().is_empty(),
        "nothing fetched in a container"
    );
}

#[test]
fn watch_with_auto_installs_a_newer_release() {
    use std::time::{Duration, Instant};
    use summarybot::update::{watch, UpdateSettings, WatchPolicy};

    let sb = Sandbox::new(&[good_key()]);
    sb.gh
        .publish("v99.0.0", assets(signed_release(1, NEW_BINARY)));
    let target_file = sb.dir.path().join("bin/summarybot");
    let settings = UpdateSettings {
        repository: REPO.to_owned(),
        api_base_url: sb.gh.api_url(),
        verifying_keys: vec![good_key()],
        current_version: CURRENT.to_owned(),
        target: target(),
        install_path: target_file.clone(),
        pin: None,
        token: None,
    };
    let policy = WatchPolicy {
        interval: Duration::from_secs(3600),
        auto: true,
        check_now: true,
        root: sb.dir.path().to_path_buf(),
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let found = std::sync::Arc::new(summarybot::runtime::Runtime::default());
    let task = runtime.spawn(watch(settings, policy, std::sync::Arc::clone(&found)));
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read(&target_file).expect("read") != NEW_BINARY {
        assert!(
            Instant::now() < deadline,
            "watch did not install the release"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    task.abort();
    assert!(
        found
            .update_available()
            .is_some_and(|v| v.contains("99.0.0")),
        "the status page learns of the release: {:?}",
        found.update_available()
    );
}
