//! The export file itself: opening it, skipping a byte order mark, and the channel assumed
//! from DCE's file naming when the export has no `channel` object.

use std::fs::File;
use std::io::{self, BufRead};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::ImportError;
use crate::model::{ChannelId, ChannelInfo};

/// Open the export and find its size (0 for pipes and other special files, whose size is
/// unknown). An empty regular file is rejected here.
pub(super) fn open_export(path: &Path) -> Result<(File, u64), ImportError> {
    let io_err = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Err(io_err(io::Error::other(
            "this is a directory; give the path of one exported .json file",
        )));
    }
    if !meta.is_file() {
        return Ok((file, 0));
    }
    if meta.len() == 0 {
        return Err(ImportError::NotAnExport {
            path: path.to_path_buf(),
            reason: "the file is empty".into(),
        });
    }
    Ok((file, meta.len()))
}

/// The file name shown on the progress bar.
pub(super) fn file_label(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Skip a UTF-8 byte order mark (left by some Windows editors) and return the first
/// non-whitespace byte of the input, if the first buffer holds one.
pub(super) fn skip_bom(reader: &mut impl BufRead) -> io::Result<Option<u8>> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    if reader.fill_buf()?.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    Ok(reader
        .fill_buf()?
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace()))
}

/// The channel assumed when the export has no `channel` object, from DCE's file naming
/// `Guild - category - channel [123].json` (see the module docs).
pub(super) fn fallback_channel(path: &Path) -> ChannelInfo {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (before_id, id) = match stem.rfind('[') {
        Some(open) => {
            let rest = &stem[open + 1..];
            let digits = rest.split(']').next().unwrap_or_default();
            match digits.parse::<u64>() {
                Ok(id) if rest.contains(']') => (&stem[..open], Some(id)),
                _ => (stem.as_str(), None),
            }
        }
        None => (stem.as_str(), None),
    };
    let name = before_id
        .rsplit(" - ")
        .next()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("imported");
    let id = id.unwrap_or_else(|| derived_id(name));
    ChannelInfo {
        id: ChannelId(id),
        guild_id: None,
        guild_name: None,
        name: name.to_string(),
        topic: None,
        parent_id: None,
    }
}

/// A stable pseudo channel id from a name: the first 8 bytes of its SHA-256, shifted right by
/// one so it also fits tools that store snowflakes as signed 64-bit integers.
fn derived_id(name: &str) -> u64 {
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes) >> 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_channel_from_dce_file_name() {
        let c = fallback_channel(Path::new(
            "/x/Acme - Text Channels - dev-chat [1234567].json",
        ));
        assert_eq!(c.id, ChannelId(1_234_567));
        assert_eq!(c.name, "dev-chat");
        let c = fallback_channel(Path::new("general.json"));
        assert_eq!(c.name, "general");
        assert_eq!(c.id, ChannelId(derived_id("general")));
        assert_ne!(derived_id("general"), derived_id("random"));
        let c = fallback_channel(Path::new("odd [abc].json"));
        assert_eq!(c.name, "odd [abc]");
    }

    #[test]
    fn bom_is_skipped_and_first_byte_found() {
        let mut with_bom = &b"\xEF\xBB\xBF  \n{\"messages\":[]}"[..];
        assert_eq!(skip_bom(&mut with_bom).expect("read"), Some(b'{'));
        assert!(with_bom.starts_with(b"  \n{"));
        let mut html = &b"<!DOCTYPE html>"[..];
        assert_eq!(skip_bom(&mut html).expect("read"), Some(b'<'));
        let mut blank = &b"   "[..];
        assert_eq!(skip_bom(&mut blank).expect("read"), None);
    }
}
