//! Standard `wasi:http/outgoing-handler` for guests (JavaScript `fetch()`, Python and Rust
//! `wasi:http` clients), locked down by exactly the rules of the `allora:adapter/http` import.
//!
//! wasmtime-wasi-http's default `send_request` would connect anywhere the guest names. Here
//! the hook is [`HttpState`] itself — the same budget the host import draws on — and every
//! request the guest makes is, before anything leaves the host:
//! - counted against the call's request cap (shared with the host import);
//! - checked by `http_target` (scheme, `allowedHosts`, DNS, post-DNS address rules) and sent
//!   by a reqwest client pinned to the checked addresses, with redirects off: a 3xx goes back
//!   to the guest, and whatever it requests next is checked on its own;
//! - stripped of, or refused for, forbidden headers (the guest gets `header-error.forbidden`
//!   when it sets one) and held to the header-size caps;
//! - bounded in time by the call's HTTP deadline (the guest's own `request-options` timeouts
//!   can only shorten it) and in size by the body cap, both ways.
//!
//! A refusal reaches the guest as the matching `wasi:http` `error-code` and is logged and
//! remembered as the call's last HTTP error, like the host import's refusals.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::uri::Scheme;
use http::{HeaderName, Request, Response, header};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use reqwest::Url;
use tokio::time::Sleep;
use wasmtime_wasi_http::{
    Error as WasiError, ForbiddenHeaderFilter, RequestOptions, WasiBody, WasiHttpCtx,
    WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

use super::host_http::ClientCache;
use super::http_target::{
    self, MAX_REQUEST_HEADER_BYTES, MAX_RESPONSE_HEADER_BYTES, TargetError, header_bytes,
    is_forbidden_request_header,
};
use super::netpolicy::Allowlist;
use super::state::{CallState, HttpState, HttpTags, record};

/// Byte limit of one `fields` resource as wasmtime counts it (its in-memory size is about
/// twice the wire size); the wire size is then checked against the header caps.
const FIELD_SIZE_LIMIT: usize = 2 * MAX_REQUEST_HEADER_BYTES;

/// The `wasi:http` context of one call.
pub fn context() -> WasiHttpCtx {
    let mut ctx = WasiHttpCtx::new();
    ctx.set_field_size_limit(FIELD_SIZE_LIMIT);
    ctx
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.wasi_http,
            table: &mut self.table,
            hooks: &mut self.http,
        }
    }
}

/// Why a `wasi:http` request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum WasiHttpError {
    #[error("{}", describe_target(.0))]
    Target(TargetError),
    #[error("too many requests in one call (limit {0})")]
    TooManyRequests(u32),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("request headers of {0} bytes exceed the cap of {MAX_REQUEST_HEADER_BYTES}")]
    RequestHeadersTooLarge(usize),
    #[error("request body larger than the cap of {0} bytes")]
    RequestBodyTooLarge(u64),
    #[error("response headers of {0} bytes exceed the cap of {MAX_RESPONSE_HEADER_BYTES}")]
    ResponseHeadersTooLarge(usize),
    #[error("response too large: body over the cap of {0} bytes")]
    ResponseBodyTooLarge(u64),
    #[error("timed out waiting for the response (the call's HTTP deadline)")]
    Timeout,
    #[error("timed out reading the response body")]
    BodyTimeout,
    #[error("transport: {message}")]
    Transport { message: String, connect: bool },
}

fn describe_target(e: &TargetError) -> String {
    match e {
        TargetError::NoHost(_) => format!("invalid request: {e}"),
        e if e.is_denial() => format!("denied: {e}"),
        e => format!("transport: {e}"),
    }
}

