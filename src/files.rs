//! Reading small text files the operator points at (config, `.env`, secret files, prompt
//! templates) with bounds: only regular files, and at most a given size, so that a path such as
//! `/dev/zero` or a FIFO gives a clear error instead of filling memory or hanging the start.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Largest config, `.env` or prompt template file read (far above any real one).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// Largest secret file read: a token or key is a few hundred bytes.
pub const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Read the UTF-8 text of `path`, which must be a regular file (symlinks to one are fine) of at
/// most `max` bytes. The errors keep `NotFound` and permission errors' kinds; the others are
/// `InvalidInput` with a message that says what to fix.
pub fn read_text(path: &Path, max: u64) -> io::Result<String> {
    // `stat` first: opening a FIFO would block until a writer comes, and a device is endless.
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(invalid(format!(
            "{} is {}, not a regular file; point it at a file",
            path.display(),
            file_type(&meta)
        )));
    }
    let too_large = |size: u64| {
        invalid(format!(
            "{} is {} bytes, more than the {max} this file may hold; is it the right file?",
            path.display(),
            size
        ))
    };
    if meta.len() > max {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::new();
    // The file may have grown since `stat`: read one byte more than allowed to notice.
    File::open(path)?.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        invalid(format!(
            "{} is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// An `InvalidInput` error with `message`.
fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// What kind of file `meta` describes, for messages.
fn file_type(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn reads_a_small_regular_file_and_a_symlink_to_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cret\n").expect("write");
        assert_eq!(read_text(&path, 64).expect("read"), "s3cret\n");
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&path, &link).expect("symlink");
            assert_eq!(read_text(&link, 64).expect("read"), "s3cret\n");
        }
    }

    #[test]
    fn refuses_devices_directories_and_large_files_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let started = Instant::now();
        #[cfg(unix)]
        {
            let err = read_text(Path::new("/dev/zero"), MAX_SECRET_BYTES).expect_err("device");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(
                err.to_string()
                    .contains("a character device, not a regular file"),
                "{err}"
            );
        }
        let err = read_text(dir.path(), MAX_SECRET_BYTES).expect_err("directory");
        assert!(err.to_string().contains("a directory"), "{err}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 65 * 1024]).expect("write");
        let err = read_text(&big, MAX_SECRET_BYTES).expect_err("too large");
        assert!(
            err.to_string().contains("66560 bytes, more than the 65536"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let started = Instant::now();
        let err = read_text(&fifo, MAX_SECRET_BYTES).expect_err("fifo");
        assert!(err.to_string().contains("named pipe"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn missing_files_keep_their_kind_and_binary_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = read_text(&dir.path().join("nope"), 10).expect_err("missing");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let bin = dir.path().join("bin");
        std::fs::write(&bin, [b'o', b'k', 0xff, 0xfe]).expect("write");
        let err = read_text(&bin, 10).expect_err("not utf-8");
        assert!(
            err.to_string()
                .contains("not UTF-8 text (invalid byte at offset 2)"),
            "{err}"
        );
    }
}
