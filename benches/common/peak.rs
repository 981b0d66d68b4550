//! Wall time and peak RSS of one run of a binary (GNU time's maximum RSS when `/usr/bin/time`
//! exists, else VmHWM sampled from `/proc/PID/status` every millisecond). Shared by
//! `benches/window_memory.rs` and `tests/window_memory.rs`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of the binary took.
pub struct Run {
    /// Wall time.
    pub wall: Duration,
    /// Peak RSS in KiB.
    pub peak_kib: u64,
    /// What it printed.
    pub stdout: Vec<u8>,
}

/// Run `bin args` in `dir` with a clean environment; its wall time and peak RSS.
pub fn measure(bin: &Path, dir: &Path, args: &[&str]) -> Run {
    let gnu_time = Path::new("/usr/bin/time");
    let peak_file = dir.join("peak.txt");
    let mut cmd = if gnu_time.exists() {
        let mut c = Command::new(gnu_time);
        c.arg("-f").arg("%M").arg("-o").arg(&peak_file).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let child = cmd.spawn().expect("binary starts");
    let sampled = if gnu_time.exists() {
        0
    } else {
        sample_peak(child.id())
    };
    let out = child.wait_with_output().expect("binary runs");
    let wall = started.elapsed();
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let peak_kib = if gnu_time.exists() {
        let text = std::fs::read_to_string(&peak_file).expect("GNU time wrote its report");
        text.trim().parse().expect("maximum RSS in KiB")
    } else {
        sampled
    };
    Run {
        wall,
        peak_kib,
        stdout: out.stdout,
    }
}

/// The highest VmHWM seen in `/proc/PID/status` until the process exits.
fn sample_peak(pid: u32) -> u64 {
    let path = format!("/proc/{pid}/status");
    let mut peak = 0;
    while let Ok(status) = std::fs::read_to_string(&path) {
        let Some(kib) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
        else {
            break; // exited: a zombie has no memory figures
        };
        peak = peak.max(kib);
        std::thread::sleep(Duration::from_millis(1));
    }
    peak
}
