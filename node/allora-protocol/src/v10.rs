//! emissions v10 payloads: worker and reputer bundles, their signatures, and the Msgs
//! that carry them.
//!
//! Signing rules (reference §C.1): the worker signs the serialized
//! `InputInferenceForecastBundle` only; the reputer signs the whole `InputValueBundle`
//! after `reputer` and `reputer_request_nonce` are set. The chain decodes, re-renders every
//! decimal in canonical form, re-encodes and verifies — so we canonicalize before signing,
//! and [`verify_worker_bundle`]/[`verify_reputer_bundle`] verify the same way the chain does.

use prost::Message;

use super::{ProtocolError, to_any};
use crate::account::{self as keys, Signer};
use crate::decimal;
use crate::proto::emissions::v3::{Nonce, ReputerRequestNonce};
use crate::proto::emissions::v9::{InputReputerValueBundle, InputValueBundle};
use crate::proto::emissions::v10::{
    AddStakeRequest, InputForecast, InputForecastElement, InputInference,
    InputInferenceForecastBundle, InputLabeledValue, InputWorkerDataBundle,
    InsertReputerPayloadRequest, InsertWorkerPayloadRequest, RegisterRequest,
};

pub const MSG_TYPE_URL_REGISTER: &str = "/emissions.v10.RegisterRequest";
pub const MSG_TYPE_URL_ADD_STAKE: &str = "/emissions.v10.AddStakeRequest";
pub const MSG_TYPE_URL_INSERT_WORKER_PAYLOAD: &str = "/emissions.v10.InsertWorkerPayloadRequest";
pub const MSG_TYPE_URL_INSERT_REPUTER_PAYLOAD: &str = "/emissions.v10.InsertReputerPayloadRequest";

/// Label the reference SDK uses for a scalar (single-output) inference.
pub const SCALAR_LABEL: &str = "y";

fn canon(field: impl Into<String>, value: &str) -> Result<String, ProtocolError> {
    decimal::canonicalize(value).map_err(|source| ProtocolError::InvalidDecimal {
        field: field.into(),
        source,
    })
}

/// The chain's view of a Dec field: an empty string decodes as zero and is re-emitted as
/// `"0"`; anything else is re-rendered canonically.
fn recanon(field: impl Into<String>, value: &str) -> Result<String, ProtocolError> {
    if value.is_empty() {
        Ok("0".to_owned())
    } else {
        canon(field, value)
    }
}

fn check_address(field: impl Into<String>, value: &str) -> Result<(), ProtocolError> {
    if keys::is_valid_address(value) {
        Ok(())
    } else {
        Err(ProtocolError::InvalidAddress {
            field: field.into(),
            value: value.to_owned(),
        })
    }
}

