//! Classification of chain errors (CheckTx, DeliverTx and simulation results) into what the
//! tx actor should do: resync and retry, reprice, treat as done, give up on the nonce,
//! switch endpoint, or report a rejection.
//!
//! This is the one place that reads the chain's text (e.g. "account sequence mismatch,
//! expected N, got M", "message index: 2", "not found"): everything else decides on the
//! typed result ([`ErrorClass`], [`crate::AbciFailure`], [`crate::ChainError`]).
//!
//! Codes are the Cosmos SDK's (`types/errors/errors.go`, codespace `sdk`) and the emissions
//! module's (`x/emissions/types/errors.go`, codespace `emissions`); texts are matched too,
//! because wrapped errors and some chains report only the message.

/// Cosmos SDK codes (codespace `sdk`) the actor reacts to.
pub mod sdk_code {
    pub const UNAUTHORIZED: u32 = 4;
    pub const INSUFFICIENT_FUNDS: u32 = 5;
    pub const UNKNOWN_ADDRESS: u32 = 9;
    pub const OUT_OF_GAS: u32 = 11;
    pub const INSUFFICIENT_FEE: u32 = 13;
    pub const TX_IN_MEMPOOL_CACHE: u32 = 19;
    pub const MEMPOOL_IS_FULL: u32 = 20;
    pub const TX_TOO_LARGE: u32 = 21;
    pub const INVALID_CHAIN_ID: u32 = 28;
    pub const TX_TIMEOUT_HEIGHT: u32 = 30;
    pub const WRONG_SEQUENCE: u32 = 32;
}

/// x/feegrant codes (codespace `feegrant`, cosmossdk.io/x/feegrant v0.1.1 `errors.go`).
/// A missing grant is the SDK's `not found` (sdk 38) wrapped with "fee-grant not found".
pub mod feegrant_code {
    pub const FEE_LIMIT_EXCEEDED: u32 = 2;
    pub const FEE_LIMIT_EXPIRED: u32 = 3;
    pub const NO_ALLOWANCE: u32 = 5;
}

/// Why the fee granter's allowance did not pay (`wallet.feeGranterAddress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeGrantProblem {
    /// No allowance from the granter to this wallet ("fee-grant not found").
    NotFound,
    /// The allowance's expiration has passed ("fee allowance expired").
    Expired,
    /// The fee is above what is left of the spend limit ("fee limit exceeded").
    LimitExceeded,
    /// The chain has no x/feegrant module ("fee grants are not enabled").
    NotEnabled,
}

impl FeeGrantProblem {
    /// What the operator should do about it.
    pub fn fix(self) -> &'static str {
        match self {
            FeeGrantProblem::NotFound => {
                "grant an allowance from the granter (`allorad tx feegrant grant <granter> <wallet>`) or remove wallet.feeGranterAddress"
            }
            FeeGrantProblem::Expired => {
                "the allowance has expired: revoke it and grant a new one, or remove wallet.feeGranterAddress"
            }
            FeeGrantProblem::LimitExceeded => {
                "the allowance's spend limit is used up: grant a larger one, or remove wallet.feeGranterAddress"
            }
            FeeGrantProblem::NotEnabled => {
                "this chain has no fee grants: remove wallet.feeGranterAddress and fund the wallet"
            }
        }
    }
}

/// Emissions module codes (codespace `emissions`).
pub mod emissions_code {
    pub const WORKER_NONCE_WINDOW_NOT_AVAILABLE: u32 = 67;
    pub const REPUTER_NONCE_WINDOW_NOT_AVAILABLE: u32 = 68;
    pub const UNFULFILLED_NONCE_NOT_FOUND: u32 = 75;
    pub const CANT_UPDATE_EMA_MORE_THAN_ONCE_PER_WINDOW: u32 = 78;
}

/// What an error means for the submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorClass {
    /// Sequence mismatch; `expected` parsed from "expected N, got M" when present.
    Sequence {
        expected: Option<u64>,
    },
    /// Fee below the node's minimum; `required` in the fee denom when the log says.
    InsufficientFee {
        required: Option<u128>,
    },
    OutOfGas,
    /// The payload for this nonce is already on chain: done.
    AlreadySubmitted,
    /// The submission window for this nonce is closed (or the nonce is fulfilled): give up.
    WindowClosed,
    /// The account cannot pay (no funds, or unknown account = never funded).
    Unfunded,
    /// Transient node condition (mempool full): retry later, same tx.
    Busy,
    /// The identical tx is already in the mempool: wait for it.
    AlreadyInMempool,
    /// The configured fee granter's allowance did not pay: a configuration problem that
    /// retrying cannot fix.
    FeeGrant(FeeGrantProblem),
    /// Anything else: the chain refused the message.
    Rejected,
}

