//! Self-update from GitHub releases: preflight refusals, zipsign signature enforcement, atomic
//! replacement of the binary (through `self_update`'s GitHub backend).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use self_update::backends::github;
use self_update::errors::Error as SuError;
use self_update::update::UpdateStrategy;
use self_update::VerifyingKey;

use crate::config::Config;

/// Base64 ed25519 public keys of the official release signing key(s), compiled in. Keys from
/// `update.verifying_keys` are added to these. Empty until the project publishes a signing key.
pub const BUILTIN_VERIFYING_KEYS: &[&str] = &[];

/// Name of the executable inside every release archive (at the archive's root).
pub const BIN_NAME: &str = "summarybot";

/// The release archive for `target`: `summarybot-<target>.tar.gz` (install.sh uses the same name,
/// and `<name>.sha256` beside it).
pub fn asset_name(target: &str) -> String {
    format!("{BIN_NAME}-{target}.tar.gz")
}

/// Files whose presence means "running inside a container" (Docker, Podman).
const CONTAINER_MARKERS: &[&str] = &[".dockerenv", "run/.containerenv"];

/// Directories that only a package manager should write to.
const PACKAGE_DIRS: &[&str] = &["/usr/bin", "/usr/sbin", "/bin", "/sbin"];

/// Why an update check or install did not happen.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// No verifying key at all: self_update would silently skip verification.
    #[error(
        "refusing to update: no release verifying key is configured, so the download could not be \
         checked; add the project's public key to update.verifying_keys in the configuration"
    )]
    NoVerifyingKey,
    /// A configured key is not base64 of 32 bytes.
    #[error("update.verifying_keys: {0:?} is not a base64 ed25519 public key (32 bytes)")]
    BadKey(String),
    /// `update.repository` is not `owner/name`.
    #[error("update.repository: {0:?} must be a GitHub \"owner/name\"")]
    BadRepository(String),
    /// Running inside a container.
    #[error(
        "refusing to update inside a container ({marker} exists): pull the new image instead \
         (`docker compose pull && docker compose up -d`)"
    )]
    Container {
        /// The marker file found.
        marker: PathBuf,
    },
    /// The binary's directory cannot be written.
    #[error(
        "refusing to update: cannot write to {dir} ({reason}); run the update as the user owning \
         the binary (e.g. `sudo summarybot update`) or re-run install.sh"
    )]
    NotWritable {
        /// The directory holding the binary.
        dir: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The binary belongs to a system package.
    #[error(
        "refusing to update: {path} is managed by {manager}; update it with your package manager"
    )]
    PackageManaged {
        /// The binary.
        path: PathBuf,
        /// Which package manager owns it.
        manager: &'static str,
    },
    /// GitHub answered 403/429 because of its rate limit.
    #[error(
        "GitHub refused the request (HTTP {status}, rate limited: 60 requests/hour without a \
         token); wait{wait}, or set GH_TOKEN/GITHUB_TOKEN to a GitHub token"
    )]
    RateLimited {
        /// HTTP status.
        status: u16,
        /// " N s" when the server said how long, else empty.
        wait: String,
    },
    /// The archive's signature is missing or does not match any key.
    #[error(
        "refusing to install {asset}: its signature is missing or does not match any configured \
         verifying key (the archive may be tampered with); the installed binary was not changed"
    )]
    Signature {
        /// The archive name (or a description when unknown).
        asset: String,
    },
    /// No release, or no asset for this target.
    #[error("no release {what} found in {repo} for target {target}")]
    NoRelease {
        /// "newer than X" / "tagged vX".
        what: String,
        /// The repository.
        repo: String,
        /// This build's target triple.
        target: String,
    },
    /// Anything else from the network or the install step.
    #[error("update failed: {0}")]
    Other(String),
}

