//! On-disk keystore under the node home directory: one JSON file per key in
//! `<home>/keys/<name>.json`, mode 0600 inside a 0700 directory.
//!
//! The file holds the mnemonic (so a key can be re-derived by any BIP-39 tool) plus the
//! derived address and pubkey for `keys show`/`keys list` without touching the secret.
//! Like the Go node's `test` keyring backend the secret is protected by file permissions
//! only; operators who need more should mount the home directory from a secret store.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::Zeroizing;

use super::{KeyError, Wallet};

/// Keystore failures; none of them carries secret material.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error(
        "invalid key name {0:?}: use 1-64 letters, digits, '-', '_' or '.', not starting with '.'"
    )]
    InvalidName(String),
    #[error("key {name:?} already exists in {path}; pick another name or delete the file first")]
    Exists { name: String, path: PathBuf },
    #[error("no key named {name:?} in {dir} (create one with `allora-node keys add {name}`)")]
    NotFound { name: String, dir: PathBuf },
    #[error("key file {path} is unreadable or corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Public facts about a stored key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub name: String,
    pub address: String,
    pub pubkey: String,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    name: String,
    address: String,
    pubkey: String,
    mnemonic: String,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.mnemonic);
    }
}

/// The node's default home directory: `$HOME/.allora-node`.
pub fn default_home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".allora-node")
}

