//! The tx actor's state machine against an in-memory chain ([`Fake`]): sequence mismatch
//! and resync, CheckTx failures that must not advance the sequence, over-gas batches split
//! in halves, already-submitted as done, closed windows, confirmation timeouts, a lost
//! broadcast that landed (exactly once), and giving up with a typed error.
//!
//! Time is paused (`start_paused`), so retry delays and confirmation polling cost nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxResponse;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{AuthInfo, TxBody, TxRaw};
use prost::Message;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use super::handle::Pending;
use super::*;
use crate::fees::FeePolicy;
use crate::{AbciFailure, AccountInfo, ChainError};

/// One broadcast the fake chain saw.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    sequence: u64,
    msgs: usize,
    gas: u64,
}

/// A chain failure scripted for the next broadcast (CheckTx) or inclusion (DeliverTx).
type Script = (&'static str, u32, &'static str);

#[derive(Debug, Default)]
struct State {
    height: i64,
    account_number: u64,
    /// The chain's next expected sequence (its check state: CheckTx advances it).
    sequence: u64,
    /// Accepted txs not yet included: `account()` (committed state) lags by these.
    in_mempool: u64,
    /// `account()` answers these sequences first (a stale node), then the real one.
    stale_reads: VecDeque<u64>,
    no_account: bool,
    gas_per_msg: u64,
    check_failures: VecDeque<Script>,
    deliver_failures: VecDeque<Script>,
    /// Accepted txs are included (else they stay in the "mempool" forever).
    include: bool,
    /// The next accepted broadcast's answer is lost (the tx still lands).
    lose_next_answer: bool,
    /// `latest_height` fails this many more times.
    height_failures: u32,
    included: HashMap<String, TxResponse>,
    sent: Vec<Sent>,
    /// Accepted, not included (with `include = false`), oldest first.
    mempool: Vec<(String, TxResponse)>,
    /// A tx carrying a message with this value fails CheckTx without a message index.
    poison: Option<Vec<u8>>,
}

/// The in-memory chain. Clones share the state, so a test keeps a view of it.
#[derive(Debug, Clone)]
struct Fake(Arc<Mutex<State>>);

fn unreachable(op: &'static str) -> ChainError {
    ChainError::Unreachable {
        op,
        tried: 1,
        last: Vec::new(),
    }
}

impl Fake {
    fn new() -> Fake {
        Fake(Arc::new(Mutex::new(State {
            height: 10,
            account_number: 7,
            sequence: 5,
            gas_per_msg: 100_000,
            include: true,
            ..State::default()
        })))
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.0.lock().expect("fake state"))
    }

    fn sent(&self) -> Vec<Sent> {
        self.with(|s| s.sent.clone())
    }

    /// Commits one block holding every tx in the mempool.
    fn commit(&self) {
        self.with(|s| {
            s.height += 1;
            for (hash, mut r) in std::mem::take(&mut s.mempool) {
                r.height = s.height;
                s.included.insert(hash, r);
            }
            s.in_mempool = 0;
        })
    }
}

mod pipeline;

fn decode(bytes: &[u8]) -> (u64, usize, u64) {
    let raw = TxRaw::decode(bytes).expect("tx raw");
    let body = TxBody::decode(raw.body_bytes.as_slice()).expect("body");
    let auth = AuthInfo::decode(raw.auth_info_bytes.as_slice()).expect("auth info");
    let gas = auth.fee.map(|f| f.gas_limit).unwrap_or_default();
    (auth.signer_infos[0].sequence, body.messages.len(), gas)
}

/// Whether the tx carries a message whose value is `value`.
fn carries(bytes: &[u8], value: &[u8]) -> bool {
    let raw = TxRaw::decode(bytes).expect("tx raw");
    let body = TxBody::decode(raw.body_bytes.as_slice()).expect("body");
    body.messages.iter().any(|m| m.value == value)
}

fn chain_answer((codespace, code, log): Script) -> TxResponse {
    TxResponse {
        codespace: codespace.into(),
        code,
        raw_log: log.into(),
        ..TxResponse::default()
    }
}