/// Builds and signs a worker bundle for `nonce` (the nonce block height).
///
/// `inference` is a list of `(label, value)`; a scalar topic passes one entry labelled
/// [`SCALAR_LABEL`]. The legacy `value` field is `"0"` and the predictions go in `values`, as
/// the reference SDK does. `forecast` is a list of `(inferer address, forecasted loss)`,
/// sorted by inferer before signing. Every value is canonicalized first.
pub fn sign_worker_bundle(
    wallet: &dyn Signer,
    topic_id: u64,
    nonce: i64,
    inference: Option<Vec<(String, String)>>,
    forecast: Option<Vec<(String, String)>>,
) -> Result<InputWorkerDataBundle, ProtocolError> {
    if inference.is_none() && forecast.is_none() {
        return Err(ProtocolError::EmptyWorkerBundle);
    }
    let me = wallet.address().to_owned();
    let inference = match inference {
        None => None,
        Some(values) if values.is_empty() => return Err(ProtocolError::EmptyList("inference")),
        Some(values) => {
            let values = values
                .into_iter()
                .map(|(label, value)| {
                    let value = canon(format!("inference[{label}]"), &value)?;
                    Ok(InputLabeledValue { label, value })
                })
                .collect::<Result<Vec<_>, ProtocolError>>()?;
            Some(InputInference {
                topic_id,
                block_height: nonce,
                inferer: me.clone(),
                value: "0".to_owned(),
                extra_data: Vec::new(),
                proof: String::new(),
                values,
            })
        }
    };
    let forecast = match forecast {
        None => None,
        Some(elements) if elements.is_empty() => {
            return Err(ProtocolError::EmptyList("forecast"));
        }
        Some(mut elements) => {
            elements.sort_by(|a, b| a.0.cmp(&b.0));
            let forecast_elements = elements
                .into_iter()
                .map(|(inferer, value)| {
                    check_address("forecast inferer", &inferer)?;
                    let value = canon(format!("forecast[{inferer}]"), &value)?;
                    Ok(InputForecastElement { inferer, value })
                })
                .collect::<Result<Vec<_>, ProtocolError>>()?;
            Some(InputForecast {
                topic_id,
                block_height: nonce,
                forecaster: me.clone(),
                forecast_elements,
                extra_data: Vec::new(),
            })
        }
    };
    let bundle = InputInferenceForecastBundle {
        inference,
        forecast,
    };
    let signature = wallet.sign_bytes(&bundle.encode_to_vec());
    Ok(InputWorkerDataBundle {
        worker: me,
        nonce: Some(Nonce {
            block_height: nonce,
        }),
        topic_id,
        inference_forecasts_bundle: Some(bundle),
        inferences_forecasts_bundle_signature: signature.to_vec(),
        pubkey: wallet.pubkey_hex(),
    })
}

/// The bytes the chain verifies a worker signature over: the inference/forecast bundle
/// with every decimal re-rendered canonically.
pub fn worker_bundle_sign_bytes(
    bundle: &InputInferenceForecastBundle,
) -> Result<Vec<u8>, ProtocolError> {
    let mut b = bundle.clone();
    if let Some(inf) = b.inference.as_mut() {
        inf.value = recanon("inference.value", &inf.value)?;
        for v in inf.values.iter_mut() {
            v.value = recanon(format!("inference[{}]", v.label), &v.value)?;
        }
    }
    if let Some(fc) = b.forecast.as_mut() {
        for e in fc.forecast_elements.iter_mut() {
            e.value = recanon(format!("forecast[{}]", e.inferer), &e.value)?;
        }
    }
    Ok(b.encode_to_vec())
}

fn pubkey_and_address(pubkey_hex: &str) -> Result<(Vec<u8>, String), ProtocolError> {
    let pk = hex::decode(pubkey_hex).map_err(|_| ProtocolError::InvalidPubkey)?;
    if pk.len() != 33 {
        return Err(ProtocolError::InvalidPubkey);
    }
    let addr = keys::address_from_pubkey(&pk);
    Ok((pk, addr))
}

fn same_address(field: &'static str, expected: &str, actual: &str) -> Result<(), ProtocolError> {
    if expected == actual {
        Ok(())
    } else {
        Err(ProtocolError::AddressMismatch {
            field,
            expected: expected.to_owned(),
            actual: actual.to_owned(),
        })
    }
}

/// Verifies a worker bundle like the chain: pubkey ↔ worker/inferer/forecaster binding and
/// the signature over the canonical re-encoding.
pub fn verify_worker_bundle(b: &InputWorkerDataBundle) -> Result<(), ProtocolError> {
    let (pk, addr) = pubkey_and_address(&b.pubkey)?;
    same_address("worker", &addr, &b.worker)?;
    if b.nonce.is_none() {
        return Err(ProtocolError::MissingField("nonce"));
    }
    let inner = b
        .inference_forecasts_bundle
        .as_ref()
        .ok_or(ProtocolError::MissingField("inference_forecasts_bundle"))?;
    if inner.inference.is_none() && inner.forecast.is_none() {
        return Err(ProtocolError::EmptyWorkerBundle);
    }
    if let Some(inf) = &inner.inference {
        same_address("inference.inferer", &addr, &inf.inferer)?;
    }
    if let Some(fc) = &inner.forecast {
        same_address("forecast.forecaster", &addr, &fc.forecaster)?;
        if fc.forecast_elements.is_empty() {
            return Err(ProtocolError::EmptyList("forecast"));
        }
        for e in &fc.forecast_elements {
            check_address("forecast inferer", &e.inferer)?;
        }
    }
    let bytes = worker_bundle_sign_bytes(inner)?;
    if keys::verify_bytes(&pk, &bytes, &b.inferences_forecasts_bundle_signature) {
        Ok(())
    } else {
        Err(ProtocolError::BadSignature)
    }
}