/// A directory of key files.
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Keystore {
    /// The keystore of a node home directory (`<home>/keys`); nothing is created yet.
    pub fn new(home: &Path) -> Keystore {
        Keystore {
            dir: home.join("keys"),
        }
    }

    /// Directory holding the key files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> Result<PathBuf, StoreError> {
        if !valid_name(name) {
            return Err(StoreError::InvalidName(name.to_owned()));
        }
        Ok(self.dir.join(format!("{name}.json")))
    }

    /// Generates a 24-word mnemonic, stores it as `name` and returns the wallet and the
    /// mnemonic (shown to the user once).
    pub fn add(&self, name: &str) -> Result<(Wallet, Zeroizing<String>), StoreError> {
        let mnemonic = bip39::Mnemonic::generate_in(bip39::Language::English, 24)
            .map_err(|e| KeyError::InvalidMnemonic(e.to_string()))?;
        let phrase = Zeroizing::new(mnemonic.to_string());
        let wallet = self.restore(name, &phrase)?;
        Ok((wallet, phrase))
    }

    /// Stores an existing mnemonic as `name` (refuses to overwrite).
    pub fn restore(&self, name: &str, phrase: &str) -> Result<Wallet, StoreError> {
        let path = self.path(name)?;
        let wallet = Wallet::from_mnemonic(phrase)?;
        if path.exists() {
            return Err(StoreError::Exists {
                name: name.to_owned(),
                path,
            });
        }
        self.ensure_dir()?;
        let file = KeyFile {
            name: name.to_owned(),
            address: wallet.address().to_owned(),
            pubkey: wallet.pubkey_hex(),
            mnemonic: phrase.split_whitespace().collect::<Vec<_>>().join(" "),
        };
        let json =
            Zeroizing::new(
                serde_json::to_vec_pretty(&file).map_err(|e| StoreError::Corrupt {
                    path: path.clone(),
                    reason: e.to_string(),
                })?,
            );
        write_private(&path, &json).map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => StoreError::Exists {
                name: name.to_owned(),
                path: path.clone(),
            },
            _ => StoreError::Io {
                action: "writing key file",
                path: path.clone(),
                source,
            },
        })?;
        Ok(wallet)
    }

    fn ensure_dir(&self) -> Result<(), StoreError> {
        fs::create_dir_all(&self.dir).map_err(io("creating keystore directory", &self.dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
                .map_err(io("restricting permissions of", &self.dir))?;
        }
        Ok(())
    }

    fn read(&self, name: &str) -> Result<(PathBuf, KeyFile), StoreError> {
        let path = self.path(name)?;
        let bytes = match fs::read(&path) {
            Ok(b) => Zeroizing::new(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    name: name.to_owned(),
                    dir: self.dir.clone(),
                });
            }
            Err(e) => return Err(io("reading key file", &path)(e)),
        };
        let file: KeyFile = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            // serde's message can quote file content; keep only the position.
            reason: format!("invalid JSON at line {} column {}", e.line(), e.column()),
        })?;
        Ok((path, file))
    }

    /// Loads the wallet stored as `name`.
    pub fn load(&self, name: &str) -> Result<Wallet, StoreError> {
        let (path, file) = self.read(name)?;
        let wallet = Wallet::from_mnemonic(&file.mnemonic).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if wallet.address() != file.address {
            return Err(StoreError::Corrupt {
                path,
                reason: format!(
                    "stored address {} does not match the stored mnemonic",
                    file.address
                ),
            });
        }
        Ok(wallet)
    }

    /// Address and pubkey of `name`, without deriving the key.
    pub fn show(&self, name: &str) -> Result<KeyInfo, StoreError> {
        let (_, file) = self.read(name)?;
        Ok(KeyInfo {
            name: file.name.clone(),
            address: file.address.clone(),
            pubkey: file.pubkey.clone(),
        })
    }

    /// Every stored key, sorted by name. A missing keystore directory is an empty list.
    pub fn list(&self) -> Result<Vec<KeyInfo>, StoreError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("listing", &self.dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io("listing", &self.dir))?;
            let fname = entry.file_name();
            let Some(name) = fname.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if valid_name(name) {
                out.push(self.show(name)?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// Reads a mnemonic from a file (`mnemonicFile` in the config, `--mnemonic-file`) and
/// derives the wallet. Errors name the file, never its content.
pub fn wallet_from_mnemonic_file(path: &Path) -> Result<Wallet, StoreError> {
    let bytes = Zeroizing::new(fs::read(path).map_err(io("reading mnemonic file", path))?);
    let text = std::str::from_utf8(&bytes).map_err(|_| StoreError::Corrupt {
        path: path.to_owned(),
        reason: "not UTF-8 text".into(),
    })?;
    Ok(Wallet::from_mnemonic(text)?)
}

/// The wallet of a mnemonic held in environment variable `var` (e.g.
/// `ALLORA_OFFCHAIN_NODE_MNEMONIC`); `Ok(None)` when unset or empty.
pub fn wallet_from_env(var: &str) -> Result<Option<Wallet>, KeyError> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => {
            let v = Zeroizing::new(v);
            Wallet::from_mnemonic(&v).map(Some)
        }
        _ => Ok(None),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHRASE: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    fn tmp() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "allora-keystore-test-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn add_restore_show_list_load() {
        let home = tmp();
        let ks = Keystore::new(&home);
        assert!(ks.list().unwrap().is_empty());
        let (w, phrase) = ks.add("worker1").unwrap();
        assert_eq!(phrase.split_whitespace().count(), 24);
        assert_eq!(
            Wallet::from_mnemonic(&phrase).unwrap().address(),
            w.address()
        );
        let r = ks.restore("rep", PHRASE).unwrap();
        assert_eq!(
            r.address(),
            Wallet::from_mnemonic(PHRASE).unwrap().address()
        );
        assert_eq!(ks.load("worker1").unwrap().address(), w.address());
        let info = ks.show("rep").unwrap();
        assert_eq!(info.address, r.address());
        assert_eq!(info.pubkey, r.pubkey_hex());
        let names: Vec<_> = ks.list().unwrap().into_iter().map(|k| k.name).collect();
        assert_eq!(names, ["rep", "worker1"]);
        assert!(matches!(
            ks.restore("rep", PHRASE),
            Err(StoreError::Exists { .. })
        ));
        assert!(matches!(ks.load("nope"), Err(StoreError::NotFound { .. })));
        assert!(matches!(ks.add("../evil"), Err(StoreError::InvalidName(_))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(ks.dir().join("rep.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let dmode = fs::metadata(ks.dir()).unwrap().permissions().mode();
            assert_eq!(dmode & 0o777, 0o700);
        }
        fs::remove_dir_all(home).unwrap();
    }

    #[test]
    fn malformed_mnemonic_is_rejected_without_echo_and_nothing_is_written() {
        let home = tmp();
        let ks = Keystore::new(&home);
        let err = ks.restore("k", "hello secretword world").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("mnemonic"), "{msg}");
        assert!(!msg.contains("secretword"), "{msg}");
        assert!(ks.list().unwrap().is_empty());
        fs::remove_dir_all(home).unwrap();
    }

    #[test]
    fn mnemonic_file() {
        let home = tmp();
        let p = home.join("m.txt");
        fs::write(&p, format!("{PHRASE}\n")).unwrap();
        let w = wallet_from_mnemonic_file(&p).unwrap();
        assert_eq!(
            w.address(),
            Wallet::from_mnemonic(PHRASE).unwrap().address()
        );
        let missing = wallet_from_mnemonic_file(&home.join("nope")).unwrap_err();
        assert!(missing.to_string().contains("nope"), "{missing}");
        fs::write(&p, "secretword ".repeat(12)).unwrap();
        let bad = wallet_from_mnemonic_file(&p).unwrap_err();
        assert!(!bad.to_string().contains("secretword"), "{bad}");
        fs::remove_dir_all(home).unwrap();
    }

    #[test]
    fn corrupt_file_is_reported() {
        let home = tmp();
        let ks = Keystore::new(&home);
        fs::create_dir_all(ks.dir()).unwrap();
        fs::write(ks.dir().join("bad.json"), "{ \"mnemonic\": \"secret").unwrap();
        let err = ks.load("bad").unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }));
        assert!(!err.to_string().contains("secret"));
        fs::remove_dir_all(home).unwrap();
    }
}
