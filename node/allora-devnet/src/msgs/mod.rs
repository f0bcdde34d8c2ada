//! The four emissions messages a node sends — Register, AddStake, InsertWorkerPayload,
//! InsertReputerPayload — plus x/feegrant's MsgGrantAllowance (for operators granting fee
//! allowances to node wallets), executed with the chain's validations in the chain's order
//! (reference §C.4) and its error codes.
//!
//! One file per concern: `registration` (Register, AddStake), `worker` and `reputer` (the
//! payloads). Bundle signatures are verified by [`crate::bundles`] over the devnet's own
//! re-marshalling of the bundle, and decimals are checked by [`crate::canonical`] — never
//! by the node's signing or decimal code, so a mistake the node makes is caught here.

mod registration;
mod reputer;
mod worker;

use prost::Message;

use allora_protocol::proto::emissions::v10;

use crate::abci::{self, AbciError};
use crate::state::{DENOM, State, TopicState, is_allo_address};

/// Any type URLs of the messages the devnet executes (reference §A.1, §I): the same four
/// messages under `emissions.v9` and `emissions.v10`. The devnet's own copies: a node that
/// spelled one wrong gets the SDK's "unable to resolve type URL" instead of a devnet that
/// agrees with it. Which package is accepted is the ante's check against the served version.
pub(crate) mod type_url {
    pub(crate) const REGISTER: &str = "RegisterRequest";
    pub(crate) const ADD_STAKE: &str = "AddStakeRequest";
    pub(crate) const INSERT_WORKER_PAYLOAD: &str = "InsertWorkerPayloadRequest";
    pub(crate) const INSERT_REPUTER_PAYLOAD: &str = "InsertReputerPayloadRequest";

    /// `(package number, message name)` of `/emissions.vN.Name`, for N = 9 or 10.
    pub(crate) fn split(url: &str) -> Option<(u32, &str)> {
        let rest = url.strip_prefix("/emissions.v")?;
        let (n, name) = rest.split_once('.')?;
        let n: u32 = n.parse().ok()?;
        matches!(n, 9 | 10).then_some((n, name))
    }
}

/// A response type URL under the served package (`/emissions.v9.AddStakeResponse`).
pub(crate) fn response_url(state: &State, name: &str) -> String {
    format!("/emissions.v{}.{name}", state.emissions_version)
}

/// An emissions message the devnet decoded from a transaction.
///
/// Public so observers (e.g. `allora-node demo`) can see what a delivered tx carried, via
/// [`crate::TxRecord::contents`]; executing messages stays internal to the devnet.
#[derive(Debug, Clone)]
pub enum Msg {
    Register(v10::RegisterRequest),
    AddStake(v10::AddStakeRequest),
    InsertWorkerPayload(v10::InsertWorkerPayloadRequest),
    InsertReputerPayload(v10::InsertReputerPayloadRequest),
    /// x/feegrant `MsgGrantAllowance` (see [`crate::feegrant`]).
    GrantAllowance(cosmos_sdk_proto::cosmos::feegrant::v1beta1::MsgGrantAllowance),
}

/// What a message produced: its response (for TxMsgData) and any events.
pub(crate) struct MsgOutcome {
    pub(crate) response: (String, Vec<u8>),
    pub(crate) events: Vec<crate::events::Event>,
}

impl Msg {
    /// Resolves an Any; unknown type URLs fail like the SDK's interface registry.
    pub(crate) fn decode(type_url: &str, value: &[u8]) -> Result<Msg, AbciError> {
        let bad = |e: prost::DecodeError| abci::TX_DECODE.wrap(e);
        let unresolved = || abci::TX_DECODE.wrap(format!("unable to resolve type URL {type_url}"));
        if type_url == crate::feegrant::MSG_GRANT_ALLOWANCE {
            return Ok(Msg::GrantAllowance(
                cosmos_sdk_proto::cosmos::feegrant::v1beta1::MsgGrantAllowance::decode(value)
                    .map_err(bad)?,
            ));
        }
        let (package, name) = type_url::split(type_url).ok_or_else(unresolved)?;
        // v9 and v10 share field numbers for these four messages except v10's
        // `InputInference.values = 7` (reference §I), so one set of types decodes both.
        Ok(match name {
            type_url::REGISTER => Msg::Register(v10::RegisterRequest::decode(value).map_err(bad)?),
            type_url::ADD_STAKE => Msg::AddStake(v10::AddStakeRequest::decode(value).map_err(bad)?),
            type_url::INSERT_WORKER_PAYLOAD => {
                let m = v10::InsertWorkerPayloadRequest::decode(value).map_err(bad)?;
                let labelled = m
                    .worker_data_bundle
                    .as_ref()
                    .and_then(|b| b.inference_forecasts_bundle.as_ref())
                    .and_then(|b| b.inference.as_ref())
                    .is_some_and(|i| !i.values.is_empty());
                if package == 9 && labelled {
                    // The SDK's unknown-field rejection: v9 InputInference has no field 7.
                    return Err(abci::TX_DECODE.wrap(
                        "errUnknownField \"*types.InputInference\": {TagNum: 7, WireType:\"bytes\"}",
                    ));
                }
                Msg::InsertWorkerPayload(m)
            }
            type_url::INSERT_REPUTER_PAYLOAD => Msg::InsertReputerPayload(
                v10::InsertReputerPayloadRequest::decode(value).map_err(bad)?,
            ),
            _ => return Err(unresolved()),
        })
    }

