//! The two tiktoken vocabularies the budgets use (`o200k_base`, `cl100k_base`), embedded packed.
//!
//! tiktoken-rs embeds each vocabulary as base64 text with a decimal rank per line (5.3 MB for
//! these two, a quarter of the binary). `build.rs` writes the same tokens as raw bytes in rank
//! order (one length byte per token, then the bytes), deflated: 1.4 MB. They are inflated into the
//! same [`CoreBPE`] (same tokens, ranks, special tokens and split pattern as tiktoken-rs's own
//! constructors) on first use, once per process; tiktoken-rs's embedded text is never referenced,
//! so the linker leaves it out.

use std::io::Read;
use std::sync::LazyLock;

use rustc_hash::FxHashMap;
use tiktoken_rs::{CoreBPE, Rank};

/// `o200k_base` tokens, packed by `build.rs`.
static O200K_PACKED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_base.vocab"));

/// `cl100k_base` tokens, packed by `build.rs`.
static CL100K_PACKED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cl100k_base.vocab"));

/// tiktoken's split pattern for `cl100k_base` (tiktoken-rs exports only the o200k one).
const CL100K_PATTERN: &str = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s";

/// The `o200k_base` encoder (gpt-4o and later), built on first use.
pub fn o200k_base() -> &'static CoreBPE {
    static BPE: LazyLock<CoreBPE> = LazyLock::new(|| {
        build(
            O200K_PACKED,
            &[
                (tiktoken_rs::ENDOFTEXT, 199_999),
                (tiktoken_rs::ENDOFPROMPT, 200_018),
            ],
            tiktoken_rs::O200K_BASE_PAT_STR,
        )
    });
    &BPE
}

/// The `cl100k_base` encoder (gpt-4, gpt-3.5), built on first use.
pub fn cl100k_base() -> &'static CoreBPE {
    static BPE: LazyLock<CoreBPE> = LazyLock::new(|| {
        build(
            CL100K_PACKED,
            &[
                (tiktoken_rs::ENDOFTEXT, 100_257),
                (tiktoken_rs::FIM_PREFIX, 100_258),
                (tiktoken_rs::FIM_MIDDLE, 100_259),
                (tiktoken_rs::FIM_SUFFIX, 100_260),
                (tiktoken_rs::ENDOFPROMPT, 100_276),
            ],
            CL100K_PATTERN,
        )
    });
    &BPE
}

/// The encoder for a packed vocabulary. The data and the pattern are part of this build, so a
/// failure here is a broken build, not something a user can fix: it panics, like tiktoken-rs's
/// own singletons.
fn build(packed: &[u8], special: &[(&str, Rank)], pattern: &str) -> CoreBPE {
    let encoder = unpack(packed).expect("the embedded tiktoken vocabulary is corrupt");
    let special = special.iter().map(|&(s, r)| (s.to_owned(), r)).collect();
    CoreBPE::new(encoder, special, pattern).expect("the tiktoken split pattern does not compile")
}

/// Token bytes → rank from the packed form: deflate of `count` (u32 LE), `count` length bytes,
/// then the tokens' bytes back to back; the rank of a token is its position.
fn unpack(packed: &[u8]) -> Result<FxHashMap<Vec<u8>, Rank>, String> {
    let mut raw = Vec::new();
    flate2::read::DeflateDecoder::new(packed)
        .read_to_end(&mut raw)
        .map_err(|e| format!("cannot inflate: {e}"))?;
    let (count, rest) = raw.split_first_chunk::<4>().ok_or("no token count")?;
    let count = u32::from_le_bytes(*count) as usize;
    if rest.len() < count {
        return Err(format!(
            "{count} tokens announced, {} bytes follow",
            rest.len()
        ));
    }
    let (lengths, mut bytes) = rest.split_at(count);
    let mut encoder = FxHashMap::with_capacity_and_hasher(count, rustc_hash::FxBuildHasher);
    for (rank, &len) in lengths.iter().enumerate() {
        let (token, tail) = bytes
            .split_at_checked(usize::from(len))
            .ok_or_else(|| format!("token {rank} runs past the end"))?;
        encoder.insert(token.to_vec(), rank as Rank);
        bytes = tail;
    }
    if !bytes.is_empty() || encoder.len() != count {
        return Err("trailing bytes or duplicate tokens".to_owned());
    }
    Ok(encoder)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text mixing scripts, digits, contractions, whitespace runs and special-token text.
    const SAMPLE: &str = "Hello, world! It's 2024-06-01 and we'll ship v1.2.3 🚀\n\n\
        Größenänderung: 東京で会いましょう。 Привет, как дела?  مرحبا   \t  \r\n\
        fn main() { println!(\"{x:?}\"); } <|endoftext|> 12345678 don't   ";

    /// Same tokens and ranks as tiktoken-rs's own encoder: every ordinary rank decodes to the
    /// same bytes, the first rank past them is not an ordinary token in either, and text
    /// (including special-token text) encodes the same with and without specials.
    fn assert_same(ours: &CoreBPE, theirs: &CoreBPE, count: Rank) {
        for rank in 0..count {
            assert_eq!(
                ours.decode_bytes(&[rank]).ok(),
                theirs.decode_bytes(&[rank]).ok(),
                "rank {rank}"
            );
        }
        assert!(theirs.decode_bytes(&[count]).is_err());
        assert!(ours.decode_bytes(&[count]).is_err());
        assert_eq!(ours.encode_ordinary(SAMPLE), theirs.encode_ordinary(SAMPLE));
        assert_eq!(
            ours.encode_with_special_tokens(SAMPLE),
            theirs.encode_with_special_tokens(SAMPLE)
        );
        assert_eq!(ours.special_tokens(), theirs.special_tokens());
    }

    #[test]
    fn o200k_matches_tiktoken_rs() {
        let theirs = tiktoken_rs::o200k_base().expect("tiktoken-rs o200k");
        assert_same(o200k_base(), &theirs, 199_998);
    }

    #[test]
    fn cl100k_matches_tiktoken_rs() {
        let theirs = tiktoken_rs::cl100k_base().expect("tiktoken-rs cl100k");
        assert_same(cl100k_base(), &theirs, 100_256);
    }

    #[test]
    fn corrupt_data_is_an_error_not_a_panic() {
        assert!(unpack(b"not deflate data").is_err());
        let truncated = &O200K_PACKED[..O200K_PACKED.len() / 2];
        assert!(unpack(truncated).is_err());
    }
}
