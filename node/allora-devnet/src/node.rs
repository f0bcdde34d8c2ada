//! The chain core: committed state, CheckTx state and mempool, block production, stored
//! blocks and tx results, and the notification bus the websocket server listens to.
//! CheckTx runs only the ante (like SDK 0.50); messages run in DeliverTx at the next block,
//! where ante writes (fee, sequence) persist even when a message fails.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData;
use prost::Message;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use super::abci::{self, AbciError};
use super::ante::{self, DecodedTx, Mode};
use super::events::Event;
use super::faults::Faults;
use super::lifecycle;
use super::msgs::Msg;
use super::state::State;

/// Payload history kept per topic (older nonces are pruned so state stays small).
const KEEP_NONCES: usize = 64;

/// Mempool capacity; beyond it CheckTx answers "mempool is full" (code 20) like CometBFT.
const MAX_MEMPOOL_TXS: usize = 5_000;

/// A delivered tx's result, as `GetTx` / `tx` report it.
#[derive(Debug, Clone)]
pub struct TxRecord {
    pub hash: String,
    pub height: i64,
    pub index: u32,
    pub tx: Vec<u8>,
    pub code: u32,
    pub codespace: String,
    pub log: String,
    pub data: Vec<u8>,
    pub gas_wanted: u64,
    pub gas_used: u64,
    pub events: Vec<Event>,
    pub timestamp: String,
}

impl TxRecord {
    /// Whether the block accepted the tx (code 0).
    pub fn accepted(&self) -> bool {
        self.code == 0
    }

    /// Who signed the tx and what it carried, read by the devnet's own tx decoder; `None`
    /// when the bytes do not decode as a devnet tx (such a tx is rejected with code 2).
    pub fn contents(&self) -> Option<TxContents> {
        let tx = ante::decode(&self.tx).ok()?;
        Some(TxContents {
            signer: tx.signer,
            msgs: tx.msgs,
        })
    }
}

/// What a delivered tx carried: its signer (every message's `sender`) and its messages.
#[derive(Debug, Clone)]
pub struct TxContents {
    pub signer: String,
    pub msgs: Vec<Msg>,
}

/// A produced block.
#[derive(Debug, Clone)]
pub struct BlockRecord {
    pub height: i64,
    pub time_unix_nanos: i128,
    pub time: String,
    pub hash: Vec<u8>,
    pub last_hash: Vec<u8>,
    pub txs: Vec<Vec<u8>>,
    pub tx_hashes: Vec<String>,
    /// FinalizeBlock events (EndBlock: window events).
    pub events: Vec<Event>,
}

/// What the bus carries after each block.
#[derive(Debug, Clone)]
pub struct BlockNotice {
    pub block: Arc<BlockRecord>,
    pub txs: Vec<Arc<TxRecord>>,
}

/// Everything behind the chain lock.
#[derive(Debug)]
pub struct Chain {
    pub committed: State,
    pub check: State,
    pub mempool: Vec<(String, Vec<u8>)>,
    pub blocks: Vec<Arc<BlockRecord>>,
    pub txs: HashMap<String, Arc<TxRecord>>,
}

/// Shared by every server and the block producer.
#[derive(Debug)]
pub struct Node {
    chain: Mutex<Chain>,
    pub bus: broadcast::Sender<Arc<BlockNotice>>,
    pub faults: Faults,
    pub moniker: String,
}

/// Outcome of `simulate`: gas used and the would-be result.
#[derive(Debug, Clone)]
pub struct SimOutcome {
    pub gas_used: u64,
    pub gas_wanted: u64,
    pub data: Vec<u8>,
    pub events: Vec<Event>,
}

fn now_time() -> (i128, String) {
    let t = cosmrs::tendermint::Time::now();
    (t.unix_timestamp_nanos(), t.to_rfc3339())
}

impl Node {
    pub fn new(state: State, faults: Faults) -> Node {
        let (bus, _) = broadcast::channel(256);
        Node {
            chain: Mutex::new(Chain {
                check: state.clone(),
                committed: state,
                mempool: Vec::new(),
                blocks: Vec::new(),
                txs: HashMap::new(),
            }),
            bus,
            faults,
            moniker: "allora-devnet".to_string(),
        }
    }

