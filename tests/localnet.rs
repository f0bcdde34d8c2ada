//! The real chain: the `allora-node` binary against a single-validator `allorad` localnet
//! (built from the allora-chain Go module by `scripts/allorad`, started by `scripts/localnet`).
//! Workers (the shipped `http_source`, the Rust `smoothing_model`, a forecast adapter) and
//! reputers (a built-in loss, the `custom_loss` wasm) run until the chain itself — asked with
//! `allorad query` — holds at least three epochs of each kind of payload. A third node runs a
//! worker from a wallet with no funds whose fees a real x/feegrant allowance pays
//! (`wallet.feeGranterAddress`); the chain must hold its payloads too, its balance must stay
//! zero, and the granter's balance and allowance must have paid.
//!
//! Run it with `scripts/test-localnet` (docs/LOCALNET.md). It needs `ALLORAD` (the binary) and
//! fails, rather than skips, when that or anything else is missing; it is `#[ignore]`d only so
//! that a plain `cargo test` without a Go toolchain does not start a chain.

#[path = "support/node_harness.rs"]
mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use harness::{NodeProc, adapter};
use serde_json::{Value, json};

const EPOCHS: usize = 3;
const HORIZON: Duration = Duration::from_secs(360);

/// A running localnet; stopped (and its data deleted) on drop.
struct Localnet {
    env: BTreeMap<String, String>,
    home: PathBuf,
}

impl Localnet {
    fn start() -> Localnet {
        let allorad = std::env::var("ALLORAD").expect(
            "ALLORAD must name an allorad binary: run scripts/test-localnet (docs/LOCALNET.md)",
        );
        assert!(
            std::path::Path::new(&allorad).is_file(),
            "ALLORAD={allorad} is not a file"
        );
        let home =
            std::env::temp_dir().join(format!("allora-localnet-test-{}", std::process::id()));
        let base = free_port_block(4);
        let started = Instant::now();
        let out = Command::new(script())
            .arg("start")
            .env("ALLORAD", &allorad)
            .env("LOCALNET_HOME", &home)
            .env("LOCALNET_PORT_BASE", base.to_string())
            .output()
            .expect("run scripts/localnet start");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let net = Localnet {
            env: parse_env(&String::from_utf8_lossy(&out.stdout)),
            home,
        };
        assert!(
            out.status.success(),
            "scripts/localnet start failed ({}):\n{stderr}",
            out.status
        );
        eprintln!(
            "localnet up in {:?}: {:?}",
            started.elapsed(),
            net.env.get("LOCALNET_RPC")
        );
        net
    }

