//! Accounts as the chain sees them: the `allo` bech32 address of a secp256k1 key, the
//! signature scheme CometBFT verifies, and the [`Signer`] trait bundle signing is written
//! against. Key material never lives here: the wallet (mnemonic, keystore) is the chain
//! client's, and it implements [`Signer`].

use k256::ecdsa::signature::Verifier;
use k256::ecdsa::{Signature, VerifyingKey};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

/// Bech32 human-readable prefix of Allora account addresses.
pub const ADDRESS_PREFIX: &str = "allo";

/// Something that can sign for one account: SHA-256 of the message, RFC 6979 nonces, low-S
/// `r‖s` (what CometBFT's secp256k1 `VerifySignature` expects, for bundles and for
/// SIGN_MODE_DIRECT sign docs alike).
pub trait Signer: Send + Sync {
    /// Bech32 `allo…` account address.
    fn address(&self) -> &str;
    /// 33-byte compressed public key.
    fn pubkey_bytes(&self) -> [u8; 33];
    /// Low-S 64-byte signature over SHA-256(`msg`).
    fn sign_bytes(&self, msg: &[u8]) -> [u8; 64];
    /// Lowercase hex of the compressed public key (the bundle `pubkey` field).
    fn pubkey_hex(&self) -> String {
        hex::encode(self.pubkey_bytes())
    }
}

/// Verifies a 64-byte low-S `r‖s` signature over SHA-256(`msg`) by a 33-byte compressed key.
/// High-S signatures are rejected, as the chain does.
pub fn verify_bytes(pubkey33: &[u8], msg: &[u8], sig64: &[u8]) -> bool {
    if pubkey33.len() != 33 || sig64.len() != 64 {
        return false;
    }
    let Ok(vk) = VerifyingKey::from_sec1_bytes(pubkey33) else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(sig64) else {
        return false;
    };
    if sig.normalize_s().is_some() {
        return false;
    }
    vk.verify(msg, &sig).is_ok()
}

/// bech32(`allo`, RIPEMD160(SHA256(pubkey))) — the CometBFT secp256k1 address.
pub fn address_from_pubkey(pubkey33: &[u8]) -> String {
    let hash = Ripemd160::digest(Sha256::digest(pubkey33));
    address_from_bytes(&hash)
}

/// bech32 `allo` encoding of raw address bytes.
pub fn address_from_bytes(bytes: &[u8]) -> String {
    // The prefix is a valid constant and the data is ≤ 32 bytes, so encoding cannot fail.
    bech32::encode::<bech32::Bech32>(bech32::Hrp::parse_unchecked(ADDRESS_PREFIX), bytes)
        .unwrap_or_default()
}

/// Whether `addr` is a bech32 `allo` account address (20 or 32 bytes, as the chain accepts).
pub fn is_valid_address(addr: &str) -> bool {
    match bech32::decode(addr) {
        Ok((hrp, data)) => {
            hrp.as_str() == ADDRESS_PREFIX
                && (data.len() == 20 || data.len() == 32)
                && addr.chars().all(|c| !c.is_ascii_uppercase())
        }
        Err(_) => false,
    }
}

/// A raw-key signer for this crate's own tests (the product's signer is the chain client's
/// wallet).
#[cfg(test)]
pub(crate) mod test_signer {
    use k256::ecdsa::signature::Signer as _;
    use k256::ecdsa::{Signature, SigningKey};

    pub struct TestSigner {
        key: SigningKey,
        pubkey: [u8; 33],
        address: String,
    }

    impl TestSigner {
        pub fn from_secret_bytes(secret: &[u8]) -> TestSigner {
            let key = SigningKey::from_slice(secret).expect("valid test key");
            let mut pubkey = [0u8; 33];
            pubkey.copy_from_slice(key.verifying_key().to_encoded_point(true).as_bytes());
            let address = super::address_from_pubkey(&pubkey);
            TestSigner {
                key,
                pubkey,
                address,
            }
        }
    }

    impl super::Signer for TestSigner {
        fn address(&self) -> &str {
            &self.address
        }
        fn pubkey_bytes(&self) -> [u8; 33] {
            self.pubkey
        }
        fn sign_bytes(&self, msg: &[u8]) -> [u8; 64] {
            let sig: Signature = self.key.sign(msg);
            let sig = sig.normalize_s().unwrap_or(sig);
            let mut out = [0u8; 64];
            out.copy_from_slice(&sig.to_bytes());
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_signer::TestSigner;
    use super::*;

    /// privkey 0x01×32 (protocol reference §C.2).
    fn vector_signer() -> TestSigner {
        TestSigner::from_secret_bytes(&[1u8; 32])
    }

    #[test]
    fn reference_vector_pubkey_and_address() {
        let w = vector_signer();
        assert_eq!(
            w.pubkey_hex(),
            "031b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f"
        );
        assert_eq!(w.address(), "allo10xcqpzrky6eff2g52qdye53xkk9jxkvr0nqlh6");
        assert_eq!(address_from_pubkey(&w.pubkey_bytes()), w.address());
        assert!(is_valid_address(w.address()));
        assert!(!is_valid_address(
            "ALLO10XCQPZRKY6EFF2G52QDYE53XKK9JXKVR0NQLH6"
        ));
        assert!(!is_valid_address(
            "cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4"
        ));
    }

    #[test]
    fn reference_vector_signature() {
        let w = vector_signer();
        let bytes = hex::decode("0a39084510641a2b616c6c6f3130786371707a726b793665666632673532716479653533786b6b396a786b7672306e716c683622063132332e3435").unwrap();
        let sig = w.sign_bytes(&bytes);
        assert_eq!(
            hex::encode(sig),
            "8747a50ee9124cdf89ad90a817894e8e96660fa02b3e0d4da614d65a9eba57d10de3511e0c70339ea71b17eb376877b394afeff26c73c08b928d2cb7d1143af6"
        );
        assert!(verify_bytes(&w.pubkey_bytes(), &bytes, &sig));
    }

    #[test]
    fn verify_rejects_tampering_and_high_s() {
        let w = vector_signer();
        let msg = b"hello allora";
        let sig = w.sign_bytes(msg);
        assert!(verify_bytes(&w.pubkey_bytes(), msg, &sig));
        assert!(!verify_bytes(&w.pubkey_bytes(), b"hello allorb", &sig));
        let mut bad = sig;
        bad[10] ^= 1;
        assert!(!verify_bytes(&w.pubkey_bytes(), msg, &bad));
        assert!(!verify_bytes(&w.pubkey_bytes(), msg, &sig[..63]));
        assert!(!verify_bytes(&w.pubkey_bytes()[..32], msg, &sig));
        // the same signature with s' = n - s is malleable and must be refused
        let parsed = Signature::from_slice(&sig).unwrap();
        let (r, s) = parsed.split_scalars();
        let high = Signature::from_scalars(r, -*s).unwrap();
        assert!(
            high.normalize_s().is_some(),
            "constructed signature is high-S"
        );
        assert!(!verify_bytes(&w.pubkey_bytes(), msg, &high.to_bytes()));
    }
}