    /// Locks the chain; a poisoned lock (a panic elsewhere) still yields the data.
    pub fn lock(&self) -> MutexGuard<'_, Chain> {
        self.chain.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// CheckTx: ante against the check state; on success the tx enters the mempool.
    pub fn check_tx(&self, bytes: &[u8]) -> Result<String, AbciError> {
        if self.faults.reject_this_broadcast() {
            return Err(abci::MEMPOOL_FULL.wrap("devnet fault injection: rejected broadcast"));
        }
        let tx = ante::decode(bytes)?;
        let mut chain = self.lock();
        if chain.mempool.iter().any(|(h, _)| *h == tx.hash) || chain.txs.contains_key(&tx.hash) {
            return Err(abci::TX_IN_MEMPOOL.wrap("tx already exists in cache"));
        }
        if chain.mempool.len() >= MAX_MEMPOOL_TXS {
            return Err(abci::MEMPOOL_FULL.wrap(format!("mempool holds {MAX_MEMPOOL_TXS} txs")));
        }
        let height = chain.committed.height;
        if self.faults.reject_at_height(height) {
            return Err(
                abci::MEMPOOL_FULL.wrap("devnet fault injection: mempool full until a height")
            );
        }
        ante::run(&mut chain.check, &tx, Mode::Check, height)?;
        chain.mempool.push((tx.hash.clone(), bytes.to_vec()));
        tracing::debug!(tx_hash = %tx.hash, signer = %tx.signer, "devnet accepted tx into mempool");
        Ok(tx.hash)
    }

    /// Simulate: ante (no signature or fee check) and messages on a copy of the check state.
    pub fn simulate(&self, bytes: &[u8]) -> Result<SimOutcome, AbciError> {
        let tx = ante::decode(bytes)?;
        let mut state = self.lock().check.clone();
        let height = state.height + 1;
        let ante_gas = ante::run(&mut state, &tx, Mode::Simulate, height)?;
        let (data, events, msg_gas) = run_msgs(&mut state, &tx, height)?;
        Ok(SimOutcome {
            gas_used: ante_gas + msg_gas,
            gas_wanted: tx.gas_limit,
            data,
            events,
        })
    }

    /// Produces the next block: delivers the mempool, runs the lifecycle, commits.
    pub fn produce_block(&self) -> Arc<BlockNotice> {
        let (nanos, time) = now_time();
        let mut chain = self.lock();
        let height = chain.committed.height + 1;
        chain.committed.block_time_nanos = nanos;
        let pending = reap(&mut chain.mempool, self.faults.block_max_bytes());
        let mut records = Vec::new();
        for (index, (_, bytes)) in pending.iter().enumerate() {
            let rec = deliver(&mut chain.committed, bytes, height, index as u32, &time);
            records.push(Arc::new(rec));
        }
        chain.committed.height = height;
        let events = lifecycle::end_block(&mut chain.committed, height);
        prune(&mut chain.committed);
        let last_hash = chain
            .blocks
            .last()
            .map(|b| b.hash.clone())
            .unwrap_or_default();
        let mut h = Sha256::new();
        h.update(height.to_be_bytes());
        h.update(&last_hash);
        h.update(nanos.to_be_bytes());
        for (hash, _) in &pending {
            h.update(hash.as_bytes());
        }
        let block = Arc::new(BlockRecord {
            height,
            time_unix_nanos: nanos,
            time,
            hash: h.finalize().to_vec(),
            last_hash,
            txs: pending.iter().map(|(_, b)| b.clone()).collect(),
            tx_hashes: pending.iter().map(|(h, _)| h.clone()).collect(),
            events,
        });
        for r in &records {
            chain.txs.insert(r.hash.clone(), r.clone());
        }
        chain.blocks.push(block.clone());
        chain.check = chain.committed.clone();
        recheck(&mut chain, height);
        drop(chain);
        let notice = Arc::new(BlockNotice {
            block,
            txs: records,
        });
        let _ = self.bus.send(notice.clone());
        notice
    }
}

/// CometBFT's `ReapMaxBytesMaxGas`: takes txs from the front of the mempool, in arrival
/// order, until the next one would push the block past `max_bytes`; the rest stay.
fn reap(mempool: &mut Vec<(String, Vec<u8>)>, max_bytes: u64) -> Vec<(String, Vec<u8>)> {
    let mut used: u64 = 0;
    let fit = mempool
        .iter()
        .take_while(|(_, b)| {
            used += b.len() as u64;
            used <= max_bytes
        })
        .count();
    let rest = mempool.split_off(fit);
    std::mem::replace(mempool, rest)
}

/// CometBFT's recheck after a commit: every tx left in the mempool runs the ante again, in
/// order, against the fresh check state (a copy of the committed one). A tx that now fails
/// — its sequence was used by a tx in the block, its `timeout_height` passed, its fee can no
/// longer be paid — is evicted; the survivors advance the check state's sequences again.
fn recheck(chain: &mut Chain, height: i64) {
    let waiting = std::mem::take(&mut chain.mempool);
    for (hash, bytes) in waiting {
        let outcome = ante::decode(&bytes)
            .and_then(|tx| ante::run(&mut chain.check, &tx, Mode::Check, height).map(|_| ()));
        match outcome {
            Ok(()) => chain.mempool.push((hash, bytes)),
            Err(e) => {
                tracing::debug!(tx_hash = %hash, height, code = e.code, log = %e.log, "devnet recheck evicted tx");
            }
        }
    }
}