#[async_trait]
impl TxChain for Fake {
    async fn latest_height(&self) -> Result<i64, ChainError> {
        self.with(|s| {
            if s.height_failures > 0 {
                s.height_failures -= 1;
                return Err(unreachable("GetLatestBlock"));
            }
            Ok(s.height)
        })
    }

    async fn account(&self, _address: &str) -> Result<AccountInfo, ChainError> {
        self.with(|s| {
            if s.no_account {
                return Err(ChainError::AccountNotFound("allo1stranger".into()));
            }
            let sequence = s
                .stale_reads
                .pop_front()
                .unwrap_or(s.sequence - s.in_mempool);
            Ok(AccountInfo {
                account_number: s.account_number,
                sequence,
            })
        })
    }

    async fn simulate(&self, tx_bytes: Vec<u8>) -> Result<u64, ChainError> {
        let (_, msgs, _) = decode(&tx_bytes);
        Ok(self.with(|s| s.gas_per_msg * msgs as u64))
    }

    async fn broadcast(&self, tx_bytes: Vec<u8>) -> Result<TxResponse, ChainError> {
        let (sequence, msgs, gas) = decode(&tx_bytes);
        let hash = hex::encode_upper(Sha256::digest(&tx_bytes));
        self.with(|s| {
            s.sent.push(Sent { sequence, msgs, gas });
            if let Some(f) = s.check_failures.pop_front() {
                return Ok(chain_answer(f));
            }
            if let Some(p) = &s.poison
                && carries(&tx_bytes, p)
            {
                return Ok(chain_answer(("emissions", 83, "not permitted to submit")));
            }
            if sequence != s.sequence {
                let log = format!(
                    "account sequence mismatch, expected {}, got {sequence}: incorrect account sequence",
                    s.sequence
                );
                return Ok(TxResponse {
                    codespace: "sdk".into(),
                    code: 32,
                    raw_log: log,
                    ..TxResponse::default()
                });
            }
            s.sequence += 1;
            if s.include {
                let mut r = s
                    .deliver_failures
                    .pop_front()
                    .map(chain_answer)
                    .unwrap_or_default();
                r.txhash = hash.clone();
                r.height = s.height + 1;
                s.included.insert(hash.clone(), r);
            } else {
                s.in_mempool += 1;
                let r = TxResponse {
                    txhash: hash.clone(),
                    ..TxResponse::default()
                };
                s.mempool.push((hash.clone(), r));
            }
            if std::mem::take(&mut s.lose_next_answer) {
                return Err(unreachable("BroadcastTx"));
            }
            Ok(TxResponse {
                txhash: hash,
                ..TxResponse::default()
            })
        })
    }

    async fn get_tx(&self, hash: &str) -> Result<Option<TxResponse>, ChainError> {
        Ok(self.with(|s| s.included.get(hash).cloned()))
    }

    async fn gas_price(&self, _denom: &str) -> Option<f64> {
        None
    }

    fn transport_failures(&self) -> u64 {
        0
    }
}

fn config() -> TxConfig {
    TxConfig {
        chain_id: "fake-1".into(),
        fee: FeePolicy {
            denom: "uallo".into(),
            price_multiplier: 1.0,
            fallback_gas_price: 1.0,
            dynamic: false,
            max_fee: 100_000_000,
        },
        gas_adjustment: 1.0,
        fixed_gas: None,
        max_msgs_per_tx: 100,
        max_gas_per_tx: 10_000_000,
        max_tx_bytes: 512 * 1024,
        max_in_flight: 8,
        batch_window: Duration::from_millis(50),
        confirm_timeout: Duration::from_secs(5),
        poll_interval: Duration::from_millis(100),
        max_retries: 3,
        retry_delay: Duration::from_secs(1),
        sequence_retry_delay: Duration::from_millis(100),
        resync_interval: Duration::from_secs(60),
        default_timeout_blocks: 100,
        memo: String::new(),
        fee_granter: None,
        submit_tx: true,
    }
}

fn actor(chain: &Fake, cfg: TxConfig) -> TxActor<Fake> {
    let wallet = crate::keys::Wallet::from_secret_bytes(&[1u8; 32]).expect("wallet");
    TxActor::new(chain.clone(), wallet, cfg)
}

