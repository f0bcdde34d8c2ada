//! Classification of transaction failures (CheckTx, DeliverTx, Simulate) into the few
//! outcomes the tx actor acts on: resync the sequence, reprice, add gas, treat as done, give
//! up for that nonce, switch endpoint, or report a rejection.
//!
//! Classification uses the ABCI `(codespace, code)` when the chain gives one and the
//! registered SDK/emissions message text otherwise (Simulate errors arrive as gRPC status
//! text without a code). Codes: cosmos-sdk `types/errors`, allora-chain
//! `x/emissions/types/errors.go` (protocol reference §B, §D.5).

/// Why a submission did not (or may not have) land.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// `account sequence mismatch, expected N, got M` (sdk 32).
    #[error("account sequence mismatch (expected {expected:?}, got {got:?}): {log}")]
    Sequence {
        expected: Option<u64>,
        got: Option<u64>,
        log: String,
    },
    /// The fee is below the node's minimum (sdk 13).
    #[error("insufficient fee (required {required:?} uallo): {log}")]
    InsufficientFee { required: Option<u128>, log: String },
    /// The fee the chain asks for exceeds the configured `maxFees`.
    #[error(
        "fee {needed} uallo exceeds maxFees {max} uallo; raise wallet.maxFees or wait for lower gas prices"
    )]
    FeeAboveMax { needed: u128, max: u128 },
    /// The gas limit was too low (sdk 11).
    #[error("out of gas: {log}")]
    OutOfGas { log: String },
    /// The payload for this nonce is already on chain (emissions 75/78, "already submitted").
    #[error("already submitted (code {code}): {log}")]
    AlreadySubmitted { code: u32, log: String },
    /// The nonce's submission window is not open (emissions 67/68).
    #[error("submission window closed (code {code}): {log}")]
    WindowClosed { code: u32, log: String },
    /// Not enough balance for fees or the message's own fee (sdk 5).
    #[error("insufficient funds: {log}; fund the wallet address")]
    InsufficientFunds { log: String },
    /// The node's mempool is full (sdk 20); retry later.
    #[error("mempool is full: {log}")]
    MempoolFull { log: String },
    /// No endpoint answered.
    #[error("transport error calling {method} on {endpoint}: {message}")]
    Transport {
        endpoint: String,
        method: &'static str,
        message: String,
    },
    /// Broadcast accepted but not seen in a block before the confirmation timeout.
    #[error("tx {tx_hash} not included within the confirmation timeout")]
    Timeout { tx_hash: String },
    /// The message's deadline height passed before it could be sent.
    #[error("deadline height {deadline} passed (chain at {height})")]
    Expired { deadline: i64, height: i64 },
    /// Any other rejection by the chain.
    #[error("rejected by the chain (codespace {codespace:?}, code {code}): {log}")]
    Rejected {
        codespace: String,
        code: u32,
        log: String,
    },
    /// The tx could not be built or signed locally.
    #[error("cannot build tx: {0}")]
    Build(String),
    /// The tx actor has stopped.
    #[error("tx actor stopped")]
    ActorStopped,
}

