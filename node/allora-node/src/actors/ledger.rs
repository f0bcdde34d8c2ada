//! The submission ledger: which (chain id, wallet, role, topic, nonce) are settled, and which
//! non-idempotent txs (register, add-stake) are in flight as intents. It survives restarts,
//! so a restart in the middle of an epoch neither submits a settled nonce again nor re-sends
//! a stake top-up whose fate is unknown.
//!
//! Durability: one file per wallet (`ledger-<address>.json`) holding one book per chain id
//! (a reset devnet/testnet under a new chain id starts a new book, and the change is logged).
//! Readers use the in-memory copy; every change is persisted by **one writer task**, which
//! coalesces queued changes into one write: a uniquely named temp file, `fsync`, `rename`
//! over the old file, `fsync` of the directory — all on the blocking pool, never on an async
//! worker thread. Callers await the write (a settle or an intent is durable when the call
//! returns). The book is bounded: nonces far behind the newest settled one are pruned.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::ports::Role;

/// Nonces (block heights) further than this behind the newest settled nonce of the same
/// role and topic are pruned: their windows closed long ago.
pub const PRUNE_BEHIND_BLOCKS: i64 = 100_000;
/// Hard cap on settled nonces kept per role and topic.
pub const KEEP_PER_TOPIC: usize = 1024;
/// Books of other chain ids kept in the file (newest chain first out of the rest).
const KEEP_CHAINS: usize = 4;

/// Why the ledger could not be opened or persisted.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("ledger encode: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("ledger writer stopped")]
    WriterStopped,
}

/// Most tx hashes kept per intent (each retry of the tx actor signs a new tx).
const KEEP_HASHES: usize = 16;

/// A non-idempotent tx recorded before its broadcast (see `actors/intent.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// What was sent, e.g. `add_stake` or `register_worker`.
    pub kind: String,
    /// Amount in uallo, when the tx moves funds.
    #[serde(default)]
    pub amount: u128,
    /// Hashes of every signed tx carrying it, oldest first; each is recorded after signing
    /// and before that tx is broadcast.
    #[serde(default)]
    pub tx_hashes: Vec<String>,
    /// The hard deadline: no tx carrying it can be included above this height (its
    /// `timeout_height`). Files written before hashes were recorded call it `height`.
    #[serde(default, alias = "height")]
    pub deadline: i64,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Book {
    #[serde(default)]
    worker: BTreeMap<u64, BTreeSet<i64>>,
    #[serde(default)]
    reputer: BTreeMap<u64, BTreeSet<i64>>,
    /// Intents by key (`<kind>/<topic>`).
    #[serde(default)]
    intents: BTreeMap<String, Intent>,
}

