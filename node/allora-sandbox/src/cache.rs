//! On-disk cache of compiled components.
//!
//! Compiling a component (especially Python/JS ones with an interpreter inside) takes
//! seconds; deserializing the machine code takes milliseconds. Entries are keyed by wasmtime
//! version + the engine's compatibility hash (which covers the engine config and target) +
//! sha256 of the .wasm bytes.
//!
//! Deserializing an entry maps it as native code, so an entry is used only if the node can
//! show it wrote it:
//! - the cache directories and the entry are owned by the node's user and are not group- or
//!   world-writable (unix);
//! - a sidecar `<sha256>.tag` holds an HMAC-SHA256 of the entry's bytes and its key, under a
//!   random node-local key (`hmac.key`, mode 0600) created in the cache directory;
//! - the bytes checked are the bytes deserialized (read once into memory, no re-open).
//!
//! Any failed check logs a warning and recompiles; a broken or foreign cache never stops the
//! node and is never executed.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// wasmtime major version, part of the cache key (the compatibility hash also covers it).
const WASMTIME_MAJOR: &str = "48";
/// The node-local HMAC key file inside the engine's cache directory.
const KEY_FILE: &str = "hmac.key";

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

/// Compiles `wasm` with `compile`, or loads it from `dir` when a matching, authenticated
/// entry exists. Cache problems are logged and fall back to compiling.
pub fn load(
    engine: &Engine,
    dir: Option<&Path>,
    wasm: &[u8],
    compile: impl FnOnce() -> wasmtime::Result<Component>,
) -> wasmtime::Result<(Component, Source)> {
    let digest = wasm_digest(wasm);
    if let Some(c) = dir.and_then(|d| lookup(engine, d, &digest)) {
        return Ok((c, Source::Cached));
    }
    let component = compile()?;
    if let Some(dir) = dir.filter(|d| usable(d)) {
        let stored = component
            .serialize()
            .map_err(|e| format!("{e:#}"))
            .and_then(|bytes| store_serialized(dir, &digest, &bytes));
        if let Err(e) = stored {
            tracing::warn!(path = %dir.display(), error = %e, "cannot write compiled-adapter cache entry");
        }
    }
    Ok((component, Source::Compiled))
}

/// The authenticated entry for `digest` in `dir`, if there is one. Problems (a foreign
/// directory, a missing or wrong tag, an incompatible entry) are logged; the caller
/// compiles instead.
pub(crate) fn lookup(engine: &Engine, dir: &Path, digest: &str) -> Option<Component> {
    let file = dir.join(format!("{digest}.cwasm"));
    if !file.exists() {
        return None;
    }
    let key = match open_dir(dir) {
        Ok(key) => key,
        Err(why) => {
            tracing::warn!(path = %dir.display(), reason = %why, "not using the compiled-adapter cache directory");
            return None;
        }
    };
    match read_checked(&key, dir, digest) {
        // SAFETY: the bytes were written by this node (HMAC under its private key over
        // exactly these bytes, owner and mode checked) from code this engine's
        // configuration compiled; wasmtime additionally checks the compatibility header.
        Ok(bytes) => match unsafe { Component::deserialize(engine, &bytes) } {
            Ok(c) => return Some(c),
            Err(e) => {
                tracing::warn!(path = %file.display(), error = %e, "discarding unusable compiled-adapter cache entry")
            }
        },
        Err(why) => {
            tracing::warn!(path = %file.display(), reason = %why, "refusing unauthenticated compiled-adapter cache entry; recompiling")
        }
    }
    None
}

/// Whether `dir` can hold entries (created 0700 if missing, owner and modes checked, key
/// readable); a warning names the problem when not.
pub(crate) fn usable(dir: &Path) -> bool {
    match open_dir(dir) {
        Ok(_) => true,
        Err(why) => {
            tracing::warn!(path = %dir.display(), reason = %why, "not using the compiled-adapter cache directory");
            false
        }
    }
}

/// Writes serialized compiled code as the entry for `digest`, tagged under the directory's
/// key. Used in-process and by the compile process (same uid, same key file).
pub(crate) fn store_serialized(dir: &Path, digest: &str, bytes: &[u8]) -> Result<(), String> {
    let key = open_dir(dir)?;
    store(bytes, dir, digest, &key).map_err(|e| format!("cannot write the entry: {e}"))
}

/// The entry a compile process just wrote, strictly: anything that does not authenticate
/// or deserialize is an error (never executed), not a reason to recompile.
pub(crate) fn load_written(engine: &Engine, dir: &Path, digest: &str) -> Result<Component, String> {
    let key = open_dir(dir)?;
    let bytes = read_checked(&key, dir, digest)?;
    // SAFETY: authenticated as above: our own compile process wrote these exact bytes with
    // the engine configuration of `engine` (wasmtime checks the compatibility header).
    unsafe { Component::deserialize(engine, &bytes) }.map_err(|e| format!("{e:#}"))
}