type Reply = oneshot::Receiver<Result<TxOutcome, TxError>>;

/// A register message for `topic_id` with an optional deadline.
fn pending(topic_id: u64, deadline_height: Option<i64>) -> (Pending, Reply) {
    let wallet = crate::keys::Wallet::from_secret_bytes(&[1u8; 32]).expect("wallet");
    let msg = allora_protocol::register_msg(&wallet, topic_id, false);
    let (reply, rx) = oneshot::channel();
    let p = Pending {
        msg: cosmos_sdk_proto::Any {
            type_url: msg.type_url,
            value: msg.value,
        },
        meta: SubmitMeta {
            topic_id,
            nonce: None,
            kind: "register",
            deadline_height,
        },
        reply,
        signed: None,
    };
    (p, rx)
}

/// Processes `n` messages as one batch; their answers in order.
async fn run_batch(a: &mut TxActor<Fake>, n: u64) -> Vec<Result<TxOutcome, TxError>> {
    let (batch, replies): (Vec<_>, Vec<_>) = (1..=n).map(|t| pending(t, None)).unzip();
    a.process(batch).await;
    let mut out = Vec::new();
    for r in replies {
        out.push(r.await.expect("every sender is answered"));
    }
    out
}

fn sent(sequence: u64, msgs: usize, gas: u64) -> Sent {
    Sent {
        sequence,
        msgs,
        gas,
    }
}

#[tokio::test(start_paused = true)]
async fn sequence_mismatch_adopts_the_expected_sequence_and_retries() {
    let chain = Fake::new();
    // The node we read from lags: it still says 3 while the chain expects 5.
    chain.with(|s| s.stale_reads.push_back(3));
    let mut a = actor(&chain, config());
    let out = run_batch(&mut a, 1).await;
    let ok = out[0].as_ref().expect("included after the resync");
    assert!(!ok.dry_run);
    assert_eq!(chain.sent(), vec![sent(3, 1, 100_000), sent(5, 1, 100_000)]);
    // Accepted at 5, so the next tx signs with 6 without asking the chain.
    assert_eq!(a.sequence.current().map(|a| a.sequence), Some(6));
    run_batch(&mut a, 1).await[0].as_ref().expect("second tx");
    assert_eq!(chain.sent()[2].sequence, 6);
}

#[tokio::test(start_paused = true)]
async fn check_tx_failure_does_not_advance_the_local_sequence() {
    let chain = Fake::new();
    chain.with(|s| {
        s.check_failures.push_back(("sdk", 20, "mempool is full"));
        s.check_failures
            .push_back(("sdk", 4, "signature verification failed: unauthorized"));
    });
    let mut a = actor(&chain, config());
    let out = run_batch(&mut a, 1).await;
    // Busy → same tx again (same sequence); unauthorized → rejected with its code.
    let err = out[0].as_ref().expect_err("rejected");
    assert_eq!((err.kind(), err.code()), (TxErrorKind::Rejected, Some(4)));
    assert_eq!(chain.sent(), vec![sent(5, 1, 100_000), sent(5, 1, 100_000)]);
    assert_eq!(a.sequence.current().map(|a| a.sequence), Some(5));
    // The next tx still uses 5, and the chain takes it.
    run_batch(&mut a, 1).await[0].as_ref().expect("lands");
    assert_eq!(chain.sent()[2].sequence, 5);
}

#[tokio::test(start_paused = true)]
async fn over_gas_batch_is_sent_in_halves() {
    let chain = Fake::new();
    let mut cfg = config();
    // 4 × 100k > 250k; 2 × 100k fits.
    cfg.max_gas_per_tx = 250_000;
    let mut a = actor(&chain, cfg);
    let out = run_batch(&mut a, 4).await;
    assert!(out.iter().all(Result::is_ok), "{out:?}");
    assert_eq!(chain.sent(), vec![half(5), half(6)]);
    // Two txs, two hashes, each answering its own half.
    let hashes: Vec<_> = out.iter().flatten().map(|o| o.tx_hash.clone()).collect();
    assert_eq!(hashes[0], hashes[1]);
    assert_eq!(hashes[2], hashes[3]);
    assert_ne!(hashes[0], hashes[2]);

    fn half(sequence: u64) -> Sent {
        sent(sequence, 2, 200_000)
    }
}

