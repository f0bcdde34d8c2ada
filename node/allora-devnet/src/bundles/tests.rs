//! The devnet's bundle re-marshalling and signature checks against the protocol reference's
//! test vectors (§C.2), and the cases a lenient verifier would let through: a bundle signed
//! over a non-canonical spelling, or signed with a key other than its `pubkey`.

use k256::ecdsa::signature::Signer;
use prost::Message;

use super::*;

/// Reference §C.2: private key 0x01 × 32.
const REF_PUBKEY: &str = "031b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f";
const REF_ADDRESS: &str = "allo10xcqpzrky6eff2g52qdye53xkk9jxkvr0nqlh6";
const V5_BYTES: &str = "0a39084510641a2b616c6c6f3130786371707a726b793665666632673532716479653533786b6b396a786b7672306e716c683622063132332e3435";
const V5_SHA256: &str = "0f169c67ffbf37afff638a009967616382ce1caa727e38002c081e8987269058";
const V5_SIG: &str = "8747a50ee9124cdf89ad90a817894e8e96660fa02b3e0d4da614d65a9eba57d10de3511e0c70339ea71b17eb376877b394afeff26c73c08b928d2cb7d1143af6";
const V10_BYTES: &str = "0a41084510641a2b616c6c6f3130786371707a726b793665666632673532716479653533786b6b396a786b7672306e716c68362201303a0b0a017912063132332e3435";
const V10_SHA256: &str = "de3d2327d8bf1be07c247e3e7d4161cc6b32fc7048ed1f1169bb4b5cdc08eb96";
const V10_SIG: &str = "b6d0ad6ca79da7871a5e526176186e535ddd574669ec73ec0ba8101273d4b22c387e4532e0266b17173df365fbbce6f715652557bc92366d841bf1a5c7da2592";

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("test vector hex")
}

fn key(seed: u8) -> k256::ecdsa::SigningKey {
    k256::ecdsa::SigningKey::from_bytes(&[seed; 32].into()).expect("test key")
}

fn pubkey_hex(k: &k256::ecdsa::SigningKey) -> String {
    hex::encode(k.verifying_key().to_encoded_point(true).as_bytes())
}

/// RFC 6979 ECDSA over SHA-256, low-S — what the node and the reference SDK produce.
fn sign(k: &k256::ecdsa::SigningKey, msg: &[u8]) -> Vec<u8> {
    let s: k256::ecdsa::Signature = k.sign(msg);
    s.normalize_s().unwrap_or(s).to_bytes().to_vec()
}

/// The reference's v5-style bundle (`value` set, no labelled values).
fn v5_style(value: &str) -> v10::InputInferenceForecastBundle {
    v10::InputInferenceForecastBundle {
        inference: Some(v10::InputInference {
            topic_id: 69,
            block_height: 100,
            inferer: REF_ADDRESS.to_string(),
            value: value.to_string(),
            ..Default::default()
        }),
        forecast: None,
    }
}

/// The reference's v10-style bundle (`value` "0", the prediction under label "y").
fn v10_style(y: &str) -> v10::InputInferenceForecastBundle {
    let mut b = v5_style("0");
    if let Some(i) = b.inference.as_mut() {
        i.values = vec![v10::InputLabeledValue {
            label: "y".into(),
            value: y.into(),
        }];
    }
    b
}

fn worker_bundle(
    inner: v10::InputInferenceForecastBundle,
    pubkey: &str,
    sig: Vec<u8>,
) -> v10::InputWorkerDataBundle {
    v10::InputWorkerDataBundle {
        worker: REF_ADDRESS.to_string(),
        nonce: Some(v3::Nonce { block_height: 100 }),
        topic_id: 69,
        inference_forecasts_bundle: Some(inner),
        inferences_forecasts_bundle_signature: sig,
        pubkey: pubkey.to_string(),
    }
}

#[test]
fn reference_key_and_address() {
    assert_eq!(pubkey_hex(&key(1)), REF_PUBKEY);
    assert_eq!(
        crate::crypto::address_from_pubkey(&unhex(REF_PUBKEY)),
        REF_ADDRESS
    );
}

#[test]
fn worker_sign_bytes_are_the_reference_vectors() {
    use sha2::{Digest, Sha256};
    let v5 = worker_sign_bytes(&v5_style("123.45")).expect("encode");
    assert_eq!(hex::encode(&v5), V5_BYTES);
    assert_eq!(hex::encode(Sha256::digest(&v5)), V5_SHA256);
    let v10 = worker_sign_bytes(&v10_style("123.45")).expect("encode");
    assert_eq!(hex::encode(&v10), V10_BYTES);
    assert_eq!(hex::encode(Sha256::digest(&v10)), V10_SHA256);
    // The test helper signs like the reference (RFC 6979), so the other tests mean something.
    assert_eq!(hex::encode(sign(&key(1), &v5)), V5_SIG);
    assert_eq!(hex::encode(sign(&key(1), &v10)), V10_SIG);
}