/// Removes an entry (the hand-over copy once it is loaded).
pub(crate) fn remove_entry(dir: &Path, digest: &str) {
    for ext in ["cwasm", "tag"] {
        let _ = std::fs::remove_file(dir.join(format!("{digest}.{ext}")));
    }
}

/// Creates (0700) or checks the engine directory and its parent, and reads or creates the key.
fn open_dir(dir: &Path) -> Result<Vec<u8>, String> {
    if !dir.exists() {
        create_private_dir(dir).map_err(|e| format!("cannot create it: {e}"))?;
    }
    if let Some(root) = dir.parent() {
        check_private(root, true)?;
    }
    check_private(dir, true)?;
    let key_path = dir.join(KEY_FILE);
    match std::fs::read(&key_path) {
        Ok(key) if key.len() == 32 => {
            check_private(&key_path, false)?;
            Ok(key)
        }
        Ok(_) => Err(format!("{} has the wrong length", key_path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = rand::random();
            match write_private(&key_path, &key, true) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(format!("cannot create key: {e}")),
            }
            // Another process may have won the race; use whatever is on disk.
            let key = std::fs::read(&key_path).map_err(|e| format!("cannot read key: {e}"))?;
            check_private(&key_path, false)?;
            Ok(key)
        }
        Err(e) => Err(format!("cannot read {}: {e}", key_path.display())),
    }
}

fn read_checked(key: &[u8], dir: &Path, digest: &str) -> Result<Vec<u8>, String> {
    let file = dir.join(format!("{digest}.cwasm"));
    let tag_file = dir.join(format!("{digest}.tag"));
    check_private(&file, false)?;
    check_private(&tag_file, false)?;
    let bytes = std::fs::read(&file).map_err(|e| format!("cannot read: {e}"))?;
    let tag = std::fs::read_to_string(&tag_file).map_err(|e| format!("no valid tag: {e}"))?;
    let want = hex::encode(hmac_sha256(
        key,
        &[digest.as_bytes(), b"\n".as_slice(), bytes.as_slice()],
    ));
    if !constant_time_eq(tag.trim().as_bytes(), want.as_bytes()) {
        return Err("its tag does not match; the node did not write it".into());
    }
    Ok(bytes)
}

fn store(bytes: &[u8], dir: &Path, digest: &str, key: &[u8]) -> std::io::Result<()> {
    let tag = hex::encode(hmac_sha256(
        key,
        &[digest.as_bytes(), b"\n".as_slice(), bytes],
    ));
    // Write-then-rename so a concurrent reader never sees a half-written entry; the tag is
    // renamed last, so an entry without a matching tag is never trusted.
    let tmp = |ext: &str| {
        dir.join(format!(
            ".tmp-{}-{}.{ext}",
            std::process::id(),
            rand::random::<u64>()
        ))
    };
    let (tmp_code, tmp_tag) = (tmp("cwasm"), tmp("tag"));
    write_private(&tmp_code, bytes, true)?;
    write_private(&tmp_tag, tag.as_bytes(), true)?;
    std::fs::rename(&tmp_code, dir.join(format!("{digest}.cwasm")))?;
    std::fs::rename(&tmp_tag, dir.join(format!("{digest}.tag")))?;
    Ok(())
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    let mut tag = [0u8; 32];
    tag.copy_from_slice(&outer.finalize());
    tag
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

fn write_private(path: &Path, bytes: &[u8], create_new: bool) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if create_new {
        opts.create_new(true);
    } else {
        opts.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Owned by this process's user, not a symlink, and not writable by group or others.
#[cfg(unix)]
fn check_private(path: &Path, is_dir: bool) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path)
        .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
    if m.file_type().is_symlink() || m.is_dir() != is_dir {
        return Err(format!(
            "{} is not a plain {}",
            path.display(),
            if is_dir { "directory" } else { "file" }
        ));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if m.uid() != me {
        return Err(format!(
            "{} is owned by uid {}, not the node's uid {me}",
            path.display(),
            m.uid()
        ));
    }
    if m.mode() & 0o022 != 0 {
        return Err(format!(
            "{} is group- or world-writable (mode {:o})",
            path.display(),
            m.mode() & 0o7777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(path: &Path, _is_dir: bool) -> Result<(), String> {
    std::fs::symlink_metadata(path)
        .map(|_| ())
        .map_err(|e| format!("cannot stat {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2.
    #[test]
    fn hmac_matches_rfc_4231() {
        let tag = hmac_sha256(
            b"Jefe",
            &[b"what do ya want ".as_slice(), b"for nothing?".as_slice()],
        );
        assert_eq!(
            hex::encode(tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
