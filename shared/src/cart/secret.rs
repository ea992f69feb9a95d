//! Random cart and checkout ids, and the secret that is a guest cart's only
//! key.
//!
//! Why is a guest secret needed at all, when cart ids are random? An id
//! travels in URLs, logs and analytics; a secret travels only in the
//! `X-Cart-Secret` header. The secret is returned once, at creation, and
//! only its SHA-256 is stored, so a copy of the database opens no guest cart.
//! SHA-256 without a salt is enough here: the secret is 256 random bits, not
//! a password, so there is nothing to guess by dictionary.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::CartError;
use crate::ids::CartId;
use crate::storage::StorageError;

/// `N` bytes from the platform's cryptographic random source: wasi:random on
/// the edge, the operating system natively.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CartError> {
    let mut bytes = [0u8; N];
    fill(&mut bytes)
        .map_err(|why| CartError::Storage(StorageError::Other(format!("no randomness: {why}"))))?;
    Ok(bytes)
}

#[cfg(target_arch = "wasm32")]
fn fill(bytes: &mut [u8]) -> Result<(), String> {
    let random = wasi::random::random::get_random_bytes(bytes.len() as u64);
    if random.len() != bytes.len() {
        return Err(format!(
            "asked for {} bytes, got {}",
            bytes.len(),
            random.len()
        ));
    }
    bytes.copy_from_slice(&random);
    Ok(())
}

#[cfg(not(target_arch = "wasm32"))]
fn fill(bytes: &mut [u8]) -> Result<(), String> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(bytes))
        .map_err(|e| e.to_string())
}

/// A fresh id with `prefix` and 128 random bits as 32 lowercase hex digits:
/// unguessable, URL-safe and a valid id token.
pub fn random_id(prefix: &str) -> Result<String, CartError> {
    let bytes = random_bytes::<16>()?;
    let mut id = String::with_capacity(prefix.len() + 32);
    id.push_str(prefix);
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    Ok(id)
}

/// A new cart id, `crt_` and 32 hex digits.
pub fn new_cart_id() -> Result<CartId, CartError> {
    let raw = random_id("crt_")?;
    CartId::parse(&raw).map_err(|e| CartError::Storage(StorageError::Other(e.to_string())))
}

/// A guest cart's secret as handed to the shopper once.
#[derive(Clone, PartialEq, Eq)]
pub struct GuestSecret(String);

impl GuestSecret {
    /// Exactly the length of a base64url-encoded 32-byte secret.
    pub const LEN: usize = 43;

    pub fn generate() -> Result<GuestSecret, CartError> {
        Ok(GuestSecret(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What is stored: the SHA-256 of the secret, in hex.
    pub fn sha256_hex(&self) -> String {
        sha256_hex(&self.0)
    }
}

impl std::fmt::Debug for GuestSecret {
    /// The secret stays out of logs and panic messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GuestSecret(<secret>)")
    }
}

/// Whether `presented` (the `X-Cart-Secret` header) is the secret whose hash
/// is `stored_sha256_hex`. Hashes are compared in constant time; a value of
/// the wrong length is refused before hashing.
pub fn secret_matches(presented: &str, stored_sha256_hex: &str) -> bool {
    let presented = presented.trim();
    if presented.len() != GuestSecret::LEN {
        return false;
    }
    let computed = sha256_hex(presented);
    computed.len() == stored_sha256_hex.len()
        && computed
            .bytes()
            .zip(stored_sha256_hex.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_random_hex_tokens() {
        let (a, b) = (new_cart_id().unwrap(), new_cart_id().unwrap());
        assert_ne!(a, b);
        assert!(
            a.as_str().starts_with("crt_") && a.as_str().len() == 36,
            "{a}"
        );
        assert!(a.as_str()[4..].bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn a_secret_matches_only_its_own_hash() {
        let secret = GuestSecret::generate().unwrap();
        assert_eq!(secret.as_str().len(), GuestSecret::LEN);
        let stored = secret.sha256_hex();
        assert!(secret_matches(secret.as_str(), &stored));
        assert!(secret_matches(&format!(" {} ", secret.as_str()), &stored));
        let other = GuestSecret::generate().unwrap();
        assert!(!secret_matches(other.as_str(), &stored));
        assert!(!secret_matches("", &stored));
        assert!(
            !secret_matches(&stored, &stored),
            "the hash itself is not the key"
        );
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let secret = GuestSecret::generate().unwrap();
        assert!(!format!("{secret:?}").contains(secret.as_str()));
    }
}