impl ErrorClass {
    /// Classifies a result by codespace, code and log text.
    pub fn classify(codespace: &str, code: u32, log: &str) -> ErrorClass {
        let lower = log.to_ascii_lowercase();
        if let Some(problem) = fee_grant_problem(codespace, code, &lower) {
            return ErrorClass::FeeGrant(problem);
        }
        if codespace == "emissions" {
            match code {
                emissions_code::CANT_UPDATE_EMA_MORE_THAN_ONCE_PER_WINDOW => {
                    return ErrorClass::AlreadySubmitted;
                }
                emissions_code::WORKER_NONCE_WINDOW_NOT_AVAILABLE
                | emissions_code::REPUTER_NONCE_WINDOW_NOT_AVAILABLE
                | emissions_code::UNFULFILLED_NONCE_NOT_FOUND => return ErrorClass::WindowClosed,
                _ => {}
            }
        }
        // Text checks first for wrapped errors: a DeliverTx log can carry an inner message
        // whose codespace/code are those of the wrapper.
        if lower.contains("already submitted") || lower.contains("cannot update ema") {
            return ErrorClass::AlreadySubmitted;
        }
        if lower.contains("account sequence mismatch")
            || lower.contains("incorrect account sequence")
        {
            return ErrorClass::Sequence {
                expected: parse_expected_sequence(log),
            };
        }
        if lower.contains("insufficient fee") {
            return ErrorClass::InsufficientFee {
                required: parse_required_fee(log),
            };
        }
        if lower.contains("out of gas") {
            return ErrorClass::OutOfGas;
        }
        if codespace == "sdk" || codespace.is_empty() {
            match code {
                sdk_code::WRONG_SEQUENCE => {
                    return ErrorClass::Sequence {
                        expected: parse_expected_sequence(log),
                    };
                }
                sdk_code::INSUFFICIENT_FEE => {
                    return ErrorClass::InsufficientFee {
                        required: parse_required_fee(log),
                    };
                }
                sdk_code::OUT_OF_GAS => return ErrorClass::OutOfGas,
                sdk_code::INSUFFICIENT_FUNDS | sdk_code::UNKNOWN_ADDRESS => {
                    return ErrorClass::Unfunded;
                }
                sdk_code::MEMPOOL_IS_FULL => return ErrorClass::Busy,
                sdk_code::TX_IN_MEMPOOL_CACHE => return ErrorClass::AlreadyInMempool,
                sdk_code::TX_TIMEOUT_HEIGHT => return ErrorClass::WindowClosed,
                _ => {}
            }
        }
        if lower.contains("window") && (lower.contains("not available") || lower.contains("closed"))
        {
            return ErrorClass::WindowClosed;
        }
        if lower.contains("insufficient funds") {
            return ErrorClass::Unfunded;
        }
        if lower.contains("mempool is full") {
            return ErrorClass::Busy;
        }
        if lower.contains("tx already exists in cache") {
            return ErrorClass::AlreadyInMempool;
        }
        ErrorClass::Rejected
    }
}

impl ErrorClass {
    /// Classifies a chain failure carried as data.
    pub fn of(failure: &crate::AbciFailure) -> ErrorClass {
        ErrorClass::classify(&failure.codespace, failure.code, &failure.log)
    }
}