#[test]
fn reference_signatures_verify() {
    let b = worker_bundle(v5_style("123.45"), REF_PUBKEY, unhex(V5_SIG));
    assert_eq!(verify_worker(&b), Ok(()));
    let b = worker_bundle(v10_style("123.45"), REF_PUBKEY, unhex(V10_SIG));
    assert_eq!(verify_worker(&b), Ok(()));
    // Upper-case hex is accepted like the chain's hex.DecodeString.
    let b = worker_bundle(
        v10_style("123.45"),
        &REF_PUBKEY.to_uppercase(),
        unhex(V10_SIG),
    );
    assert_eq!(verify_worker(&b), Ok(()));
}

#[test]
fn the_chain_re_renders_what_it_received() {
    // Sent as "1.2345E+2", re-marshalled as "123.45": the reference signature still holds,
    // because the chain verifies its own bytes, not the received ones.
    let b = worker_bundle(v10_style("1.2345E+2"), REF_PUBKEY, unhex(V10_SIG));
    assert_eq!(verify_worker(&b), Ok(()));
    // Trailing zeros are part of the value's spelling: "123.450" is another string.
    let b = worker_bundle(v10_style("123.450"), REF_PUBKEY, unhex(V10_SIG));
    assert_eq!(verify_worker(&b), Err(BundleError::Signature));
}

#[test]
fn a_bundle_signed_over_non_canonical_decimals_is_rejected() {
    // A signer that signs its own spelling ("1e-7") instead of the chain's ("1E-7") fails.
    let k = key(7);
    let inner = v10::InputInferenceForecastBundle {
        inference: Some(v10::InputInference {
            topic_id: 1,
            block_height: 10,
            inferer: "allo1ignored".into(),
            value: "0".into(),
            values: vec![v10::InputLabeledValue {
                label: "y".into(),
                value: "1e-7".into(),
            }],
            ..Default::default()
        }),
        forecast: None,
    };
    let naive = sign(&k, &inner.encode_to_vec());
    let b = worker_bundle(inner.clone(), &pubkey_hex(&k), naive);
    assert_eq!(verify_worker(&b), Err(BundleError::Signature));
    let canonical = sign(&k, &worker_sign_bytes(&inner).expect("encode"));
    let b = worker_bundle(inner, &pubkey_hex(&k), canonical);
    assert_eq!(verify_worker(&b), Ok(()));
}

#[test]
fn a_bundle_signed_with_another_key_is_rejected() {
    let inner = v10_style("123.45");
    let bytes = worker_sign_bytes(&inner).expect("encode");
    // Signed by key 2, claiming key 1.
    let b = worker_bundle(inner.clone(), REF_PUBKEY, sign(&key(2), &bytes));
    assert_eq!(verify_worker(&b), Err(BundleError::Signature));
    // Key 1's signature, claiming key 2.
    let b = worker_bundle(inner.clone(), &pubkey_hex(&key(2)), unhex(V10_SIG));
    assert_eq!(verify_worker(&b), Err(BundleError::Signature));
    // Not a key at all.
    let b = worker_bundle(inner, "02abcd", unhex(V10_SIG));
    assert_eq!(verify_worker(&b), Err(BundleError::Pubkey));
}

#[test]
fn undecodable_decimals_never_verify() {
    let b = worker_bundle(v10_style("NaN"), REF_PUBKEY, unhex(V10_SIG));
    assert!(matches!(
        verify_worker(&b),
        Err(BundleError::Decimal { .. })
    ));
}