fn prune(state: &mut State) {
    for t in state.topics.values_mut() {
        while t.worker_payloads.len() > KEEP_NONCES {
            t.worker_payloads.pop_first();
        }
        while t.reputer_payloads.len() > KEEP_NONCES {
            t.reputer_payloads.pop_first();
        }
        while t.network_inferences.len() > KEEP_NONCES {
            t.network_inferences.pop_first();
        }
    }
}

fn tx_events(tx: &DecodedTx, seq_after: u64) -> Vec<Event> {
    vec![
        Event::plain(
            "tx",
            &[
                ("fee", tx.fee_text.clone()),
                ("fee_payer", tx.signer.clone()),
            ],
        ),
        Event::plain(
            "tx",
            &[(
                "acc_seq",
                format!("{}/{}", tx.signer, seq_after.saturating_sub(1)),
            )],
        ),
        Event::plain(
            "tx",
            &[(
                "signature",
                tx.signatures
                    .first()
                    .map(|s| B64.encode(s))
                    .unwrap_or_default(),
            )],
        ),
    ]
}

/// Runs the messages on `state` atomically; returns TxMsgData bytes, events and msg gas.
fn run_msgs(
    state: &mut State,
    tx: &DecodedTx,
    height: i64,
) -> Result<(Vec<u8>, Vec<Event>, u64), AbciError> {
    let mut branch = state.clone();
    let mut responses = Vec::new();
    let mut events = Vec::new();
    let mut gas = 0;
    for (i, msg) in tx.msgs.iter().enumerate() {
        gas += msg.gas();
        let out = msg.execute(&mut branch, height).map_err(|e| AbciError {
            codespace: e.codespace,
            code: e.code,
            log: format!("failed to execute message; message index: {i}: {}", e.log),
        })?;
        events.push(Event::plain(
            "message",
            &[
                ("action", tx.type_urls[i].clone()),
                ("sender", tx.signer.clone()),
                ("module", "emissions".to_string()),
                ("msg_index", i.to_string()),
            ],
        ));
        events.extend(out.events);
        responses.push(cosmos_sdk_proto::Any {
            type_url: out.response.0,
            value: out.response.1,
        });
    }
    *state = branch;
    #[allow(deprecated)]
    let data = TxMsgData {
        data: Vec::new(),
        msg_responses: responses,
    }
    .encode_to_vec();
    Ok((data, events, gas))
}

/// DeliverTx at `height`.
fn deliver(state: &mut State, bytes: &[u8], height: i64, index: u32, time: &str) -> TxRecord {
    let mut rec = TxRecord {
        hash: ante::tx_hash(bytes),
        height,
        index,
        tx: bytes.to_vec(),
        code: 0,
        codespace: String::new(),
        log: String::new(),
        data: Vec::new(),
        gas_wanted: 0,
        gas_used: 0,
        events: Vec::new(),
        timestamp: time.to_string(),
    };
    let fail = |rec: &mut TxRecord, e: AbciError| {
        rec.code = e.code;
        rec.codespace = e.codespace.to_string();
        rec.log = e.log;
    };
    let tx = match ante::decode(bytes) {
        Ok(tx) => tx,
        Err(e) => {
            fail(&mut rec, e);
            return rec;
        }
    };
    rec.gas_wanted = tx.gas_limit;
    let ante_gas = match ante::run(state, &tx, Mode::Deliver, height) {
        Ok(g) => g,
        Err(e) => {
            rec.gas_used = tx.tx_size_gas.min(tx.gas_limit);
            fail(&mut rec, e);
            return rec;
        }
    };
    let seq_after = state
        .accounts
        .get(&tx.signer)
        .map(|a| a.sequence)
        .unwrap_or(0);
    rec.events = tx_events(&tx, seq_after);
    let msg_gas: u64 = tx.msgs.iter().map(|m| m.gas()).sum();
    let total = ante_gas + msg_gas;
    if total > tx.gas_limit {
        rec.gas_used = total;
        fail(
            &mut rec,
            abci::OUT_OF_GAS.wrap(format!(
                "out of gas in location: msg execution; gasWanted: {}, gasUsed: {total}",
                tx.gas_limit
            )),
        );
        return rec;
    }
    match run_msgs(state, &tx, height) {
        Ok((data, events, _)) => {
            rec.data = data;
            rec.events.extend(events);
            rec.gas_used = total;
        }
        Err(e) => {
            rec.gas_used = total;
            fail(&mut rec, e);
        }
    }
    tracing::debug!(tx_hash = %rec.hash, height, code = rec.code, log = %rec.log, "devnet delivered tx");
    rec
}
