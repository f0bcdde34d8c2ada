//! ABCI-style results: `(codespace, code, log)` triples exactly as a Cosmos SDK 0.50 chain
//! reports them, so clients classify devnet failures with the same code they use on testnet.
//! The SDK codes come from `cosmos-sdk/types/errors`; the emissions codes from the Allora
//! chain (protocol reference §C.4, §B).

use std::fmt;

/// A failed CheckTx/DeliverTx/query, shaped like the chain's ABCI error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbciError {
    pub codespace: &'static str,
    pub code: u32,
    /// The full log line: `<context>: <registered message>` (errorsmod.Wrapf style).
    pub log: String,
}

impl fmt::Display for AbciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (codespace {}, code {})",
            self.log, self.codespace, self.code
        )
    }
}

impl std::error::Error for AbciError {}

/// A registered error: codespace, code and the registered message.
#[derive(Debug, Clone, Copy)]
pub struct Registered {
    pub codespace: &'static str,
    pub code: u32,
    pub msg: &'static str,
}

impl Registered {
    /// The bare registered error (log = registered message).
    pub fn err(self) -> AbciError {
        AbciError {
            codespace: self.codespace,
            code: self.code,
            log: self.msg.to_string(),
        }
    }

    /// `errorsmod.Wrapf(err, context)`: log = `<context>: <registered message>`.
    pub fn wrap(self, context: impl fmt::Display) -> AbciError {
        AbciError {
            codespace: self.codespace,
            code: self.code,
            log: format!("{context}: {}", self.msg),
        }
    }
}

const fn sdk(code: u32, msg: &'static str) -> Registered {
    Registered {
        codespace: "sdk",
        code,
        msg,
    }
}

const fn emissions(code: u32, msg: &'static str) -> Registered {
    Registered {
        codespace: "emissions",
        code,
        msg,
    }
}

// cosmos-sdk/types/errors (codespace "sdk").
pub const TX_DECODE: Registered = sdk(2, "tx parse error");
pub const UNAUTHORIZED: Registered = sdk(4, "unauthorized");
pub const INSUFFICIENT_FUNDS: Registered = sdk(5, "insufficient funds");
pub const INVALID_ADDRESS: Registered = sdk(7, "invalid address");
pub const INVALID_PUBKEY: Registered = sdk(8, "invalid pubkey");
pub const UNKNOWN_ADDRESS: Registered = sdk(9, "unknown address");
pub const INVALID_COINS: Registered = sdk(10, "invalid coins");
pub const OUT_OF_GAS: Registered = sdk(11, "out of gas");
pub const MEMO_TOO_LARGE: Registered = sdk(12, "memo too large");
pub const INSUFFICIENT_FEE: Registered = sdk(13, "insufficient fee");
pub const NO_SIGNATURES: Registered = sdk(15, "no signatures supplied");
pub const INVALID_REQUEST: Registered = sdk(18, "invalid request");
pub const NOT_FOUND: Registered = sdk(38, "not found");
pub const TX_IN_MEMPOOL: Registered = sdk(19, "tx already in mempool");
pub const MEMPOOL_FULL: Registered = sdk(20, "mempool is full");
pub const TX_TOO_LARGE: Registered = sdk(21, "tx too large");
pub const TX_TIMEOUT_HEIGHT: Registered = sdk(30, "tx timeout height");
pub const WRONG_SEQUENCE: Registered = sdk(32, "incorrect account sequence");
pub const INVALID_GAS_LIMIT: Registered = sdk(41, "invalid gas limit");

// allora-chain x/emissions/types/errors.go (codespace "emissions").
pub const INVALID_TOPIC_ID: Registered = emissions(6, "invalid topic ID");
pub const ALREADY_REGISTERED: Registered = emissions(8, "address already registered in a topic");
pub const NOT_REGISTERED_IN_TOPIC: Registered =
    emissions(10, "address is not registered in this topic");
pub const INSUFFICIENT_STAKE: Registered = emissions(11, "insufficient stake");
pub const ADDRESS_NOT_REGISTERED: Registered = emissions(13, "address not registered");
pub const TOPIC_DOES_NOT_EXIST: Registered = emissions(23, "topic does not exist");
pub const NONCE_STILL_UNFULFILLED: Registered = emissions(45, "nonce still unfulfilled");
pub const INVALID_VALUE: Registered = emissions(52, "invalid value");
pub const QUERY_TOO_LARGE: Registered = emissions(53, "query is too large");
pub const WORKER_WINDOW_NOT_AVAILABLE: Registered =
    emissions(67, "worker nonce window not available");
pub const REPUTER_WINDOW_NOT_AVAILABLE: Registered =
    emissions(68, "reputer nonce window not available");
pub const UNFULFILLED_NONCE_NOT_FOUND: Registered = emissions(75, "unfulfilled nonce not found");
pub const NO_VALID_FORECAST_ELEMENTS: Registered = emissions(77, "no valid forecast elements");
pub const CANT_UPDATE_EMA_TWICE: Registered =
    emissions(78, "cannot update EMA more than once per window");
/// Whitelist rejections, as registered in allora-chain v0.17.0 `x/emissions/types/errors.go`
/// (82 there is "not permitted to create topic").
pub const NOT_PERMITTED_WORKER: Registered =
    emissions(83, "not permitted to submit worker payload");
pub const NOT_PERMITTED_REPUTER: Registered =
    emissions(84, "not permitted to submit reputer payload");

const fn feegrant(code: u32, msg: &'static str) -> Registered {
    Registered {
        codespace: "feegrant",
        code,
        msg,
    }
}

// cosmossdk.io/x/feegrant v0.1.1 `errors.go` (codespace "feegrant"), as allorad v0.17.0 uses.
pub const FEE_LIMIT_EXCEEDED: Registered = feegrant(2, "fee limit exceeded");
pub const FEE_LIMIT_EXPIRED: Registered = feegrant(3, "fee allowance expired");