/// Applies `f` to every decimal of a value bundle, with a field name for errors.
fn map_value_bundle_decimals(
    vb: &mut InputValueBundle,
    f: &dyn Fn(String, &str) -> Result<String, ProtocolError>,
) -> Result<(), ProtocolError> {
    vb.combined_value = f("combined_value".into(), &vb.combined_value)?;
    vb.naive_value = f("naive_value".into(), &vb.naive_value)?;
    for v in vb.inferer_values.iter_mut() {
        v.value = f(format!("inferer_values[{}]", v.worker), &v.value)?;
    }
    for v in vb.forecaster_values.iter_mut() {
        v.value = f(format!("forecaster_values[{}]", v.worker), &v.value)?;
    }
    for v in vb.one_out_inferer_values.iter_mut() {
        v.value = f(format!("one_out_inferer_values[{}]", v.worker), &v.value)?;
    }
    for v in vb.one_out_forecaster_values.iter_mut() {
        v.value = f(format!("one_out_forecaster_values[{}]", v.worker), &v.value)?;
    }
    for v in vb.one_in_forecaster_values.iter_mut() {
        v.value = f(format!("one_in_forecaster_values[{}]", v.worker), &v.value)?;
    }
    for g in vb.one_out_inferer_forecaster_values.iter_mut() {
        for v in g.one_out_inferer_values.iter_mut() {
            v.value = f(
                format!(
                    "one_out_inferer_forecaster_values[{}][{}]",
                    g.forecaster, v.worker
                ),
                &v.value,
            )?;
        }
    }
    Ok(())
}

fn check_value_bundle_addresses(vb: &InputValueBundle) -> Result<(), ProtocolError> {
    let lists = [
        ("inferer_values", &vb.inferer_values),
        ("forecaster_values", &vb.forecaster_values),
        ("one_in_forecaster_values", &vb.one_in_forecaster_values),
    ];
    for (name, list) in lists {
        for v in list {
            check_address(name, &v.worker)?;
        }
    }
    let withheld = [
        ("one_out_inferer_values", &vb.one_out_inferer_values),
        ("one_out_forecaster_values", &vb.one_out_forecaster_values),
    ];
    for (name, list) in withheld {
        for v in list {
            check_address(name, &v.worker)?;
        }
    }
    for g in &vb.one_out_inferer_forecaster_values {
        check_address(
            "one_out_inferer_forecaster_values.forecaster",
            &g.forecaster,
        )?;
        if g.one_out_inferer_values.is_empty() {
            // An empty repeated field decodes as nil, which the chain rejects (§C.4).
            return Err(ProtocolError::EmptyList(
                "one_out_inferer_forecaster_values.one_out_inferer_values",
            ));
        }
        for v in &g.one_out_inferer_values {
            check_address("one_out_inferer_forecaster_values.worker", &v.worker)?;
        }
    }
    Ok(())
}