impl WasiHttpError {
    /// The `wasi:http` error code the guest receives.
    pub fn code(&self) -> WasiError {
        match self {
            WasiHttpError::Target(t) => match t {
                TargetError::Scheme(_) | TargetError::NotAllowed { .. } => {
                    WasiError::HttpRequestDenied
                }
                TargetError::NonPublic { .. } => WasiError::DestinationIpProhibited,
                TargetError::NoHost(_) => WasiError::HttpRequestUriInvalid,
                TargetError::Resolve { source, .. } => WasiError::DnsError {
                    rcode: Some(source.to_string()),
                    info_code: None,
                },
                TargetError::NoAddress(_) => WasiError::DestinationNotFound,
            },
            WasiHttpError::TooManyRequests(_) => WasiError::ConnectionLimitReached,
            WasiHttpError::InvalidRequest(_) => WasiError::HttpRequestUriInvalid,
            WasiHttpError::RequestHeadersTooLarge(n) => {
                WasiError::HttpRequestHeaderSectionSize(u32::try_from(*n).ok())
            }
            WasiHttpError::RequestBodyTooLarge(cap) => WasiError::HttpRequestBodySize(Some(*cap)),
            WasiHttpError::ResponseHeadersTooLarge(n) => {
                WasiError::HttpResponseHeaderSectionSize(u32::try_from(*n).ok())
            }
            WasiHttpError::ResponseBodyTooLarge(cap) => WasiError::HttpResponseBodySize(Some(*cap)),
            WasiHttpError::Timeout => WasiError::HttpResponseTimeout,
            WasiHttpError::BodyTimeout => WasiError::ConnectionReadTimeout,
            WasiHttpError::Transport { connect: true, .. } => WasiError::ConnectionRefused,
            WasiHttpError::Transport { message, .. } => {
                WasiError::InternalError(Some(message.clone()))
            }
        }
    }

    fn transport(e: &reqwest::Error) -> WasiHttpError {
        if e.is_timeout() {
            return WasiHttpError::Timeout;
        }
        WasiHttpError::Transport {
            message: e.to_string(),
            connect: e.is_connect(),
        }
    }
}

/// Where a request's failures are reported (outside the store: requests run on their own
/// tasks).
#[derive(Clone)]
struct Reporter {
    tags: HttpTags,
    last_error: Arc<Mutex<Option<String>>>,
}

impl Reporter {
    fn fail(&self, e: &WasiHttpError) -> WasiError {
        let text = format!("wasi:http {e}");
        tracing::debug!(
            topic_id = self.tags.topic_id,
            adapter = %self.tags.adapter,
            role = self.tags.role,
            interface = "wasi:http",
            error = %text,
            "adapter http request failed"
        );
        record(&self.last_error, text);
        e.code()
    }
}

/// What one request may do, copied out of the call's [`HttpState`].
struct Policy {
    allow: Arc<Allowlist>,
    clients: Arc<ClientCache>,
    deadline: Instant,
    max_body: u64,
}

type SendResult = wasmtime_wasi_http::Result<(
    Response<WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl WasiHttpHooks for HttpState {
    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        Arc::new(|name: &HeaderName| is_forbidden_request_header(name.as_str()))
    }

    fn is_supported_scheme(&mut self, scheme: &Scheme) -> bool {
        *scheme == Scheme::HTTP || *scheme == Scheme::HTTPS
    }

    fn send_request(
        &mut self,
        request: Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let reporter = Reporter {
            tags: self.tags.clone(),
            last_error: self.last_error.clone(),
        };
        if self.used >= self.max_requests {
            let code = reporter.fail(&WasiHttpError::TooManyRequests(self.max_requests));
            return Box::new(std::future::ready(Err(code)));
        }
        self.used += 1;
        let policy = Policy {
            allow: self.allow.clone(),
            clients: self.clients.clone(),
            deadline: self.deadline,
            max_body: self.max_response_bytes,
        };
        Box::new(async move {
            match send(&policy, request, options, &reporter).await {
                Ok(resp) => {
                    // Nothing runs beside the response: reqwest drives the connection.
                    let io: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send> =
                        Box::new(std::future::ready(Ok(())));
                    Ok((resp, io))
                }
                Err(e) => Err(reporter.fail(&e)),
            }
        })
    }
}

/// The earlier of the call's HTTP deadline and the guest's own connect + first-byte timeouts.
fn header_deadline(call: Instant, options: Option<&RequestOptions>) -> Instant {
    let own = options.and_then(|o| match (o.connect_timeout, o.first_byte_timeout) {
        (None, None) => None,
        (c, f) => Some(c.unwrap_or_default() + f.unwrap_or_default()),
    });
    match own.and_then(|d| Instant::now().checked_add(d)) {
        Some(d) => d.min(call),
        None => call,
    }
}

