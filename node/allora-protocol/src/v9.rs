//! emissions v9 payloads (allora-chain v0.16.0): the worker bundle and the Msgs that carry
//! worker and reputer payloads under `/emissions.v9.*`.
//!
//! v9 differs from v10 only where a node notices it: `InputInference` has no field 7
//! (`values`), so an inference is one scalar in `value` and a topic cannot be multi-label.
//! The signing rules are the same (reference §C.1): the worker signs the serialized
//! `InputInferenceForecastBundle`; the reputer signs the whole `emissions.v9.InputValueBundle`,
//! which is also what v10 carries — so reputer signing and verification are shared with
//! [`crate::v10`], and only the Msg wrapper and its type URL change here.

use prost::Message;

use super::{ProtocolError, to_any};
use crate::account::Signer;
use crate::proto::emissions::v3::Nonce;
use crate::proto::emissions::v9::{
    AddStakeRequest, InputForecast, InputForecastElement, InputInference,
    InputInferenceForecastBundle, InputReputerValueBundle, InputWorkerDataBundle,
    InsertReputerPayloadRequest, InsertWorkerPayloadRequest, RegisterRequest,
};
use crate::v10::{canon, check_address, pubkey_and_address, recanon, same_address};

pub const MSG_TYPE_URL_REGISTER: &str = "/emissions.v9.RegisterRequest";
pub const MSG_TYPE_URL_ADD_STAKE: &str = "/emissions.v9.AddStakeRequest";
pub const MSG_TYPE_URL_INSERT_WORKER_PAYLOAD: &str = "/emissions.v9.InsertWorkerPayloadRequest";
pub const MSG_TYPE_URL_INSERT_REPUTER_PAYLOAD: &str = "/emissions.v9.InsertReputerPayloadRequest";

/// Builds and signs a v9 worker bundle for `nonce`. `inference` must hold exactly one
/// `(label, value)` (v9 has no multi-label inference; the label is not sent). `forecast` is
/// a list of `(inferer address, forecasted loss)`, sorted by inferer before signing.
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
        Some(values) if values.len() > 1 => {
            return Err(ProtocolError::MultiLabelUnsupported {
                version: 9,
                labels: values.into_iter().map(|(l, _)| l).collect(),
            });
        }
        Some(mut values) => {
            let (label, value) = values.remove(0);
            Some(InputInference {
                topic_id,
                block_height: nonce,
                inferer: me.clone(),
                value: canon(format!("inference[{label}]"), &value)?,
                extra_data: Vec::new(),
                proof: String::new(),
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

/// The bytes a v9 chain verifies a worker signature over: the bundle with every decimal
/// re-rendered canonically.
pub fn worker_bundle_sign_bytes(
    bundle: &InputInferenceForecastBundle,
) -> Result<Vec<u8>, ProtocolError> {
    let mut b = bundle.clone();
    if let Some(inf) = b.inference.as_mut() {
        inf.value = recanon("inference.value", &inf.value)?;
    }
    if let Some(fc) = b.forecast.as_mut() {
        for e in fc.forecast_elements.iter_mut() {
            e.value = recanon(format!("forecast[{}]", e.inferer), &e.value)?;
        }
    }
    Ok(b.encode_to_vec())
}

/// Verifies a v9 worker bundle like the chain: pubkey ↔ worker/inferer/forecaster binding
/// and the signature over the canonical re-encoding.
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
    if crate::account::verify_bytes(&pk, &bytes, &b.inferences_forecasts_bundle_signature) {
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

/// `InsertReputerPayload` Msg (sender = the wallet) as an `Any`. The bundle type is the
/// same `emissions.v9.InputReputerValueBundle` v10 carries.
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

    fn wallet() -> TestSigner {
        TestSigner::from_secret_bytes(&[1u8; 32])
    }

    /// A v9 bundle signs the scalar in field 4 and has no field 7; it verifies, and the
    /// same bytes decode as a v10 bundle with no labelled values.
    #[test]
    fn scalar_inference_signs_without_field_7() {
        let w = wallet();
        let b = sign_worker_bundle(&w, 3, 40, Some(vec![("y".into(), "1.5".into())]), None)
            .expect("sign");
        verify_worker_bundle(&b).expect("verify");
        let inner = b.inference_forecasts_bundle.as_ref().expect("inner");
        assert_eq!(inner.inference.as_ref().expect("inference").value, "1.5");
        let as_v10 = crate::proto::emissions::v10::InputInferenceForecastBundle::decode(
            inner.encode_to_vec().as_slice(),
        )
        .expect("decode");
        assert!(as_v10.inference.expect("inference").values.is_empty());
    }

    #[test]
    fn multi_label_inference_is_refused() {
        let err = sign_worker_bundle(
            &wallet(),
            3,
            40,
            Some(vec![("a".into(), "1".into()), ("b".into(), "2".into())]),
            None,
        )
        .expect_err("two labels");
        assert!(
            matches!(err, ProtocolError::MultiLabelUnsupported { version: 9, ref labels } if labels.len() == 2)
        );
    }

    #[test]
    fn tampered_bundle_fails_verification() {
        let w = wallet();
        let mut b = sign_worker_bundle(&w, 3, 40, Some(vec![("y".into(), "2".into())]), None)
            .expect("sign");
        if let Some(i) = b
            .inference_forecasts_bundle
            .as_mut()
            .and_then(|x| x.inference.as_mut())
        {
            i.value = "3".into();
        }
        assert!(matches!(
            verify_worker_bundle(&b),
            Err(ProtocolError::BadSignature)
        ));
    }
}
