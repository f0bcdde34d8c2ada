//! Message execution: fees, field formats, address bindings, whitelists and the bundle
//! signature rules as the chain applies them (reference §C.4).

use allora_protocol::proto::emissions::{v3, v9};
use k256::ecdsa::signature::Signer;

use super::*;
use crate::genesis::{Genesis, TEST_MNEMONICS};

struct Key {
    sk: k256::ecdsa::SigningKey,
    addr: String,
    pubkey_hex: String,
}

fn key(seed: u8) -> Key {
    let sk = k256::ecdsa::SigningKey::from_bytes(&[seed; 32].into()).expect("key");
    let pk = sk.verifying_key().to_encoded_point(true);
    Key {
        addr: crate::crypto::address_from_pubkey(pk.as_bytes()),
        pubkey_hex: hex::encode(pk.as_bytes()),
        sk,
    }
}

fn sign(k: &Key, bytes: &[u8]) -> Vec<u8> {
    let s: k256::ecdsa::Signature = k.sk.sign(bytes);
    s.normalize_s().unwrap_or(s).to_bytes().to_vec()
}

/// State at height 10 with worker nonce 10 open for topic 1, `k` registered as worker.
fn state_with_open_nonce(k: &Key) -> State {
    let mut g = Genesis::default_devnet();
    g.accounts.truncate(1);
    g.accounts[0].mnemonic = Some(TEST_MNEMONICS[0].to_string());
    let mut s = State::from_genesis("t", &g).expect("state");
    s.accounts.insert(
        k.addr.clone(),
        crate::state::Account {
            address: k.addr.clone(),
            account_number: 9,
            sequence: 0,
            pubkey: None,
            balance: 1_000_000,
        },
    );
    let t = s.topics.get_mut(&1).expect("topic");
    t.workers.insert(k.addr.clone());
    t.worker_nonces.push(10);
    s.height = 10;
    s
}

fn bundle(
    k: &Key,
    values: &[(&str, &str)],
    forecaster: Option<&str>,
) -> v10::InputWorkerDataBundle {
    let inner = v10::InputInferenceForecastBundle {
        inference: Some(v10::InputInference {
            topic_id: 1,
            block_height: 10,
            inferer: k.addr.clone(),
            value: "0".into(),
            values: values
                .iter()
                .map(|(l, v)| v10::InputLabeledValue {
                    label: (*l).into(),
                    value: (*v).into(),
                })
                .collect(),
            ..Default::default()
        }),
        forecast: forecaster.map(|f| v10::InputForecast {
            topic_id: 1,
            block_height: 10,
            forecaster: f.to_string(),
            forecast_elements: vec![v10::InputForecastElement {
                inferer: k.addr.clone(),
                value: "1".into(),
            }],
            extra_data: Vec::new(),
        }),
    };
    v10::InputWorkerDataBundle {
        worker: k.addr.clone(),
        nonce: Some(v3::Nonce { block_height: 10 }),
        topic_id: 1,
        inferences_forecasts_bundle_signature: sign(k, &inner.encode_to_vec()),
        inference_forecasts_bundle: Some(inner),
        pubkey: k.pubkey_hex.clone(),
    }
}

fn run(s: &mut State, k: &Key, b: v10::InputWorkerDataBundle) -> Result<MsgOutcome, AbciError> {
    Msg::InsertWorkerPayload(v10::InsertWorkerPayloadRequest {
        sender: k.addr.clone(),
        worker_data_bundle: Some(b),
    })
    .execute(s, 11)
}

fn code(r: Result<MsgOutcome, AbciError>) -> (&'static str, u32) {
    match r {
        Ok(_) => ("", 0),
        Err(e) => (e.codespace, e.code),
    }
}

#[test]
fn valid_payload_pays_the_data_sending_fee() {
    let k = key(7);
    let mut s = state_with_open_nonce(&k);
    assert_eq!(
        code(run(&mut s, &k, bundle(&k, &[("y", "1.5")], None))),
        ("", 0)
    );
    assert_eq!(s.balance(&k.addr), 1_000_000 - 10);
    assert_eq!(s.topics[&1].worker_payloads[&10].len(), 1);
}