    fn get(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("scripts/localnet printed no {key}: {:?}", self.env))
    }

    /// `allorad query <args> -o json` against the localnet.
    fn query(&self, args: &[&str]) -> Result<Value, String> {
        let out = Command::new(self.get("ALLORAD"))
            .arg("query")
            .args(args)
            .args(["--node", self.get("LOCALNET_RPC"), "--output", "json"])
            .output()
            .map_err(|e| format!("run allorad: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "allorad query {args:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("allorad query {args:?}: {e}"))
    }

    fn emissions(&self, args: &[&str]) -> Value {
        let mut a = vec!["emissions"];
        a.extend_from_slice(args);
        self.query(&a).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The uallo balance of `addr` (0 when it has none).
    fn uallo(&self, addr: &str) -> u128 {
        let v = self
            .query(&["bank", "balances", addr])
            .unwrap_or_else(|e| panic!("{e}"));
        coin_amount(&v["balances"]).unwrap_or(0)
    }

    /// The uallo spend limit of `granter`'s allowance to `grantee`; `None` = no allowance.
    fn spend_limit(&self, granter: &str, grantee: &str) -> Option<u128> {
        let v = self.query(&["feegrant", "grant", granter, grantee]).ok()?;
        Some(
            find_key(&v, "spend_limit")
                .and_then(coin_amount)
                .unwrap_or(0),
        )
    }

    fn wallet(&self, i: usize) -> Value {
        json!({
            "addressKeyName": format!("localnet{i}"),
            "addressRestoreMnemonic": allora_devnet::TEST_MNEMONICS[i],
            "alloraHomeDir": "",
            "gas": "auto",
            "gasAdjustment": 1.5,
            "gasPrices": "auto",
            "nodeRpc": self.get("LOCALNET_RPC"),
            "nodeGrpcs": [self.get("LOCALNET_GRPC")],
            "maxRetries": 3,
            "retryDelay": 1,
            "accountSequenceRetryDelay": 1,
            "submitTx": true,
            "chainId": self.get("LOCALNET_CHAIN_ID"),
        })
    }
}

impl Drop for Localnet {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .arg("stop")
            .env("LOCALNET_HOME", &self.home)
            .status();
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/localnet")
}

fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// The first of `n` consecutive free loopback ports.
fn free_port_block(n: u16) -> u16 {
    for _ in 0..200 {
        let base = 20000 + (rand::random::<u16>() % 20000);
        if (base..base + n).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no block of {n} free loopback ports");
}

/// True if some object inside `v` has `key` equal to `want`.
fn has_field(v: &Value, key: &str, want: &str) -> bool {
    match v {
        Value::Object(o) => o
            .iter()
            .any(|(k, x)| (k == key && x.as_str() == Some(want)) || has_field(x, key, want)),
        Value::Array(a) => a.iter().any(|x| has_field(x, key, want)),
        _ => false,
    }
}

/// Every `block_height` inside a nonces answer.
fn nonce_heights(v: &Value) -> Vec<i64> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<i64>) {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    if k == "block_height"
                        && let Some(h) = x.as_str().and_then(|s| s.parse().ok())
                    {
                        out.push(h);
                    }
                    walk(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(v, &mut out);
    out
}

/// A loopback price source: inference, price series, forecasts (by inferer) and ground truth.
async fn source(inferers: Vec<String>) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use axum::extract::Path;
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/inference/{token}",
            get(|Path(_t): Path<String>| async { "3001.25".to_string() }),
        )
        .route(
            "/prices/{token}",
            get(|Path(_t): Path<String>| async {
                axum::Json(json!([3000.0, 3001.5, 3002.0, 3001.0, 3003.5, 3004.0]))
            }),
        )
        .route(
            "/forecast/{token}",
            get(move |Path(_t): Path<String>| {
                let body: serde_json::Map<String, Value> = inferers
                    .iter()
                    .map(|a| (a.clone(), json!([0.25])))
                    .collect();
                async move { axum::Json(Value::Object(body)) }
            }),
        )
        .route(
            "/truth/{token}/{height}",
            get(|Path((_t, h)): Path<(String, i64)>| async move { format!("{}.5", 3000 + h % 5) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind source");
    let addr = listener.local_addr().expect("source addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs allorad: run scripts/test-localnet"]
async fn real_chain_includes_three_epochs_of_worker_and_reputer_payloads() {
    let net = Localnet::start();
    let a = harness::address_of(1);
    let b = harness::address_of(2);
    let c = harness::address_of(4);
    let granter = net.get("LOCALNET_GRANTER").to_string();
    assert_eq!(
        net.get("LOCALNET_GRANTEE"),
        c,
        "scripts/localnet grants test4"
    );
    let grant_limit: u128 = net
        .get("LOCALNET_GRANT_LIMIT")
        .parse()
        .expect("grant limit");
    assert_eq!(net.uallo(&c), 0, "the grantee starts with no funds");
    assert_eq!(net.spend_limit(&granter, &c), Some(grant_limit));
    let granter_before = net.uallo(&granter);
    let (addr, _src) = source(vec![a.clone(), b.clone()]).await;
    let host = addr.to_string();
    let hosts = [host.as_str()];
    let url = |path: &str| format!("http://{host}/{path}");
    let none = BTreeMap::new;

    // Node A: the shipped http_source (topic 1); smoothing_model + a forecast adapter
    // (topic 2); a reputer with a built-in loss (topic 1).
    let node_a = json!({
        "wallet": net.wallet(1),
        "worker": [
            { "topicId": 1, "loopSeconds": 1,
              "parameters": { "InferenceEndpoint": url("inference/{Token}"), "Token": "ETH" },
              "inferenceAdapter": adapter("http_source.wasm", &hosts, none(), 5000) },
            { "topicId": 2, "loopSeconds": 1,
              "parameters": { "PriceEndpoint": url("prices/{Token}"),
                              "ForecastEndpoint": url("forecast/{Token}"), "Token": "ETH" },
              "inferenceAdapter": adapter("smoothing_model.wasm", &hosts, none(), 5000),
              "forecastAdapter": adapter("http_source.wasm", &hosts, none(), 5000) }
        ],
        "reputer": [
            { "topicId": 1, "loopSeconds": 1, "minStake": 20000, "lossMethod": "sqe",
              "groundTruthParameters": { "GroundTruthEndpoint": url("truth/{Token}/{BlockHeight}"), "Token": "ETH" },
              "groundTruthAdapter": adapter("http_source.wasm", &hosts, none(), 5000) }
        ]
    });
    // Node B: the seed's wallet shape (`nodeRpc` only, no `nodeGrpcs`: every query, simulate
    // and broadcast over CometBFT RPC); the Go-style entrypoint (topic 1), smoothing_model
    // (topic 2), a reputer with the wasm loss adapter (topic 2).
    let mut seed_wallet = net.wallet(2);
    if let Some(w) = seed_wallet.as_object_mut() {
        w.remove("nodeGrpcs");
        w.remove("gasPrices");
    }
    let node_b = json!({
        "wallet": seed_wallet,
        "worker": [
            { "topicId": 1, "loopSeconds": 1, "inferenceEntrypointName": "api-worker-reputer",
              "parameters": { "InferenceEndpoint": url("inference/{Token}"), "Token": "ETH" } },
            { "topicId": 2, "loopSeconds": 1,
              "parameters": { "PriceEndpoint": url("prices/{Token}"), "Token": "ETH" },
              "inferenceAdapter": adapter("smoothing_model.wasm", &hosts, none(), 5000) }
        ],
        "reputer": [
            { "topicId": 2, "loopSeconds": 1, "minStake": 20000,
              "groundTruthParameters": { "GroundTruthEndpoint": url("truth/{Token}/{BlockHeight}"), "Token": "ETH" },
              "groundTruthAdapter": adapter("http_source.wasm", &hosts, none(), 5000),
              "lossAdapter": adapter("custom_loss.wasm", &[], BTreeMap::from([("Quantile", "0.5")]), 5000) }
        ]
    });
    // Node C: a wallet with no funds whose fees test0's allowance pays.
    let mut granted_wallet = net.wallet(4);
    granted_wallet["feeGranterAddress"] = json!(granter);
    let node_c = json!({
        "wallet": granted_wallet,
        "worker": [
            { "topicId": 1, "loopSeconds": 1,
              "parameters": { "InferenceEndpoint": url("inference/{Token}"), "Token": "ETH" },
              "inferenceAdapter": adapter("http_source.wasm", &hosts, none(), 5000) }
        ]
    });
    let mut na = NodeProc::start(&node_a, None);
    let mut nb = NodeProc::start(&node_b, None);
    let mut nc = NodeProc::start(&node_c, None);

    // Nonces come from the chain (never from height arithmetic): collect every nonce the
    // chain reports as open, then ask the chain, at its latest state, what it stores for each
    // (inferences and forecasts once included, loss bundles once the reputer nonce closed;
    // both are pruned later, so a sighting is remembered).
    let checks: Vec<Check> = vec![
        Check::new(1, "inferences-at-block", "inferer", &a, "A http_source"),
        Check::new(
            1,
            "inferences-at-block",
            "inferer",
            &b,
            "B api-worker-reputer",
        ),
        Check::new(2, "inferences-at-block", "inferer", &a, "A smoothing_model"),
        Check::new(2, "inferences-at-block", "inferer", &b, "B smoothing_model"),
        Check::new(
            2,
            "forecasts-at-block",
            "forecaster",
            &a,
            "A forecast adapter",
        ),
        Check::new(
            1,
            "inferences-at-block",
            "inferer",
            &c,
            "C fee-granted wallet",
        ),
        Check::new(1, "reputer-loss-bundle", "reputer", &a, "A built-in sqe"),
        Check::new(
            2,
            "reputer-loss-bundle",
            "reputer",
            &b,
            "B custom_loss.wasm",
        ),
    ];
    let started = Instant::now();
    let mut nonces: BTreeMap<u64, BTreeSet<i64>> = BTreeMap::new();
    let mut seen: BTreeMap<usize, BTreeSet<i64>> = BTreeMap::new();
    let mut last_report = Instant::now();
    let outcome = loop {
        for t in [1u64, 2] {
            for q in ["unfulfilled-worker-nonces", "unfulfilled-reputer-nonces"] {
                if let Ok(v) = net.query(&["emissions", q, &t.to_string()]) {
                    nonces.entry(t).or_default().extend(nonce_heights(&v));
                }
            }
        }
        for (i, c) in checks.iter().enumerate() {
            let done = seen.entry(i).or_default();
            if done.len() >= EPOCHS {
                continue;
            }
            let pending: Vec<i64> = nonces
                .get(&c.topic)
                .into_iter()
                .flatten()
                .rev()
                .take(6)
                .filter(|n| !done.contains(n))
                .copied()
                .collect();
            for n in pending {
                let found = net
                    .query(&["emissions", c.query, &c.topic.to_string(), &n.to_string()])
                    .is_ok_and(|v| has_field(&v, c.field, &c.addr));
                if found {
                    done.insert(n);
                }
            }
        }
        let counts: Vec<(String, usize)> = checks
            .iter()
            .enumerate()
            .map(|(i, c)| (c.label(), seen.get(&i).map_or(0, BTreeSet::len)))
            .collect();
        if counts.iter().all(|(_, c)| *c >= EPOCHS) {
            break Ok(counts);
        }
        if last_report.elapsed() > Duration::from_secs(15) {
            eprintln!("after {:?}: included {counts:?}", started.elapsed());
            last_report = Instant::now();
        }
        if started.elapsed() > HORIZON {
            break Err(counts);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let logs = format!(
        "--- node A log (tail) ---\n{}\n--- node B log (tail) ---\n{}\n--- node C log (tail) ---\n{}",
        tail(&na.log_text(), 60),
        tail(&nb.log_text(), 60),
        tail(&nc.log_text(), 40)
    );
    match outcome {
        Ok(counts) => eprintln!("included after {:?}: {counts:?}", started.elapsed()),
        Err(counts) => panic!(
            "after {HORIZON:?} the chain holds fewer than {EPOCHS} epochs of some payload: \
             {counts:?} (nonces seen {nonces:?})\n{logs}"
        ),
    }

    // Both nodes are registered and staked as the chain sees it.
    for (t, who, reputer) in [(1, &a, true), (2, &b, true), (1, &a, false), (2, &b, false)] {
        let q = if reputer {
            "is-reputer-registered"
        } else {
            "is-worker-registered"
        };
        let v = net.emissions(&[q, &t.to_string(), who]);
        assert_eq!(v["is_registered"], json!(true), "{q} {t} {who}: {v}");
    }
    let stake = net.emissions(&["stake-in-topic-reputer", &a, "1"]);
    assert!(
        has_stake(&stake, 20000),
        "reputer A stake on topic 1: {stake}"
    );

    // The fee grant paid for node C: it registered and submitted from a zero balance (its
    // later balance holds inferer rewards, so it is not asserted), the allowance shrank, and
    // the granter's balance went down (by at most the allowance's drop: feemarket may refund).
    assert!(
        net.emissions(&["is-worker-registered", "1", &c])["is_registered"] == json!(true),
        "the grantee registered with no funds\n{logs}"
    );
    let left = net
        .spend_limit(&granter, &c)
        .expect("the allowance is still there");
    let spent = grant_limit - left;
    let paid = granter_before - net.uallo(&granter);
    assert!(spent > 0, "the allowance was never used\n{logs}");
    assert!(
        paid > 0 && paid <= spent,
        "granter paid {paid}, allowance dropped by {spent}\n{logs}"
    );
    eprintln!(
        "fee grant: granter paid {paid} uallo, allowance dropped by {spent} uallo; grantee balance now {} uallo (rewards)",
        net.uallo(&c)
    );

    assert_eq!(na.terminate(), Some(0), "node A exits cleanly\n{logs}");
    assert_eq!(nc.terminate(), Some(0), "node C exits cleanly\n{logs}");
    assert_eq!(nb.terminate(), Some(0), "node B exits cleanly\n{logs}");
}

/// The uallo amount in a JSON coin list.
fn coin_amount(coins: &Value) -> Option<u128> {
    coins.as_array()?.iter().find(|c| c["denom"] == "uallo")?["amount"]
        .as_str()?
        .parse()
        .ok()
}

/// The first value under `key` anywhere in `v`.
fn find_key<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m
            .get(key)
            .or_else(|| m.values().find_map(|x| find_key(x, key))),
        Value::Array(a) => a.iter().find_map(|x| find_key(x, key)),
        _ => None,
    }
}

/// One thing the chain must hold for at least `EPOCHS` nonces.
struct Check {
    topic: u64,
    query: &'static str,
    field: &'static str,
    addr: String,
    what: &'static str,
}

impl Check {
    fn new(
        topic: u64,
        query: &'static str,
        field: &'static str,
        addr: &str,
        what: &'static str,
    ) -> Check {
        Check {
            topic,
            query,
            field,
            addr: addr.to_string(),
            what,
        }
    }

    fn label(&self) -> String {
        format!("topic {} {} from {}", self.topic, self.query, self.what)
    }
}

fn has_stake(v: &Value, min: u128) -> bool {
    v.as_object().into_iter().flatten().any(|(_, x)| {
        x.as_str()
            .and_then(|s| s.parse::<u128>().ok())
            .is_some_and(|s| s >= min)
    })
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