    /// The `sender` field: the message's signer (`cosmos.msg.v1.signer`).
    pub fn sender(&self) -> &str {
        match self {
            Msg::Register(m) => &m.sender,
            Msg::AddStake(m) => &m.sender,
            Msg::InsertWorkerPayload(m) => &m.sender,
            Msg::InsertReputerPayload(m) => &m.sender,
            Msg::GrantAllowance(m) => &m.granter,
        }
    }

    /// Fixed gas cost per message type (the deterministic gas model).
    pub(crate) fn gas(&self) -> u64 {
        match self {
            Msg::Register(_) => 30_000,
            Msg::AddStake(_) => 30_000,
            Msg::InsertWorkerPayload(_) => 50_000,
            Msg::InsertReputerPayload(_) => 60_000,
            Msg::GrantAllowance(_) => 30_000,
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            Msg::Register(m) => m.encoded_len(),
            Msg::AddStake(m) => m.encoded_len(),
            Msg::InsertWorkerPayload(m) => m.encoded_len(),
            Msg::InsertReputerPayload(m) => m.encoded_len(),
            Msg::GrantAllowance(m) => m.encoded_len(),
        }
    }

    /// Executes the message at block `height`.
    pub(crate) fn execute(&self, state: &mut State, height: i64) -> Result<MsgOutcome, AbciError> {
        let max = state.params.max_serialized_msg_length;
        if max > 0 && self.encoded_len() as i64 > max {
            return Err(abci::QUERY_TOO_LARGE
                .wrap(format!("message size {} exceeds {max}", self.encoded_len())));
        }
        match self {
            Msg::Register(m) => registration::register(state, m),
            Msg::AddStake(m) => registration::add_stake(state, m),
            Msg::InsertWorkerPayload(m) => worker::insert_worker_payload(state, m, height),
            Msg::InsertReputerPayload(m) => reputer::insert_reputer_payload(state, m, height),
            Msg::GrantAllowance(m) => {
                crate::feegrant::grant_allowance(state, m)?;
                Ok(MsgOutcome {
                    response: response(
                        "/cosmos.feegrant.v1beta1.MsgGrantAllowanceResponse",
                        &cosmos_sdk_proto::cosmos::feegrant::v1beta1::MsgGrantAllowanceResponse {},
                    ),
                    events: Vec::new(),
                })
            }
        }
    }
}

fn check_bech32(field: &str, addr: &str) -> Result<(), AbciError> {
    if is_allo_address(addr) {
        Ok(())
    } else {
        Err(abci::INVALID_ADDRESS.wrap(format!("invalid {field} address ({addr:?})")))
    }
}

/// The chain's `ValidateDec`: the string must decode as a finite decimal.
fn check_dec(field: &str, v: &str) -> Result<(), AbciError> {
    crate::canonical::Dec::parse(v)
        .map(|_| ())
        .map_err(|e| abci::INVALID_REQUEST.wrap(format!("invalid {field} value {v:?}: {e}")))
}

/// Moves `amount` uallo from `addr` (bank SendCoins semantics).
fn pay(state: &mut State, addr: &str, amount: u128) -> Result<(), AbciError> {
    let Some(acc) = state.accounts.get_mut(addr) else {
        return Err(abci::INSUFFICIENT_FUNDS.wrap(format!(
            "spendable balance 0{DENOM} is smaller than {amount}{DENOM}"
        )));
    };
    if acc.balance < amount {
        return Err(abci::INSUFFICIENT_FUNDS.wrap(format!(
            "spendable balance {}{DENOM} is smaller than {amount}{DENOM}",
            acc.balance
        )));
    }
    acc.balance -= amount;
    Ok(())
}

fn response<M: Message>(type_url: &str, m: &M) -> (String, Vec<u8>) {
    (type_url.to_string(), m.encode_to_vec())
}

/// The bundle's pubkey, or the chain's "invalid pubkey" (sdk 18).
fn pubkey_bytes(hex_key: &str) -> Result<Vec<u8>, AbciError> {
    crate::bundles::pubkey(hex_key).map_err(|_| abci::INVALID_REQUEST.wrap("invalid pubkey"))
}

fn topic_of(state: &State, id: u64) -> Result<&TopicState, AbciError> {
    state
        .topics
        .get(&id)
        .ok_or_else(|| abci::INVALID_TOPIC_ID.wrap(format!("topic {id} not found")))
}

#[cfg(test)]
mod tests;
