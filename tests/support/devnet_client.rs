//! A small Cosmos client for devnet tests that does NOT use the node's own chain code:
//! keys and SIGN_MODE_DIRECT txs via `cosmrs`, queries via the tonic clients shipped by
//! `cosmos-sdk-proto` and the generated emissions stubs, bundle signatures via k256 directly.
//! It lets tests build deliberately broken txs (bad signature, wrong sequence, …).

#![allow(dead_code)]

use std::time::Duration;

use allora_devnet::{
    Devnet, DevnetConfig, DevnetHandle, Genesis, GenesisAccount, GenesisParams, GenesisTopic,
};
use allora_protocol::proto::emissions::{v3, v9, v10};
use cosmos_sdk_proto::cosmos::auth::v1beta1 as auth;
use cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxResponse;
use cosmos_sdk_proto::cosmos::tx::v1beta1 as txs;
use cosmrs::crypto::secp256k1::SigningKey;
use cosmrs::tx::{Body, Fee, SignDoc, SignerInfo};
use prost::Message;
use tonic::transport::Channel;

pub const MNEMONICS: [&str; 3] = [
    // The devnet's public TEST mnemonics (docs/DEVNET.md); never used on a real network.
    "dress click fat sand issue outer churn tilt unique river blind vicious argue palace news response chuckle arrive harbor discover hollow neither hawk guitar",
    "brick season ensure bachelor alarm voyage secret hello genuine lemon artefact response afraid person shop vault patrol stereo question involve champion icon toilet expect",
    "replace enough happy remove sting excess bright antique banner mutual evolve camera arrive gallery vanish toilet city express wall essence find promote fit argue",
];

/// A key derived at m/44'/118'/0'/0/0.
pub struct TestWallet {
    pub key: SigningKey,
    pub address: String,
}

impl TestWallet {
    pub fn from_mnemonic(m: &str) -> TestWallet {
        let mnemonic = bip39::Mnemonic::parse(m).expect("mnemonic");
        let seed = mnemonic.to_seed("");
        let path = "m/44'/118'/0'/0/0".parse().expect("path");
        let key = SigningKey::derive_from_path(seed, &path).expect("derive");
        let address = key
            .public_key()
            .account_id("allo")
            .expect("address")
            .to_string();
        TestWallet { key, address }
    }

    pub fn pubkey33(&self) -> Vec<u8> {
        self.key.public_key().to_bytes()
    }

    pub fn pubkey_hex(&self) -> String {
        hex::encode(self.pubkey33())
    }

    /// SHA-256 + ECDSA (low-S) r‖s over `msg`.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.key.sign(msg).expect("sign").to_bytes().to_vec()
    }
}

/// A topic with short windows for fast tests: epoch 6, worker window 4, lag 6, first nonce 8.
pub fn fast_topic(id: u64) -> GenesisTopic {
    GenesisTopic {
        id,
        metadata: format!("test topic {id}"),
        loss_method: "mse".to_string(),
        epoch_length: 6,
        ground_truth_lag: 6,
        worker_submission_window: 4,
        allow_negative: false,
        first_epoch_block: Some(8),
        worker_whitelist: None,
        reputer_whitelist: None,
        label_whitelist: Vec::new(),
        wall_clock: false,
    }
}

pub fn test_genesis(topics: Vec<GenesisTopic>) -> Genesis {
    Genesis {
        accounts: MNEMONICS
            .iter()
            .map(|m| GenesisAccount {
                mnemonic: Some((*m).to_string()),
                address: None,
                balance: 10_000_000_000,
            })
            .collect(),
        topics,
        params: GenesisParams {
            min_gas_price: "1".to_string(),
            ..GenesisParams::default()
        },
        fee_grants: Vec::new(),
    }
}

pub async fn start(genesis: Genesis, block_ms: u64) -> DevnetHandle {
    Devnet::start(DevnetConfig {
        chain_id: "devnet-test-1".to_string(),
        block_time: Duration::from_millis(block_ms),
        genesis,
        ..DevnetConfig::default()
    })
    .await
    .expect("devnet starts")
}

/// Tx knobs; `None` = the correct value.
#[derive(Default, Clone)]
pub struct TxOpts {
    pub sequence: Option<u64>,
    pub account_number: Option<u64>,
    pub chain_id: Option<String>,
    pub fee: Option<u128>,
    pub gas_limit: Option<u64>,
    pub corrupt_signature: bool,
    pub timeout_height: u32,
    /// `fee.granter`: an account whose x/feegrant allowance pays the fee.
    pub fee_granter: Option<String>,
}

pub struct Client {
    pub channel: Channel,
    pub chain_id: String,
}

impl Client {
    pub async fn connect(devnet: &DevnetHandle) -> Client {
        let channel = Channel::from_shared(devnet.grpc_url())
            .expect("url")
            .connect()
            .await
            .expect("connect");
        Client {
            channel,
            chain_id: devnet.chain_id(),
        }
    }

    pub fn emissions(&self) -> v10::query_service_client::QueryServiceClient<Channel> {
        v10::query_service_client::QueryServiceClient::new(self.channel.clone())
    }

