//! On-disk cache of compiled components.
//!
//! Compiling a component (especially Python/JS ones with an interpreter inside) takes
//! seconds; deserializing the machine code takes milliseconds. Entries are keyed by wasmtime
//! version + the engine's compatibility hash (which covers the engine config and target) +
//! sha256 of the .wasm bytes, and are only ever written by the node itself from a .wasm it
//! just compiled — never accepted from users — which is what makes deserializing them sound.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// wasmtime major version, part of the cache key (the compatibility hash also covers it).
const WASMTIME_MAJOR: &str = "48";

/// Where a component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Compiled now (and written to the cache if there is one).
    Compiled,
    /// Loaded from the on-disk cache.
    Cached,
    /// Already loaded in this runtime from identical bytes; shared.
    Shared,
}

/// The cache directory for this engine's configuration.
pub fn engine_dir(root: &Path, engine: &Engine) -> PathBuf {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    root.join(format!("wasmtime-{WASMTIME_MAJOR}-{:016x}", h.finish()))
}

/// Hex sha256 of the wasm bytes.
pub fn wasm_digest(wasm: &[u8]) -> String {
    hex::encode(Sha256::digest(wasm))
}

/// Compiles `wasm`, or loads it from `dir` when a matching entry exists. Cache I/O problems
/// are logged and fall back to compiling: a broken cache must never stop the node.
pub fn load(
    engine: &Engine,
    dir: Option<&Path>,
    wasm: &[u8],
) -> wasmtime::Result<(Component, Source)> {
    let Some(dir) = dir else {
        return Ok((Component::new(engine, wasm)?, Source::Compiled));
    };
    let file = dir.join(format!("{}.cwasm", wasm_digest(wasm)));
    if file.exists() {
        // SAFETY: files in the cache directory are written only by `store` below from code
        // this engine compiled; wasmtime additionally checks the engine compatibility header.
        match unsafe { Component::deserialize_file(engine, &file) } {
            Ok(c) => return Ok((c, Source::Cached)),
            Err(e) => {
                tracing::warn!(path = %file.display(), error = %e, "discarding unusable compiled-adapter cache entry")
            }
        }
    }
    let component = Component::new(engine, wasm)?;
    if let Err(e) = store(&component, dir, &file) {
        tracing::warn!(path = %file.display(), error = %e, "cannot write compiled-adapter cache entry");
    }
    Ok((component, Source::Compiled))
}

fn store(component: &Component, dir: &Path, file: &Path) -> wasmtime::Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize()?;
    // Write-then-rename so a concurrent reader never sees a half-written entry.
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, file)?;
    Ok(())
}