/// Sets `reputer` to the wallet's address, canonicalizes every value and signs the whole
/// value bundle. `reputer_request_nonce` must already be set (see [`sign_value_bundle_at`]).
pub fn sign_value_bundle(
    wallet: &dyn Signer,
    mut bundle: InputValueBundle,
) -> Result<InputReputerValueBundle, ProtocolError> {
    let has_nonce = bundle
        .reputer_request_nonce
        .as_ref()
        .is_some_and(|n| n.reputer_nonce.is_some());
    if !has_nonce {
        return Err(ProtocolError::MissingNonce);
    }
    bundle.reputer = wallet.address().to_owned();
    map_value_bundle_decimals(&mut bundle, &|f, v| canon(f, v))?;
    check_value_bundle_addresses(&bundle)?;
    let signature = wallet.sign_bytes(&bundle.encode_to_vec());
    Ok(InputReputerValueBundle {
        value_bundle: Some(bundle),
        signature: signature.to_vec(),
        pubkey: wallet.pubkey_hex(),
    })
}

/// [`sign_value_bundle`] for reputer nonce `nonce` (sets `reputer_request_nonce` first).
pub fn sign_value_bundle_at(
    wallet: &dyn Signer,
    nonce: i64,
    mut bundle: InputValueBundle,
) -> Result<InputReputerValueBundle, ProtocolError> {
    bundle.reputer_request_nonce = Some(ReputerRequestNonce {
        reputer_nonce: Some(Nonce {
            block_height: nonce,
        }),
    });
    sign_value_bundle(wallet, bundle)
}

/// Verifies a reputer bundle like the chain: pubkey ↔ reputer binding, addresses, and the
/// signature over the canonical re-encoding of the whole value bundle.
pub fn verify_reputer_bundle(b: &InputReputerValueBundle) -> Result<(), ProtocolError> {
    let (pk, addr) = pubkey_and_address(&b.pubkey)?;
    let vb = b
        .value_bundle
        .as_ref()
        .ok_or(ProtocolError::MissingField("value_bundle"))?;
    same_address("value_bundle.reputer", &addr, &vb.reputer)?;
    if vb.reputer_request_nonce.is_none() {
        return Err(ProtocolError::MissingNonce);
    }
    check_value_bundle_addresses(vb)?;
    let mut re = vb.clone();
    map_value_bundle_decimals(&mut re, &|f, v| recanon(f, v))?;
    if keys::verify_bytes(&pk, &re.encode_to_vec(), &b.signature) {
        Ok(())
    } else {
        Err(ProtocolError::BadSignature)
    }
}

/// `InsertWorkerPayload` Msg (sender = the wallet) as an `Any`.
pub fn insert_worker_payload_msg(
    wallet: &dyn Signer,
    bundle: InputWorkerDataBundle,
) -> prost_types::Any {
    to_any(
        MSG_TYPE_URL_INSERT_WORKER_PAYLOAD,
        &InsertWorkerPayloadRequest {
            sender: wallet.address().to_owned(),
            worker_data_bundle: Some(bundle),
        },
    )
}

/// `InsertReputerPayload` Msg (sender = the wallet) as an `Any`.
pub fn insert_reputer_payload_msg(
    wallet: &dyn Signer,
    bundle: InputReputerValueBundle,
) -> prost_types::Any {
    to_any(
        MSG_TYPE_URL_INSERT_REPUTER_PAYLOAD,
        &InsertReputerPayloadRequest {
            sender: wallet.address().to_owned(),
            reputer_value_bundle: Some(bundle),
        },
    )
}

/// `Register` Msg: sender = owner = the wallet.
pub fn register_msg(wallet: &dyn Signer, topic_id: u64, is_reputer: bool) -> prost_types::Any {
    to_any(
        MSG_TYPE_URL_REGISTER,
        &RegisterRequest {
            sender: wallet.address().to_owned(),
            topic_id,
            owner: wallet.address().to_owned(),
            is_reputer,
        },
    )
}

/// `AddStake` Msg for `amount` uallo.
pub fn add_stake_msg(wallet: &dyn Signer, topic_id: u64, amount: u128) -> prost_types::Any {
    to_any(
        MSG_TYPE_URL_ADD_STAKE,
        &AddStakeRequest {
            sender: wallet.address().to_owned(),
            topic_id,
            amount: amount.to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
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
        let good =
            sign_worker_bundle(&w, 7, 70, Some(vec![("y".into(), "2.5".into())]), None).unwrap();
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
}
