//! Batches of unique, single-use coupon codes.
//!
//! Why this alphabet? Codes are printed on receipts and flyers, read out at
//! the counter and typed on phones, so the characters that look alike in
//! common fonts are left out: no `0`/`O`, no `1`/`I`/`L`. Thirty-one symbols
//! over [`RANDOM_LEN`] characters give about 8 * 10^14 codes, so guessing a
//! valid one in a batch of [`MAX_BATCH`] takes tens of billions of tries.
//!
//! Why a seed and not a random generator here? The domain crate stays pure
//! and deterministic (a test fixes the seed); the component draws the seed
//! from the host's cryptographic randomness (`wasi:random`). The stream is
//! SHA-256 in counter mode over the seed, with rejection sampling so every
//! symbol is equally likely.

use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

use super::values::CouponCode;

/// The symbols of generated codes.
pub const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Random symbols per code, after the optional prefix.
pub const RANDOM_LEN: usize = 10;
/// The most codes one batch request may create: a campaign's print run;
/// ten million is a typo, answered 422 before any work.
pub const MAX_BATCH: u32 = 10_000;
/// The longest prefix (`XMAS26`), so a code stays within
/// [`CouponCode::MAX_LEN`] and readable.
pub const MAX_PREFIX: usize = 8;

/// Why a batch request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchRequestError {
    Count { max: u32, found: i64 },
    Prefix { raw: String },
}

impl std::fmt::Display for BatchRequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchRequestError::Count { max, found } => {
                write!(
                    f,
                    "a batch holds 1 to {max} codes, not {found}; split a larger print run into several batches"
                )
            }
            BatchRequestError::Prefix { raw } => {
                write!(
                    f,
                    "{raw:?} is not a code prefix (1 to {MAX_PREFIX} letters and digits)"
                )
            }
        }
    }
}

impl std::error::Error for BatchRequestError {}

/// A checked request for a batch: how many codes and their prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRequest {
    count: u32,
    prefix: String,
}

impl BatchRequest {
    pub fn parse(count: i64, prefix: Option<&str>) -> Result<BatchRequest, BatchRequestError> {
        let count = u32::try_from(count)
            .ok()
            .filter(|c| (1..=MAX_BATCH).contains(c))
            .ok_or(BatchRequestError::Count {
                max: MAX_BATCH,
                found: count,
            })?;
        let prefix = match prefix {
            None => String::new(),
            Some(raw) => {
                let canonical: String = raw
                    .chars()
                    .filter(|c| *c != '-')
                    .map(|c| c.to_ascii_uppercase())
                    .collect();
                if canonical.is_empty()
                    || canonical.len() > MAX_PREFIX
                    || !canonical.bytes().all(|b| b.is_ascii_alphanumeric())
                {
                    return Err(BatchRequestError::Prefix {
                        raw: raw.chars().take(32).collect(),
                    });
                }
                canonical
            }
        };
        Ok(BatchRequest { count, prefix })
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// Deterministic code stream from a seed: `count` distinct codes, none in
/// `taken` (codes that exist already), each `prefix` + [`RANDOM_LEN`]
/// symbols of [`ALPHABET`].
pub fn generate(
    seed: &[u8; 32],
    request: &BatchRequest,
    taken: &dyn Fn(&CouponCode) -> bool,
) -> Vec<CouponCode> {
    let mut stream = Stream {
        seed: *seed,
        counter: 0,
        block: [0; 32],
        used: 32,
    };
    let mut codes = Vec::with_capacity(request.count as usize);
    let mut seen = BTreeSet::new();
    while codes.len() < request.count as usize {
        let mut text = request.prefix.clone();
        while text.len() < request.prefix.len() + RANDOM_LEN {
            text.push(stream.symbol() as char);
        }
        let code = CouponCode::parse(&text).expect("generated codes are valid codes");
        if !taken(&code) && seen.insert(code.clone()) {
            codes.push(code);
        }
    }
    codes
}

/// SHA-256(seed || counter) blocks, consumed byte by byte.
struct Stream {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl Stream {
    fn byte(&mut self) -> u8 {
        if self.used == self.block.len() {
            let mut hasher = Sha256::new();
            hasher.update(self.seed);
            hasher.update(self.counter.to_be_bytes());
            self.block = hasher.finalize().into();
            self.counter += 1;
            self.used = 0;
        }
        self.used += 1;
        self.block[self.used - 1]
    }

    /// A uniformly drawn symbol: bytes at or above the largest multiple of
    /// 31 below 256 are dropped so no symbol is favoured.
    fn symbol(&mut self) -> u8 {
        let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
        loop {
            let b = self.byte();
            if b < limit {
                return ALPHABET[usize::from(b) % ALPHABET.len()];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(count: i64, prefix: Option<&str>) -> BatchRequest {
        BatchRequest::parse(count, prefix).unwrap()
    }

    #[test]
    fn batches_are_bounded() {
        assert!(BatchRequest::parse(10_000_000, None).is_err());
        assert!(BatchRequest::parse(0, None).is_err());
        assert!(BatchRequest::parse(-5, None).is_err());
        assert!(BatchRequest::parse(i64::MAX, None).is_err());
        assert_eq!(request(10_000, None).count(), 10_000);
    }

    #[test]
    fn prefixes_are_short_alphanumeric_and_upper_cased() {
        assert_eq!(request(1, Some("xmas-26")).prefix(), "XMAS26");
        for bad in ["", "TOOLONGPREFIX", "A B", "Ż"] {
            assert!(BatchRequest::parse(1, Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn generated_codes_are_distinct_unambiguous_and_prefixed() {
        let codes = generate(&[7; 32], &request(2_000, Some("XMAS")), &|_| false);
        assert_eq!(codes.len(), 2_000);
        assert_eq!(codes.iter().collect::<BTreeSet<_>>().len(), 2_000);
        for code in &codes {
            let text = code.as_str();
            assert_eq!(text.len(), 4 + RANDOM_LEN);
            assert!(text.starts_with("XMAS"));
            assert!(text[4..].bytes().all(|b| ALPHABET.contains(&b)), "{text}");
            assert!(!text[4..].contains(['0', 'O', '1', 'I', 'L']), "{text}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_codes_and_another_seed_others() {
        let a = generate(&[1; 32], &request(50, None), &|_| false);
        assert_eq!(a, generate(&[1; 32], &request(50, None), &|_| false));
        let b = generate(&[2; 32], &request(50, None), &|_| false);
        assert!(a.iter().all(|code| !b.contains(code)));
    }

    #[test]
    fn codes_that_exist_already_are_skipped() {
        let first = generate(&[3; 32], &request(5, None), &|_| false);
        let taken = first[0].clone();
        let again = generate(&[3; 32], &request(5, None), &|c| *c == taken);
        assert!(!again.contains(&taken));
        assert_eq!(again[..4], first[1..]);
    }

    #[test]
    fn every_symbol_is_drawn() {
        let codes = generate(&[9; 32], &request(500, None), &|_| false);
        let used: BTreeSet<u8> = codes.iter().flat_map(|c| c.as_str().bytes()).collect();
        assert_eq!(used.len(), ALPHABET.len());
    }
}
