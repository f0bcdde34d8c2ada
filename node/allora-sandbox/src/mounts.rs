//! Read-only host directories an adapter may see (its trained model files): checked once at
//! load (absolute, unique guest paths; a directory on the host; total bytes under the cap) and
//! preopened into every call's WASI context with read-only directory and file permissions.
//! Nothing else of the host filesystem is visible, with or without mounts; the WASI
//! implementation (cap-std) refuses `..` and symlinks that lead out of a mount.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// Default cap on the bytes under one mount (regular files, counted recursively).
pub const DEFAULT_MOUNT_MAX_BYTES: u64 = 256 << 20;

/// Files counted before a mount is refused as too many (a directory walk must stay cheap).
const MAX_ENTRIES: u64 = 100_000;

/// One host directory, visible read-only to the guest at `guest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Host directory (absolute, or relative to the node's working directory).
    pub host: PathBuf,
    /// Absolute guest path, e.g. `/model`.
    pub guest: String,
    /// Cap on the total bytes of regular files under `host`, checked at load.
    pub max_bytes: u64,
}

impl Mount {
    /// A mount with the default size cap.
    pub fn new(host: impl Into<PathBuf>, guest: impl Into<String>) -> Mount {
        Mount {
            host: host.into(),
            guest: guest.into(),
            max_bytes: DEFAULT_MOUNT_MAX_BYTES,
        }
    }
}

/// Why a guest path is not acceptable (shared with config validation so both say the same).
pub fn guest_path_problem(guest: &str) -> Option<String> {
    if !guest.starts_with('/') {
        return Some(format!("guest path {guest:?} is not absolute"));
    }
    if guest.split('/').any(|c| c == ".." || c == ".") {
        return Some(format!("guest path {guest:?} contains '.' or '..'"));
    }
    if guest.chars().any(char::is_control) {
        return Some(format!("guest path {guest:?} contains a control character"));
    }
    None
}

/// Checks every mount; the first problem is returned as `(index, reason)`.
pub fn check(mounts: &[Mount]) -> Result<(), (usize, String)> {
    let mut seen = HashSet::new();
    for (i, m) in mounts.iter().enumerate() {
        if let Some(p) = guest_path_problem(&m.guest) {
            return Err((i, p));
        }
        let norm = m.guest.trim_end_matches('/');
        if !seen.insert(if norm.is_empty() { "/" } else { norm }) {
            return Err((i, format!("guest path {:?} is mounted twice", m.guest)));
        }
        let bytes = dir_bytes(&m.host, m.max_bytes).map_err(|e| (i, e))?;
        if bytes > m.max_bytes {
            return Err((
                i,
                format!(
                    "{} holds more than {} bytes (the mount's size cap); raise maxMb or mount a smaller directory",
                    m.host.display(),
                    m.max_bytes
                ),
            ));
        }
    }
    Ok(())
}

/// Total bytes of regular files under `dir` (symlinks are not followed); stops counting once
/// past `cap`.
pub fn dir_bytes(dir: &Path, cap: u64) -> Result<u64, String> {
    let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let (mut total, mut entries) = (0u64, 0u64);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for entry in rd {
            let entry = entry.map_err(|e| format!("{}: {e}", d.display()))?;
            let ft = entry
                .file_type()
                .map_err(|e| format!("{}: {e}", entry.path().display()))?;
            entries += 1;
            if entries > MAX_ENTRIES {
                return Err(format!(
                    "{} holds more than {MAX_ENTRIES} entries",
                    dir.display()
                ));
            }
            if ft.is_dir() {
                stack.push(entry.path());
            } else if ft.is_file() {
                let len = entry
                    .metadata()
                    .map_err(|e| format!("{}: {e}", entry.path().display()))?
                    .len();
                total = total.saturating_add(len);
                if total > cap {
                    return Ok(total);
                }
            }
        }
    }
    Ok(total)
}

/// Preopens every mount read-only into a call's WASI context.
pub fn preopen(builder: &mut WasiCtxBuilder, mounts: &[Mount]) -> Result<(), String> {
    for m in mounts {
        builder
            .preopened_dir(&m.host, &m.guest, FsPerms::ReadOnly)
            .map_err(|e| format!("cannot open {} for {}: {e:#}", m.host.display(), m.guest))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_paths_must_be_absolute_clean_and_unique() {
        let dir = tempfile::tempdir().unwrap();
        let ok = |g: &str| Mount::new(dir.path(), g);
        assert!(check(&[ok("/model"), ok("/data")]).is_ok());
        assert!(
            check(&[ok("model")])
                .unwrap_err()
                .1
                .contains("not absolute")
        );
        assert!(check(&[ok("/a/../b")]).unwrap_err().1.contains(".."));
        let (i, e) = check(&[ok("/model"), ok("/model/")]).unwrap_err();
        assert_eq!(i, 1);
        assert!(e.contains("twice"), "{e}");
    }

    #[test]
    fn host_must_be_an_existing_directory_under_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Mount::new(dir.path().join("nope"), "/m");
        assert!(check(&[missing]).is_err());
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/w.bin"), vec![0u8; 1000]).unwrap();
        std::fs::write(dir.path().join("f"), b"x").unwrap();
        let file = Mount::new(dir.path().join("f"), "/m");
        assert!(check(&[file]).unwrap_err().1.contains("not a directory"));
        assert_eq!(dir_bytes(dir.path(), u64::MAX).unwrap(), 1001);
        let mut small = Mount::new(dir.path(), "/m");
        small.max_bytes = 1000;
        assert!(check(&[small.clone()]).unwrap_err().1.contains("size cap"));
        small.max_bytes = 1001;
        assert!(check(&[small]).is_ok());
    }
}