    pub fn tx_service(&self) -> txs::service_client::ServiceClient<Channel> {
        txs::service_client::ServiceClient::new(self.channel.clone())
    }

    /// (account number, sequence) from AccountInfo.
    pub async fn account(&self, addr: &str) -> (u64, u64) {
        let info = auth::query_client::QueryClient::new(self.channel.clone())
            .account_info(auth::QueryAccountInfoRequest {
                address: addr.to_string(),
            })
            .await
            .expect("account info")
            .into_inner()
            .info
            .expect("info");
        (info.account_number, info.sequence)
    }

    pub async fn balance(&self, addr: &str) -> u128 {
        cosmos_sdk_proto::cosmos::bank::v1beta1::query_client::QueryClient::new(
            self.channel.clone(),
        )
        .balance(
            cosmos_sdk_proto::cosmos::bank::v1beta1::QueryBalanceRequest {
                address: addr.to_string(),
                denom: "uallo".to_string(),
            },
        )
        .await
        .expect("balance")
        .into_inner()
        .balance
        .expect("coin")
        .amount
        .parse()
        .expect("int")
    }

    /// Builds and signs a tx (SIGN_MODE_DIRECT), applying `opts` deviations.
    pub async fn build_tx(&self, w: &TestWallet, msgs: Vec<cosmrs::Any>, opts: &TxOpts) -> Vec<u8> {
        let (num, seq) = self.account(&w.address).await;
        let body = Body::new(msgs, "", opts.timeout_height);
        let gas = opts.gas_limit.unwrap_or(400_000);
        let fee_amount = opts.fee.unwrap_or(u128::from(gas)); // min gas price is 1 in test genesis
        let mut fee = Fee::from_amount_and_gas(
            cosmrs::Coin {
                denom: "uallo".parse().expect("denom"),
                amount: fee_amount,
            },
            gas,
        );
        fee.granter = opts
            .fee_granter
            .as_ref()
            .map(|g| g.parse().expect("granter address"));
        let auth_info =
            SignerInfo::single_direct(Some(w.key.public_key()), opts.sequence.unwrap_or(seq))
                .auth_info(fee);
        let chain_id = opts
            .chain_id
            .clone()
            .unwrap_or_else(|| self.chain_id.clone());
        let sign_doc = SignDoc::new(
            &body,
            &auth_info,
            &chain_id.parse().expect("chain id"),
            opts.account_number.unwrap_or(num),
        )
        .expect("sign doc");
        let body_bytes = body.into_bytes().expect("body");
        let auth_info_bytes = auth_info.into_bytes().expect("auth");
        let sign_bytes = sign_doc.into_bytes().expect("sign bytes");
        let mut sig = w.sign(&sign_bytes);
        if opts.corrupt_signature {
            sig[10] ^= 0x01;
        }
        txs::TxRaw {
            body_bytes,
            auth_info_bytes,
            signatures: vec![sig],
        }
        .encode_to_vec()
    }

    /// BroadcastTx (SYNC) → the CheckTx response.
    pub async fn broadcast(&self, tx: Vec<u8>) -> TxResponse {
        self.tx_service()
            .broadcast_tx(txs::BroadcastTxRequest {
                tx_bytes: tx,
                mode: txs::BroadcastMode::Sync as i32,
            })
            .await
            .expect("broadcast rpc")
            .into_inner()
            .tx_response
            .expect("tx response")
    }

    /// Grants `grantee` a `BasicAllowance` of `spend_limit` uallo (no expiry) from `granter`,
    /// the way an operator does it: a `MsgGrantAllowance` tx signed by the granter, asserted
    /// accepted at CheckTx and included without error.
    pub async fn grant_fee_allowance(
        &self,
        granter: &TestWallet,
        grantee: &str,
        spend_limit: u128,
    ) {
        use cosmos_sdk_proto::cosmos::base::v1beta1::Coin;
        use cosmos_sdk_proto::cosmos::feegrant::v1beta1::{BasicAllowance, MsgGrantAllowance};
        let allowance = BasicAllowance {
            spend_limit: vec![Coin {
                denom: "uallo".into(),
                amount: spend_limit.to_string(),
            }],
            expiration: None,
        };
        let msg = MsgGrantAllowance {
            granter: granter.address.clone(),
            grantee: grantee.to_string(),
            allowance: Some(cosmos_sdk_proto::Any {
                type_url: "/cosmos.feegrant.v1beta1.BasicAllowance".into(),
                value: allowance.encode_to_vec(),
            }),
        };
        let tx = self
            .build_tx(
                granter,
                vec![any("/cosmos.feegrant.v1beta1.MsgGrantAllowance", &msg)],
                &TxOpts {
                    fee: Some(4_000_000),
                    ..Default::default()
                },
            )
            .await;
        let r = self.broadcast(tx).await;
        assert_eq!(r.code, 0, "grant CheckTx: {}", r.raw_log);
        let r = self.wait_tx(&r.txhash).await;
        assert_eq!(r.code, 0, "grant DeliverTx: {}", r.raw_log);
    }