/// What the updater needs to know; built from the configuration by the `update` command.
#[derive(Clone, Debug)]
pub struct UpdateSettings {
    /// GitHub `owner/name`.
    pub repository: String,
    /// GitHub API base URL (a mirror or a fake in tests).
    pub api_base_url: String,
    /// Base64 ed25519 keys from the configuration (added to [`BUILTIN_VERIFYING_KEYS`]).
    pub verifying_keys: Vec<String>,
    /// The version currently installed (normally `CARGO_PKG_VERSION`).
    pub current_version: String,
    /// Target triple the asset name must contain.
    pub target: String,
    /// The binary to replace (normally the running executable).
    pub install_path: PathBuf,
    /// Install exactly this version (`1.2.3` or `v1.2.3`) instead of the newest.
    pub pin: Option<String>,
    /// GitHub token (raises the rate limit), if any.
    pub token: Option<String>,
}

/// Result of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// Installed version.
    pub current: String,
    /// Newest release carrying an asset for this target (`None`: no release at all).
    pub latest: Option<String>,
    /// True when `latest` is newer than `current`.
    pub update_available: bool,
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "current version: {}", self.current)?;
        match &self.latest {
            Some(latest) => writeln!(f, "latest release:  {latest}")?,
            None => writeln!(f, "latest release:  none published")?,
        }
        if self.update_available {
            write!(f, "an update is available: run `summarybot update`")
        } else {
            write!(f, "up to date")
        }
    }
}

/// Result of an install.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstallOutcome {
    /// Nothing newer was published.
    UpToDate,
    /// The binary was replaced by this version.
    Updated(String),
}

/// All verifying keys (compiled-in plus configured), decoded. Refuses when there are none.
pub fn verifying_keys(configured: &[String]) -> Result<Vec<VerifyingKey>, UpdateError> {
    let keys = BUILTIN_VERIFYING_KEYS
        .iter()
        .copied()
        .chain(configured.iter().map(String::as_str))
        .map(decode_key)
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(UpdateError::NoVerifyingKey);
    }
    Ok(keys)
}

/// Decode one base64 (standard alphabet, padded) ed25519 public key.
pub fn decode_key(text: &str) -> Result<VerifyingKey, UpdateError> {
    let bad = || UpdateError::BadKey(text.to_owned());
    let bytes = base64_decode(text.trim()).ok_or_else(bad)?;
    VerifyingKey::try_from(bytes.as_slice()).map_err(|_| bad())
}

/// Standard base64 with `=` padding; `None` on any invalid character or length.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return None;
    }
    let padding = bytes.iter().rev().take_while(|&&c| c == b'=').count();
    if padding > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | if c == b'=' { 0 } else { value(c)? };
        }
        out.extend_from_slice(&acc.to_be_bytes()[1..]);
    }
    out.truncate(out.len() - padding);
    // '=' may only appear as trailing padding.
    let body = &bytes[..bytes.len() - padding];
    body.iter().all(|&c| c != b'=').then_some(out)
}

/// Reasons the binary at `install_path` must not be replaced in place. `root` is the filesystem
/// root to look for container markers and package databases under (`/` in production).
pub fn preflight(install_path: &Path, root: &Path) -> Result<(), UpdateError> {
    if let Some(marker) = container_marker(root) {
        return Err(UpdateError::Container { marker });
    }
    if let Some(manager) = package_manager(install_path, root) {
        return Err(UpdateError::PackageManaged {
            path: install_path.to_path_buf(),
            manager,
        });
    }
    probe_writable(install_path)
}

/// The first container marker file present under `root`.
fn container_marker(root: &Path) -> Option<PathBuf> {
    CONTAINER_MARKERS
        .iter()
        .map(|m| root.join(m))
        .find(|p| p.exists())
}

/// Which package manager owns `path`: a dpkg file list naming it, or any binary in a
/// distribution directory when an rpm/pacman/apk database exists.
fn package_manager(path: &Path, root: &Path) -> Option<&'static str> {
    let in_package_dir = PACKAGE_DIRS.iter().any(|d| path.starts_with(d));
    if !in_package_dir {
        return None;
    }
    if dpkg_lists(path, root) {
        return Some("dpkg (apt)");
    }
    [
        ("var/lib/rpm", "rpm"),
        ("var/lib/pacman/local", "pacman"),
        ("lib/apk/db/installed", "apk"),
    ]
    .iter()
    .find(|(db, _)| root.join(db).exists())
    .map(|&(_, name)| name)
}

