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

pub(crate) fn canon(field: impl Into<String>, value: &str) -> Result<String, ProtocolError> {
    decimal::canonicalize(value).map_err(|source| ProtocolError::InvalidDecimal {
        field: field.into(),
        source,
    })
}

/// The chain's view of a Dec field: an empty string decodes as zero and is re-emitted as
/// `"0"`; anything else is re-rendered canonically.
pub(crate) fn recanon(field: impl Into<String>, value: &str) -> Result<String, ProtocolError> {
    if value.is_empty() {
        Ok("0".to_owned())
    } else {
        canon(field, value)
    }
}

pub(crate) fn check_address(field: impl Into<String>, value: &str) -> Result<(), ProtocolError> {
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

pub(crate) fn pubkey_and_address(pubkey_hex: &str) -> Result<(Vec<u8>, String), ProtocolError> {
    let pk = hex::decode(pubkey_hex).map_err(|_| ProtocolError::InvalidPubkey)?;
    if pk.len() != 33 {
        return Err(ProtocolError::InvalidPubkey);
    }
    let addr = keys::address_from_pubkey(&pk);
    Ok((pk, addr))
}

pub(crate) fn same_address(
    field: &'static str,
    expected: &str,
    actual: &str,
) -> Result<(), ProtocolError> {
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
mod tests;
