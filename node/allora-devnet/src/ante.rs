//! Tx decoding and the ante checks, in the Cosmos SDK's order: decode TxRaw, signer count,
//! timeout height, memo, tx-size gas, fee ≥ gas_limit × min gas price (CheckTx/DeliverTx),
//! fee deduction (from the fee granter through its x/feegrant allowance when the tx names
//! one — see `feegrant`), pubkey binding, sequence (code 32), SIGN_MODE_DIRECT signature over the
//! SignDoc (code 4, covers chain-id and account number), sequence increment.
//!
//! Deterministic gas model (documented in docs/DEVNET.md): `ANTE_BASE_GAS` + 10 gas per tx
//! byte (signatures counted as 64 bytes each, so Simulate with empty signatures agrees with
//! DeliverTx) + a fixed cost per message type (`Msg::gas`).

use cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey;
use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{AuthInfo, SignDoc, TxBody, TxRaw, mode_info};
use prost::Message;
use sha2::{Digest, Sha256};

use super::abci::{self, AbciError};
use super::msgs::Msg;
use super::state::{DEC_SCALE, DENOM, State};

pub const ANTE_BASE_GAS: u64 = 20_000;
pub const GAS_PER_BYTE: u64 = 10;
pub const MAX_MEMO_CHARS: usize = 256;
pub const MAX_TX_BYTES: usize = 1_048_576;

/// Which ABCI path runs the checks (fee rules and signature checks differ, as in the SDK).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Check,
    Simulate,
    Deliver,
}

/// A decoded tx with the pieces the ante and msg handlers need.
#[derive(Debug, Clone)]
pub struct DecodedTx {
    pub hash: String,
    pub body_bytes: Vec<u8>,
    pub auth_info_bytes: Vec<u8>,
    pub signatures: Vec<Vec<u8>>,
    pub body: TxBody,
    pub auth_info: AuthInfo,
    pub msgs: Vec<Msg>,
    pub type_urls: Vec<String>,
    pub signer: String,
    pub gas_limit: u64,
    /// Fee in uallo (sum of uallo coins).
    pub fee: u128,
    /// `fee.granter`: the account whose x/feegrant allowance pays the fee (empty = signer).
    pub fee_granter: String,
    pub fee_text: String,
    pub tx_size_gas: u64,
}

/// Upper-case hex SHA-256 of the raw bytes (CometBFT tx hash).
pub fn tx_hash(bytes: &[u8]) -> String {
    hex::encode_upper(Sha256::digest(bytes))
}

/// Decodes TxRaw → body/auth info → known emissions msgs (code 2 on any failure).
pub fn decode(bytes: &[u8]) -> Result<DecodedTx, AbciError> {
    if bytes.len() > MAX_TX_BYTES {
        return Err(abci::TX_TOO_LARGE.wrap(format!("tx size {} > {MAX_TX_BYTES}", bytes.len())));
    }
    let raw = TxRaw::decode(bytes).map_err(|e| abci::TX_DECODE.wrap(e))?;
    let body = TxBody::decode(raw.body_bytes.as_slice()).map_err(|e| abci::TX_DECODE.wrap(e))?;
    let auth_info =
        AuthInfo::decode(raw.auth_info_bytes.as_slice()).map_err(|e| abci::TX_DECODE.wrap(e))?;
    if body.messages.is_empty() {
        return Err(abci::INVALID_REQUEST.wrap("must contain at least one message"));
    }
    if !body.extension_options.is_empty() {
        return Err(AbciError {
            codespace: "sdk",
            code: 31,
            log: "unknown extension options".to_string(),
        });
    }
    let mut msgs = Vec::new();
    let mut type_urls = Vec::new();
    for any in &body.messages {
        msgs.push(Msg::decode(&any.type_url, &any.value)?);
        type_urls.push(any.type_url.clone());
    }
    let signer = msgs[0].sender().to_string();
    if msgs.iter().any(|m| m.sender() != signer) {
        return Err(abci::UNAUTHORIZED.wrap(format!(
            "wrong number of signers; expected 1 (all messages must be sent by {signer})"
        )));
    }
    let fee = auth_info.fee.clone().unwrap_or_default();
    let mut fee_uallo: u128 = 0;
    let mut parts = Vec::new();
    for c in &fee.amount {
        let amount: u128 = c
            .amount
            .parse()
            .map_err(|_| abci::INVALID_COINS.wrap(format!("invalid fee amount {}", c.amount)))?;
        if c.denom == DENOM {
            fee_uallo += amount;
        }
        parts.push(format!("{}{}", c.amount, c.denom));
    }
    let sig_bytes: usize = raw.signatures.iter().map(|s| s.len().max(64)).sum();
    let size = raw.body_bytes.len() + raw.auth_info_bytes.len() + sig_bytes;
    Ok(DecodedTx {
        hash: tx_hash(bytes),
        body_bytes: raw.body_bytes,
        auth_info_bytes: raw.auth_info_bytes,
        signatures: raw.signatures,
        body,
        auth_info,
        msgs,
        type_urls,
        signer,
        gas_limit: fee.gas_limit,
        fee: fee_uallo,
        fee_granter: fee.granter.clone(),
        fee_text: parts.join(","),
        tx_size_gas: ANTE_BASE_GAS + GAS_PER_BYTE * size as u64,
    })
}

