//! The submission ledger: which (role, topic, nonce) this wallet has already settled. It is
//! persisted (one small JSON file per address, written atomically) so a restart in the
//! middle of an epoch does not submit the same nonce twice. Only the newest entries per
//! topic are kept; nonces are block heights, so old ones never come back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::ports::Role;

const KEEP_PER_TOPIC: usize = 256;

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    worker: BTreeMap<u64, BTreeSet<i64>>,
    #[serde(default)]
    reputer: BTreeMap<u64, BTreeSet<i64>>,
}

/// Shared, optionally persisted set of settled nonces.
#[derive(Debug, Clone)]
pub struct Ledger {
    path: Option<PathBuf>,
    state: Arc<Mutex<State>>,
}

impl Ledger {
    /// An in-memory ledger (dry runs, tests).
    pub fn in_memory() -> Self {
        Self {
            path: None,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// Opens (or starts) the ledger for `address` under `dir`. An unreadable file is logged
    /// and replaced: losing it risks one duplicate (which the chain rejects), not a crash.
    pub fn open(dir: &Path, address: &str) -> Self {
        let path = dir.join(format!("submitted-{address}.json"));
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|err| {
                tracing::warn!(path = %path.display(), error = %err, "submission ledger unreadable; starting empty");
                State::default()
            }),
            Err(_) => State::default(),
        };
        Self {
            path: Some(path),
            state: Arc::new(Mutex::new(state)),
        }
    }

    pub fn contains(&self, role: Role, topic_id: u64, nonce: i64) -> bool {
        let Ok(s) = self.state.lock() else {
            return false;
        };
        let map = match role {
            Role::Worker => &s.worker,
            Role::Reputer => &s.reputer,
        };
        map.get(&topic_id).is_some_and(|set| set.contains(&nonce))
    }

    /// Records a settled nonce and persists the ledger.
    pub fn insert(&self, role: Role, topic_id: u64, nonce: i64) {
        let snapshot = {
            let Ok(mut s) = self.state.lock() else { return };
            let map = match role {
                Role::Worker => &mut s.worker,
                Role::Reputer => &mut s.reputer,
            };
            let set = map.entry(topic_id).or_default();
            set.insert(nonce);
            while set.len() > KEEP_PER_TOPIC {
                set.pop_first();
            }
            serde_json::to_vec(&*s).ok()
        };
        if let (Some(path), Some(bytes)) = (&self.path, snapshot)
            && let Err(err) = write_atomic(path, &bytes)
        {
            tracing::warn!(path = %path.display(), error = %err, "cannot persist submission ledger");
        }
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_and_separates_roles_and_topics() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path(), "allo1abc");
        l.insert(Role::Worker, 1, 100);
        l.insert(Role::Reputer, 2, 90);
        let again = Ledger::open(dir.path(), "allo1abc");
        assert!(again.contains(Role::Worker, 1, 100));
        assert!(!again.contains(Role::Reputer, 1, 100));
        assert!(again.contains(Role::Reputer, 2, 90));
        assert!(!again.contains(Role::Worker, 2, 90));
        assert!(!Ledger::open(dir.path(), "allo1other").contains(Role::Worker, 1, 100));
    }

    #[test]
    fn keeps_only_recent_nonces() {
        let l = Ledger::in_memory();
        for n in 0..(KEEP_PER_TOPIC as i64 + 10) {
            l.insert(Role::Worker, 1, n);
        }
        assert!(!l.contains(Role::Worker, 1, 0));
        assert!(l.contains(Role::Worker, 1, KEEP_PER_TOPIC as i64 + 9));
    }

    #[test]
    fn corrupt_file_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("submitted-a.json"), b"{not json").unwrap();
        let l = Ledger::open(dir.path(), "a");
        assert!(!l.contains(Role::Worker, 1, 1));
        l.insert(Role::Worker, 1, 1);
        assert!(Ledger::open(dir.path(), "a").contains(Role::Worker, 1, 1));
    }
}
