//! Tests of the emissions v10 encoding and signing against the protocol reference.

use super::*;
use crate::account::test_signer::TestSigner;
use crate::proto::emissions::v9::{
    InputOneOutInfererForecasterValues, InputWithheldWorkerAttributedValue,
    InputWorkerAttributedValue,
};
use sha2::{Digest, Sha256};

const ADDR: &str = "allo10xcqpzrky6eff2g52qdye53xkk9jxkvr0nqlh6";

fn wallet() -> TestSigner {
    TestSigner::from_secret_bytes(&[1u8; 32])
}

fn other() -> TestSigner {
    TestSigner::from_secret_bytes(&[2u8; 32])
}

#[test]
fn v5_style_vector_bytes_hash_signature() {
    // reference §C.2: {inference:{topic_id:69, block_height:100, inferer, value:"123.45"}}
    let bundle = InputInferenceForecastBundle {
        inference: Some(InputInference {
            topic_id: 69,
            block_height: 100,
            inferer: ADDR.into(),
            value: "123.45".into(),
            ..Default::default()
        }),
        forecast: None,
    };
    let bytes = bundle.encode_to_vec();
    assert_eq!(
        hex::encode(&bytes),
        "0a39084510641a2b616c6c6f3130786371707a726b793665666632673532716479653533786b6b396a786b7672306e716c683622063132332e3435"
    );
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        "0f169c67ffbf37afff638a009967616382ce1caa727e38002c081e8987269058"
    );
    assert_eq!(
        hex::encode(wallet().sign_bytes(&bytes)),
        "8747a50ee9124cdf89ad90a817894e8e96660fa02b3e0d4da614d65a9eba57d10de3511e0c70339ea71b17eb376877b394afeff26c73c08b928d2cb7d1143af6"
    );
    assert_eq!(worker_bundle_sign_bytes(&bundle).unwrap(), bytes);
}

#[test]
fn v10_vector_via_sign_worker_bundle() {
    let w = wallet();
    assert_eq!(w.address(), ADDR);
    let b = sign_worker_bundle(
        &w,
        69,
        100,
        Some(vec![(SCALAR_LABEL.into(), "123.45".into())]),
        None,
    )
    .unwrap();
    let inner = b.inference_forecasts_bundle.as_ref().unwrap();
    let bytes = inner.encode_to_vec();
    assert_eq!(
        hex::encode(&bytes),
        "0a41084510641a2b616c6c6f3130786371707a726b793665666632673532716479653533786b6b396a786b7672306e716c68362201303a0b0a017912063132332e3435"
    );
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        "de3d2327d8bf1be07c247e3e7d4161cc6b32fc7048ed1f1169bb4b5cdc08eb96"
    );
    assert_eq!(
        hex::encode(&b.inferences_forecasts_bundle_signature),
        "b6d0ad6ca79da7871a5e526176186e535ddd574669ec73ec0ba8101273d4b22c387e4532e0266b17173df365fbbce6f715652557bc92366d841bf1a5c7da2592"
    );
    assert_eq!(b.worker, ADDR);
    assert_eq!(b.topic_id, 69);
    assert_eq!(b.nonce.unwrap().block_height, 100);
    assert_eq!(
        b.pubkey,
        "031b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f"
    );
    verify_worker_bundle(&b).unwrap();
}

#[test]
fn worker_values_are_canonicalized_before_signing() {
    let w = wallet();
    let b = sign_worker_bundle(
        &w,
        1,
        10,
        Some(vec![("y".into(), "1.2345e-07".into())]),
        Some(vec![
            (other().address().into(), "1e3".into()),
            (ADDR.into(), "0.10".into()),
        ]),
    )
    .unwrap();
    let inner = b.inference_forecasts_bundle.as_ref().unwrap();
    assert_eq!(
        inner.inference.as_ref().unwrap().values[0].value,
        "1.2345E-7"
    );
    let fc = inner.forecast.as_ref().unwrap();
    let mut sorted: Vec<_> = fc
        .forecast_elements
        .iter()
        .map(|e| e.inferer.clone())
        .collect();
    sorted.sort();
    assert_eq!(
        fc.forecast_elements
            .iter()
            .map(|e| e.inferer.clone())
            .collect::<Vec<_>>(),
        sorted
    );
    verify_worker_bundle(&b).unwrap();
}