/// True when a `var/lib/dpkg/info/*.list` file under `root` lists `path`.
fn dpkg_lists(path: &Path, root: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(root.join("var/lib/dpkg/info")) else {
        return false;
    };
    let wanted = path.to_string_lossy();
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "list"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .any(|text| text.lines().any(|line| line == wanted))
}

/// Create and delete a probe file beside the binary: the replacement is a rename in that
/// directory, so this is exactly the permission needed.
fn probe_writable(install_path: &Path) -> Result<(), UpdateError> {
    let dir = install_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let probe = dir.join(format!(".summarybot-update-probe-{}", std::process::id()));
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe);
    match result {
        Ok(_) => {
            // Best effort: a leftover empty probe file is harmless.
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(UpdateError::NotWritable {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// `v1.2.3` for `1.2.3` (release tags carry a `v`).
fn tag_for(version: &str) -> String {
    if version.starts_with('v') {
        version.to_owned()
    } else {
        format!("v{version}")
    }
}

impl UpdateSettings {
    /// Settings for this build from the `[update]` configuration: the running version and
    /// target, replacing `install_path`, authenticated with `token` when given.
    pub fn from_config(config: &Config, install_path: PathBuf, token: Option<String>) -> Self {
        Self {
            repository: config.update.repository.clone(),
            api_base_url: config.update.api_base_url.clone(),
            verifying_keys: config.update.verifying_keys.clone(),
            current_version: env!("CARGO_PKG_VERSION").to_owned(),
            target: env!("SUMMARYBOT_TARGET").to_owned(),
            install_path,
            pin: None,
            token,
        }
    }

    fn owner_and_name(&self) -> Result<(&str, &str), UpdateError> {
        self.repository
            .split_once('/')
            .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| UpdateError::BadRepository(self.repository.clone()))
    }

    /// The self_update builder with everything but the keys.
    fn builder(&self) -> Result<github::UpdateBuilder, UpdateError> {
        let (owner, name) = self.owner_and_name()?;
        let mut builder = github::Update::configure();
        builder
            .repo_owner(owner)
            .repo_name(name)
            .api_base_url(self.api_base_url.trim_end_matches('/'))
            .bin_name(BIN_NAME)
            .target(&self.target)
            .current_version(&self.current_version)
            .bin_install_path(&self.install_path)
            .check_install_path_writable(true)
            .update_strategy(UpdateStrategy::Latest)
            .show_download_progress(false)
            .show_output(false)
            .no_confirm(true);
        // Exactly our archive: a plain "name contains the target" match could pick the .sha256.
        let wanted = asset_name(&self.target);
        builder.asset_matcher(move |assets| assets.iter().find(|a| a.name() == wanted).cloned());
        if let Some(token) = &self.token {
            builder.auth_token(token);
        }
        if let Some(pin) = &self.pin {
            builder.release_tag(tag_for(pin));
        }
        Ok(builder)
    }

    fn no_release(&self) -> UpdateError {
        UpdateError::NoRelease {
            what: self.pin.as_deref().map_or_else(
                || format!("newer than {}", self.current_version),
                |p| format!("tagged {}", tag_for(p)),
            ),
            repo: self.repository.clone(),
            target: self.target.clone(),
        }
    }

    /// Ask the releases API for the newest release and compare it with the running version.
    pub fn check(&self) -> Result<CheckReport, UpdateError> {
        let updater = self
            .builder()?
            .build()
            .map_err(|e| self.classify(e, "the release list"))?;
        let latest = match updater.get_latest_release() {
            Ok(releases) => releases.latest().map(|r| r.version().to_owned()),
            Err(SuError::NoReleaseFound { .. } | SuError::NotFound { .. }) => None,
            Err(e) => return Err(self.classify(e, "the release list")),
        };
        let update_available = latest.as_deref().is_some_and(|l| {
            self_update::version::bump_is_greater(&self.current_version, l).unwrap_or(false)
        });
        Ok(CheckReport {
            current: self.current_version.clone(),
            latest,
            update_available,
        })
    }

    /// Download, verify and install the newest (or pinned) release over `install_path`.
    /// Refuses before any download when no verifying key is configured.
    pub fn install(&self) -> Result<InstallOutcome, UpdateError> {
        let keys = verifying_keys(&self.verifying_keys)?;
        let status = self
            .builder()?
            .verifying_keys(keys)
            .build()
            .and_then(|u| u.update_extended())
            .map_err(|e| self.classify(e, "the release archive"))?;
        Ok(match status.into_updated_release() {
            Some(release) => InstallOutcome::Updated(release.version().to_owned()),
            None => InstallOutcome::UpToDate,
        })
    }

    /// Turn a self_update error into one that says what to do.
    fn classify(&self, err: SuError, what: &str) -> UpdateError {
        match err {
            SuError::RateLimited {
                status,
                retry_after,
                ..
            } => UpdateError::RateLimited {
                status,
                wait: retry_after.map_or_else(String::new, |d| format!(" {} s", d.as_secs())),
            },
            SuError::Unauthorized { status: 403, .. } => UpdateError::RateLimited {
                status: 403,
                wait: String::new(),
            },
            SuError::Signature(_) | SuError::NoSignatures(_) | SuError::SignatureNonUTF8 => {
                UpdateError::Signature {
                    asset: what.to_owned(),
                }
            }
            SuError::NoReleaseFound { .. } | SuError::NotFound { .. } => self.no_release(),
            SuError::InstallPathNotWritable { path, .. } => UpdateError::NotWritable {
                dir: path,
                reason: "permission denied".to_owned(),
            },
            other => UpdateError::Other(format!("{what}: {other}")),
        }
    }
}

/// How the running service watches for releases (`update.check_interval`, `update.auto`).
#[derive(Clone, Debug)]
pub struct WatchPolicy {
    /// Time between checks; must be non-zero.
    pub interval: Duration,
    /// Install newer releases instead of only logging them.
    pub auto: bool,
    /// Check once right away (`update.check_on_start`) instead of after the first interval.
    pub check_now: bool,
    /// Root for the container/package preflight (`/` in production).
    pub root: PathBuf,
}

/// Periodic release check for `summarybot run`: logs once per newer version found (and reports
/// it in `runtime` for the status page), and with
/// `auto` installs it (signature enforced, same refusals as `summarybot update`) and logs that a
/// restart is needed. Never returns: abort the task (or drop the runtime) to stop it. Network
/// work runs on the blocking pool.
pub async fn watch(
    settings: UpdateSettings,
    policy: WatchPolicy,
    runtime: std::sync::Arc<crate::runtime::Runtime>,
) {
    let mut announced: Option<String> = None;
    let mut first = true;
    loop {
        if !(first && policy.check_now) {
            tokio::time::sleep(policy.interval).await;
        }
        first = false;
        let worker = settings.clone();
        let root = policy.root.clone();
        let auto = policy.auto;
        let outcome = tokio::task::spawn_blocking(move || watch_step(&worker, &root, auto)).await;
        match outcome {
            Ok(Ok(report)) => {
                let newer = report.latest.clone().filter(|_| report.update_available);
                runtime.set_update_available(newer);
                if let Some(message) = announcement(announced.as_deref(), &report) {
                    tracing::info!(target: "summarybot::update", "{message}");
                    announced = report.latest;
                }
            }
            Ok(Err(e)) => tracing::warn!(target: "summarybot::update", "update check: {e}"),
            Err(e) => tracing::warn!(target: "summarybot::update", "update check task: {e}"),
        }
    }
}

/// One check, plus the install when `auto` and a newer release exists.
fn watch_step(
    settings: &UpdateSettings,
    root: &Path,
    auto: bool,
) -> Result<CheckReport, UpdateError> {
    let report = settings.check()?;
    if auto && report.update_available {
        preflight(&settings.install_path, root)?;
        if let InstallOutcome::Updated(version) = settings.install()? {
            tracing::warn!(
                target: "summarybot::update",
                "installed summarybot {version} over {}; restart the service to run it",
                settings.install_path.display()
            );
        }
    }
    Ok(report)
}

/// The log line for a newer release not announced yet.
fn announcement(previous: Option<&str>, report: &CheckReport) -> Option<String> {
    let latest = report.latest.as_deref()?;
    (report.update_available && previous != Some(latest)).then(|| {
        format!(
            "summarybot {latest} is available (running {}): run `summarybot update`",
            report.current
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "GbVECWmEzf6FQbrBZ9w7lshQhqoAAAAAAAAAAAAAAAA=";

    #[test]
    fn base64_decodes_standard_padded_text() {
        assert_eq!(base64_decode("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("aGk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64_decode("YWJj").as_deref(), Some(&b"abc"[..]));
        for bad in ["", "abc", "a=bc", "ab!c", "a==="] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_must_be_32_bytes() {
        assert_eq!(decode_key(KEY).map(|k| k.len()).ok(), Some(32));
        assert!(matches!(
            decode_key("aGVsbG8="),
            Err(UpdateError::BadKey(_))
        ));
    }

    #[test]
    fn no_key_at_all_is_refused() {
        assert!(matches!(
            verifying_keys(&[]),
            Err(UpdateError::NoVerifyingKey)
        ));
        assert_eq!(
            verifying_keys(&[KEY.to_owned()]).map(|k| k.len()).ok(),
            Some(1)
        );
    }

    #[test]
    fn container_markers_refuse() {
        let root = tempfile::tempdir().expect("tempdir");
        let bin = root.path().join("summarybot");
        std::fs::write(&bin, b"x").expect("write");
        assert!(preflight(&bin, root.path()).is_ok());
        std::fs::create_dir_all(root.path().join("run")).expect("mkdir");
        std::fs::write(root.path().join("run/.containerenv"), b"").expect("write");
        let err = preflight(&bin, root.path()).expect_err("container");
        assert!(err.to_string().contains("pull the new image"), "{err}");
    }

    #[test]
    fn dpkg_owned_binary_refuses() {
        let root = tempfile::tempdir().expect("tempdir");
        let info = root.path().join("var/lib/dpkg/info");
        std::fs::create_dir_all(&info).expect("mkdir");
        std::fs::write(
            info.join("summarybot.list"),
            "/usr/bin\n/usr/bin/summarybot\n",
        )
        .expect("write");
        let err = preflight(Path::new("/usr/bin/summarybot"), root.path()).expect_err("dpkg");
        assert!(matches!(
            err,
            UpdateError::PackageManaged {
                manager: "dpkg (apt)",
                ..
            }
        ));
        // /usr/local is never a package manager's.
        assert_eq!(
            package_manager(Path::new("/usr/local/bin/summarybot"), root.path()),
            None
        );
    }

    #[test]
    fn missing_directory_is_not_writable() {
        let root = tempfile::tempdir().expect("tempdir");
        let bin = root.path().join("no/such/dir/summarybot");
        let err = preflight(&bin, root.path()).expect_err("unwritable");
        assert!(matches!(err, UpdateError::NotWritable { .. }), "{err}");
    }

    #[test]
    fn a_newer_release_is_announced_once() {
        let report = CheckReport {
            current: "0.1.0".into(),
            latest: Some("0.2.0".into()),
            update_available: true,
        };
        assert!(announcement(None, &report).is_some_and(|m| m.contains("0.2.0")));
        assert_eq!(announcement(Some("0.2.0"), &report), None);
        let newer = CheckReport {
            latest: Some("0.3.0".into()),
            ..report.clone()
        };
        assert!(announcement(Some("0.2.0"), &newer).is_some());
        let current = CheckReport {
            update_available: false,
            ..report
        };
        assert_eq!(announcement(None, &current), None);
    }

    #[test]
    fn pins_get_a_v_prefix() {
        assert_eq!(tag_for("1.2.3"), "v1.2.3");
        assert_eq!(tag_for("v1.2.3"), "v1.2.3");
    }

    #[test]
    fn report_says_what_to_do() {
        let report = CheckReport {
            current: "0.1.0".into(),
            latest: Some("0.2.0".into()),
            update_available: true,
        };
        let text = report.to_string();
        assert!(
            text.contains("0.1.0") && text.contains("0.2.0") && text.contains("summarybot update")
        );
    }
}