impl Book {
    fn set(&mut self, role: Role) -> &mut BTreeMap<u64, BTreeSet<i64>> {
        match role {
            Role::Worker => &mut self.worker,
            Role::Reputer => &mut self.reputer,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    version: u32,
    /// The chain id of the last run.
    #[serde(default)]
    chain_id: String,
    #[serde(default)]
    chains: BTreeMap<String, Book>,
}

/// A request to persist the current state; answered once it is durable.
type Ack = oneshot::Sender<Result<(), String>>;

#[derive(Debug)]
struct Inner {
    chain_id: String,
    file: Mutex<File>,
    writer: Option<mpsc::UnboundedSender<Ack>>,
}

/// Shared handle to the ledger (cheap to clone).
#[derive(Debug, Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

impl Ledger {
    /// An in-memory ledger (dry runs, tests).
    pub fn in_memory() -> Self {
        Self::build("memory".into(), File::default(), None)
    }

    fn build(chain_id: String, mut file: File, writer: Option<mpsc::UnboundedSender<Ack>>) -> Self {
        file.version = 2;
        file.chain_id.clone_from(&chain_id);
        file.chains.entry(chain_id.clone()).or_default();
        Self {
            inner: Arc::new(Inner {
                chain_id,
                file: Mutex::new(file),
                writer,
            }),
        }
    }

    /// Opens (or starts) the ledger of `address` on `chain_id` under `dir` and starts its
    /// writer task. A file that cannot be parsed is moved aside (`.corrupt`) and logged:
    /// losing it risks a duplicate the chain rejects, never a crash loop.
    pub async fn open(dir: &Path, chain_id: &str, address: &str) -> Result<Self, LedgerError> {
        let path = dir.join(format!("ledger-{address}.json"));
        let io = |source| LedgerError::Io {
            path: path.clone(),
            source,
        };
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
        let mut file = match tokio::fs::read(&path).await {
            Ok(bytes) => match serde_json::from_slice::<File>(&bytes) {
                Ok(f) => f,
                Err(err) => {
                    let aside = path.with_extension("json.corrupt");
                    tracing::error!(path = %path.display(), moved_to = %aside.display(), error = %err, "submission ledger unreadable; moved aside, starting empty");
                    tokio::fs::rename(&path, &aside).await.map_err(io)?;
                    File::default()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => File::default(),
            Err(e) => return Err(io(e)),
        };
        if !file.chain_id.is_empty() && file.chain_id != chain_id {
            tracing::warn!(
                path = %path.display(),
                previous_chain_id = %file.chain_id,
                chain_id,
                "chain id changed since the last run; starting a separate ledger book for this chain"
            );
        }
        while file.chains.len() >= KEEP_CHAINS && !file.chains.contains_key(chain_id) {
            let Some(old) = file
                .chains
                .keys()
                .find(|k| **k != file.chain_id)
                .or_else(|| file.chains.keys().next())
                .cloned()
            else {
                break;
            };
            file.chains.remove(&old);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let ledger = Self::build(chain_id.to_string(), file, Some(tx));
        tokio::spawn(writer(Arc::downgrade(&ledger.inner), path.clone(), rx));
        // Record the chain id now so the next run can tell a change.
        ledger.persist().await?;
        tracing::info!(path = %path.display(), chain_id, address, "submission ledger open");
        Ok(ledger)
    }

    /// The chain id this ledger's book belongs to.
    pub fn chain_id(&self) -> &str {
        &self.inner.chain_id
    }

    fn lock(&self) -> MutexGuard<'_, File> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters (each change is one insert/remove); keep using the data.
        self.inner
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn with_book<T>(&self, f: impl FnOnce(&mut Book) -> T) -> T {
        let mut file = self.lock();
        let book = file.chains.entry(self.inner.chain_id.clone()).or_default();
        f(book)
    }

    pub fn contains(&self, role: Role, topic_id: u64, nonce: i64) -> bool {
        self.with_book(|b| {
            b.set(role)
                .get(&topic_id)
                .is_some_and(|set| set.contains(&nonce))
        })
    }

    /// Records a settled nonce (pruning what is far behind it) and waits until it is durable.
    pub async fn settle(&self, role: Role, topic_id: u64, nonce: i64) -> Result<(), LedgerError> {
        self.with_book(|b| {
            let set = b.set(role).entry(topic_id).or_default();
            set.insert(nonce);
            if let Some(&newest) = set.last() {
                let floor = newest.saturating_sub(PRUNE_BEHIND_BLOCKS);
                *set = set.split_off(&floor);
            }
            while set.len() > KEEP_PER_TOPIC {
                set.pop_first();
            }
        });
        self.persist().await
    }

    /// Settles and logs (never fails the caller): the in-memory copy is settled either way;
    /// a lost write risks one duplicate after a crash, which the chain rejects.
    pub async fn settle_logged(&self, role: Role, topic_id: u64, nonce: i64) {
        if let Err(err) = self.settle(role, topic_id, nonce).await {
            tracing::error!(topic_id, role = role.as_str(), nonce, error = %err, "cannot persist settled nonce");
        }
    }

    /// The in-flight intent under `key`, if any.
    pub fn intent(&self, key: &str) -> Option<Intent> {
        self.with_book(|b| b.intents.get(key).cloned())
    }

    /// Records an intent (before its broadcast) and waits until it is durable.
    pub async fn record_intent(&self, key: &str, intent: Intent) -> Result<(), LedgerError> {
        self.with_book(|b| b.intents.insert(key.to_string(), intent));
        self.persist().await
    }

    /// Adds the hash of a newly signed tx carrying the intent under `key` (and raises its
    /// deadline to that tx's `timeout_height` if higher), and waits until it is durable.
    /// False when there is no such intent.
    pub async fn add_intent_hash(
        &self,
        key: &str,
        tx_hash: &str,
        timeout_height: i64,
    ) -> Result<bool, LedgerError> {
        let found = self.with_book(|b| {
            let Some(intent) = b.intents.get_mut(key) else {
                return false;
            };
            if !intent.tx_hashes.iter().any(|h| h == tx_hash) {
                intent.tx_hashes.push(tx_hash.to_string());
            }
            if intent.tx_hashes.len() > KEEP_HASHES {
                intent.tx_hashes.remove(0);
            }
            intent.deadline = intent.deadline.max(timeout_height);
            true
        });
        if found {
            self.persist().await?;
        }
        Ok(found)
    }

    /// Forgets a resolved intent and waits until that is durable.
    pub async fn clear_intent(&self, key: &str) -> Result<(), LedgerError> {
        let had = self.with_book(|b| b.intents.remove(key).is_some());
        if had {
            self.persist().await?;
        }
        Ok(())
    }

    async fn persist(&self) -> Result<(), LedgerError> {
        let Some(writer) = &self.inner.writer else {
            return Ok(());
        };
        let (ack, done) = oneshot::channel();
        writer.send(ack).map_err(|_| LedgerError::WriterStopped)?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(msg)) => Err(LedgerError::Io {
                path: PathBuf::new(),
                source: std::io::Error::other(msg),
            }),
            Err(_) => Err(LedgerError::WriterStopped),
        }
    }
}

/// The one writer: drains every queued request, writes the current state once, answers all.
/// Ends when the last [`Ledger`] handle is dropped.
async fn writer(inner: Weak<Inner>, path: PathBuf, mut rx: mpsc::UnboundedReceiver<Ack>) {
    while let Some(first) = rx.recv().await {
        let mut acks = vec![first];
        while let Ok(more) = rx.try_recv() {
            acks.push(more);
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let bytes = {
            let file = inner
                .file
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            serde_json::to_vec_pretty(&*file)
        };
        drop(inner);
        let result = match bytes {
            Ok(bytes) => {
                let p = path.clone();
                match tokio::task::spawn_blocking(move || write_durable(&p, &bytes)).await {
                    Ok(r) => r.map_err(|e| e.to_string()),
                    Err(e) => Err(format!("writer task failed: {e}")),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        if let Err(err) = &result {
            tracing::error!(path = %path.display(), error = %err, "cannot persist submission ledger");
        }
        for ack in acks {
            let _ = ack.send(result.clone());
        }
    }
}

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Unique temp file + fsync + rename + directory fsync (blocking; run on the blocking pool).
pub(crate) fn write_durable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "ledger".into());
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        TMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests;