#[tokio::test(start_paused = true)]
async fn already_submitted_is_done_with_its_code() {
    let chain = Fake::new();
    chain.with(|s| {
        s.check_failures.push_back((
            "emissions",
            78,
            "cannot update EMA more than once per window",
        ))
    });
    let mut a = actor(&chain, config());
    let err = run_batch(&mut a, 1)
        .await
        .remove(0)
        .expect_err("done, not included");
    assert!(err.is_done(), "{err}");
    assert_eq!(
        (err.kind(), err.code()),
        (TxErrorKind::AlreadySubmitted, Some(78))
    );
    assert_eq!(chain.sent().len(), 1, "not sent again");
}

#[tokio::test(start_paused = true)]
async fn one_failed_message_of_a_batch_is_answered_and_the_rest_go_again() {
    let chain = Fake::new();
    chain.with(|s| {
        s.deliver_failures.push_back((
            "undefined",
            1,
            "failed to execute message; message index: 1: inference already submitted",
        ))
    });
    let mut a = actor(&chain, config());
    let out = run_batch(&mut a, 3).await;
    assert!(out[0].is_ok() && out[2].is_ok(), "{out:?}");
    let err = out[1].as_ref().expect_err("message 1 failed");
    assert_eq!(err.kind(), TxErrorKind::AlreadySubmitted);
    // The failed tx consumed 5 (included, DeliverTx failed); the other two went at 6.
    assert_eq!(chain.sent(), vec![sent(5, 3, 300_000), sent(6, 2, 200_000)]);
}

#[tokio::test(start_paused = true)]
async fn closed_windows_are_answered_without_sending() {
    let chain = Fake::new();
    let mut a = actor(&chain, config());
    // The chain is at 10: a deadline of 10 is past, 11 is still open.
    let (closed, closed_rx) = pending(1, Some(10));
    let (open, open_rx) = pending(2, Some(11));
    a.process(vec![closed, open]).await;
    let err = closed_rx.await.expect("answered").expect_err("closed");
    assert_eq!(
        err.to_string(),
        "submission window closed: window ended at height 10, chain is at 10"
    );
    assert_eq!((err.kind(), err.code()), (TxErrorKind::WindowClosed, None));
    open_rx.await.expect("answered").expect("open one lands");
    assert_eq!(chain.sent(), vec![sent(5, 1, 100_000)]);

    // The chain's own "window not available" carries its code.
    chain.with(|s| {
        s.check_failures
            .push_back(("emissions", 67, "worker nonce window not available"))
    });
    let err = run_batch(&mut a, 1).await.remove(0).expect_err("closed");
    assert_eq!(
        (err.kind(), err.code()),
        (TxErrorKind::WindowClosed, Some(67))
    );
}

