//! `summarybot update` (check, verify, install, optionally restart the service) and
//! `summarybot healthcheck` (HTTP GET of the local webhook server's `/health`).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, Context as _};

use super::{Context, Failure};
use crate::cli::UpdateArgs;
use crate::config::{Config, Scope};
use crate::update::{self, InstallOutcome, UpdateSettings};

/// The systemd unit `--restart` restarts (installed by install.sh / packaging/).
const SERVICE: &str = "summarybot.service";

/// Environment variable naming the root under which container markers and package databases are
/// looked for (default `/`): for tests and for updating a binary inside a chroot.
const SYSTEM_ROOT_VAR: &str = "SUMMARYBOT_SYSTEM_ROOT";

/// How long the health check may take in total per step.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

/// Run `summarybot update`.
pub fn run(ctx: &Context, args: &UpdateArgs) -> Result<(), Failure> {
    let config = ctx.config(Scope::Offline)?;
    let install_path = current_binary()?;
    let settings = settings(ctx, &config, install_path, args.version.clone());
    if args.check {
        let report = settings.check().map_err(|e| Failure::Runtime(e.into()))?;
        println!("{report}");
        return Ok(());
    }
    let root = ctx
        .env
        .get(SYSTEM_ROOT_VAR)
        .map_or_else(|| PathBuf::from("/"), PathBuf::from);
    install(&settings, &root, args.restart)
}

/// Preflight, install, then say what happens next.
fn install(settings: &UpdateSettings, root: &Path, restart: bool) -> Result<(), Failure> {
    update::preflight(&settings.install_path, root).map_err(|e| Failure::Runtime(e.into()))?;
    match settings.install().map_err(|e| Failure::Runtime(e.into()))? {
        InstallOutcome::UpToDate => {
            println!("summarybot {} is up to date", settings.current_version);
        }
        InstallOutcome::Updated(version) => {
            println!(
                "updated {} from {} to {version} (signature verified)",
                settings.install_path.display(),
                settings.current_version
            );
            if restart {
                restart_service()?;
                println!("restarted {SERVICE}");
            } else {
                println!(
                    "restart to run the new version: `sudo systemctl restart {SERVICE}` \
                     (or restart the process you started)"
                );
            }
        }
    }
    Ok(())
}

/// The settings the updater needs, from the configuration and the environment.
fn settings(
    ctx: &Context,
    config: &Config,
    install_path: PathBuf,
    pin: Option<String>,
) -> UpdateSettings {
    let token = ["GH_TOKEN", "GITHUB_TOKEN"]
        .iter()
        .find_map(|name| ctx.env.get(*name).filter(|v| !v.is_empty()).cloned());
    UpdateSettings {
        pin,
        ..UpdateSettings::from_config(config, install_path, token)
    }
}

/// The running executable, symlinks resolved (the real file is what gets replaced).
fn current_binary() -> Result<PathBuf, Failure> {
    let exe = std::env::current_exe().context("cannot find the running executable")?;
    Ok(std::fs::canonicalize(&exe).unwrap_or(exe))
}

/// `systemctl restart summarybot.service`.
fn restart_service() -> Result<(), Failure> {
    let status = Command::new("systemctl")
        .args(["restart", SERVICE])
        .status()
        .with_context(|| {
            format!("the update is installed but `systemctl restart {SERVICE}` could not run")
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::Runtime(anyhow!(
            "the update is installed but `systemctl restart {SERVICE}` failed ({status}); \
             restart the service yourself"
        )))
    }
}

/// Run `summarybot healthcheck`: exit 0 on HTTP 200 from `/health`, 1 otherwise.
pub fn healthcheck(ctx: &Context) -> Result<(), Failure> {
    let loaded = ctx.load()?;
    let config = &loaded.config;
    // The control socket answers whatever triggers are enabled.
    let socket = crate::control::socket_path(&config.storage.path);
    let health = crate::control::ask_health(&socket).map_err(|e| Failure::Runtime(anyhow!(e)))?;
    if health["status"] != "ok" {
        return Err(Failure::Runtime(anyhow!(
            "the service is unhealthy: store {}{}",
            health["store"].as_str().unwrap_or("unknown"),
            health["store_error"]
                .as_str()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        )));
    }
    // With the webhook on, its port must answer too.
    if config.webhook.enabled {
        let host = connect_host(&config.webhook.host);
        let port = config.webhook.port;
        let status = get_status(host, port, "/health")
            .with_context(|| format!("health check of http://{host}:{port}/health failed"))?;
        if status != 200 {
            return Err(Failure::Runtime(anyhow!(
                "health check of http://{host}:{port}/health: HTTP {status}"
            )));
        }
    }
    println!("healthy");
    Ok(())
}

/// A listen address of "any" is reached through loopback.
pub(super) fn connect_host(listen: &str) -> &str {
    match listen {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" | "[::]" => "::1",
        other => other,
    }
}

/// GET `path` over plain HTTP/1.1 and return the status code, every step bounded by 3 s.
fn get_status(host: &str, port: u16, path: &str) -> anyhow::Result<u16> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addr = (bare, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| anyhow!("{host} does not resolve"))?;
    let mut stream = TcpStream::connect_timeout(&addr, HEALTH_TIMEOUT)?;
    stream.set_read_timeout(Some(HEALTH_TIMEOUT))?;
    stream.set_write_timeout(Some(HEALTH_TIMEOUT))?;
    let host_header = if bare.contains(':') {
        format!("[{bare}]:{port}")
    } else {
        format!("{bare}:{port}")
    };
    // One write: `write!` on an unbuffered stream would send the request in pieces.
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut head = [0u8; 64];
    let mut len = 0;
    while len < head.len() {
        let n = stream.read(&mut head[len..])?;
        if n == 0 {
            break;
        }
        len += n;
        if head[..len].contains(&b'\n') {
            break;
        }
    }
    parse_status(&head[..len]).ok_or_else(|| anyhow!("not an HTTP response"))
}

/// The status code of an `HTTP/1.x NNN ...` status line.
fn parse_status(head: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(head).ok()?;
    let mut parts = text.lines().next()?.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn status_line_parses() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(parse_status(b"HTTP/1.0 503 Busy\r\n"), Some(503));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(b""), None);
    }

    #[test]
    fn any_address_maps_to_loopback() {
        assert_eq!(connect_host("0.0.0.0"), "127.0.0.1");
        assert_eq!(connect_host("::"), "::1");
        assert_eq!(connect_host("10.0.0.2"), "10.0.0.2");
    }

    fn serve_once(answer: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            if let Ok((mut conn, _)) = listener.accept() {
                // Read the whole request: closing with unread data would reset the connection.
                let mut request = Vec::new();
                let mut buf = [0u8; 512];
                while !request.ends_with(b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = conn.write_all(answer.as_bytes());
            }
        });
        port
    }

    #[test]
    fn get_status_reads_the_answer() {
        let port = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        assert_eq!(get_status("127.0.0.1", port, "/health").ok(), Some(200));
        let port = serve_once("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        assert_eq!(get_status("127.0.0.1", port, "/health").ok(), Some(503));
    }

    #[test]
    fn nothing_listening_is_an_error() {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        assert!(get_status("127.0.0.1", port, "/health").is_err());
    }
}
