//! Wallet keys: BIP-39 mnemonic → secp256k1 at `m/44'/118'/0'/0/0` → bech32 `allo` address,
//! implementing the protocol crate's [`Signer`] that bundle signatures and Cosmos txs use.
//!
//! The key lives only here and in the chain client (DESIGN.md): adapters never see it, and
//! neither `Debug` nor any error message prints key material or mnemonic words.
//! The on-disk keystore (`keys add|restore|show|list`) is in [`store`].

pub mod store;

use k256::ecdsa::signature::Signer as _;
use k256::ecdsa::{Signature, SigningKey};
use thiserror::Error;

pub use allora_protocol::account::{
    ADDRESS_PREFIX, Signer, address_from_bytes, address_from_pubkey, is_valid_address, verify_bytes,
};
/// Cosmos default HD path (coin type 118); Allora does not override it (reference §E).
pub const DERIVATION_PATH: &str = "m/44'/118'/0'/0/0";

/// Why a wallet could not be built. Messages never contain the mnemonic or key bytes.
#[derive(Debug, Error)]
pub enum KeyError {
    #[error(
        "the mnemonic is not a valid BIP-39 English phrase ({0}); check the words and their order"
    )]
    InvalidMnemonic(String),
    #[error("the private key is not a valid secp256k1 scalar")]
    InvalidPrivateKey,
    #[error("key derivation at {DERIVATION_PATH} failed: {0}")]
    Derivation(String),
}

/// A signing identity: secp256k1 key, its compressed public key and `allo` address.
#[derive(Clone)]
pub struct Wallet {
    key: SigningKey,
    pubkey: [u8; 33],
    address: String,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Wallet {
    /// Derives the wallet of a BIP-39 mnemonic (no passphrase) at [`DERIVATION_PATH`].
    pub fn from_mnemonic(phrase: &str) -> Result<Wallet, KeyError> {
        let normalized = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
        let mnemonic = bip39::Mnemonic::parse_in_normalized(bip39::Language::English, &normalized)
            .map_err(|e| KeyError::InvalidMnemonic(e.to_string()))?;
        let seed = zeroize::Zeroizing::new(mnemonic.to_seed_normalized(""));
        let path: bip32::DerivationPath = DERIVATION_PATH
            .parse()
            .map_err(|e: bip32::Error| KeyError::Derivation(e.to_string()))?;
        let xprv = bip32::XPrv::derive_from_path(&seed[..], &path)
            .map_err(|e| KeyError::Derivation(e.to_string()))?;
        Ok(Self::from_signing_key(xprv.private_key().clone()))
    }

    /// Builds a wallet from a raw 32-byte secret key (tests and imported hex keys).
    pub fn from_secret_bytes(secret: &[u8]) -> Result<Wallet, KeyError> {
        let key = SigningKey::from_slice(secret).map_err(|_| KeyError::InvalidPrivateKey)?;
        Ok(Self::from_signing_key(key))
    }

    fn from_signing_key(key: SigningKey) -> Wallet {
        let point = key.verifying_key().to_encoded_point(true);
        let mut pubkey = [0u8; 33];
        pubkey.copy_from_slice(point.as_bytes());
        let address = address_from_pubkey(&pubkey);
        Wallet {
            key,
            pubkey,
            address,
        }
    }

    /// Bech32 `allo…` account address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// 33-byte compressed public key.
    pub fn pubkey_bytes(&self) -> [u8; 33] {
        self.pubkey
    }

    /// Lowercase hex of the compressed public key (the bundle `pubkey` field).
    pub fn pubkey_hex(&self) -> String {
        hex::encode(self.pubkey)
    }

    /// SHA-256 of `msg`, signed with RFC 6979 nonces, returned as low-S `r‖s`.
    /// This is what CometBFT's secp256k1 `VerifySignature` expects, for bundles and for
    /// SIGN_MODE_DIRECT sign docs alike.
    pub fn sign_bytes(&self, msg: &[u8]) -> [u8; 64] {
        let sig: Signature = self.key.sign(msg);
        let sig = sig.normalize_s().unwrap_or(sig);
        let mut out = [0u8; 64];
        out.copy_from_slice(&sig.to_bytes());
        out
    }
}

impl Signer for Wallet {
    fn address(&self) -> &str {
        Wallet::address(self)
    }
    fn pubkey_bytes(&self) -> [u8; 33] {
        Wallet::pubkey_bytes(self)
    }
    fn sign_bytes(&self, msg: &[u8]) -> [u8; 64] {
        Wallet::sign_bytes(self, msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// privkey 0x01×32 (protocol reference §C.2).
    fn vector_wallet() -> Wallet {
        Wallet::from_secret_bytes(&[1u8; 32]).unwrap()
    }

    #[test]
    fn reference_vector_pubkey_and_address() {
        let w = vector_wallet();
        assert_eq!(
            w.pubkey_hex(),
            "031b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f"
        );
        assert_eq!(w.address(), "allo10xcqpzrky6eff2g52qdye53xkk9jxkvr0nqlh6");
        assert_eq!(address_from_pubkey(&w.pubkey_bytes()), w.address());
        assert!(is_valid_address(w.address()));
    }

    #[test]
    fn reference_vector_signature() {
        let w = vector_wallet();
        let bytes = hex::decode("0a39084510641a2b616c6c6f3130786371707a726b793665666632673532716479653533786b6b396a786b7672306e716c683622063132332e3435").unwrap();
        let sig = w.sign_bytes(&bytes);
        assert_eq!(
            hex::encode(sig),
            "8747a50ee9124cdf89ad90a817894e8e96660fa02b3e0d4da614d65a9eba57d10de3511e0c70339ea71b17eb376877b394afeff26c73c08b928d2cb7d1143af6"
        );
        assert!(verify_bytes(&w.pubkey_bytes(), &bytes, &sig));
    }

    #[test]
    fn mnemonic_derivation_is_cosmos_default_path() {
        // Well-known Cosmos test mnemonic (BIP-39 vector entropy 0x00…): its m/44'/118'/0'/0/0
        // cosmos1 address is cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4 — same key
        // bytes, `allo` prefix.
        let w = Wallet::from_mnemonic(
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
        )
        .unwrap();
        let (_, data) = bech32::decode("cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4").unwrap();
        assert_eq!(w.address(), address_from_bytes(&data));
        // whitespace differences do not change the key
        let w2 = Wallet::from_mnemonic(
            "  abandon abandon abandon abandon abandon abandon\nabandon abandon abandon abandon abandon   about ",
        )
        .unwrap();
        assert_eq!(w.address(), w2.address());
    }

    #[test]
    fn malformed_mnemonic_is_a_clear_error_without_echo() {
        let phrase = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon zzzsecretword";
        let err = Wallet::from_mnemonic(phrase).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("mnemonic"), "{msg}");
        assert!(!msg.contains("zzzsecretword"), "{msg}");
        assert!(!msg.contains("abandon"), "{msg}");
        let bad_checksum = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon";
        assert!(matches!(
            Wallet::from_mnemonic(bad_checksum),
            Err(KeyError::InvalidMnemonic(_))
        ));
    }

    #[test]
    fn debug_does_not_leak_secrets() {
        let w = vector_wallet();
        let dbg = format!("{w:?}");
        assert!(dbg.contains(w.address()));
        assert!(!dbg.contains("0101"), "{dbg}");
        assert!(!dbg.to_lowercase().contains("key"), "{dbg}");
    }
}
