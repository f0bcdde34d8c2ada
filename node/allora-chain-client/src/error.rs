//! Typed failures of the query side of the chain client ([`ChainError`]) and the data they
//! carry: which transport and endpoint failed and how ([`TransportFailure`]), and what the
//! chain itself answered ([`AbciFailure`]: codespace, code, log).
//!
//! Callers decide on these fields (fail over, fall back to RPC, give up, retry), never on
//! the rendered text; the only parser of chain text is [`crate::errors`].

use std::fmt;
use std::time::Duration;

use thiserror::Error;

/// What the chain answered when it refused something: the ABCI codespace, code and log of
/// a CheckTx / DeliverTx / simulate / `abci_query` result. `code == 0` means the chain gave
/// only text (e.g. a simulate failure over gRPC, where the code is not in the status).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AbciFailure {
    pub codespace: String,
    pub code: u32,
    pub log: String,
}

impl AbciFailure {
    pub fn new(codespace: impl Into<String>, code: u32, log: impl Into<String>) -> AbciFailure {
        AbciFailure {
            codespace: codespace.into(),
            code,
            log: log.into(),
        }
    }

    /// The ABCI code when the chain gave one.
    pub fn code(&self) -> Option<u32> {
        (self.code != 0).then_some(self.code)
    }
}

impl fmt::Display for AbciFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.code == 0 {
            return f.write_str(&self.log);
        }
        // An empty codespace is the SDK's own (`sdk`), as CometBFT leaves it blank then.
        let cs = if self.codespace.is_empty() {
            "sdk"
        } else {
            &self.codespace
        };
        write!(f, "{cs}/{}: {}", self.code, self.log)
    }
}

/// Which of the two transports an endpoint belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Grpc,
    /// CometBFT JSON-RPC (the fallback).
    Rpc,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Grpc => "gRPC",
            Transport::Rpc => "CometBFT RPC",
        })
    }
}

/// How an endpoint failed at the transport level (the chain's answer never got through).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransportReason {
    /// A gRPC status that means "this connection is bad" (see
    /// [`crate::endpoints::is_transport_status`]).
    #[error("{code:?}: {message}")]
    Grpc { code: tonic::Code, message: String },
    /// The call's own budget ran out (a half-closed connection looks like this).
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// An HTTP client failure (connect, reset, TLS, a body that is not JSON-RPC).
    #[error("{0}")]
    Http(String),
}

/// One endpoint's transport failure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{transport} {endpoint}: {reason}")]
pub struct TransportFailure {
    pub transport: Transport,
    pub endpoint: String,
    pub reason: TransportReason,
}

/// The last failure of each transport tried, rendered for [`ChainError::Unreachable`].
fn render_failures(failures: &[TransportFailure]) -> String {
    if failures.is_empty() {
        return "no endpoint tried".to_owned();
    }
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn render_abci(abci: &Option<AbciFailure>) -> String {
    match abci {
        Some(a) if a.code != 0 => format!(" (codespace {:?}, code {})", a.codespace, a.code),
        _ => String::new(),
    }
}

/// Query/transport failures of the chain client.
#[derive(Debug, Clone, Error)]
pub enum ChainError {
    #[error("chain client configuration: {0}")]
    Config(String),
    #[error(
        "{op}: all {tried} endpoint(s) failed (last: {}); check wallet.nodeGrpcs / wallet.nodeRpcs and that the nodes are reachable",
        render_failures(last)
    )]
    Unreachable {
        op: &'static str,
        tried: usize,
        /// The last failure of each transport tried (gRPC, then the RPC fallback).
        last: Vec<TransportFailure>,
    },
    /// The chain answered "no" (a gRPC status that is not a transport failure, or a non-zero
    /// `abci_query` code mapped back to the gRPC code the SDK derived it from).
    #[error("{op} on {endpoint}: {code:?}: {message}{}", render_abci(abci))]
    Status {
        op: &'static str,
        endpoint: String,
        code: tonic::Code,
        message: String,
        /// The ABCI result when the answer came over `abci_query` (gRPC carries none).
        abci: Option<AbciFailure>,
    },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error(
        "chain-id mismatch: configured {expected:?} but the node serves {actual:?}; fix wallet.chainId or the endpoints"
    )]
    ChainIdMismatch { expected: String, actual: String },
    #[error("account {0} does not exist on chain yet (never funded); send it some uallo first")]
    AccountNotFound(String),
    #[error("unexpected response: {0}")]
    Decode(String),
}

impl ChainError {
    /// True when the failure is about reaching the chain, not the chain's answer.
    pub fn is_transport(&self) -> bool {
        matches!(self, ChainError::Unreachable { .. })
    }

    /// The chain's refusal as data, for a `Status` answer (simulate failures): the ABCI
    /// result when `abci_query` carried one, else the gRPC message with no code.
    pub fn abci_failure(&self) -> Option<AbciFailure> {
        match self {
            ChainError::Status { abci: Some(a), .. } => Some(a.clone()),
            ChainError::Status { message, .. } => Some(AbciFailure::new("", 0, message.clone())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abci_failure_renders_code_only_when_given() {
        assert_eq!(AbciFailure::new("", 0, "boom").to_string(), "boom");
        assert_eq!(AbciFailure::new("", 5, "no").to_string(), "sdk/5: no");
        assert_eq!(
            AbciFailure::new("emissions", 78, "x").to_string(),
            "emissions/78: x"
        );
        assert_eq!(AbciFailure::new("sdk", 0, "x").code(), None);
    }

    #[test]
    fn unreachable_names_every_transport() {
        let e = ChainError::Unreachable {
            op: "GetParams",
            tried: 2,
            last: vec![
                TransportFailure {
                    transport: Transport::Grpc,
                    endpoint: "http://a:1".into(),
                    reason: TransportReason::Timeout(Duration::from_secs(1)),
                },
                TransportFailure {
                    transport: Transport::Rpc,
                    endpoint: "http://b:2".into(),
                    reason: TransportReason::Http("connection refused".into()),
                },
            ],
        };
        let m = e.to_string();
        assert!(m.contains("gRPC http://a:1: timed out after 1s"), "{m}");
        assert!(
            m.contains("CometBFT RPC http://b:2: connection refused"),
            "{m}"
        );
        assert!(e.is_transport());
    }
}