fn value_bundle(combined: &str) -> v9::InputValueBundle {
    let w = |worker: &str, value: &str| v9::InputWorkerAttributedValue {
        worker: worker.into(),
        value: value.into(),
    };
    let ww = |worker: &str, value: &str| v9::InputWithheldWorkerAttributedValue {
        worker: worker.into(),
        value: value.into(),
    };
    v9::InputValueBundle {
        topic_id: 69,
        reputer_request_nonce: Some(v3::ReputerRequestNonce {
            reputer_nonce: Some(v3::Nonce { block_height: 100 }),
        }),
        reputer: REF_ADDRESS.into(),
        extra_data: vec![1, 2, 3],
        combined_value: combined.into(),
        inferer_values: vec![w("a", "-1.5"), w("b", "2")],
        forecaster_values: vec![w("c", "0.25")],
        naive_value: "1E-7".into(),
        one_out_inferer_values: vec![ww("a", "3"), ww("b", "4")],
        one_out_forecaster_values: vec![ww("c", "5")],
        one_in_forecaster_values: vec![w("c", "6")],
        one_out_inferer_forecaster_values: vec![v9::InputOneOutInfererForecasterValues {
            forecaster: "c".into(),
            one_out_inferer_values: vec![ww("a", "7"), ww("b", "8.0")],
        }],
    }
}

#[test]
fn hand_marshalling_agrees_with_the_generated_types_on_canonical_input() {
    // Canonical values, every field set: gogoproto's rules and prost's encoding coincide,
    // so this pins the field numbers of the reference tables against the generated types.
    let vb = value_bundle("-0.5");
    assert_eq!(
        value_bundle_sign_bytes(&vb).expect("encode"),
        vb.encode_to_vec()
    );
    let mut inner = v10_style("123.45");
    if let Some(i) = inner.inference.as_mut() {
        i.block_height = -3;
        i.extra_data = vec![9];
        i.proof = "p".into();
    }
    inner.forecast = Some(v10::InputForecast {
        topic_id: 69,
        block_height: 100,
        forecaster: REF_ADDRESS.into(),
        forecast_elements: vec![v10::InputForecastElement {
            inferer: "a".into(),
            value: "0.10".into(),
        }],
        extra_data: vec![4],
    });
    assert_eq!(
        worker_sign_bytes(&inner).expect("encode"),
        inner.encode_to_vec()
    );
}

#[test]
fn zero_nonce_and_empty_decimals_follow_gogoproto() {
    let mut vb = value_bundle("1");
    vb.reputer_request_nonce = Some(v3::ReputerRequestNonce {
        reputer_nonce: Some(v3::Nonce { block_height: 0 }),
    });
    vb.naive_value = String::new();
    let bytes = value_bundle_sign_bytes(&vb).expect("encode");
    // Field 2 → ReputerRequestNonce{reputer_nonce: Nonce{}} = 12 02 0a 00 (reference §C.2).
    assert!(bytes.windows(4).any(|w| w == [0x12, 0x02, 0x0a, 0x00]));
    // An empty Dec is re-marshalled as "0": field 8 = 42 01 30.
    assert!(bytes.windows(3).any(|w| w == [0x42, 0x01, b'0']));
}

fn reputer_bundle(
    vb: v9::InputValueBundle,
    k: &k256::ecdsa::SigningKey,
    sig: Vec<u8>,
) -> v9::InputReputerValueBundle {
    v9::InputReputerValueBundle {
        value_bundle: Some(vb),
        signature: sig,
        pubkey: pubkey_hex(k),
    }
}

#[test]
fn reputer_signatures_cover_the_whole_canonical_value_bundle() {
    let k = key(1);
    let signed = value_bundle("0.1");
    let sig = sign(&k, &value_bundle_sign_bytes(&signed).expect("encode"));
    assert_eq!(
        verify_reputer(&reputer_bundle(signed.clone(), &k, sig.clone())),
        Ok(())
    );
    // Same value, other spelling: re-rendered to "0.1" again, still valid.
    assert_eq!(
        verify_reputer(&reputer_bundle(value_bundle("1e-1"), &k, sig.clone())),
        Ok(())
    );
    // Another value, or another nonce, breaks it.
    assert_eq!(
        verify_reputer(&reputer_bundle(value_bundle("0.10"), &k, sig.clone())),
        Err(BundleError::Signature)
    );
    let mut moved = signed.clone();
    moved.reputer_request_nonce = Some(v3::ReputerRequestNonce {
        reputer_nonce: Some(v3::Nonce { block_height: 101 }),
    });
    assert_eq!(
        verify_reputer(&reputer_bundle(moved, &k, sig.clone())),
        Err(BundleError::Signature)
    );
    // Signed over the received (non-canonical) spelling instead of the chain's.
    let loose = value_bundle("1e-1");
    let naive = sign(&k, &loose.encode_to_vec());
    assert_eq!(
        verify_reputer(&reputer_bundle(loose, &k, naive)),
        Err(BundleError::Signature)
    );
    // Signed by another key than the one named.
    assert_eq!(
        verify_reputer(&reputer_bundle(signed, &key(2), sig)),
        Err(BundleError::Signature)
    );
}
