//! In-memory ports for unit-testing actor policy (registration, nonce choice, retries,
//! dry run, isolation). End-to-end behaviour against a real chain is in `tests/e2e_*.rs`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::ports::*;
use super::{ActorEnv, clock::WindowClock, ledger::Ledger};
use crate::config::RetryPolicy;
use crate::metrics::Metrics;
use allora_protocol::emissions::NetworkValues;
use allora_protocol::emissions::reputer_input::InputValueBundle;

#[derive(Default)]
pub struct ChainState {
    pub params: ChainParams,
    pub height: i64,
    pub balance: u128,
    pub registered: Vec<(u64, Role)>,
    pub stake: u128,
    pub worker_windows: Vec<OpenWindow>,
    pub reputer_windows: Vec<OpenWindow>,
    pub loss_method: String,
    pub network: Option<NetworkValues>,
    /// Included txs by hash (what `tx_landed` finds).
    pub landed: BTreeMap<String, TxLanded>,
    /// `latest_height` calls.
    pub height_queries: u64,
    /// Open-window queries (worker and reputer) per topic.
    pub window_queries: BTreeMap<u64, u64>,
}

#[derive(Clone, Default)]
pub struct FakeChain(pub Arc<Mutex<ChainState>>);

#[async_trait]
impl ChainPort for FakeChain {
    async fn chain_id(&self) -> Result<String, QueryError> {
        Ok("fake-1".into())
    }
    async fn params(&self) -> Result<ChainParams, QueryError> {
        Ok(self.0.lock().unwrap().params.clone())
    }
    async fn topic(&self, topic_id: u64) -> Result<TopicInfo, QueryError> {
        Ok(TopicInfo {
            id: topic_id,
            loss_method: self.0.lock().unwrap().loss_method.clone(),
            ..TopicInfo::default()
        })
    }
    async fn latest_height(&self) -> Result<i64, QueryError> {
        let mut c = self.0.lock().unwrap();
        c.height_queries += 1;
        Ok(c.height)
    }
    async fn balance(&self, _: &str) -> Result<u128, QueryError> {
        Ok(self.0.lock().unwrap().balance)
    }
    async fn is_registered(&self, t: u64, _: &str, role: Role) -> Result<bool, QueryError> {
        Ok(self.0.lock().unwrap().registered.contains(&(t, role)))
    }
    async fn stake_in_self(&self, _: u64, _: &str) -> Result<u128, QueryError> {
        Ok(self.0.lock().unwrap().stake)
    }
    async fn open_worker_windows(&self, t: u64) -> Result<Vec<OpenWindow>, QueryError> {
        let mut c = self.0.lock().unwrap();
        *c.window_queries.entry(t).or_default() += 1;
        Ok(c.worker_windows.clone())
    }
    async fn open_reputer_windows(&self, t: u64) -> Result<Vec<OpenWindow>, QueryError> {
        let mut c = self.0.lock().unwrap();
        *c.window_queries.entry(t).or_default() += 1;
        Ok(c.reputer_windows.clone())
    }
    async fn network_inferences(&self, _: u64, _nonce: i64) -> Result<NetworkValues, QueryError> {
        self.0
            .lock()
            .unwrap()
            .network
            .clone()
            .ok_or_else(|| QueryError::new(QueryErrorKind::NotFound, "no network inferences"))
    }
    async fn active_inferers(&self, _: u64) -> Result<Vec<String>, QueryError> {
        Ok(vec!["allo1other".into()])
    }
    async fn tx_landed(&self, tx_hash: &str) -> Result<Option<TxLanded>, QueryError> {
        Ok(self.0.lock().unwrap().landed.get(tx_hash).copied())
    }
}

/// Records what was sent; registration and stake take effect on the fake chain.
#[derive(Clone)]
pub struct FakeTx {
    pub chain: FakeChain,
    pub sent: Arc<Mutex<Vec<(String, SubmitMeta)>>>,
    /// Errors returned (front first) before succeeding.
    pub fail: Arc<Mutex<Vec<TxFailure>>>,
    /// The fake tx actor is dead (until `restart`).
    pub stopped: Arc<AtomicBool>,
    pub restarts: Arc<AtomicU32>,
}

#[async_trait]
impl TxPort for FakeTx {
    async fn submit(&self, out: Outgoing, meta: SubmitMeta) -> Result<Included, TxFailure> {
        if self.is_stopped() {
            return Err(TxFailure::new(TxErrorKind::Stopped, None, "stopped"));
        }
        if let Some(f) = {
            let mut fail = self.fail.lock().unwrap();
            (!fail.is_empty()).then(|| fail.remove(0))
        } {
            return Err(f);
        }
        {
            let mut c = self.chain.0.lock().unwrap();
            match meta.kind {
                "register" => {
                    let role = if out.describe.contains("reputer") {
                        Role::Reputer
                    } else {
                        Role::Worker
                    };
                    c.registered.push((meta.topic_id, role));
                }
                "add_stake" => {
                    let amount: u128 = out.describe.trim_start_matches("stake ").parse().unwrap();
                    c.stake += amount;
                }
                _ => {}
            }
        }
        self.sent.lock().unwrap().push((out.describe.clone(), meta));
        Ok(Included {
            tx_hash: "AB".into(),
            height: 1,
        })
    }