#[test]
fn field_formats_and_bindings_are_checked() {
    let k = key(7);
    let other = key(8);
    let mut s = state_with_open_nonce(&k);
    assert_eq!(
        code(run(&mut s, &k, bundle(&k, &[("y", "NaN")], None))),
        ("sdk", 18)
    );
    assert_eq!(
        code(run(&mut s, &k, bundle(&k, &[("y", "")], None))),
        ("sdk", 18)
    );
    assert_eq!(
        code(run(&mut s, &k, bundle(&k, &[("", "1")], None))),
        ("sdk", 18)
    );
    // forecaster must be the worker itself
    assert_eq!(
        code(run(
            &mut s,
            &k,
            bundle(&k, &[("y", "1")], Some(&other.addr))
        )),
        ("sdk", 4)
    );
    // a bundle signed by someone else
    let mut b = bundle(&k, &[("y", "1")], None);
    b.inferences_forecasts_bundle_signature = sign(&other, b"x");
    assert_eq!(code(run(&mut s, &k, b)), ("sdk", 4));
    let mut b = bundle(&k, &[("y", "1")], None);
    b.nonce = None;
    assert_eq!(code(run(&mut s, &k, b)), ("sdk", 18));
    let mut b = bundle(&k, &[("y", "1")], None);
    b.pubkey = "zz".into();
    assert_eq!(code(run(&mut s, &k, b)), ("sdk", 18));
    assert!(s.topics[&1].worker_payloads.is_empty());
}

#[test]
fn whitelists_and_labels_are_enforced() {
    let k = key(7);
    let mut s = state_with_open_nonce(&k);
    s.topics.get_mut(&1).expect("topic").worker_whitelist = Some(Default::default());
    assert_eq!(
        code(run(&mut s, &k, bundle(&k, &[("y", "1")], None))),
        ("emissions", 83)
    );
    let t = s.topics.get_mut(&1).expect("topic");
    t.worker_whitelist = Some([k.addr.clone()].into_iter().collect());
    t.topic.label_whitelist = vec!["up".into(), "down".into()];
    assert_eq!(
        code(run(&mut s, &k, bundle(&k, &[("y", "1")], None))),
        ("emissions", 52)
    );
    assert_eq!(
        code(run(
            &mut s,
            &k,
            bundle(&k, &[("up", "0.7"), ("down", "0.3")], None)
        )),
        ("", 0)
    );
}

#[test]
fn insufficient_balance_for_the_fee_is_code_5() {
    let k = key(7);
    let mut s = state_with_open_nonce(&k);
    s.accounts.get_mut(&k.addr).expect("acct").balance = 9;
    assert_eq!(
        code(run(&mut s, &k, bundle(&k, &[("y", "1")], None))),
        ("sdk", 5)
    );
}

#[test]
fn reputer_one_out_groups_must_not_be_empty() {
    let k = key(9);
    let vb = v9::InputValueBundle {
        topic_id: 1,
        reputer_request_nonce: Some(v3::ReputerRequestNonce {
            reputer_nonce: Some(v3::Nonce { block_height: 10 }),
        }),
        reputer: k.addr.clone(),
        combined_value: "1".into(),
        naive_value: "1".into(),
        one_out_inferer_forecaster_values: vec![v9::InputOneOutInfererForecasterValues {
            forecaster: k.addr.clone(),
            one_out_inferer_values: Vec::new(),
        }],
        ..Default::default()
    };
    let rb = v9::InputReputerValueBundle {
        signature: sign(&k, &vb.encode_to_vec()),
        value_bundle: Some(vb),
        pubkey: k.pubkey_hex.clone(),
    };
    let mut s = state_with_open_nonce(&k);
    let r = Msg::InsertReputerPayload(v10::InsertReputerPayloadRequest {
        sender: k.addr.clone(),
        reputer_value_bundle: Some(rb),
    })
    .execute(&mut s, 30);
    assert_eq!(code(r), ("sdk", 18));
}

