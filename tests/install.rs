//! Black-box tests of install.sh: a fake release (tarball of the real binary and unit files, plus
//! its .sha256) served from a local fake GitHub, installed into a temporary root: install,
//! re-run (upgrade keeps the config), checksum mismatch (nothing installed), dry run,
//! uninstall (keeps config and data) and purge.
//!
//! With `SUMMARYBOT_RELEASE_ASSETS` set (CI, after .ci/assets), the fake GitHub serves the very
//! files packaging/release-assets.sh built instead: the shipped static binary gets installed.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use support::fake_github::{sha256_hex, sign, signing_key, tar_gz, FakeGithub, ShippedRelease};

const BIN: &str = env!("CARGO_BIN_EXE_summarybot");
const TARGET: &str = "x86_64-unknown-linux-musl";

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn asset() -> String {
    format!("summarybot-{TARGET}.tar.gz")
}

/// The release tarball, built once per test binary (the debug binary is large).
fn tarball() -> &'static [u8] {
    static TARBALL: OnceLock<Vec<u8>> = OnceLock::new();
    TARBALL.get_or_init(|| {
        let read = |p: &Path| std::fs::read(p).expect("read release file");
        let bin = read(Path::new(BIN));
        let unit = read(&repo_file("packaging/summarybot.service"));
        let users = read(&repo_file("packaging/summarybot.sysusers"));
        let tmpfiles = read(&repo_file("packaging/summarybot.tmpfiles"));
        tar_gz(&[
            ("summarybot", &bin, 0o755),
            ("summarybot.service", &unit, 0o644),
            ("summarybot.sysusers", &users, 0o644),
            ("summarybot.tmpfiles", &tmpfiles, 0o644),
        ])
    })
}

/// The release as published: the shipped assets when CI built them, else a tarball of the test
/// binary with its `.sha256`. `checksum_ok = false` publishes a `.sha256` of other bytes.
fn release(checksum_ok: bool) -> Vec<(String, Vec<u8>)> {
    let mut assets = if let Some(shipped) = ShippedRelease::from_env(TARGET) {
        shipped.assets()
    } else {
        let bytes = tarball().to_vec();
        let sums = format!("{}  {}\n", sha256_hex(&bytes), asset());
        vec![
            (asset(), bytes),
            (format!("{}.sha256", asset()), sums.into_bytes()),
        ]
    };
    if !checksum_ok {
        let wrong = format!("{}  {}\n", sha256_hex(b"something else"), asset());
        for (name, bytes) in &mut assets {
            if *name == format!("{}.sha256", asset()) {
                *bytes = wrong.clone().into_bytes();
            }
        }
    }
    assets
}

/// A signed release and the file holding its public key (what `--pubkey` takes): the shipped
/// assets and their test key when CI built them, else the test tarball signed in-process.
fn signed_release(dir: &Path) -> (Vec<(String, Vec<u8>)>, PathBuf) {
    let pubkey = dir.join("zipsign.pub");
    if let Some(shipped) = ShippedRelease::from_env(TARGET) {
        std::fs::copy(shipped.path("zipsign-test.pub"), &pubkey).expect("copy key");
        return (shipped.assets(), pubkey);
    }
    let key = signing_key(7);
    std::fs::write(&pubkey, key.verifying_key().to_bytes()).expect("write key");
    let bytes = sign(tarball(), &asset(), &key);
    let sums = format!("{}  {}\n", sha256_hex(&bytes), asset());
    let assets = vec![
        (asset(), bytes),
        (format!("{}.sha256", asset()), sums.into_bytes()),
    ];
    (assets, pubkey)
}

struct Sandbox {
    dir: tempfile::TempDir,
    gh: FakeGithub,
}

