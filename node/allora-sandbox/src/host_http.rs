//! Host `http` import: a simple fetch on reqwest behind the sandbox rules.
//!
//! Every hop (the request and each redirect, at most [`MAX_REDIRECTS`]) is checked against the
//! allowlist, resolved, and the resolved addresses are checked against the non-public ranges
//! (all in `http_target`, shared with `wasi:http`) before reqwest is told to connect to
//! exactly those addresses — so a name cannot
//! re-resolve somewhere else between the check and the connect (DNS rebinding). Redirects are
//! never followed by reqwest itself. Each request counts against the per-call cap, is cut at
//! the call's deadline, and its body is read in chunks up to the response-size cap. Clients
//! (and their connection pools) are reused per adapter, keyed by host and pinned addresses.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

use reqwest::{Method, Url};

use super::bindings::allora::adapter::http::{Error as HttpError, Host, Request, Response};
use super::http_target::{
    self, MAX_REQUEST_HEADER_BYTES, MAX_RESPONSE_HEADER_BYTES, TargetError, header_bytes,
    is_forbidden_request_header,
};
use super::state::{CallState, HttpState};

/// Clients kept per adapter; beyond this the cache is emptied (hosts are few in practice).
const MAX_CLIENTS: usize = 64;

/// reqwest clients keyed by host *and* the exact checked addresses they are pinned to, so
/// connections are reused across calls without ever connecting to an unchecked address.
#[derive(Default)]
pub struct ClientCache {
    clients: Mutex<HashMap<(String, Vec<SocketAddr>), reqwest::Client>>,
}

impl ClientCache {
    /// A client that connects `host` only to `addrs` (already checked by `http_target`),
    /// never follows redirects and ignores proxy settings of the environment.
    pub fn get(&self, host: &str, addrs: &[SocketAddr]) -> Result<reqwest::Client, reqwest::Error> {
        let key = (host.to_string(), addrs.to_vec());
        // A panic while holding the lock leaves a usable map; recover it.
        let mut map = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = map.get(&key) {
            return Ok(c.clone());
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .resolve_to_addrs(host, addrs)
            .build()?;
        if map.len() >= MAX_CLIENTS {
            map.clear();
        }
        map.insert(key, client.clone());
        Ok(client)
    }
}

/// Redirect hops followed per request.
pub const MAX_REDIRECTS: usize = 5;

impl Host for CallState {
    async fn fetch(&mut self, req: Request) -> wasmtime::Result<Result<Response, HttpError>> {
        let result = self.http.fetch(req).await;
        if let Err(e) = &result {
            let text = describe(e);
            tracing::debug!(
                topic_id = self.log.topic_id,
                adapter = %self.log.adapter,
                role = self.log.role,
                error = %text,
                "adapter http request failed"
            );
            self.http.record_error(text);
        }
        Ok(result)
    }
}

/// A one-line description of an http error for logs and call errors.
pub fn describe(e: &HttpError) -> String {
    match e {
        HttpError::Denied(s) => format!("denied: {s}"),
        HttpError::InvalidRequest(s) => format!("invalid request: {s}"),
        HttpError::Timeout => "timed out".into(),
        HttpError::TooLarge => "response too large".into(),
        HttpError::TooManyRequests => "too many requests in one call".into(),
        HttpError::Transport(s) => format!("transport: {s}"),
    }
}

impl HttpState {
    async fn fetch(&mut self, req: Request) -> Result<Response, HttpError> {
        let mut method = Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| HttpError::InvalidRequest(format!("bad method {:?}", req.method)))?;
        let mut url = Url::parse(&req.url)
            .map_err(|e| HttpError::InvalidRequest(format!("bad url {:?}: {e}", req.url)))?;
        let mut body = req.body;
        for _hop in 0..=MAX_REDIRECTS {
            if self.used >= self.max_requests {
                return Err(HttpError::TooManyRequests);
            }
            self.used += 1;
            let remaining = self.deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(HttpError::Timeout);
            }
            let hop = self.one_hop(&method, &url, &req.headers, body.clone());
            let resp = match tokio::time::timeout(remaining, hop).await {
                Ok(r) => r?,
                Err(_) => return Err(HttpError::Timeout),
            };
            if resp.status().is_redirection()
                && let Some(loc) = resp.headers().get(reqwest::header::LOCATION)
            {
                let loc = loc
                    .to_str()
                    .map_err(|_| HttpError::Denied("redirect with a non-text Location".into()))?;
                url = url.join(loc).map_err(|e| {
                    HttpError::Denied(format!("redirect to a bad URL {loc:?}: {e}"))
                })?;
                let status = resp.status().as_u16();
                if status == 303 || ((status == 301 || status == 302) && method == Method::POST) {
                    method = Method::GET;
                    body = None;
                }
                continue;
            }
            return self.read(resp).await;
        }
        Err(HttpError::Denied(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    /// Checks, resolves, pins and sends one request without following redirects.
    async fn one_hop(
        &self,
        method: &Method,
        url: &Url,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
    ) -> Result<reqwest::Response, HttpError> {
        let target = http_target::resolve(&self.allow, url)
            .await
            .map_err(|e| match e {
                TargetError::NoHost(_) => HttpError::InvalidRequest(e.to_string()),
                e if e.is_denial() => HttpError::Denied(e.to_string()),
                e => HttpError::Transport(e.to_string()),
            })?;
        let sent = header_bytes(headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())));
        if sent > MAX_REQUEST_HEADER_BYTES {
            return Err(HttpError::InvalidRequest(format!(
                "request headers of {sent} bytes exceed the cap of {MAX_REQUEST_HEADER_BYTES}"
            )));
        }
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let client = self
            .clients
            .get(&target.host, &target.addrs)
            .map_err(|e| HttpError::Transport(format!("http client: {e}")))?;
        let mut rb = client
            .request(method.clone(), url.clone())
            .timeout(remaining);
        for (k, v) in headers {
            // Dropped rather than refused: this import predates the rule and guests may send
            // them out of habit (`wasi:http` refuses them when they are set).
            if is_forbidden_request_header(k) {
                continue;
            }
            rb = rb.header(k.as_str(), v.as_str());
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        rb.send().await.map_err(|e| {
            if e.is_timeout() {
                HttpError::Timeout
            } else if e.is_builder() {
                HttpError::InvalidRequest(e.to_string())
            } else {
                HttpError::Transport(format!("{e}"))
            }
        })
    }

    async fn read(&self, mut resp: reqwest::Response) -> Result<Response, HttpError> {
        let cap = self.max_response_bytes;
        if resp.content_length().is_some_and(|n| n > cap) {
            return Err(HttpError::TooLarge);
        }
        let received = header_bytes(
            resp.headers()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_bytes())),
        );
        if received > MAX_RESPONSE_HEADER_BYTES {
            return Err(HttpError::Transport(format!(
                "response headers of {received} bytes exceed the cap of {MAX_RESPONSE_HEADER_BYTES}"
            )));
        }
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let mut body = Vec::new();
        loop {
            let remaining = self.deadline.saturating_duration_since(Instant::now());
            let chunk = match tokio::time::timeout(remaining, resp.chunk()).await {
                Err(_) => return Err(HttpError::Timeout),
                Ok(Err(e)) if e.is_timeout() => return Err(HttpError::Timeout),
                Ok(Err(e)) => return Err(HttpError::Transport(format!("reading body: {e}"))),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(c))) => c,
            };
            if body.len() as u64 + chunk.len() as u64 > cap {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}