/// A fee-grant refusal from the ante handler. The SDK wraps every one as
/// "<granter> does not allow to pay fees for <grantee>: …" (feemarket adds "error escrowing
/// funds: "), so the text decides even when the codespace is the wrapper's.
fn fee_grant_problem(codespace: &str, code: u32, lower: &str) -> Option<FeeGrantProblem> {
    if lower.contains("fee grants are not enabled") {
        return Some(FeeGrantProblem::NotEnabled);
    }
    if codespace == "feegrant" {
        match code {
            feegrant_code::FEE_LIMIT_EXCEEDED => return Some(FeeGrantProblem::LimitExceeded),
            feegrant_code::FEE_LIMIT_EXPIRED => return Some(FeeGrantProblem::Expired),
            feegrant_code::NO_ALLOWANCE => return Some(FeeGrantProblem::NotFound),
            _ => {}
        }
    }
    if lower.contains("fee allowance expired") {
        Some(FeeGrantProblem::Expired)
    } else if lower.contains("fee limit exceeded") {
        Some(FeeGrantProblem::LimitExceeded)
    } else if lower.contains("fee-grant not found") || lower.contains("does not allow to pay fees")
    {
        Some(FeeGrantProblem::NotFound)
    } else {
        None
    }
}

/// Whether a query's refusal means "no such thing" (account never funded, tx not in a block
/// yet): gRPC `NotFound`, or the SDK's wording when a node maps it to another code, or a
/// CometBFT JSON-RPC error (which has no code at all).
pub fn is_not_found(code: tonic::Code, message: &str) -> bool {
    code == tonic::Code::NotFound || message.contains("not found")
}

/// Whether a query's refusal means "this chain does not serve that method" (gRPC
/// `Unimplemented`, or the SDK's router wording when it comes over `abci_query`).
pub fn is_unimplemented(code: tonic::Code, message: &str) -> bool {
    code == tonic::Code::Unimplemented
        || message.contains("unknown method")
        || message.contains("no custom querier found")
        || message.contains("unknown query path")
}

/// "account sequence mismatch, expected 12, got 11: incorrect account sequence" → 12.
pub fn parse_expected_sequence(log: &str) -> Option<u64> {
    let i = log.find("expected ")?;
    leading_u128(&log[i + "expected ".len()..]).and_then(|v| u64::try_from(v).ok())
}

/// "insufficient fees; got: 10uallo required: 200uallo: insufficient fee" → 200.
/// Takes the first coin after "required:" (the fee denom on Allora is the only one).
pub fn parse_required_fee(log: &str) -> Option<u128> {
    let i = log.find("required:")?;
    leading_u128(log[i + "required:".len()..].trim_start())
}

/// "failed to execute message; message index: 2: …" → 2: which message of a batch failed.
pub fn parse_message_index(log: &str) -> Option<usize> {
    let i = log.find("message index: ")?;
    leading_u128(&log[i + "message index: ".len()..]).and_then(|v| usize::try_from(v).ok())
}