impl TxError {
    /// Short, bounded label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            TxError::Sequence { .. } => "sequence",
            TxError::InsufficientFee { .. } => "fee",
            TxError::FeeAboveMax { .. } => "fee_above_max",
            TxError::OutOfGas { .. } => "out_of_gas",
            TxError::AlreadySubmitted { .. } => "already_submitted",
            TxError::WindowClosed { .. } => "window_closed",
            TxError::InsufficientFunds { .. } => "funds",
            TxError::MempoolFull { .. } => "mempool_full",
            TxError::Transport { .. } => "transport",
            TxError::Timeout { .. } => "timeout",
            TxError::Expired { .. } => "expired",
            TxError::Rejected { .. } => "rejected",
            TxError::Build(_) => "build",
            TxError::ActorStopped => "actor_stopped",
        }
    }

    /// The ABCI code, when the failure came with one (or maps to a registered one).
    pub fn code(&self) -> Option<u32> {
        match self {
            TxError::Sequence { .. } => Some(32),
            TxError::InsufficientFee { .. } => Some(13),
            TxError::OutOfGas { .. } => Some(11),
            TxError::InsufficientFunds { .. } => Some(5),
            TxError::MempoolFull { .. } => Some(20),
            TxError::AlreadySubmitted { code, .. }
            | TxError::WindowClosed { code, .. }
            | TxError::Rejected { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Nothing more to do for this nonce: the payload is on chain or can no longer be.
    pub fn is_final_for_nonce(&self) -> bool {
        matches!(
            self,
            TxError::AlreadySubmitted { .. }
                | TxError::WindowClosed { .. }
                | TxError::Expired { .. }
        )
    }

    /// Failures caused by one message's content (not the tx envelope): when a batch fails
    /// with one of these, the other messages are retried on their own.
    pub fn is_message_specific(&self) -> bool {
        match self {
            TxError::AlreadySubmitted { .. } | TxError::WindowClosed { .. } => true,
            TxError::Rejected { codespace, log, .. } => {
                codespace != "sdk" || log.contains("message index")
            }
            _ => false,
        }
    }
}

/// Parses `account sequence mismatch, expected N, got M`.
pub fn parse_sequence_mismatch(log: &str) -> Option<(u64, Option<u64>)> {
    let rest = &log[log.find("expected ")? + "expected ".len()..];
    let expected = leading_u64(rest)?;
    let got = rest
        .find("got ")
        .and_then(|i| leading_u64(&rest[i + "got ".len()..]));
    Some((expected, got))
}

/// Parses the required fee from `insufficient fees; got: 10uallo required: 200uallo`.
pub fn parse_required_fee(log: &str) -> Option<u128> {
    let rest = &log[log.find("required: ")? + "required: ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn leading_u64(s: &str) -> Option<u64> {
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Classifies an ABCI result (`code != 0`) from CheckTx or DeliverTx.
pub fn classify(codespace: &str, code: u32, log: &str) -> TxError {
    let log_s = log.to_string();
    match (codespace, code) {
        ("sdk", 32) | ("sdk", 3) => sequence(log),
        ("sdk", 13) => TxError::InsufficientFee {
            required: parse_required_fee(log),
            log: log_s,
        },
        ("sdk", 11) => TxError::OutOfGas { log: log_s },
        ("sdk", 5) => TxError::InsufficientFunds { log: log_s },
        ("sdk", 20) => TxError::MempoolFull { log: log_s },
        ("emissions", 75) | ("emissions", 78) => TxError::AlreadySubmitted { code, log: log_s },
        ("emissions", 67) | ("emissions", 68) => TxError::WindowClosed { code, log: log_s },
        _ if log.contains("already submitted") => TxError::AlreadySubmitted { code, log: log_s },
        _ => TxError::Rejected {
            codespace: codespace.to_string(),
            code,
            log: log_s,
        },
    }
}

/// Classifies an error that came only as text (Simulate failures, gRPC status messages),
/// by the registered messages the SDK and the emissions module append to wrapped errors.
pub fn classify_message(msg: &str) -> TxError {
    let m = msg.to_ascii_lowercase();
    let log = msg.to_string();
    if m.contains("account sequence mismatch") || m.contains("incorrect account sequence") {
        sequence(msg)
    } else if m.contains("insufficient fee") {
        TxError::InsufficientFee {
            required: parse_required_fee(msg),
            log,
        }
    } else if m.contains("out of gas") {
        TxError::OutOfGas { log }
    } else if m.contains("already submitted")
        || m.contains("cannot update ema more than once per window")
        || m.contains("unfulfilled nonce not found")
    {
        let code = if m.contains("unfulfilled nonce not found") {
            75
        } else {
            78
        };
        TxError::AlreadySubmitted { code, log }
    } else if m.contains("worker nonce window not available") {
        TxError::WindowClosed { code: 67, log }
    } else if m.contains("reputer nonce window not available") {
        TxError::WindowClosed { code: 68, log }
    } else if m.contains("insufficient funds") {
        TxError::InsufficientFunds { log }
    } else if m.contains("mempool is full") {
        TxError::MempoolFull { log }
    } else {
        TxError::Rejected {
            codespace: String::new(),
            code: 0,
            log,
        }
    }
}

fn sequence(log: &str) -> TxError {
    let parsed = parse_sequence_mismatch(log);
    TxError::Sequence {
        expected: parsed.map(|p| p.0),
        got: parsed.and_then(|p| p.1),
        log: log.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real strings as the Cosmos SDK 0.50 ante handler and the emissions module log them.
    const SEQ: &str = "account sequence mismatch, expected 17, got 15: incorrect account sequence";
    const SIM_SEQ: &str = "rpc error: code = Unknown desc = account sequence mismatch, expected 3, got 2: incorrect account sequence [cosmos/cosmos-sdk@v0.50.9/x/auth/ante/sigverify.go:290] with gas used: '36426': unknown request";
    const FEE: &str = "insufficient fees; got: 5000uallo required: 75000000uallo: insufficient fee";
    const OOG: &str =
        "out of gas in location: WriteFlat; gasWanted: 200000, gasUsed: 201234: out of gas";
    const EMA: &str = "inference already submitted: cannot update EMA more than once per window";
    const FUNDS: &str = "spendable balance 10uallo is smaller than 5000uallo: insufficient funds";

    #[test]
    fn sequence_mismatch_is_parsed() {
        assert_eq!(parse_sequence_mismatch(SEQ), Some((17, Some(15))));
        let e = classify("sdk", 32, SEQ);
        assert_eq!(
            e,
            TxError::Sequence {
                expected: Some(17),
                got: Some(15),
                log: SEQ.into()
            }
        );
        assert_eq!(e.kind(), "sequence");
        assert_eq!(e.code(), Some(32));
        match classify_message(SIM_SEQ) {
            TxError::Sequence { expected, got, .. } => {
                assert_eq!((expected, got), (Some(3), Some(2)))
            }
            other => panic!("got {other:?}"),
        }
    }

    #[test]
    fn insufficient_fee_carries_the_required_amount() {
        match classify("sdk", 13, FEE) {
            TxError::InsufficientFee { required, .. } => assert_eq!(required, Some(75_000_000)),
            other => panic!("got {other:?}"),
        }
        assert_eq!(classify_message(FEE).kind(), "fee");
        assert_eq!(parse_required_fee("insufficient fee"), None);
    }

    #[test]
    fn gas_funds_mempool() {
        assert_eq!(classify("sdk", 11, OOG).kind(), "out_of_gas");
        assert_eq!(classify_message(OOG).kind(), "out_of_gas");
        assert_eq!(classify("sdk", 5, FUNDS).kind(), "funds");
        assert_eq!(
            classify("sdk", 20, "mempool is full").kind(),
            "mempool_full"
        );
    }

    #[test]
    fn emissions_codes() {
        let e = classify("emissions", 78, EMA);
        assert_eq!(e.kind(), "already_submitted");
        assert!(e.is_final_for_nonce());
        assert_eq!(
            classify("emissions", 75, "nonce 10: unfulfilled nonce not found").kind(),
            "already_submitted"
        );
        let w = classify(
            "emissions",
            67,
            "nonce 10 window 10..14, height 15: worker nonce window not available",
        );
        assert_eq!(w.kind(), "window_closed");
        assert_eq!(w.code(), Some(67));
        assert_eq!(
            classify("emissions", 68, "reputer nonce window not available").kind(),
            "window_closed"
        );
        assert_eq!(classify_message(EMA).kind(), "already_submitted");
        assert_eq!(
            classify_message(
                "failed to execute message; message index: 0: worker nonce window not available"
            )
            .kind(),
            "window_closed"
        );
        // A code we do not know but the SDK's "already submitted" wording.
        assert_eq!(
            classify("emissions", 99, "payload already submitted").kind(),
            "already_submitted"
        );
    }

    #[test]
    fn other_rejections_keep_their_code() {
        let e = classify(
            "sdk",
            4,
            "signature verification failed; please verify account number (3) and chain-id (x): unauthorized",
        );
        assert_eq!(e.kind(), "rejected");
        assert_eq!(e.code(), Some(4));
        assert!(
            !e.is_message_specific(),
            "a bad signature sinks the whole tx"
        );
        assert!(!e.is_final_for_nonce());
        assert!(classify("emissions", 52, "invalid value").is_message_specific());
    }
}
