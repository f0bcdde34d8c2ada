//! The devnet's own account cryptography, written from the protocol reference (§C.2, §E)
//! and the crypto crates directly — deliberately not the node's: the devnet checks the
//! node, so a mistake made the same way on both sides must not pass. Used for tx
//! signatures (`ante`), bundle signatures (`bundles`) and genesis accounts (`state`).
//!
//! - address: bech32(`allo`, RIPEMD160(SHA256(33-byte compressed pubkey)))
//! - signature: secp256k1 ECDSA over SHA-256(msg), 64-byte `r‖s`, low-S only (CometBFT)
//! - mnemonic: BIP-39 English, no passphrase, BIP-32 path m/44'/118'/0'/0/0

use k256::ecdsa::signature::Verifier;
use k256::ecdsa::{Signature, VerifyingKey};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

const HRP: &str = "allo";
const HD_PATH: &str = "m/44'/118'/0'/0/0";

/// The `allo` address of a compressed secp256k1 public key.
pub(crate) fn address_from_pubkey(pubkey33: &[u8]) -> String {
    let hash = Ripemd160::digest(Sha256::digest(pubkey33));
    bech32::encode::<bech32::Bech32>(bech32::Hrp::parse_unchecked(HRP), &hash).unwrap_or_default()
}

/// CometBFT's secp256k1 check: 33-byte key, 64-byte low-S signature over SHA-256(msg).
pub(crate) fn verify_bytes(pubkey33: &[u8], msg: &[u8], sig64: &[u8]) -> bool {
    if pubkey33.len() != 33 || sig64.len() != 64 {
        return false;
    }
    let (Ok(key), Ok(sig)) = (
        VerifyingKey::from_sec1_bytes(pubkey33),
        Signature::from_slice(sig64),
    ) else {
        return false;
    };
    // The chain refuses malleable high-S signatures outright.
    sig.normalize_s().is_none() && key.verify(msg, &sig).is_ok()
}

/// The SDK's account-address rule: bech32 with the `allo` prefix, 20 or 32 data bytes, and
/// not upper case (bech32 forbids mixed case and the SDK stores lower case).
pub(crate) fn is_valid_address(addr: &str) -> bool {
    match bech32::decode(addr) {
        Ok((hrp, data)) => {
            hrp.as_str() == HRP
                && matches!(data.len(), 20 | 32)
                && !addr.chars().any(|c| c.is_ascii_uppercase())
        }
        Err(_) => false,
    }
}

/// Why a genesis mnemonic gives no address.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MnemonicError {
    #[error(transparent)]
    Bip39(#[from] bip39::Error),
    #[error("key derivation at {HD_PATH}: {0}")]
    Derivation(#[from] bip32::Error),
}

/// The address a BIP-39 mnemonic controls on Allora (genesis accounts given by mnemonic).
pub(crate) fn address_from_mnemonic(phrase: &str) -> Result<String, MnemonicError> {
    let words = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
    let mnemonic = bip39::Mnemonic::parse_in_normalized(bip39::Language::English, &words)?;
    let seed = mnemonic.to_seed_normalized("");
    let path: bip32::DerivationPath = HD_PATH.parse()?;
    let xprv = bip32::XPrv::derive_from_path(seed, &path)?;
    let pubkey = xprv.private_key().verifying_key().to_encoded_point(true);
    Ok(address_from_pubkey(pubkey.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors() {
        // protocol reference §C.2: privkey 0x01×32
        let pk = hex::decode("031b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f")
            .unwrap();
        assert_eq!(
            address_from_pubkey(&pk),
            "allo10xcqpzrky6eff2g52qdye53xkk9jxkvr0nqlh6"
        );
        let msg = hex::decode("0a39084510641a2b616c6c6f3130786371707a726b793665666632673532716479653533786b6b396a786b7672306e716c683622063132332e3435").unwrap();
        let sig = hex::decode("8747a50ee9124cdf89ad90a817894e8e96660fa02b3e0d4da614d65a9eba57d10de3511e0c70339ea71b17eb376877b394afeff26c73c08b928d2cb7d1143af6").unwrap();
        assert!(verify_bytes(&pk, &msg, &sig));
        let mut bad = sig.clone();
        bad[5] ^= 1;
        assert!(!verify_bytes(&pk, &msg, &bad));
    }

    #[test]
    fn mnemonic_uses_the_cosmos_path() {
        // BIP-39 all-zero entropy; its cosmos address at m/44'/118'/0'/0/0 is
        // cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4 (same bytes, other prefix).
        let addr = address_from_mnemonic(
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
        )
        .unwrap();
        let (_, data) = bech32::decode("cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4").unwrap();
        let expected =
            bech32::encode::<bech32::Bech32>(bech32::Hrp::parse_unchecked(HRP), &data).unwrap();
        assert_eq!(addr, expected);
        assert!(address_from_mnemonic("not a mnemonic").is_err());
    }
}