    /// Polls GetTx until the tx is in a block (10 s max).
    pub async fn wait_tx(&self, hash: &str) -> TxResponse {
        for _ in 0..100 {
            if let Ok(r) = self
                .tx_service()
                .get_tx(txs::GetTxRequest {
                    hash: hash.to_string(),
                })
                .await
                && let Some(tr) = r.into_inner().tx_response
            {
                return tr;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("tx {hash} was not included within 10 s");
    }

    /// Broadcasts, asserts CheckTx passed, and waits for the block result.
    pub async fn send(&self, w: &TestWallet, msgs: Vec<cosmrs::Any>) -> TxResponse {
        let tx = self.build_tx(w, msgs, &TxOpts::default()).await;
        let r = self.broadcast(tx).await;
        assert_eq!(r.code, 0, "CheckTx failed: {}", r.raw_log);
        self.wait_tx(&r.txhash).await
    }
}

pub fn any<M: Message>(type_url: &str, m: &M) -> cosmrs::Any {
    cosmrs::Any {
        type_url: type_url.to_string(),
        value: m.encode_to_vec(),
    }
}

pub fn register(w: &TestWallet, topic: u64, reputer: bool) -> cosmrs::Any {
    any(
        "/emissions.v10.RegisterRequest",
        &v10::RegisterRequest {
            sender: w.address.clone(),
            topic_id: topic,
            owner: w.address.clone(),
            is_reputer: reputer,
        },
    )
}

pub fn add_stake(w: &TestWallet, topic: u64, amount: u128) -> cosmrs::Any {
    any(
        "/emissions.v10.AddStakeRequest",
        &v10::AddStakeRequest {
            sender: w.address.clone(),
            topic_id: topic,
            amount: amount.to_string(),
        },
    )
}

/// A worker bundle with one scalar inference (label "y"), signed over the exact bytes given.
pub fn worker_bundle(
    w: &TestWallet,
    topic: u64,
    nonce: i64,
    value: &str,
) -> v10::InputWorkerDataBundle {
    let inner = v10::InputInferenceForecastBundle {
        inference: Some(v10::InputInference {
            topic_id: topic,
            block_height: nonce,
            inferer: w.address.clone(),
            value: "0".to_string(),
            extra_data: Vec::new(),
            proof: String::new(),
            values: vec![v10::InputLabeledValue {
                label: "y".to_string(),
                value: value.to_string(),
            }],
        }),
        forecast: None,
    };
    let sig = w.sign(&inner.encode_to_vec());
    v10::InputWorkerDataBundle {
        worker: w.address.clone(),
        nonce: Some(v3::Nonce {
            block_height: nonce,
        }),
        topic_id: topic,
        inference_forecasts_bundle: Some(inner),
        inferences_forecasts_bundle_signature: sig,
        pubkey: w.pubkey_hex(),
    }
}

pub fn worker_payload(w: &TestWallet, bundle: v10::InputWorkerDataBundle) -> cosmrs::Any {
    any(
        "/emissions.v10.InsertWorkerPayloadRequest",
        &v10::InsertWorkerPayloadRequest {
            sender: w.address.clone(),
            worker_data_bundle: Some(bundle),
        },
    )
}

/// A reputer bundle scoring the given workers with one loss each.
pub fn reputer_bundle(
    w: &TestWallet,
    topic: u64,
    nonce: i64,
    workers: &[&str],
    loss: &str,
) -> v9::InputReputerValueBundle {
    let vb = v9::InputValueBundle {
        topic_id: topic,
        reputer_request_nonce: Some(v3::ReputerRequestNonce {
            reputer_nonce: Some(v3::Nonce {
                block_height: nonce,
            }),
        }),
        reputer: w.address.clone(),
        extra_data: Vec::new(),
        combined_value: loss.to_string(),
        inferer_values: workers
            .iter()
            .map(|a| v9::InputWorkerAttributedValue {
                worker: (*a).to_string(),
                value: loss.to_string(),
            })
            .collect(),
        forecaster_values: Vec::new(),
        naive_value: loss.to_string(),
        one_out_inferer_values: Vec::new(),
        one_out_forecaster_values: Vec::new(),
        one_in_forecaster_values: Vec::new(),
        one_out_inferer_forecaster_values: Vec::new(),
    };
    let sig = w.sign(&vb.encode_to_vec());
    v9::InputReputerValueBundle {
        value_bundle: Some(vb),
        signature: sig,
        pubkey: w.pubkey_hex(),
    }
}

pub fn reputer_payload(w: &TestWallet, bundle: v9::InputReputerValueBundle) -> cosmrs::Any {
    any(
        "/emissions.v10.InsertReputerPayloadRequest",
        &v10::InsertReputerPayloadRequest {
            sender: w.address.clone(),
            reputer_value_bundle: Some(bundle),
        },
    )
}

/// Waits until `pred(height)` holds for the devnet's committed height.
pub async fn wait_height(devnet: &DevnetHandle, h: i64) {
    devnet
        .wait_for_height(h, Duration::from_secs(20))
        .await
        .expect("height reached");
}