#[test]
fn a_payload_signed_over_a_non_canonical_decimal_is_refused() {
    // The node must sign the chain's spelling ("1E-7"), not the one it sends ("1e-7").
    let k = key(7);
    let mut s = state_with_open_nonce(&k);
    let loose = bundle(&k, &[("y", "1e-7")], None);
    let r = run(&mut s, &k, loose.clone());
    assert_eq!(code(r), ("sdk", 4));
    assert!(s.topics[&1].worker_payloads.is_empty());

    let mut fixed = loose;
    let inner = fixed.inference_forecasts_bundle.as_ref().expect("inner");
    fixed.inferences_forecasts_bundle_signature = sign(
        &k,
        &crate::bundles::worker_sign_bytes(inner).expect("encode"),
    );
    assert_eq!(code(run(&mut s, &k, fixed)), ("", 0));
}

#[test]
fn a_reputer_bundle_signed_with_another_key_is_refused() {
    let k = key(9);
    let other = key(8);
    let vb = v9::InputValueBundle {
        topic_id: 1,
        reputer_request_nonce: Some(v3::ReputerRequestNonce {
            reputer_nonce: Some(v3::Nonce { block_height: 10 }),
        }),
        reputer: k.addr.clone(),
        combined_value: "1".into(),
        naive_value: "1".into(),
        ..Default::default()
    };
    let bytes = crate::bundles::value_bundle_sign_bytes(&vb).expect("encode");
    let rb = v9::InputReputerValueBundle {
        signature: sign(&other, &bytes),
        value_bundle: Some(vb),
        pubkey: k.pubkey_hex.clone(),
    };
    let mut s = state_with_open_nonce(&k);
    let r = Msg::InsertReputerPayload(v10::InsertReputerPayloadRequest {
        sender: k.addr.clone(),
        reputer_value_bundle: Some(rb),
    })
    .execute(&mut s, 30);
    match r {
        Err(e) => {
            assert_eq!((e.codespace, e.code), ("sdk", 4));
            assert!(e.log.contains("signature verification failed"), "{}", e.log);
        }
        Ok(_) => panic!("a bundle signed with another key was accepted"),
    }
}

#[test]
fn unknown_type_urls_do_not_decode() {
    let e = Msg::decode("/emissions.v5.RegisterRequest", &[]).expect_err("v5 is not known");
    assert_eq!((e.codespace, e.code), ("sdk", 2));
    // Both packages decode; the ante refuses the one the devnet does not serve.
    assert!(Msg::decode("/emissions.v10.RegisterRequest", &[]).is_ok());
    assert!(Msg::decode("/emissions.v9.RegisterRequest", &[]).is_ok());
    let _ = type_url::REGISTER;
}

/// A v9 worker payload carrying v10's labelled values (field 7) is refused like the SDK's
/// unknown-field check; the same payload under v10 decodes.
#[test]
fn v9_worker_payload_with_field_7_does_not_decode() {
    use allora_protocol::proto::emissions::v10;
    use prost::Message as _;
    let m = v10::InsertWorkerPayloadRequest {
        sender: "x".into(),
        worker_data_bundle: Some(v10::InputWorkerDataBundle {
            inference_forecasts_bundle: Some(v10::InputInferenceForecastBundle {
                inference: Some(v10::InputInference {
                    values: vec![v10::InputLabeledValue {
                        label: "y".into(),
                        value: "1".into(),
                    }],
                    ..Default::default()
                }),
                forecast: None,
            }),
            ..Default::default()
        }),
    }
    .encode_to_vec();
    let e = Msg::decode("/emissions.v9.InsertWorkerPayloadRequest", &m).expect_err("field 7");
    assert_eq!((e.codespace, e.code), ("sdk", 2));
    assert!(Msg::decode("/emissions.v10.InsertWorkerPayloadRequest", &m).is_ok());
}