#[test]
fn verify_uses_canonical_reencoding() {
    // A bundle signed over a non-canonical spelling fails, because the chain re-renders
    // "1e3" as "1E+3" before verifying.
    let w = wallet();
    let mut inner = InputInferenceForecastBundle {
        inference: Some(InputInference {
            topic_id: 1,
            block_height: 5,
            inferer: w.address().into(),
            value: "0".into(),
            values: vec![InputLabeledValue {
                label: "y".into(),
                value: "1e3".into(),
            }],
            ..Default::default()
        }),
        forecast: None,
    };
    let sig = w.sign_bytes(&inner.encode_to_vec());
    let mut b = InputWorkerDataBundle {
        worker: w.address().into(),
        nonce: Some(Nonce { block_height: 5 }),
        topic_id: 1,
        inference_forecasts_bundle: Some(inner.clone()),
        inferences_forecasts_bundle_signature: sig.to_vec(),
        pubkey: w.pubkey_hex(),
    };
    assert!(matches!(
        verify_worker_bundle(&b),
        Err(ProtocolError::BadSignature)
    ));
    // …while the canonical spelling signed and sent as "1e3" verifies, since the
    // chain re-renders what it decoded.
    inner.inference.as_mut().unwrap().values[0].value = "1E+3".into();
    b.inferences_forecasts_bundle_signature = w.sign_bytes(&inner.encode_to_vec()).to_vec();
    verify_worker_bundle(&b).unwrap();
}

#[test]
fn verify_worker_rejects_wrong_binding_and_tampering() {
    let w = wallet();
    let good = sign_worker_bundle(&w, 7, 70, Some(vec![("y".into(), "2.5".into())]), None).unwrap();
    let mut b = good.clone();
    b.worker = other().address().into();
    assert!(matches!(
        verify_worker_bundle(&b),
        Err(ProtocolError::AddressMismatch { .. })
    ));
    let mut b = good.clone();
    b.pubkey = other().pubkey_hex();
    assert!(verify_worker_bundle(&b).is_err());
    let mut b = good.clone();
    b.inference_forecasts_bundle
        .as_mut()
        .unwrap()
        .inference
        .as_mut()
        .unwrap()
        .values[0]
        .value = "2.6".into();
    assert!(matches!(
        verify_worker_bundle(&b),
        Err(ProtocolError::BadSignature)
    ));
    let mut b = good.clone();
    b.pubkey = "zz".into();
    assert!(matches!(
        verify_worker_bundle(&b),
        Err(ProtocolError::InvalidPubkey)
    ));
    let mut b = good;
    b.inference_forecasts_bundle
        .as_mut()
        .unwrap()
        .inference
        .as_mut()
        .unwrap()
        .values[0]
        .value = "NaN".into();
    assert!(matches!(
        verify_worker_bundle(&b),
        Err(ProtocolError::InvalidDecimal { .. })
    ));
}

#[test]
fn sign_worker_rejects_bad_input() {
    let w = wallet();
    assert!(matches!(
        sign_worker_bundle(&w, 1, 1, None, None),
        Err(ProtocolError::EmptyWorkerBundle)
    ));
    assert!(matches!(
        sign_worker_bundle(&w, 1, 1, Some(vec![]), None),
        Err(ProtocolError::EmptyList(_))
    ));
    let err =
        sign_worker_bundle(&w, 1, 1, Some(vec![("y".into(), "inf".into())]), None).unwrap_err();
    assert!(err.to_string().contains("inference[y]"), "{err}");
    assert!(matches!(
        sign_worker_bundle(&w, 1, 1, None, Some(vec![("notanaddr".into(), "1".into())])),
        Err(ProtocolError::InvalidAddress { .. })
    ));
}

fn value_bundle() -> InputValueBundle {
    let o = other().address().to_owned();
    InputValueBundle {
        topic_id: 3,
        combined_value: "-1.5e-3".into(),
        naive_value: "0.25".into(),
        inferer_values: vec![InputWorkerAttributedValue {
            worker: o.clone(),
            value: "1e-8".into(),
        }],
        forecaster_values: vec![InputWorkerAttributedValue {
            worker: o.clone(),
            value: "2".into(),
        }],
        one_out_inferer_values: vec![InputWithheldWorkerAttributedValue {
            worker: o.clone(),
            value: "3.0".into(),
        }],
        one_out_forecaster_values: vec![],
        one_in_forecaster_values: vec![InputWorkerAttributedValue {
            worker: o.clone(),
            value: "-4".into(),
        }],
        one_out_inferer_forecaster_values: vec![InputOneOutInfererForecasterValues {
            forecaster: o.clone(),
            one_out_inferer_values: vec![InputWithheldWorkerAttributedValue {
                worker: o,
                value: "5E2".into(),
            }],
        }],
        ..Default::default()
    }
}

