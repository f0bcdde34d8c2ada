//! Which emissions version the chain serves. After an upgrade the old package answers
//! `Unimplemented` (gRPC) or "no custom querier found" (`abci_query`), so probing
//! `emissions.vN.QueryService/GetParams` under each supported package, newest first, tells
//! the versions apart with one or two cheap queries (reference §I). The probe runs over gRPC
//! with failover and falls back to CometBFT `abci_query` like every other query, so an
//! RPC-only configuration is detected too. When no supported version answers, a wider probe
//! names what the chain does serve, for the error message.

use allora_protocol::EmissionsVersion;
use allora_protocol::proto::emissions::v10::{GetParamsRequest, GetParamsResponse};

use super::ChainClient;
use super::transport::unary;
use crate::ChainError;

/// Package numbers probed to name an unsupported chain's version.
const NAMED_RANGE: std::ops::RangeInclusive<u32> = 1..=15;

/// The chain serves no emissions version this node speaks, or could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error(
        "the chain serves {}, but this node supports only {}; use a node release that speaks the chain's version (or point the endpoints at a chain that serves one of these)",
        served_text(.served), supported_text()
    )]
    Unsupported {
        /// Package numbers that answered `GetParams` (empty: none in v1–v15).
        served: Vec<u32>,
    },
    #[error("detecting the emissions version: {0}")]
    Query(#[from] ChainError),
}

fn served_text(served: &[u32]) -> String {
    if served.is_empty() {
        format!(
            "no emissions query service (GetParams answered under none of emissions.v{}–v{})",
            NAMED_RANGE.start(),
            NAMED_RANGE.end()
        )
    } else {
        let list: Vec<String> = served.iter().map(|n| format!("emissions.v{n}")).collect();
        list.join(", ")
    }
}

fn supported_text() -> String {
    let list: Vec<String> = EmissionsVersion::SUPPORTED
        .iter()
        .map(|v| v.package().to_owned())
        .collect();
    list.join(" and ")
}

impl ChainClient {
    /// Whether the chain answers `GetParams` under `emissions.v{n}`. `Err` only when the
    /// chain could not be reached at all (the caller retries); any answer that is not a
    /// success means "not served".
    async fn serves(&self, n: u32) -> Result<bool, ChainError> {
        let path = format!("/emissions.v{n}.QueryService/GetParams");
        let p = path.as_str();
        let r: Result<GetParamsResponse, ChainError> = self
            .query("GetParams", p, GetParamsRequest {}, |ch, req| {
                unary(ch, p, req)
            })
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if e.is_transport() => Err(e),
            Err(e) => {
                tracing::debug!(package = n, error = %e, "emissions package not served");
                Ok(false)
            }
        }
    }

    /// The newest supported emissions version the chain serves.
    pub async fn detect_version(&self) -> Result<EmissionsVersion, VersionError> {
        for v in EmissionsVersion::SUPPORTED.iter().rev() {
            if self.serves(v.number()).await? {
                return Ok(*v);
            }
        }
        let mut served = Vec::new();
        for n in NAMED_RANGE {
            if EmissionsVersion::from_number(n).is_none() && self.serves(n).await? {
                served.push(n);
            }
        }
        Err(VersionError::Unsupported { served })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_names_both_sides() {
        let e = VersionError::Unsupported { served: vec![11] };
        let s = e.to_string();
        assert!(s.contains("emissions.v11"), "{s}");
        assert!(s.contains("emissions.v9 and emissions.v10"), "{s}");
        let e = VersionError::Unsupported { served: vec![] };
        assert!(e.to_string().contains("no emissions query service"));
    }
}
