//! Why a submission did not land ([`TxError`]), as data: the class of the failure (its
//! variant, and [`TxErrorKind`] for callers and metrics labels) and, when the chain answered,
//! its ABCI codespace, code and log ([`AbciFailure`]). Nothing downstream reads the text.

use std::time::Duration;

use thiserror::Error;

use crate::errors::{ErrorClass, FeeGrantProblem, sdk_code};
use crate::fees::FeeError;
use crate::{AbciFailure, ChainError};

/// Why a submission window is closed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WindowClosed {
    /// Our own check: the message's deadline height has passed.
    #[error("window ended at height {deadline}, chain is at {height}")]
    Deadline { deadline: i64, height: i64 },
    /// The chain said so (emissions "nonce window not available", tx timeout height).
    #[error("{0}")]
    Chain(AbciFailure),
}

/// Why the account cannot pay.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Unfunded {
    /// The chain has no account state (never funded).
    #[error("account {address} does not exist on chain; fund it with uallo")]
    NoAccount { address: String },
    /// The chain refused the fee or the amount (insufficient funds, unknown address).
    #[error("{0}")]
    Chain(AbciFailure),
}

/// The last failure of a batch's attempts, kept so that giving up reports why.
#[derive(Debug, Clone, Error)]
pub enum AttemptFailure {
    /// The chain refused the tx (simulate / CheckTx / DeliverTx), classified once.
    #[error("{failure}")]
    Chain {
        class: ErrorClass,
        failure: AbciFailure,
    },
    /// A query or broadcast did not reach the chain (or got no usable answer).
    #[error("{0}")]
    Query(ChainError),
    /// The tx passed its `timeout_height` without being included.
    #[error("tx {tx_hash} expired at timeout height {timeout_height}")]
    Expired {
        tx_hash: String,
        timeout_height: u64,
    },
    #[error("no failure recorded")]
    None,
}

/// Why a submission did not land. [`TxError::kind`] is the typed class, [`TxError::code`]
/// the chain's ABCI code when there is one.
#[derive(Debug, Clone, Error)]
pub enum TxError {
    #[error(
        "account sequence could not be agreed with the chain after {attempts} attempts; last error: {last}"
    )]
    Sequence { attempts: u32, last: AbciFailure },
    #[error("fee: {source}")]
    Fee {
        #[source]
        source: FeeError,
        /// The chain's "insufficient fee" answer that led here, if any.
        chain: Option<AbciFailure>,
    },
    #[error("already submitted for this nonce (counted as done): {0}")]
    AlreadySubmitted(AbciFailure),
    #[error("submission window closed: {0}")]
    WindowClosed(WindowClosed),
    #[error("chain unreachable: gave up after {attempts} attempts; last error: {last}")]
    Transport {
        attempts: u32,
        /// Boxed: a `ChainError` inside would make every `Result<_, TxError>` large.
        last: Box<AttemptFailure>,
    },
    #[error("chain unreachable while confirming {tx_hash}: {source}")]
    Unconfirmed {
        tx_hash: String,
        #[source]
        source: Box<ChainError>,
    },
    #[error("account cannot pay: {0}")]
    Unfunded(Unfunded),
    /// The configured fee granter's allowance did not pay; not retried (a config problem).
    #[error("fee granter {granter} does not pay for this wallet ({problem:?}): {failure}; fix: {}", problem.fix())]
    FeeGrant {
        granter: String,
        problem: FeeGrantProblem,
        failure: AbciFailure,
    },
    #[error("out of gas after retries: {0}")]
    OutOfGas(AbciFailure),
    #[error("rejected by the chain: {0}")]
    Rejected(AbciFailure),
    #[error("tx {tx_hash} not seen in a block within {waited:?}; it may still land")]
    Timeout { tx_hash: String, waited: Duration },
    #[error("the tx actor has stopped")]
    Stopped,
}

/// What kind of failure a [`TxError`] is: the typed class callers match on (actors decide
/// settle / retry / skip from it) and, through [`TxErrorKind::as_str`], the bounded metrics
/// label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TxErrorKind {
    Sequence,
    Fee,
    AlreadySubmitted,
    WindowClosed,
    Transport,
    Unfunded,
    FeeGrant,
    OutOfGas,
    Rejected,
    Timeout,
    Stopped,
}