#[test]
fn reputer_sign_and_verify() {
    let w = wallet();
    assert!(matches!(
        sign_value_bundle(&w, value_bundle()),
        Err(ProtocolError::MissingNonce)
    ));
    let signed = sign_value_bundle_at(&w, 300, value_bundle()).unwrap();
    let vb = signed.value_bundle.as_ref().unwrap();
    assert_eq!(vb.reputer, ADDR);
    assert_eq!(
        vb.reputer_request_nonce
            .as_ref()
            .unwrap()
            .reputer_nonce
            .as_ref()
            .unwrap()
            .block_height,
        300
    );
    assert_eq!(vb.combined_value, "-0.0015");
    assert_eq!(vb.inferer_values[0].value, "1E-8");
    assert_eq!(
        vb.one_out_inferer_forecaster_values[0].one_out_inferer_values[0].value,
        "5E+2"
    );
    // the signature covers the whole bundle as encoded
    assert!(keys::verify_bytes(
        &w.pubkey_bytes(),
        &vb.encode_to_vec(),
        &signed.signature
    ));
    verify_reputer_bundle(&signed).unwrap();

    let mut t = signed.clone();
    t.value_bundle.as_mut().unwrap().topic_id = 4;
    assert!(matches!(
        verify_reputer_bundle(&t),
        Err(ProtocolError::BadSignature)
    ));
    let mut t = signed.clone();
    t.value_bundle.as_mut().unwrap().reputer = other().address().into();
    assert!(matches!(
        verify_reputer_bundle(&t),
        Err(ProtocolError::AddressMismatch { .. })
    ));
    let mut t = signed;
    t.value_bundle.as_mut().unwrap().naive_value = "Infinity".into();
    assert!(matches!(
        verify_reputer_bundle(&t),
        Err(ProtocolError::InvalidDecimal { .. })
    ));
}

#[test]
fn reputer_rejects_bad_values_and_addresses() {
    let w = wallet();
    let mut vb = value_bundle();
    vb.naive_value = String::new();
    let err = sign_value_bundle_at(&w, 1, vb).unwrap_err();
    assert!(err.to_string().contains("naive_value"), "{err}");
    let mut vb = value_bundle();
    vb.inferer_values[0].worker = "cosmos1xyz".into();
    assert!(matches!(
        sign_value_bundle_at(&w, 1, vb),
        Err(ProtocolError::InvalidAddress { .. })
    ));
    let mut vb = value_bundle();
    vb.one_out_inferer_forecaster_values[0]
        .one_out_inferer_values
        .clear();
    assert!(matches!(
        sign_value_bundle_at(&w, 1, vb),
        Err(ProtocolError::EmptyList(_))
    ));
}

#[test]
fn msgs_have_v10_type_urls_and_sender() {
    let w = wallet();
    let any = register_msg(&w, 9, true);
    assert_eq!(any.type_url, "/emissions.v10.RegisterRequest");
    let r = RegisterRequest::decode(any.value.as_slice()).unwrap();
    assert_eq!((r.sender.as_str(), r.owner.as_str()), (ADDR, ADDR));
    assert!(r.is_reputer);
    let any = add_stake_msg(&w, 9, 1_000_000);
    assert_eq!(any.type_url, "/emissions.v10.AddStakeRequest");
    assert_eq!(
        AddStakeRequest::decode(any.value.as_slice())
            .unwrap()
            .amount,
        "1000000"
    );
    let b = sign_worker_bundle(&w, 9, 1, Some(vec![("y".into(), "1".into())]), None).unwrap();
    let any = insert_worker_payload_msg(&w, b.clone());
    assert_eq!(any.type_url, "/emissions.v10.InsertWorkerPayloadRequest");
    let m = InsertWorkerPayloadRequest::decode(any.value.as_slice()).unwrap();
    assert_eq!(m.worker_data_bundle, Some(b));
    let rb = sign_value_bundle_at(&w, 1, value_bundle()).unwrap();
    let any = insert_reputer_payload_msg(&w, rb);
    assert_eq!(any.type_url, "/emissions.v10.InsertReputerPayloadRequest");
}