    /// Announces a hash (`FAKE<n>`, n = txs sent so far), waits for it to be recorded,
    /// then behaves like `submit`.
    async fn submit_observed(
        &self,
        out: Outgoing,
        meta: SubmitMeta,
        signed: tokio::sync::mpsc::UnboundedSender<SignedTx>,
    ) -> Result<Included, TxFailure> {
        let (recorded, ack) = tokio::sync::oneshot::channel();
        let n = self.sent.lock().unwrap().len();
        let notice = SignedTx {
            tx_hash: format!("FAKE{n}"),
            timeout_height: meta.deadline_height.unwrap_or_default() as u64,
            recorded,
        };
        if signed.send(notice).is_ok() {
            let _ = ack.await;
        }
        self.submit(out, meta).await
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    fn restart(&self) {
        self.restarts.fetch_add(1, Ordering::SeqCst);
        self.stopped.store(false, Ordering::SeqCst);
    }
}

pub struct FakeSigner;

fn out(describe: String) -> Outgoing {
    Outgoing {
        msg: prost_types::Any::default(),
        describe,
    }
}

impl SignPort for FakeSigner {
    fn address(&self) -> &str {
        "allo1me"
    }
    fn worker_payload(
        &self,
        topic_id: u64,
        nonce: i64,
        inference: Option<Vec<(String, String)>>,
        forecast: Option<Vec<(String, String)>>,
    ) -> Result<Outgoing, SignError> {
        Ok(out(format!(
            "worker topic={topic_id} nonce={nonce} inference={inference:?} forecast={forecast:?}"
        )))
    }
    fn reputer_payload(&self, bundle: InputValueBundle, nonce: i64) -> Result<Outgoing, SignError> {
        Ok(out(format!(
            "reputer nonce={nonce} combined={}",
            bundle.combined_value
        )))
    }
    fn register(&self, topic_id: u64, role: Role) -> Outgoing {
        out(format!("register {} {topic_id}", role.as_str()))
    }
    fn add_stake(&self, _: u64, amount: u128) -> Outgoing {
        out(format!("stake {amount}"))
    }
}

/// An adapter returning fixed values, hanging forever, or panicking on its first call.
pub struct FakeAdapter {
    pub value: String,
    pub hang: bool,
    /// Panic (inside the actor's task) on the first call only.
    pub panic_once: Arc<AtomicBool>,
    pub calls: Arc<Mutex<u32>>,
}

impl FakeAdapter {
    pub fn new(value: &str) -> Self {
        Self {
            value: value.into(),
            hang: false,
            panic_once: Arc::default(),
            calls: Arc::default(),
        }
    }
    async fn go(&self) -> Result<String, AdapterError> {
        *self.calls.lock().unwrap() += 1;
        if self.panic_once.swap(false, Ordering::SeqCst) {
            panic!("fake adapter panics once");
        }
        if self.hang {
            std::future::pending::<()>().await;
        }
        Ok(self.value.clone())
    }
}

#[async_trait]
impl AdapterPort for FakeAdapter {
    fn name(&self) -> &str {
        "fake"
    }
    fn timeout(&self) -> Duration {
        Duration::from_millis(200)
    }
    async fn infer(&self, _: &Call) -> Result<Vec<(String, String)>, AdapterError> {
        Ok(vec![("y".into(), self.go().await?)])
    }
    async fn forecast(
        &self,
        _: &Call,
        inf: &[String],
    ) -> Result<Vec<(String, String)>, AdapterError> {
        let v = self.go().await?;
        Ok(inf.iter().map(|i| (i.clone(), v.clone())).collect())
    }
    async fn ground_truth(&self, _: &Call) -> Result<String, AdapterError> {
        self.go().await
    }
    async fn loss(&self, _: &Call, _: &str, p: &[String]) -> Result<Vec<String>, AdapterError> {
        let v = self.go().await?;
        Ok(p.iter().map(|_| v.clone()).collect())
    }
    async fn never_negative(&self, _: &Call) -> Result<bool, AdapterError> {
        Ok(true)
    }
}

pub struct Rig {
    pub chain: FakeChain,
    pub tx: FakeTx,
    pub env: ActorEnv,
}

pub fn rig(dry_run: bool) -> Rig {
    let chain = FakeChain::default();
    {
        let mut c = chain.0.lock().unwrap();
        c.params = ChainParams {
            registration_fee: 100,
            data_sending_fee: 1,
            required_minimum_stake: 10,
        };
        c.height = 10;
        c.balance = 1000;
    }
    let tx = FakeTx {
        chain: chain.clone(),
        sent: Arc::default(),
        fail: Arc::default(),
        stopped: Arc::default(),
        restarts: Arc::default(),
    };
    let env = ActorEnv {
        chain: Arc::new(chain.clone()),
        tx: Arc::new(tx.clone()),
        signer: Arc::new(FakeSigner),
        metrics: Metrics::new().unwrap(),
        ledger: Ledger::in_memory(),
        clock: WindowClock::new(Duration::from_millis(100)),
        stream: crate::actors::trigger::StreamHealth::new(Duration::from_secs(300)),
        dry_run,
        retry: RetryPolicy {
            max_retries: 1,
            retry_delay: Duration::from_millis(10),
            sequence_retry_delay: Duration::from_millis(10),
        },
        shutdown: CancellationToken::new(),
    };
    Rig { chain, tx, env }
}

pub fn params() -> BTreeMap<String, String> {
    BTreeMap::new()
}
