//! The devnet side: topics, delivered-block records, the ground-truth source, wallets.

#[allow(unused_imports)]
use super::*;

/// A scale topic; its first nonce is at `first` (all topics share the schedule, so every
/// window opens in the same block and the blocks before `first` have no window at all).
pub(crate) fn topic(id: u64, epoch: i64, window: i64, first: i64) -> GenesisTopic {
    GenesisTopic {
        id,
        metadata: format!("scale topic {id}"),
        loss_method: "mse".into(),
        epoch_length: epoch,
        ground_truth_lag: epoch,
        worker_submission_window: window,
        allow_negative: false,
        first_epoch_block: Some(first),
        worker_whitelist: None,
        reputer_whitelist: None,
        label_whitelist: Vec::new(),
        wall_clock: false,
    }
}

/// What the devnet delivered, per block.
#[derive(Default)]
pub(crate) struct Delivered {
    /// height → (txs, ok txs, messages in ok txs)
    pub(crate) blocks: BTreeMap<i64, (u32, u32, u32)>,
    /// (topic, nonce) → first height a worker payload was included
    pub(crate) worker: HashMap<(u64, i64), i64>,
    /// (topic, nonce) → first height a reputer payload was included
    pub(crate) reputer: HashMap<(u64, i64), i64>,
    pub(crate) lagged: u64,
    /// height → signer (sender of the tx's first payload message) → ok payload txs
    pub(crate) wallet_txs: BTreeMap<i64, HashMap<String, u32>>,
}

pub(crate) fn record(dn: &DevnetHandle) -> Arc<Mutex<Delivered>> {
    let out: Arc<Mutex<Delivered>> = Arc::default();
    let mut rx = dn.subscribe_blocks();
    let rec = out.clone();
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            let notice = match rx.recv().await {
                Ok(n) => n,
                Err(RecvError::Lagged(k)) => {
                    rec.lock().unwrap().lagged += k;
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            let h = notice.block.height;
            let mut d = rec.lock().unwrap();
            let (mut txs, mut ok, mut msgs) = (0, 0, 0);
            let mut by_wallet: HashMap<String, u32> = HashMap::new();
            for tx in &notice.txs {
                txs += 1;
                if tx.code != 0 {
                    continue;
                }
                ok += 1;
                let Ok(raw) =
                    cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw::decode(tx.tx.as_slice())
                else {
                    continue;
                };
                let Ok(body) = cosmos_sdk_proto::cosmos::tx::v1beta1::TxBody::decode(
                    raw.body_bytes.as_slice(),
                ) else {
                    continue;
                };
                let mut signer: Option<String> = None;
                for any in body.messages {
                    msgs += 1;
                    if any.type_url.ends_with("InsertWorkerPayloadRequest") {
                        if let Some((t, n)) =
                            v10::InsertWorkerPayloadRequest::decode(any.value.as_slice())
                                .ok()
                                .and_then(|m| {
                                    signer.get_or_insert(m.sender);
                                    let b = m.worker_data_bundle?;
                                    Some((b.topic_id, b.nonce?.block_height))
                                })
                        {
                            d.worker.entry((t, n)).or_insert(h);
                        }
                    } else if any.type_url.ends_with("InsertReputerPayloadRequest")
                        && let Some((t, n)) =
                            v10::InsertReputerPayloadRequest::decode(any.value.as_slice())
                                .ok()
                                .and_then(|m| {
                                    signer.get_or_insert(m.sender);
                                    let vb = m.reputer_value_bundle?.value_bundle?;
                                    Some((
                                        vb.topic_id,
                                        vb.reputer_request_nonce?.reputer_nonce?.block_height,
                                    ))
                                })
                    {
                        d.reputer.entry((t, n)).or_insert(h);
                    }
                }
                if let Some(w) = signer {
                    *by_wallet.entry(w).or_default() += 1;
                }
            }
            d.blocks.insert(h, (txs, ok, msgs));
            if !by_wallet.is_empty() {
                d.wallet_txs.insert(h, by_wallet);
            }
        }
    });
    out
}

/// A loopback ground-truth source for `http_source.wasm`.
pub(crate) async fn truth_source() -> std::net::SocketAddr {
    use axum::extract::Path;
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/truth/{token}/{height}",
        get(|Path((_t, h)): Path<(String, i64)>| async move { format!("\"{}.5\"", 3000 + h % 5) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn address_of_mnemonic(m: &str) -> String {
    allora_chain_client::keys::Wallet::from_mnemonic(m)
        .unwrap()
        .address()
        .to_string()
}
