//! The Allora chain protocol, pure (no I/O): generated proto types ([`proto`]), canonical
//! decimals ([`decimal`]), accounts and signature checks ([`account`]), the native loss
//! functions reputers share ([`loss`]), and version-specific encoding: which messages a node sends, which bytes it signs and
//! how the chain re-encodes them before verifying (protocol reference §A, §C).
//!
//! Everything that depends on the emissions package version goes through
//! [`emissions::EmissionsVersion`] (paths, type URLs, payload Msgs, version-specific answer
//! decoding into neutral types); its per-version encoders are the sibling modules [`v9`]
//! (allora-chain v0.16.0) and [`v10`] (v0.17.0). A new version is a new module plus one arm
//! in each `match` of `emissions`.

pub mod account;
pub mod decimal;
pub mod emissions;
pub mod loss;
pub mod methods;
pub mod proto;
pub mod v10;
pub mod v9;

pub use account::Signer;
pub use emissions::EmissionsVersion;

pub use v10::{
    MSG_TYPE_URL_ADD_STAKE, MSG_TYPE_URL_INSERT_REPUTER_PAYLOAD,
    MSG_TYPE_URL_INSERT_WORKER_PAYLOAD, MSG_TYPE_URL_REGISTER, add_stake_msg,
    insert_reputer_payload_msg, insert_worker_payload_msg, register_msg, sign_value_bundle,
    sign_value_bundle_at, sign_worker_bundle, verify_reputer_bundle, verify_worker_bundle,
    worker_bundle_sign_bytes,
};

use crate::decimal::DecimalError;
use thiserror::Error;

/// Why a bundle could not be built, signed or verified. Names the offending field.
#[derive(Debug, Error)]
pub enum ProtocolError {
    #[error("{field}: {source}")]
    InvalidDecimal {
        field: String,
        #[source]
        source: DecimalError,
    },
    #[error("{field}: {value:?} is not a bech32 `allo` address")]
    InvalidAddress { field: String, value: String },
    #[error("a worker bundle needs an inference, a forecast or both; got neither")]
    EmptyWorkerBundle,
    #[error("{0} must not be empty")]
    EmptyList(&'static str),
    #[error("the value bundle has no reputer_request_nonce; set it (or use sign_value_bundle_at)")]
    MissingNonce,
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("pubkey is not the hex of a 33-byte compressed secp256k1 key")]
    InvalidPubkey,
    #[error("{field} is {actual} but the signing pubkey belongs to {expected}")]
    AddressMismatch {
        field: &'static str,
        expected: String,
        actual: String,
    },
    #[error("signature verification failed over the canonical re-encoding")]
    BadSignature,
    #[error(
        "the chain serves emissions v{version}, which has no multi-label inferences, but the inference has {} labels ({}); use a single-output adapter or a v10 chain", labels.len(), labels.join(", ")
    )]
    MultiLabelUnsupported { version: u32, labels: Vec<String> },
}

/// Packs a message into a protobuf `Any` with the given type URL.
pub fn to_any<M: prost::Message>(type_url: &str, msg: &M) -> prost_types::Any {
    prost_types::Any {
        type_url: type_url.to_owned(),
        value: msg.encode_to_vec(),
    }
}