#[tokio::test(start_paused = true)]
async fn confirmation_timeout_is_a_timeout_and_forgets_the_sequence() {
    let chain = Fake::new();
    chain.with(|s| s.include = false);
    let mut a = actor(&chain, config());
    let err = run_batch(&mut a, 1)
        .await
        .remove(0)
        .expect_err("never included");
    match &err {
        TxError::Timeout { waited, .. } => assert_eq!(*waited, Duration::from_secs(5)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!((err.kind(), err.code()), (TxErrorKind::Timeout, None));
    // In doubt: the next tx re-reads the sequence from the chain.
    assert_eq!(a.sequence.current(), None);
}

#[tokio::test(start_paused = true)]
async fn a_lost_broadcast_that_landed_is_not_sent_again() {
    let chain = Fake::new();
    chain.with(|s| s.lose_next_answer = true);
    let mut a = actor(&chain, config());
    let ok = run_batch(&mut a, 1).await.remove(0).expect("settled");
    assert_eq!(chain.sent().len(), 1, "exactly once");
    assert!(chain.with(|s| s.included.contains_key(&ok.tx_hash)));
}

#[tokio::test(start_paused = true)]
async fn a_sequence_the_chain_keeps_refusing_gives_up_as_sequence() {
    let chain = Fake::new();
    // No "expected N" to adopt, and every read is stale.
    chain.with(|s| {
        for _ in 0..10 {
            s.check_failures
                .push_back(("sdk", 32, "incorrect account sequence"));
        }
    });
    let mut a = actor(&chain, config());
    let err = run_batch(&mut a, 1).await.remove(0).expect_err("gave up");
    match &err {
        TxError::Sequence { attempts, last } => {
            assert_eq!(*attempts, 4);
            assert_eq!(
                last,
                &AbciFailure::new("sdk", 32, "incorrect account sequence")
            );
        }
        other => panic!("expected a sequence error, got {other:?}"),
    }
    assert_eq!(err.code(), Some(32));
    assert_eq!(chain.sent().len(), 4, "first attempt + max_retries");
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_chain_gives_up_as_transport_and_unknown_accounts_as_unfunded() {
    let chain = Fake::new();
    chain.with(|s| s.height_failures = 100);
    let mut a = actor(&chain, config());
    let err = run_batch(&mut a, 1)
        .await
        .remove(0)
        .expect_err("unreachable");
    match &err {
        TxError::Transport { attempts, last } => {
            assert_eq!(*attempts, 4);
            assert!(
                matches!(
                    **last,
                    AttemptFailure::Query(ChainError::Unreachable { .. })
                ),
                "{last:?}"
            );
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert!(chain.sent().is_empty());

    let chain = Fake::new();
    chain.with(|s| s.no_account = true);
    let mut a = actor(&chain, config());
    let err = run_batch(&mut a, 1).await.remove(0).expect_err("unfunded");
    assert_eq!((err.kind(), err.code()), (TxErrorKind::Unfunded, Some(5)));
    assert!(chain.sent().is_empty());
}

#[tokio::test(start_paused = true)]
async fn spawned_actor_batches_and_reports_when_stopped() {
    let chain = Fake::new();
    let wallet = crate::keys::Wallet::from_secret_bytes(&[1u8; 32]).expect("wallet");
    let handle = TxActor::spawn(chain.clone(), wallet.clone(), config());
    let meta = |topic_id| SubmitMeta {
        topic_id,
        nonce: None,
        kind: "register",
        deadline_height: None,
    };
    let m = |t| allora_protocol::register_msg(&wallet, t, false);
    let (a, b) = tokio::join!(handle.submit(m(1), meta(1)), handle.submit(m(2), meta(2)));
    assert_eq!(a.expect("a").tx_hash, b.expect("b").tx_hash, "one tx");
    assert_eq!(chain.sent(), vec![sent(5, 2, 200_000)]);
    assert!(!handle.is_stopped());
}

#[tokio::test(start_paused = true)]
async fn an_observed_message_hears_its_hash_before_the_broadcast() {
    let chain = Fake::new();
    let wallet = crate::keys::Wallet::from_secret_bytes(&[1u8; 32]).expect("wallet");
    let handle = TxActor::spawn(chain.clone(), wallet.clone(), config());
    let meta = SubmitMeta {
        topic_id: 1,
        nonce: None,
        kind: "register",
        deadline_height: Some(30),
    };
    let (sink, mut signed) = tokio::sync::mpsc::unbounded_channel();
    let msg = allora_protocol::register_msg(&wallet, 1, false);
    let submit = handle.submit_observed(msg, meta, sink);
    let observe = async {
        let notice = signed.recv().await.expect("the signed tx is announced");
        // The actor waits for the record before broadcasting.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(
            chain.sent().is_empty(),
            "nothing broadcast before the hash is recorded"
        );
        assert_eq!(notice.timeout_height, 30);
        let _ = notice.recorded.send(());
        notice.tx_hash
    };
    let (outcome, hash) = tokio::join!(submit, observe);
    assert_eq!(
        outcome.expect("included").tx_hash,
        hash,
        "the announced hash is the included tx's"
    );
    assert_eq!(chain.sent().len(), 1);
}
