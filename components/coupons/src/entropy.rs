//! Seeds for code batches from the host's cryptographic randomness.
//!
//! Why not in the domain crate? The rules stay deterministic (a test fixes
//! the seed); only the component asks the host. On wasm that is
//! `wasi:random` (Spin and the local edge host both provide it); natively,
//! for the component's tests, the OS's `/dev/urandom`.

use omni_shared::web::Problem;

#[cfg(target_arch = "wasm32")]
pub fn seed() -> Result<[u8; 32], Problem> {
    let bytes = wasi::random::random::get_random_bytes(32);
    bytes
        .try_into()
        .map_err(|_| Problem::internal(&"wasi:random returned fewer than 32 bytes"))
}

#[cfg(not(target_arch = "wasm32"))]
pub fn seed() -> Result<[u8; 32], Problem> {
    use std::io::Read;
    let mut seed = [0_u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| Problem::internal(&format!("reading /dev/urandom: {e}")))?;
    Ok(seed)
}
