//! A fake GitHub for distribution tests: the releases API (`/repos/{o}/{n}/releases`,
//! `/releases/latest`, `/releases/tags/{tag}`), asset downloads (`/assets/{tag}/{name}`), and the
//! browser download layout install.sh uses (`/{o}/{n}/releases/download/{tag}/{name}` and
//! `/{o}/{n}/releases/latest/download/{name}`); plus helpers to build, sign and hash release
//! archives in-process.
//!
//! ```ignore
//! let gh = FakeGithub::start("acme/summarybot");
//! gh.publish("v0.2.0", vec![("summarybot-x86_64-unknown-linux-gnu.tar.gz".into(), bytes)]);
//! // configure update.api_base_url = gh.api_url() ...
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rouille::{Request, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use zipsign_api::SigningKey;

/// One published release.
#[derive(Clone, Debug)]
pub struct FakeRelease {
    /// Tag, e.g. `v0.2.0`.
    pub tag: String,
    /// Asset file names and contents.
    pub assets: Vec<(String, Vec<u8>)>,
}

#[derive(Default)]
struct State {
    /// Oldest first.
    releases: Vec<FakeRelease>,
    rate_limited: bool,
    requests: Vec<String>,
}

/// The running fake; stops when dropped.
pub struct FakeGithub {
    addr: SocketAddr,
    repo: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    poller: Option<JoinHandle<()>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeGithub {
    /// Start on 127.0.0.1, port 0, serving the repository `owner/name`.
    pub fn start(repo: &str) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let handler_state = Arc::clone(&state);
        let handler_repo = repo.to_owned();
        let server = rouille::Server::new("127.0.0.1:0", move |request| {
            handle(&handler_state, &handler_repo, request)
        })
        .expect("fake GitHub binds 127.0.0.1:0");
        let addr = server.server_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let poller_stop = Arc::clone(&stop);
        let poller = std::thread::spawn(move || {
            while !poller_stop.load(Ordering::SeqCst) {
                server.poll_timeout(Duration::from_millis(20));
            }
        });
        Self {
            addr,
            repo: repo.to_owned(),
            state,
            stop,
            poller: Some(poller),
        }
    }

    /// `http://127.0.0.1:PORT`: the API base URL (`update.api_base_url`).
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/{owner}/{name}/releases`: install.sh's base URL.
    pub fn releases_url(&self) -> String {
        format!("http://{}/{}/releases", self.addr, self.repo)
    }

    /// Publish a release (the newest one published is "latest").
    pub fn publish(&self, tag: &str, assets: Vec<(String, Vec<u8>)>) {
        lock(&self.state).releases.push(FakeRelease {
            tag: tag.to_owned(),
            assets,
        });
    }

    /// Answer every request with GitHub's 403 rate-limit response from now on.
    pub fn set_rate_limited(&self, on: bool) {
        lock(&self.state).rate_limited = on;
    }

    /// Every request path seen so far.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(poller) = self.poller.take() {
            let _joined = poller.join();
        }
    }
}

fn handle(state: &Mutex<State>, repo: &str, request: &Request) -> Response {
    let path = request.url();
    let mut st = lock(state);
    st.requests.push(path.clone());
    if st.rate_limited {
        return Response::json(&json!({
            "message": "API rate limit exceeded for 127.0.0.1.",
            "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"
        }))
        .with_status_code(403)
        .with_additional_header("x-ratelimit-limit", "60")
        .with_additional_header("x-ratelimit-remaining", "0")
        .with_additional_header("x-ratelimit-reset", "4102444800");
    }
    let host = request.header("Host").unwrap_or("127.0.0.1").to_owned();
    let api = format!("/repos/{repo}/releases");
    let web = format!("/{repo}/releases/");
    if path == api {
        let list: Vec<Value> = st
            .releases
            .iter()
            .rev()
            .map(|r| release_json(&host, r))
            .collect();
        return Response::json(&list);
    }
    if let Some(rest) = path.strip_prefix(&api) {
        let found = match rest {
            "/latest" => st.releases.last(),
            _ => rest
                .strip_prefix("/tags/")
                .and_then(|tag| st.releases.iter().find(|r| r.tag == tag)),
        };
        return found.map_or_else(not_found, |r| Response::json(&release_json(&host, r)));
    }
    if let Some((tag, name)) = path
        .strip_prefix("/assets/")
        .and_then(|r| r.split_once('/'))
    {
        return asset(&st.releases, Some(tag), name);
    }
    if let Some(rest) = path.strip_prefix(&web) {
        if let Some(name) = rest.strip_prefix("latest/download/") {
            let latest = st.releases.last().map(|r| r.tag.clone());
            return asset(&st.releases, latest.as_deref(), name);
        }
        if let Some((tag, name)) = rest
            .strip_prefix("download/")
            .and_then(|r| r.split_once('/'))
        {
            return asset(&st.releases, Some(tag), name);
        }
    }
    not_found()
}

/// The asset `name` of release `tag`.
fn asset(releases: &[FakeRelease], tag: Option<&str>, name: &str) -> Response {
    releases
        .iter()
        .filter(|r| tag == Some(r.tag.as_str()))
        .find_map(|r| r.assets.iter().find(|(n, _)| n == name))
        .map_or_else(not_found, |(_, bytes)| {
            Response::from_data("application/octet-stream", bytes.clone())
        })
}

fn not_found() -> Response {
    Response::json(&json!({"message": "Not Found"})).with_status_code(404)
}

fn release_json(host: &str, release: &FakeRelease) -> Value {
    let assets: Vec<Value> = release
        .assets
        .iter()
        .map(|(name, bytes)| {
            json!({
                "name": name,
                "url": format!("http://{host}/assets/{}/{name}", release.tag),
                "browser_download_url": format!("http://{host}/assets/{}/{name}", release.tag),
                "size": bytes.len(),
            })
        })
        .collect();
    json!({
        "tag_name": release.tag,
        "name": release.tag,
        "created_at": "2026-01-01T00:00:00Z",
        "body": "release notes",
        "html_url": format!("http://{host}/releases/{}", release.tag),
        "assets": assets,
    })
}

/// A deterministic signing key from a seed byte.
pub fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The base64 public key to put in `update.verifying_keys`.
pub fn public_key_base64(key: &SigningKey) -> String {
    base64(&key.verifying_key().to_bytes())
}

/// `.tar.gz` of the given files (name, content, mode) at the archive root, built with `tar`.
pub fn tar_gz(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    std::fs::create_dir(&src).expect("mkdir");
    for (name, content, mode) in files {
        write_mode(&src.join(name), content, *mode);
    }
    let out = dir.path().join("out.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&out)
        .arg("-C")
        .arg(&src)
        .args(files.iter().map(|(name, _, _)| *name))
        .status()
        .expect("tar runs");
    assert!(status.success(), "tar failed");
    std::fs::read(out).expect("read archive")
}

fn write_mode(path: &Path, content: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, content).expect("write file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// `archive` with a zipsign signature by `key` embedded, bound to the file name `name`.
pub fn sign(archive: &[u8], name: &str, key: &SigningKey) -> Vec<u8> {
    let mut input = std::io::Cursor::new(archive.to_vec());
    let mut output = std::io::Cursor::new(Vec::new());
    zipsign_api::sign::copy_and_sign_tar(
        &mut input,
        &mut output,
        std::slice::from_ref(key),
        Some(name.as_bytes()),
    )
    .expect("zipsign signs");
    output.into_inner()
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// Standard padded base64.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let mut buf = [0u8; 3];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = (u32::from(buf[0]) << 16) | (u32::from(buf[1]) << 8) | u32::from(buf[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Environment variable naming the directory of release assets that packaging/release-assets.sh
/// built (CI sets it; see .ci/run). Unset: the tests build their archives themselves.
pub const SHIPPED_ASSETS_ENV: &str = "SUMMARYBOT_RELEASE_ASSETS";

/// The release assets CI built with packaging/release-assets.sh: the files a release publishes.
pub struct ShippedRelease {
    dir: std::path::PathBuf,
}

impl ShippedRelease {
    /// The assets named by [`SHIPPED_ASSETS_ENV`], or `None` when it is unset. Panics when it is
    /// set but lacks `summarybot-{target}.tar.gz`, its `.sha256`, `SHA256SUMS` or the test public
    /// key: a CI that built no assets must not pass as if it had tested them.
    pub fn from_env(target: &str) -> Option<Self> {
        let dir = std::path::PathBuf::from(std::env::var_os(SHIPPED_ASSETS_ENV)?);
        let shipped = Self { dir };
        for name in [
            Self::archive_name(target),
            format!("{}.sha256", Self::archive_name(target)),
            "SHA256SUMS".to_owned(),
            "zipsign-test.pub".to_owned(),
        ] {
            assert!(
                shipped.dir.join(&name).is_file(),
                "{SHIPPED_ASSETS_ENV}={} has no {name}: run .ci/assets, or unset it",
                shipped.dir.display()
            );
        }
        Some(shipped)
    }

    /// `summarybot-{target}.tar.gz`.
    pub fn archive_name(target: &str) -> String {
        format!("summarybot-{target}.tar.gz")
    }

    /// Path of one asset.
    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.join(name)
    }

    /// Every file of the directory, as (name, bytes): what a release publishes.
    pub fn assets(&self) -> Vec<(String, Vec<u8>)> {
        let mut assets: Vec<(String, Vec<u8>)> = std::fs::read_dir(&self.dir)
            .expect("read the release assets directory")
            .flatten()
            .filter(|entry| entry.path().is_file())
            .map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                (
                    name,
                    std::fs::read(entry.path()).expect("read release asset"),
                )
            })
            .collect();
        assets.sort();
        assets
    }

    /// The zipsign public key the assets were signed for, as `update.verifying_keys` takes it.
    pub fn public_key_base64(&self) -> String {
        base64(&std::fs::read(self.path("zipsign-test.pub")).expect("read the test public key"))
    }

    /// The `summarybot` binary inside `summarybot-{target}.tar.gz`, unpacked into `dir`.
    pub fn unpack_binary(&self, target: &str, dir: &Path) -> std::path::PathBuf {
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(self.path(&Self::archive_name(target)))
            .arg("-C")
            .arg(dir)
            .arg("summarybot")
            .status()
            .expect("tar runs");
        assert!(status.success(), "cannot unpack the shipped archive");
        dir.join("summarybot")
    }
}