async fn send(
    p: &Policy,
    request: Request<WasiBody>,
    options: Option<RequestOptions>,
    reporter: &Reporter,
) -> Result<Response<WasiBody>, WasiHttpError> {
    let (parts, body) = request.into_parts();
    let url = Url::parse(&parts.uri.to_string())
        .map_err(|e| WasiHttpError::InvalidRequest(format!("bad url {}: {e}", parts.uri)))?;
    let sent = header_bytes(
        parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_bytes())),
    );
    if sent > MAX_REQUEST_HEADER_BYTES {
        return Err(WasiHttpError::RequestHeadersTooLarge(sent));
    }
    let deadline = tokio::time::Instant::from(header_deadline(p.deadline, options.as_ref()));
    let target = tokio::time::timeout_at(deadline, http_target::resolve(&p.allow, &url))
        .await
        .map_err(|_| WasiHttpError::Timeout)?
        .map_err(WasiHttpError::Target)?;
    let client = p
        .clients
        .get(&target.host, &target.addrs)
        .map_err(|e| WasiHttpError::transport(&e))?;
    let body = tokio::time::timeout_at(deadline, collect(body, p.max_body))
        .await
        .map_err(|_| WasiHttpError::Timeout)??;
    let mut rb = client.request(parts.method, url);
    for (k, v) in &parts.headers {
        // `host` follows the URL (wasi:http sets it from the authority); the length is
        // recomputed from the collected body.
        if is_forbidden_request_header(k.as_str()) || *k == header::CONTENT_LENGTH {
            continue;
        }
        rb = rb.header(k, v);
    }
    if !body.is_empty() || parts.headers.contains_key(header::CONTENT_LENGTH) {
        rb = rb.body(body);
    }
    let resp = tokio::time::timeout_at(deadline, rb.send())
        .await
        .map_err(|_| WasiHttpError::Timeout)?
        .map_err(|e| WasiHttpError::transport(&e))?;
    let received = header_bytes(
        resp.headers()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_bytes())),
    );
    if received > MAX_RESPONSE_HEADER_BYTES {
        return Err(WasiHttpError::ResponseHeadersTooLarge(received));
    }
    if resp.content_length().is_some_and(|n| n > p.max_body) {
        return Err(WasiHttpError::ResponseBodyTooLarge(p.max_body));
    }
    let between = options.and_then(|o| o.between_bytes_timeout);
    let (parts, body) = Response::<reqwest::Body>::from(resp).into_parts();
    let capped = CappedBody::new(body, p.max_body, p.deadline, between, reporter.clone());
    Ok(Response::from_parts(parts, capped.boxed_unsync()))
}

/// Reads the guest's request body, refusing it past `cap` bytes.
async fn collect(mut body: WasiBody, cap: u64) -> Result<Bytes, WasiHttpError> {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| WasiHttpError::InvalidRequest(format!("request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() as u64 + data.len() as u64 > cap {
                return Err(WasiHttpError::RequestBodyTooLarge(cap));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

/// A response body held to the size cap, the call's HTTP deadline and the guest's
/// between-bytes timeout; a breach ends the stream with the matching error code.
struct CappedBody {
    inner: reqwest::Body,
    seen: u64,
    cap: u64,
    deadline: Pin<Box<Sleep>>,
    between: Option<Duration>,
    idle: Option<Pin<Box<Sleep>>>,
    reporter: Reporter,
    done: bool,
}

impl CappedBody {
    fn new(
        inner: reqwest::Body,
        cap: u64,
        deadline: Instant,
        between: Option<Duration>,
        reporter: Reporter,
    ) -> CappedBody {
        CappedBody {
            inner,
            seen: 0,
            cap,
            deadline: Box::pin(tokio::time::sleep_until(deadline.into())),
            between,
            idle: between.map(|d| Box::pin(tokio::time::sleep(d))),
            reporter,
            done: false,
        }
    }

    fn fail(&mut self, e: WasiHttpError) -> Poll<Option<Result<Frame<Bytes>, WasiError>>> {
        self.done = true;
        Poll::Ready(Some(Err(self.reporter.fail(&e))))
    }
}

impl Body for CappedBody {
    type Data = Bytes;
    type Error = WasiError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, WasiError>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen = this.seen.saturating_add(data.len() as u64);
                    if this.seen > this.cap {
                        return this.fail(WasiHttpError::ResponseBodyTooLarge(this.cap));
                    }
                }
                if let (Some(idle), Some(d)) = (this.idle.as_mut(), this.between) {
                    idle.as_mut().reset(tokio::time::Instant::now() + d);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) if e.is_timeout() => this.fail(WasiHttpError::BodyTimeout),
            Poll::Ready(Some(Err(e))) => this.fail(WasiHttpError::transport(&e)),
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => {
                let idle_over = this
                    .idle
                    .as_mut()
                    .is_some_and(|idle| idle.as_mut().poll(cx).is_ready());
                if idle_over || this.deadline.as_mut().poll(cx).is_ready() {
                    return this.fail(WasiHttpError::BodyTimeout);
                }
                Poll::Pending
            }
        }
    }
}