/// Fee a gas limit requires at the given (10^18-scaled) gas price, rounded up.
pub fn required_fee(gas_limit: u64, price_scaled: u128) -> u128 {
    (u128::from(gas_limit) * price_scaled).div_ceil(DEC_SCALE)
}

/// Runs the ante checks against `state`, mutating it (fee, pubkey, sequence) only on success.
/// `height` is the block height the checks run at. Returns the gas the ante consumed.
pub fn run(state: &mut State, tx: &DecodedTx, mode: Mode, height: i64) -> Result<u64, AbciError> {
    // The interface registry knows only the served emissions package's Msgs (other modules'
    // Msgs, x/feegrant's, are version-independent).
    let served = format!("/emissions.v{}.", state.emissions_version);
    if let Some(url) = tx
        .type_urls
        .iter()
        .find(|u| u.starts_with("/emissions.") && !u.starts_with(&served))
    {
        return Err(abci::TX_DECODE.wrap(format!("unable to resolve type URL {url}")));
    }
    // ValidateBasic: exactly one signer, signatures match signer infos.
    if tx.signatures.is_empty() {
        return Err(abci::NO_SIGNATURES.err());
    }
    if tx.auth_info.signer_infos.len() != 1 || tx.signatures.len() != 1 {
        return Err(abci::UNAUTHORIZED.wrap(format!(
            "wrong number of signers; expected 1, got {}",
            tx.auth_info.signer_infos.len().max(tx.signatures.len())
        )));
    }
    if mode != Mode::Simulate && tx.gas_limit == 0 {
        return Err(abci::INVALID_GAS_LIMIT.wrap("gas limit must be greater than 0"));
    }
    let timeout = tx.body.timeout_height;
    if timeout > 0 && height as u64 > timeout {
        return Err(abci::TX_TIMEOUT_HEIGHT
            .wrap(format!("block height: {height}, timeout height: {timeout}")));
    }
    if tx.body.memo.chars().count() > MAX_MEMO_CHARS {
        return Err(abci::MEMO_TOO_LARGE.wrap(format!(
            "maximum number of characters is {MAX_MEMO_CHARS} but received {} characters",
            tx.body.memo.chars().count()
        )));
    }
    if mode != Mode::Simulate && tx.gas_limit < tx.tx_size_gas {
        return Err(abci::OUT_OF_GAS.wrap(format!(
            "out of gas in location: txSize; gasWanted: {}, gasUsed: {}",
            tx.gas_limit, tx.tx_size_gas
        )));
    }
    // Fee market: fee ≥ gas_limit × min gas price (not applied when simulating).
    if mode != Mode::Simulate {
        let required = required_fee(tx.gas_limit, state.min_gas_price);
        if tx.fee < required {
            let got = if tx.fee_text.is_empty() {
                format!("0{DENOM}")
            } else {
                tx.fee_text.clone()
            };
            return Err(abci::INSUFFICIENT_FEE.wrap(format!(
                "insufficient fees; got: {got} required: {required}{DENOM}"
            )));
        }
    }
    let Some(account) = state.accounts.get(&tx.signer) else {
        return Err(abci::UNKNOWN_ADDRESS.wrap(format!("account {} does not exist", tx.signer)));
    };
    let mut account = account.clone();
    // Fee payer: the granter when the tx names one (its allowance is checked and spent on a
    // scratch copy, committed with the rest below), else the signer.
    let mut grants = None;
    let mut granter_account = None;
    if !tx.fee_granter.is_empty() && tx.fee_granter != tx.signer {
        let mut scratch = state.fee_grants.clone();
        crate::feegrant::use_granted_fees(
            &mut scratch,
            state.block_time_nanos,
            &tx.fee_granter,
            &tx.signer,
            tx.fee,
        )?;
        grants = Some(scratch);
        let Some(payer) = state.accounts.get(&tx.fee_granter) else {
            return Err(abci::UNKNOWN_ADDRESS.wrap(format!(
                "fee payer address: {} does not exist",
                tx.fee_granter
            )));
        };
        let mut payer = payer.clone();
        if payer.balance < tx.fee {
            return Err(abci::INSUFFICIENT_FUNDS.wrap(format!(
                "spendable balance {}{DENOM} is smaller than {}{DENOM}",
                payer.balance, tx.fee
            )));
        }
        payer.balance -= tx.fee;
        granter_account = Some(payer);
    } else {
        if account.balance < tx.fee {
            return Err(abci::INSUFFICIENT_FUNDS.wrap(format!(
                "spendable balance {}{DENOM} is smaller than {}{DENOM}",
                account.balance, tx.fee
            )));
        }
        account.balance -= tx.fee;
    }

    // SetPubKey: the signer info key must hash to the signer's address.
    let info = &tx.auth_info.signer_infos[0];
    let pubkey = match &info.public_key {
        Some(any) => {
            if any.type_url != "/cosmos.crypto.secp256k1.PubKey" {
                return Err(
                    abci::INVALID_PUBKEY.wrap(format!("unsupported key type {}", any.type_url))
                );
            }
            let pk = PubKey::decode(any.value.as_slice())
                .map_err(|e| abci::INVALID_PUBKEY.wrap(e))?
                .key;
            if pk.len() != 33 {
                return Err(abci::INVALID_PUBKEY.wrap("secp256k1 key must be 33 bytes"));
            }
            if crate::crypto::address_from_pubkey(&pk) != tx.signer {
                return Err(abci::INVALID_PUBKEY.wrap(format!(
                    "pubKey does not match signer address {} with signer index: 0",
                    tx.signer
                )));
            }
            if let Some(existing) = &account.pubkey
                && existing != &pk
            {
                return Err(abci::INVALID_PUBKEY.wrap("pubkey differs from the account's key"));
            }
            pk
        }
        None => match &account.pubkey {
            Some(pk) => pk.clone(),
            None if mode == Mode::Simulate => Vec::new(),
            None => return Err(abci::INVALID_PUBKEY.wrap("pubkey on account is not set")),
        },
    };
    match info.mode_info.as_ref().and_then(|m| m.sum.as_ref()) {
        Some(mode_info::Sum::Single(s)) if s.mode == SignMode::Direct as i32 => {}
        _ => {
            return Err(
                abci::UNAUTHORIZED.wrap("only SIGN_MODE_DIRECT single signatures are supported")
            );
        }
    }
    if info.sequence != account.sequence {
        return Err(abci::WRONG_SEQUENCE.wrap(format!(
            "account sequence mismatch, expected {}, got {}",
            account.sequence, info.sequence
        )));
    }
    if mode != Mode::Simulate {
        let sign_doc = SignDoc {
            body_bytes: tx.body_bytes.clone(),
            auth_info_bytes: tx.auth_info_bytes.clone(),
            chain_id: state.chain_id.clone(),
            account_number: account.account_number,
        };
        if !crate::crypto::verify_bytes(&pubkey, &sign_doc.encode_to_vec(), &tx.signatures[0]) {
            return Err(abci::UNAUTHORIZED.wrap(format!(
                "signature verification failed; please verify account number ({}), sequence ({}) and chain-id ({})",
                account.account_number, account.sequence, state.chain_id
            )));
        }
    }
    if !pubkey.is_empty() {
        account.pubkey = Some(pubkey);
    }
    account.sequence += 1;
    state.fee_collector += tx.fee;
    state.accounts.insert(account.address.clone(), account);
    if let Some(payer) = granter_account {
        state.accounts.insert(payer.address.clone(), payer);
    }
    if let Some(grants) = grants {
        state.fee_grants = grants;
    }
    Ok(tx.tx_size_gas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_fee_rounds_up() {
        assert_eq!(required_fee(100_000, 10 * DEC_SCALE), 1_000_000);
        assert_eq!(required_fee(3, DEC_SCALE / 2), 2);
        assert_eq!(required_fee(0, DEC_SCALE), 0);
    }

    #[test]
    fn garbage_is_a_parse_error() {
        let e = decode(b"\xff\xff\xff").unwrap_err();
        assert_eq!((e.codespace, e.code), ("sdk", 2));
    }
}
