//! Transport of every query: the endpoint pool's order, a per-call timeout, failover on
//! transport failures (with a forced re-dial of the failed endpoint), and the CometBFT
//! `abci_query` / `status` fallback when no gRPC endpoint is reachable. The typed queries
//! (`cosmos`, `emissions`) only say which method to call.

use std::future::Future;

use prost::Message;
use tonic::transport::Channel;

use super::ChainClient;
use crate::ChainError;
use crate::endpoints::is_transport_status;
use crate::error::{Transport, TransportFailure, TransportReason};

/// Pause between failover rounds.
const ROUND_BACKOFF: std::time::Duration = std::time::Duration::from_millis(200);

impl ChainClient {
    /// Runs `f` against the healthiest endpoint, failing over on transport errors.
    pub async fn call<T, F, Fut>(&self, op: &'static str, f: F) -> Result<T, ChainError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        // The last failure only: the error names the most recent reason, not every retry.
        let mut last: Option<TransportFailure> = None;
        if self.pool.len() == 0 {
            // RPC-only configuration: straight to the caller's CometBFT fallback, no backoff.
            return Err(ChainError::Unreachable {
                op,
                tried: 0,
                last: Vec::new(),
            });
        }
        // Two rounds: a blip that hits every endpoint once (restart, brief overload) is
        // absorbed; a persistent outage is reported after a bounded time.
        for round in 0..2 {
            if round > 0 {
                tokio::time::sleep(ROUND_BACKOFF).await;
            }
            if let Some(v) = self.call_round(op, &f, &mut last).await? {
                return Ok(v);
            }
        }
        Err(ChainError::Unreachable {
            op,
            tried: self.pool.len(),
            last: last.into_iter().collect(),
        })
    }

    /// A query by gRPC method `path` (`/pkg.Service/Method`): gRPC with failover, then, only
    /// when every gRPC endpoint is unreachable, the same encoded request over CometBFT
    /// `abci_query`. Both paths return the same typed response and the same error kinds.
    pub async fn query<Req, Resp, F, Fut>(
        &self,
        op: &'static str,
        path: &str,
        req: Req,
        f: F,
    ) -> Result<Resp, ChainError>
    where
        Req: Message + Clone,
        Resp: Message + Default,
        F: Fn(Channel, Req) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        match self.call(op, |ch| f(ch, req.clone())).await {
            Err(e) if e.is_transport() && !self.rpc.is_empty() => {
                let bytes = self
                    .rpc
                    .abci_query(op, path, &req.encode_to_vec())
                    .await
                    .map_err(|r| both_unreachable(e, r))?;
                Resp::decode(bytes.as_slice())
                    .map_err(|err| ChainError::Decode(format!("{op}: abci_query response: {err}")))
            }
            r => r,
        }
    }

    /// Chain id and latest height from CometBFT `status`, for when gRPC is unreachable.
    pub(super) async fn status_fallback(
        &self,
        op: &'static str,
        grpc: ChainError,
    ) -> Result<(String, i64), ChainError> {
        if !grpc.is_transport() || self.rpc.is_empty() {
            return Err(grpc);
        }
        self.rpc
            .status(op)
            .await
            .map_err(|r| both_unreachable(grpc, r))
    }

    /// One pass over the pool, best endpoint first. `Ok(None)`: every endpoint failed at the
    /// transport level (recorded in `last`).
    async fn call_round<T, F, Fut>(
        &self,
        op: &'static str,
        f: &F,
        last: &mut Option<TransportFailure>,
    ) -> Result<Option<T>, ChainError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        for i in self.pool.order() {
            let url = self.pool.url(i).to_owned();
            let ch = self.pool.channel(i)?;
            match tokio::time::timeout(self.pool.call_timeout(), f(ch)).await {
                Ok(Ok(resp)) => {
                    self.pool.mark_ok(i);
                    return Ok(Some(resp.into_inner()));
                }
                Ok(Err(status)) if is_transport_status(&status) => {
                    tracing::warn!(op, endpoint = %url, code = ?status.code(), error = %status.message(), "gRPC endpoint failed; trying the next one");
                    self.pool.mark_failed(i);
                    *last = Some(TransportFailure {
                        transport: Transport::Grpc,
                        endpoint: url,
                        reason: TransportReason::Grpc {
                            code: status.code(),
                            message: status.message().to_owned(),
                        },
                    });
                }
                Ok(Err(status)) => {
                    self.pool.mark_ok(i);
                    return Err(ChainError::Status {
                        op,
                        endpoint: url,
                        code: status.code(),
                        message: status.message().to_owned(),
                        abci: None,
                    });
                }
                Err(_) => {
                    tracing::warn!(op, endpoint = %url, timeout_ms = self.pool.call_timeout().as_millis() as u64, "gRPC call timed out; re-dialing and trying the next endpoint");
                    self.pool.mark_failed(i);
                    *last = Some(TransportFailure {
                        transport: Transport::Grpc,
                        endpoint: url,
                        reason: TransportReason::Timeout(self.pool.call_timeout()),
                    });
                }
            }
        }
        Ok(None)
    }
}

/// One unary gRPC call to `path` with prost messages: what a generated client method does,
/// with the path chosen at run time (the emissions package depends on the chain's version).
pub(super) async fn unary<Req, Resp>(
    ch: Channel,
    path: &str,
    req: Req,
) -> Result<tonic::Response<Resp>, tonic::Status>
where
    Req: Message + Send + Sync + 'static,
    Resp: Message + Default + Send + Sync + 'static,
{
    let path = tonic::codegen::http::uri::PathAndQuery::try_from(path.to_owned())
        .map_err(|e| tonic::Status::internal(format!("invalid gRPC path {path:?}: {e}")))?;
    let mut grpc = tonic::client::Grpc::new(ch);
    grpc.ready().await.map_err(|e| {
        tonic::Status::unknown(format!(
            "Service was not ready: {}",
            Into::<tonic::codegen::StdError>::into(e)
        ))
    })?;
    grpc.unary(
        tonic::Request::new(req),
        path,
        tonic::codec::ProstCodec::default(),
    )
    .await
}

/// When the RPC fallback is unreachable too, one error naming both attempts; otherwise the
/// fallback's own answer (e.g. "topic not found" over `abci_query`).
pub(super) fn both_unreachable(grpc: ChainError, rpc: ChainError) -> ChainError {
    match (grpc, rpc) {
        (
            ChainError::Unreachable {
                op,
                tried: g,
                last: gl,
            },
            ChainError::Unreachable {
                tried: r, last: rl, ..
            },
        ) => ChainError::Unreachable {
            op,
            tried: g + r,
            last: gl.into_iter().chain(rl).collect(),
        },
        (_, rpc) => rpc,
    }
}