impl TxErrorKind {
    /// Bounded label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            TxErrorKind::Sequence => "sequence",
            TxErrorKind::Fee => "fee",
            TxErrorKind::AlreadySubmitted => "already_submitted",
            TxErrorKind::WindowClosed => "window_closed",
            TxErrorKind::Transport => "transport",
            TxErrorKind::Unfunded => "unfunded",
            TxErrorKind::FeeGrant => "fee_grant",
            TxErrorKind::OutOfGas => "gas",
            TxErrorKind::Rejected => "rejected",
            TxErrorKind::Timeout => "timeout",
            TxErrorKind::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for TxErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TxError {
    /// The typed kind of this failure.
    pub fn kind(&self) -> TxErrorKind {
        match self {
            TxError::Sequence { .. } => TxErrorKind::Sequence,
            TxError::Fee { .. } => TxErrorKind::Fee,
            TxError::AlreadySubmitted(_) => TxErrorKind::AlreadySubmitted,
            TxError::WindowClosed(_) => TxErrorKind::WindowClosed,
            TxError::Transport { .. } | TxError::Unconfirmed { .. } => TxErrorKind::Transport,
            TxError::Unfunded(_) => TxErrorKind::Unfunded,
            TxError::FeeGrant { .. } => TxErrorKind::FeeGrant,
            TxError::OutOfGas(_) => TxErrorKind::OutOfGas,
            TxError::Rejected(_) => TxErrorKind::Rejected,
            TxError::Timeout { .. } => TxErrorKind::Timeout,
            TxError::Stopped => TxErrorKind::Stopped,
        }
    }

    /// The ABCI code behind the error, when there is one (metrics: tx errors by code).
    /// Classes the SDK has a code for report it even when the chain gave only text.
    pub fn code(&self) -> Option<u32> {
        match self {
            TxError::Rejected(f) | TxError::FeeGrant { failure: f, .. } => Some(f.code),
            TxError::AlreadySubmitted(f) | TxError::WindowClosed(WindowClosed::Chain(f)) => {
                f.code()
            }
            TxError::WindowClosed(WindowClosed::Deadline { .. }) => None,
            TxError::Sequence { last, .. } => last.code().or(Some(sdk_code::WRONG_SEQUENCE)),
            TxError::OutOfGas(f) => f.code().or(Some(sdk_code::OUT_OF_GAS)),
            TxError::Unfunded(Unfunded::Chain(f)) => {
                f.code().or(Some(sdk_code::INSUFFICIENT_FUNDS))
            }
            TxError::Unfunded(Unfunded::NoAccount { .. }) => Some(sdk_code::INSUFFICIENT_FUNDS),
            TxError::Fee { chain, .. } => chain.as_ref().and_then(AbciFailure::code),
            TxError::Transport { .. }
            | TxError::Unconfirmed { .. }
            | TxError::Timeout { .. }
            | TxError::Stopped => None,
        }
    }

    /// Whether the caller can consider the nonce handled (nothing more to send).
    pub fn is_done(&self) -> bool {
        matches!(self, TxError::AlreadySubmitted(_))
    }

    /// The error for one message the chain refused, by class (`AlreadySubmitted`,
    /// `WindowClosed` or anything else = `Rejected`).
    pub(super) fn per_message(class: &ErrorClass, failure: AbciFailure) -> TxError {
        match class {
            ErrorClass::AlreadySubmitted => TxError::AlreadySubmitted(failure),
            ErrorClass::WindowClosed => TxError::WindowClosed(WindowClosed::Chain(failure)),
            _ => TxError::Rejected(failure),
        }
    }

    /// The error of a batch whose attempts ran out: a sequence the chain kept refusing, or
    /// (anything else) an unreachable chain.
    pub(super) fn gave_up(attempts: u32, last: AttemptFailure) -> TxError {
        match last {
            AttemptFailure::Chain {
                class: ErrorClass::Sequence { .. },
                failure,
            } => TxError::Sequence {
                attempts,
                last: failure,
            },
            last => TxError::Transport {
                attempts,
                last: Box::new(last),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(cs: &str, code: u32) -> AbciFailure {
        AbciFailure::new(cs, code, "log")
    }

    #[test]
    fn error_kinds_are_bounded_labels() {
        let all = [
            TxError::Sequence {
                attempts: 1,
                last: AbciFailure::default(),
            },
            TxError::Fee {
                source: FeeError::AboveMax {
                    needed: 2,
                    max: 1,
                    denom: "uallo".into(),
                },
                chain: None,
            },
            TxError::AlreadySubmitted(AbciFailure::default()),
            TxError::WindowClosed(WindowClosed::Deadline {
                deadline: 1,
                height: 2,
            }),
            TxError::Transport {
                attempts: 1,
                last: Box::new(AttemptFailure::None),
            },
            TxError::Unfunded(Unfunded::NoAccount {
                address: "a".into(),
            }),
            TxError::OutOfGas(AbciFailure::default()),
            TxError::Rejected(chain("sdk", 4)),
            TxError::Timeout {
                tx_hash: "AB".into(),
                waited: Duration::from_secs(1),
            },
            TxError::Stopped,
        ];
        let kinds: std::collections::BTreeSet<_> = all.iter().map(|e| e.kind()).collect();
        assert_eq!(kinds.len(), all.len());
        assert!(all[2].is_done());
        assert!(!all[3].is_done());
    }

    #[test]
    fn codes_come_from_the_chain_answer() {
        let e = TxError::per_message(&ErrorClass::AlreadySubmitted, chain("emissions", 78));
        assert_eq!(
            (e.kind().as_str(), e.code()),
            ("already_submitted", Some(78))
        );
        let e = TxError::per_message(&ErrorClass::WindowClosed, chain("emissions", 68));
        assert_eq!((e.kind().as_str(), e.code()), ("window_closed", Some(68)));
        let e = TxError::per_message(&ErrorClass::Rejected, chain("emissions", 13));
        assert_eq!((e.kind(), e.code()), (TxErrorKind::Rejected, Some(13)));
        // A window closed by our own deadline check carries no chain code.
        let e = TxError::WindowClosed(WindowClosed::Deadline {
            deadline: 9,
            height: 10,
        });
        assert_eq!(e.code(), None);
        assert_eq!(
            e.to_string(),
            "submission window closed: window ended at height 9, chain is at 10"
        );
        // Text-only answers (simulate over gRPC) still report the SDK's code for the class.
        let e = TxError::gave_up(
            3,
            AttemptFailure::Chain {
                class: ErrorClass::Sequence { expected: None },
                failure: AbciFailure::new("", 0, "account sequence mismatch"),
            },
        );
        assert_eq!((e.kind(), e.code()), (TxErrorKind::Sequence, Some(32)));
        assert_eq!(
            TxError::OutOfGas(AbciFailure::default()).code(),
            Some(sdk_code::OUT_OF_GAS)
        );
        assert_eq!(
            TxError::Unfunded(Unfunded::Chain(chain("sdk", 9))).code(),
            Some(9)
        );
        let e = TxError::gave_up(2, AttemptFailure::None);
        assert_eq!((e.kind(), e.code()), (TxErrorKind::Transport, None));
    }
}