impl Sandbox {
    fn new() -> Self {
        let sb = Self {
            dir: tempfile::tempdir().expect("tempdir"),
            gh: FakeGithub::start("acme/summarybot"),
        };
        std::fs::create_dir(sb.root()).expect("mkdir root");
        sb
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn at(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    fn install(&self, extra: &[&str]) -> Output {
        let root = self.root();
        let base = self.gh.releases_url();
        let mut args = vec![
            "--root",
            root.to_str().expect("utf-8 path"),
            "--base-url",
            &base,
            "--target",
            TARGET,
        ];
        args.extend_from_slice(extra);
        Command::new("sh")
            .arg(repo_file("install.sh"))
            .args(&args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("sh runs")
    }

    /// Every file under the root, relative.
    fn files(&self) -> Vec<String> {
        fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, base, out);
                } else {
                    let rel = path.strip_prefix(base).expect("under base");
                    out.push(rel.display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root(), &self.root(), &mut out);
        out.sort();
        out
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn installed(sb: &Sandbox, extra: &[&str]) -> String {
    let out = sb.install(extra);
    let all = text(&out);
    assert!(out.status.success(), "install failed: {all}");
    all
}

#[test]
fn installs_binary_config_data_and_unit_into_the_root() {
    let sb = Sandbox::new();
    sb.gh.publish("v0.1.0", release(true));
    let all = installed(&sb, &[]);
    // `latest` uses GitHub's /releases/latest/download/ layout.
    assert!(sb
        .gh
        .requests()
        .iter()
        .any(|p| p.contains("/releases/latest/download/")));
    let bin = sb.at("usr/local/bin/summarybot");
    let version = Command::new(&bin).arg("--version").output().expect("runs");
    assert!(version.status.success());
    if ShippedRelease::from_env(TARGET).is_some() {
        // The shipped static binary, not the test build.
        assert!(String::from_utf8_lossy(&version.stdout).contains(TARGET));
    }
    assert!(sb.at("etc/summarybot/config.toml").is_file());
    assert!(sb.at("var/lib/summarybot").is_dir());
    let unit = std::fs::read_to_string(sb.at("etc/systemd/system/summarybot.service"))
        .expect("unit installed");
    assert!(unit.contains("ExecStart=/usr/local/bin/summarybot run"));
    assert!(sb.at("usr/lib/sysusers.d/summarybot.conf").is_file());
    assert!(sb.at("usr/lib/tmpfiles.d/summarybot.conf").is_file());
    // Incomplete config: says what to fill in; no user or systemctl in a temp root.
    assert!(all.contains("Checksum OK"), "{all}");
    assert!(all.contains("not complete yet"), "{all}");
    assert!(all.contains("discord.token"), "{all}");
    assert!(all.contains("Skipping system user creation"), "{all}");
}

fn has_zipsign() -> bool {
    Command::new("zipsign").arg("--version").output().is_ok()
}

#[test]
fn signature_is_checked_with_pubkey_when_zipsign_exists() {
    if !has_zipsign() {
        eprintln!("zipsign not installed: skipped");
        return;
    }
    let sb = Sandbox::new();
    let (assets, pubkey) = signed_release(sb.dir.path());
    sb.gh.publish("v0.1.0", assets);
    let all = installed(&sb, &["--pubkey", pubkey.to_str().expect("utf-8 path")]);
    assert!(all.contains("Signature OK"), "{all}");
    assert!(sb.at("usr/local/bin/summarybot").is_file());
}

#[test]
fn signature_by_another_key_installs_nothing() {
    if !has_zipsign() {
        eprintln!("zipsign not installed: skipped");
        return;
    }
    let sb = Sandbox::new();
    let (assets, pubkey) = signed_release(sb.dir.path());
    sb.gh.publish("v0.1.0", assets);
    std::fs::write(&pubkey, signing_key(9).verifying_key().to_bytes()).expect("other key");
    let out = sb.install(&["--pubkey", pubkey.to_str().expect("utf-8 path")]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("signature check failed"),
        "{}",
        text(&out)
    );
    assert_eq!(sb.files(), Vec::<String>::new());
}

#[test]
fn rerun_upgrades_and_keeps_the_config() {
    let sb = Sandbox::new();
    sb.gh.publish("v0.1.0", release(true));
    installed(&sb, &["--version", "0.1.0"]);
    let config = sb.at("etc/summarybot/config.toml");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str("\n# edited by the admin\n");
    std::fs::write(&config, &text).expect("edit config");
    sb.gh.publish("v0.2.0", release(true));
    let all = installed(&sb, &["--version", "v0.2.0"]);
    assert!(all.contains("Upgrading"), "{all}");
    assert!(all.contains("Keeping existing"), "{all}");
    assert_eq!(std::fs::read_to_string(&config).expect("config"), text);
    assert!(sb
        .gh
        .requests()
        .iter()
        .any(|p| p.ends_with(&format!("/releases/download/v0.2.0/{}", asset()))));
}

#[test]
fn checksum_mismatch_installs_nothing() {
    let sb = Sandbox::new();
    sb.gh.publish("v0.1.0", release(false));
    let out = sb.install(&[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("checksum mismatch"), "{}", text(&out));
    assert_eq!(sb.files(), Vec::<String>::new());
}

#[test]
fn missing_release_fails_clearly() {
    let sb = Sandbox::new();
    let out = sb.install(&["--version", "9.9.9"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("download failed"), "{}", text(&out));
    assert_eq!(sb.files(), Vec::<String>::new());
}

#[test]
fn dry_run_changes_nothing() {
    let sb = Sandbox::new();
    sb.gh.publish("v0.1.0", release(true));
    let out = sb.install(&["--dry-run"]);
    assert!(out.status.success(), "{}", text(&out));
    let plan = text(&out);
    assert!(plan.contains("Plan:"), "{plan}");
    // The plan is what a --root install does: every file, no user, nothing started.
    for needle in [
        "sysusers.d/summarybot.conf",
        "tmpfiles.d/summarybot.conf",
        "no user",
    ] {
        assert!(
            plan.contains(needle),
            "{needle} missing from the plan:\n{plan}"
        );
    }
    assert!(plan.contains("not start anything"), "{plan}");
    assert!(!plan.contains("start summarybot.service"), "{plan}");
    assert_eq!(sb.files(), Vec::<String>::new());
    assert!(sb.gh.requests().is_empty(), "a dry run downloads nothing");
}

#[test]
fn armv7_is_said_to_be_untested_and_aarch64_is_not() {
    let sb = Sandbox::new();
    let plan = |target: &str| {
        let out = Command::new("sh")
            .arg(repo_file("install.sh"))
            .args(["--root", sb.root().to_str().expect("utf-8 path")])
            .args(["--dry-run", "--target", target])
            .output()
            .expect("sh runs");
        assert!(out.status.success(), "{}", text(&out));
        text(&out)
    };
    let armv7 = plan("armv7-unknown-linux-musleabihf");
    assert!(
        armv7.contains("armv7) build is published but untested"),
        "{armv7}"
    );
    let aarch64 = plan("aarch64-unknown-linux-musl");
    assert!(!aarch64.contains("untested"), "{aarch64}");
}

#[test]
fn help_prints_the_options_and_nothing_of_the_script() {
    let sb = Sandbox::new();
    let out = sb.install(&["--help"]);
    assert!(out.status.success(), "{}", text(&out));
    let help = text(&out);
    assert!(help.contains("--purge"), "{help}");
    assert!(help.contains("URL/download/vX/ASSET"), "{help}");
    assert!(!help.contains("set -eu"), "{help}");
    assert!(!help.contains("REPO_URL"), "{help}");
}

#[test]
fn uninstall_keeps_config_and_data_and_purge_removes_them() {
    let sb = Sandbox::new();
    sb.gh.publish("v0.1.0", release(true));
    installed(&sb, &[]);
    std::fs::write(sb.at("var/lib/summarybot/summarybot.redb"), b"data").expect("data");
    let all = installed(&sb, &["--uninstall"]);
    assert!(all.contains("Kept"), "{all}");
    assert!(!sb.at("usr/local/bin/summarybot").exists());
    assert!(!sb.at("etc/systemd/system/summarybot.service").exists());
    assert!(sb.at("etc/summarybot/config.toml").is_file());
    assert!(sb.at("var/lib/summarybot/summarybot.redb").is_file());
    installed(&sb, &["--purge"]);
    assert!(!sb.at("etc/summarybot").exists());
    assert!(!sb.at("var/lib/summarybot").exists());
}

#[test]
fn unsupported_options_and_relative_roots_are_refused() {
    let sb = Sandbox::new();
    let out = sb.install(&["--frobnicate"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("unknown option"), "{}", text(&out));
    let out = Command::new("sh")
        .arg(repo_file("install.sh"))
        .args(["--root", "relative/dir", "--dry-run"])
        .output()
        .expect("sh runs");
    assert!(!out.status.success());
    assert!(text(&out).contains("absolute path"), "{}", text(&out));
}

#[test]
fn ci_scripts_are_shellcheck_clean_when_shellcheck_exists() {
    let Ok(out) = Command::new("shellcheck")
        .args(["-s", "bash"])
        .args(
            [
                ".ci/run",
                ".ci/test",
                ".ci/assets",
                ".ci/smoke",
                ".ci/container",
                "packaging/release-assets.sh",
                "packaging/image-context.sh",
            ]
            .map(repo_file),
        )
        .output()
    else {
        eprintln!("shellcheck not installed: skipped");
        return;
    };
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn install_sh_is_shellcheck_clean_when_shellcheck_exists() {
    let Ok(out) = Command::new("shellcheck")
        .args(["-s", "sh"])
        .arg(repo_file("install.sh"))
        .output()
    else {
        eprintln!("shellcheck not installed: skipped");
        return;
    };
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn systemd_unit_is_hardened() {
    let unit = std::fs::read_to_string(repo_file("packaging/summarybot.service")).expect("unit");
    let value = |key: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
            .map(str::trim)
    };
    assert_eq!(value("ProtectSystem"), Some("strict"));
    assert_eq!(value("NoNewPrivileges"), Some("yes"));
    assert_eq!(value("PrivateTmp"), Some("yes"));
    assert_eq!(value("CapabilityBoundingSet"), Some(""));
    assert_eq!(value("Restart"), Some("on-failure"));
    assert_eq!(value("StateDirectory"), Some("summarybot"));
    assert_eq!(value("User"), Some("summarybot"));
    // Above the 20 s graceful-shutdown deadline.
    let stop = value("TimeoutStopSec").expect("TimeoutStopSec");
    let secs: u32 = stop.trim_end_matches('s').parse().expect("seconds");
    assert!(secs > 20, "TimeoutStopSec={stop}");
    // Two descriptors per webhook connection at the largest webhook.max_connections (2048),
    // plus the rest of the process.
    let nofile: u32 = value("LimitNOFILE")
        .expect("LimitNOFILE")
        .parse()
        .expect("a number");
    assert!(nofile >= 2 * 2048 + 100, "LimitNOFILE={nofile}");
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify_when_available() {
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = std::fs::read_to_string(repo_file("packaging/summarybot.service"))
        .expect("unit")
        .replace("/usr/local/bin/summarybot", BIN);
    let path = dir.path().join("summarybot.service");
    std::fs::write(&path, unit).expect("write unit");
    let Ok(out) = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
    else {
        eprintln!("systemd-analyze not installed: skipped");
        return;
    };
    assert!(out.status.success(), "{}", text(&out));
    assert!(out.stderr.is_empty(), "warnings: {}", text(&out));
}

#[test]
fn non_root_without_sudo_is_refused_for_the_real_root() {
    // Needs to start as root to become `nobody`, and no sudo to fall back on; else skipped.
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let has = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !is_root || !has("su") || has("sudo") {
        eprintln!("needs root, su and no sudo: skipped");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("install.sh");
    std::fs::copy(repo_file("install.sh"), &script).expect("copy");
    let mut perms = std::fs::metadata(dir.path()).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(dir.path(), perms).expect("chmod");
    let command = format!("sh {} --dry-run --target {TARGET}", script.display());
    let out = Command::new("su")
        .args(["nobody", "-s", "/bin/sh", "-c", &command])
        .output()
        .expect("su runs");
    assert!(!out.status.success());
    assert!(text(&out).contains("needs root"), "{}", text(&out));
}

fn release_assets_sh(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(repo_file("packaging/release-assets.sh"))
        .args(args)
        .output()
        .expect("bash runs")
}

#[test]
fn release_assets_sums_only_lists_every_archive_in_sha256sum_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().to_str().expect("utf-8 path");
    for (target, content) in [
        ("x86_64-unknown-linux-musl", "a"),
        ("aarch64-unknown-linux-musl", "b"),
    ] {
        let name = format!("summarybot-{target}.tar.gz");
        std::fs::write(dir.path().join(name), content).expect("write archive");
    }
    let out = release_assets_sh(&["--sums-only", out_dir]);
    assert!(out.status.success(), "{}", text(&out));
    let sums = std::fs::read_to_string(dir.path().join("SHA256SUMS")).expect("SHA256SUMS");
    assert_eq!(
        sums,
        format!(
            "{}  summarybot-aarch64-unknown-linux-musl.tar.gz\n{}  summarybot-x86_64-unknown-linux-musl.tar.gz\n",
            sha256_hex(b"b"),
            sha256_hex(b"a")
        )
    );
    let check = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(dir.path())
        .output()
        .expect("sha256sum runs");
    assert!(check.status.success(), "{}", text(&check));
}

#[test]
fn release_assets_says_what_is_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().to_str().expect("utf-8 path");
    let out = release_assets_sh(&[out_dir, "x86_64-unknown-linux-musl"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("--key FILE is required"),
        "{}",
        text(&out)
    );
    let out = release_assets_sh(&["--sums-only", out_dir]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("no summarybot-*.tar.gz in"),
        "{}",
        text(&out)
    );
    let out = release_assets_sh(&["--frobnicate"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("unknown option '--frobnicate'"),
        "{}",
        text(&out)
    );
}
