//! A small tmpfs mounted for one test, to fill its disk for real. Mounting needs root: without
//! it (or when the mount fails) [`Tmpfs::mount`] prints why and the test returns early.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted tmpfs, unmounted on drop.
pub struct Tmpfs {
    _dir: tempfile::TempDir,
    mount: PathBuf,
}

impl Tmpfs {
    /// Mount a tmpfs of `size` (`mount -o size=`, e.g. `"8m"`) in a new temporary directory, or
    /// print `SKIPPED: <test>: <reason>` and return None.
    pub fn mount(test: &str, size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mount = dir.path().join("disk");
        std::fs::create_dir(&mount).expect("mount point");
        let result = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mount)
            .output();
        match result {
            Ok(out) if out.status.success() => Some(Self { _dir: dir, mount }),
            Ok(out) => {
                eprintln!(
                    "SKIPPED: {test}: cannot mount a tmpfs (needs root): {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: {test}: cannot run mount: {e}");
                None
            }
        }
    }

    /// The mounted directory.
    pub fn path(&self) -> &Path {
        &self.mount
    }

    /// Fill every free byte with a filler file (until the disk says it is full).
    pub fn fill(&self) {
        let mut file = std::fs::File::create(self.filler()).expect("create the filler");
        let chunk = vec![0x5a_u8; 4096];
        loop {
            match file.write_all(&chunk) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling the tmpfs: {e}"),
            }
        }
        // A partial last page may still be free; take it too.
        let _ = file.write_all(&[0x5a]);
    }

    /// Remove the filler.
    pub fn free(&self) {
        std::fs::remove_file(self.filler()).expect("remove the filler");
    }

    fn filler(&self) -> PathBuf {
        self.mount.join("filler")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a process the test failed to stop must not keep the mount (and the test) alive.
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}