fn leading_u128(s: &str) -> Option<u128> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_mismatch() {
        let log = "account sequence mismatch, expected 12, got 11: incorrect account sequence";
        assert_eq!(
            ErrorClass::classify("sdk", 32, log),
            ErrorClass::Sequence { expected: Some(12) }
        );
        assert_eq!(parse_expected_sequence(log), Some(12));
        // the text alone (e.g. from a wrapped simulate error) is enough
        assert_eq!(
            ErrorClass::classify("", 0, &format!("rpc error: code = Unknown desc = {log}")),
            ErrorClass::Sequence { expected: Some(12) }
        );
        // code alone, without a parsable number
        assert_eq!(
            ErrorClass::classify("sdk", 32, "incorrect account sequence"),
            ErrorClass::Sequence { expected: None }
        );
    }

    #[test]
    fn insufficient_fee() {
        let log = "insufficient fees; got: 10uallo required: 200uallo: insufficient fee";
        assert_eq!(
            ErrorClass::classify("sdk", 13, log),
            ErrorClass::InsufficientFee {
                required: Some(200)
            }
        );
        // feemarket's wording
        let fm =
            "got: 10uallo required: 2500000uallo, minimum gas price: 12.5uallo: insufficient fee";
        assert_eq!(parse_required_fee(fm), Some(2_500_000));
        assert_eq!(
            ErrorClass::classify("sdk", 13, "insufficient fee"),
            ErrorClass::InsufficientFee { required: None }
        );
    }

    #[test]
    fn gas_funds_mempool() {
        assert_eq!(
            ErrorClass::classify(
                "sdk",
                11,
                "out of gas in location: WriteFlat; gasWanted: 200000, gasUsed: 200140: out of gas"
            ),
            ErrorClass::OutOfGas
        );
        assert_eq!(
            ErrorClass::classify(
                "sdk",
                5,
                "spendable balance 0uallo is smaller than 2000uallo: insufficient funds"
            ),
            ErrorClass::Unfunded
        );
        assert_eq!(
            ErrorClass::classify("sdk", 9, "account allo1xyz not found: unknown address"),
            ErrorClass::Unfunded
        );
        assert_eq!(
            ErrorClass::classify("sdk", 20, "mempool is full"),
            ErrorClass::Busy
        );
        assert_eq!(
            ErrorClass::classify("sdk", 19, "tx already exists in cache"),
            ErrorClass::AlreadyInMempool
        );
        assert_eq!(
            ErrorClass::classify(
                "sdk",
                30,
                "blockHeight 120 > timeoutHeight 110: tx timeout height"
            ),
            ErrorClass::WindowClosed
        );
    }

    #[test]
    fn emissions_codes() {
        assert_eq!(
            ErrorClass::classify(
                "emissions",
                78,
                "cannot update EMA more than once per window"
            ),
            ErrorClass::AlreadySubmitted
        );
        assert_eq!(
            ErrorClass::classify("emissions", 67, "worker nonce window not available"),
            ErrorClass::WindowClosed
        );
        assert_eq!(
            ErrorClass::classify("emissions", 68, "reputer nonce window not available"),
            ErrorClass::WindowClosed
        );
        assert_eq!(
            ErrorClass::classify("emissions", 75, "unfulfilled nonce not found"),
            ErrorClass::WindowClosed
        );
        // "inference already submitted" is a plain (undefined codespace) error on chain
        assert_eq!(
            ErrorClass::classify(
                "undefined",
                1,
                "failed to execute message; message index: 0: inference already submitted"
            ),
            ErrorClass::AlreadySubmitted
        );
        assert_eq!(
            ErrorClass::classify("emissions", 13, "address is not registered in this topic"),
            ErrorClass::Rejected
        );
        assert_eq!(
            ErrorClass::classify(
                "sdk",
                4,
                "signature verification failed; please verify account number (3) and chain-id (x): unauthorized"
            ),
            ErrorClass::Rejected
        );
    }

    /// The logs allorad v0.17.0 gives (x/feegrant v0.1.1 under feemarket's fee decorator).
    #[test]
    fn fee_grant_refusals() {
        let g = "allo1granter";
        let p = "allo1grantee";
        let wrap = |inner: &str| {
            format!("error escrowing funds: {g} does not allow to pay fees for {p}: {inner}")
        };
        assert_eq!(
            ErrorClass::classify("sdk", 38, &wrap("fee-grant not found: not found")),
            ErrorClass::FeeGrant(FeeGrantProblem::NotFound)
        );
        assert_eq!(
            ErrorClass::classify(
                "feegrant",
                3,
                &wrap("basic allowance: fee allowance expired")
            ),
            ErrorClass::FeeGrant(FeeGrantProblem::Expired)
        );
        assert_eq!(
            ErrorClass::classify("feegrant", 2, &wrap("basic allowance: fee limit exceeded")),
            ErrorClass::FeeGrant(FeeGrantProblem::LimitExceeded)
        );
        // allorad v0.17.0 prints the addresses as raw bytes (feemarket formats []byte with
        // %s), as seen on a localnet: the granter is never read from the log
        assert_eq!(
            ErrorClass::classify(
                "sdk",
                38,
                "error escrowing funds: \u{18}N*uk\u{fffd}h does not allow to pay fees for Lw\u{b}: fee-grant not found: not found"
            ),
            ErrorClass::FeeGrant(FeeGrantProblem::NotFound)
        );
        // text only (a wrapped simulate error)
        assert_eq!(
            ErrorClass::classify("", 0, "rpc error: fee limit exceeded"),
            ErrorClass::FeeGrant(FeeGrantProblem::LimitExceeded)
        );
        assert_eq!(
            ErrorClass::classify("sdk", 18, "fee grants are not enabled: invalid request"),
            ErrorClass::FeeGrant(FeeGrantProblem::NotEnabled)
        );
        // a plain "not found" is not a fee-grant problem
        assert_eq!(
            ErrorClass::classify("sdk", 38, "tx not found: not found"),
            ErrorClass::Rejected
        );
    }

    #[test]
    fn message_index() {
        assert_eq!(
            parse_message_index("failed to execute message; message index: 2: bad things"),
            Some(2)
        );
        assert_eq!(parse_message_index("nothing here"), None);
    }
}
