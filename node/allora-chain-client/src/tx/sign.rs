//! Building and signing a tx (SIGN_MODE_DIRECT): body, auth info with one secp256k1
//! signer, the sign doc over chain id and account number, and the tx hash as CometBFT
//! reports it. Pure: the actor decides the sequence, gas and fee; this only encodes them.

use cosmos_sdk_proto::Any as CosmosAny;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin;
use cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey;
use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{
    AuthInfo, Fee, ModeInfo, SignDoc, SignerInfo, TxBody, TxRaw, mode_info,
};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::keys::Wallet;

/// Type URL of a secp256k1 public key in `SignerInfo`.
pub const PUBKEY_TYPE_URL: &str = "/cosmos.crypto.secp256k1.PubKey";

/// Everything a signed tx depends on besides its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxParams {
    pub chain_id: String,
    pub account_number: u64,
    pub sequence: u64,
    pub gas_limit: u64,
    pub fee_amount: u128,
    pub fee_denom: String,
    pub timeout_height: u64,
    pub memo: String,
    /// `AuthInfo.fee.granter` (`wallet.feeGranterAddress`): the account whose x/feegrant
    /// allowance pays the fee; empty = the signer pays.
    pub fee_granter: String,
}

/// Builds and signs (SIGN_MODE_DIRECT) a tx; returns its bytes and its hash (uppercase hex
/// SHA-256 of the bytes, as CometBFT reports it).
pub fn build_signed_tx(wallet: &Wallet, msgs: &[CosmosAny], p: &TxParams) -> (Vec<u8>, String) {
    let body = TxBody {
        messages: msgs.to_vec(),
        memo: p.memo.clone(),
        timeout_height: p.timeout_height,
        ..Default::default()
    };
    let signer = SignerInfo {
        public_key: Some(CosmosAny {
            type_url: PUBKEY_TYPE_URL.to_owned(),
            value: PubKey {
                key: wallet.pubkey_bytes().to_vec(),
            }
            .encode_to_vec(),
        }),
        mode_info: Some(ModeInfo {
            sum: Some(mode_info::Sum::Single(mode_info::Single {
                mode: SignMode::Direct as i32,
            })),
        }),
        sequence: p.sequence,
    };
    #[allow(deprecated)]
    let auth = AuthInfo {
        signer_infos: vec![signer],
        fee: Some(Fee {
            amount: if p.fee_amount == 0 {
                vec![]
            } else {
                vec![Coin {
                    denom: p.fee_denom.clone(),
                    amount: p.fee_amount.to_string(),
                }]
            },
            gas_limit: p.gas_limit,
            payer: String::new(),
            granter: p.fee_granter.clone(),
        }),
        tip: None,
    };
    let body_bytes = body.encode_to_vec();
    let auth_info_bytes = auth.encode_to_vec();
    let sign_doc = SignDoc {
        body_bytes: body_bytes.clone(),
        auth_info_bytes: auth_info_bytes.clone(),
        chain_id: p.chain_id.clone(),
        account_number: p.account_number,
    };
    let sig = wallet.sign_bytes(&sign_doc.encode_to_vec());
    let raw = TxRaw {
        body_bytes,
        auth_info_bytes,
        signatures: vec![sig.to_vec()],
    };
    let bytes = raw.encode_to_vec();
    let hash = hex::encode_upper(Sha256::digest(&bytes));
    (bytes, hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys;

    #[test]
    fn signed_tx_round_trips_and_verifies() {
        let w = Wallet::from_secret_bytes(&[1u8; 32]).unwrap();
        let msg = allora_protocol::register_msg(&w, 1, false);
        let msgs = vec![CosmosAny {
            type_url: msg.type_url.clone(),
            value: msg.value.clone(),
        }];
        let p = TxParams {
            chain_id: "allora-devnet-1".into(),
            account_number: 7,
            sequence: 3,
            gas_limit: 200_000,
            fee_amount: 2_000,
            fee_denom: "uallo".into(),
            timeout_height: 120,
            memo: String::new(),
            fee_granter: String::new(),
        };
        let (bytes, hash) = build_signed_tx(&w, &msgs, &p);
        assert_eq!(hash, hex::encode_upper(Sha256::digest(&bytes)));
        let raw = TxRaw::decode(bytes.as_slice()).unwrap();
        let body = TxBody::decode(raw.body_bytes.as_slice()).unwrap();
        assert_eq!(body.timeout_height, 120);
        assert_eq!(body.messages[0].type_url, "/emissions.v10.RegisterRequest");
        let auth = AuthInfo::decode(raw.auth_info_bytes.as_slice()).unwrap();
        let fee = auth.fee.unwrap();
        assert_eq!(fee.gas_limit, 200_000);
        assert_eq!(fee.amount[0].amount, "2000");
        assert_eq!(fee.amount[0].denom, "uallo");
        assert_eq!(fee.granter, "", "no granter unless configured");
        assert_eq!(auth.signer_infos[0].sequence, 3);
        let pk = PubKey::decode(
            auth.signer_infos[0]
                .public_key
                .as_ref()
                .unwrap()
                .value
                .as_slice(),
        )
        .unwrap();
        assert_eq!(pk.key, w.pubkey_bytes());
        let doc = SignDoc {
            body_bytes: raw.body_bytes.clone(),
            auth_info_bytes: raw.auth_info_bytes.clone(),
            chain_id: "allora-devnet-1".into(),
            account_number: 7,
        };
        assert!(keys::verify_bytes(
            &w.pubkey_bytes(),
            &doc.encode_to_vec(),
            &raw.signatures[0]
        ));
        // a different chain id or account number does not verify
        let other = SignDoc {
            chain_id: "allora-testnet-1".into(),
            ..doc
        };
        assert!(!keys::verify_bytes(
            &w.pubkey_bytes(),
            &other.encode_to_vec(),
            &raw.signatures[0]
        ));
    }
}

#[cfg(test)]
mod granter_tests {
    use super::*;

    /// `feeGranterAddress` lands in `AuthInfo.fee.granter`, inside the signed bytes.
    #[test]
    fn granter_is_set_and_signed() {
        let w = Wallet::from_secret_bytes(&[1u8; 32]).unwrap();
        let msg = allora_protocol::register_msg(&w, 1, false);
        let msgs = vec![CosmosAny {
            type_url: msg.type_url.clone(),
            value: msg.value.clone(),
        }];
        let granter = "allo1granter".to_string();
        let p = TxParams {
            chain_id: "c".into(),
            account_number: 1,
            sequence: 0,
            gas_limit: 1,
            fee_amount: 1,
            fee_denom: "uallo".into(),
            timeout_height: 0,
            memo: String::new(),
            fee_granter: granter.clone(),
        };
        let (bytes, _) = build_signed_tx(&w, &msgs, &p);
        let raw = TxRaw::decode(bytes.as_slice()).unwrap();
        let auth = AuthInfo::decode(raw.auth_info_bytes.as_slice()).unwrap();
        assert_eq!(auth.fee.unwrap().granter, granter);
    }
}
