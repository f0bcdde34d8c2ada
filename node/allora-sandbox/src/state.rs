//! Per-call store data: the WASI context (no dirs, no env, no args, no sockets), the memory
//! limiter, the HTTP budget and the log tags. A fresh one is built for every call, so nothing
//! leaks between calls and a trapped instance is never re-entered.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::host_http::ClientCache;
use super::netpolicy::Allowlist;
use super::stdio::CappedPipe;

/// Bytes of guest stdout/stderr kept per call.
pub const STDIO_CAP: usize = 16 * 1024;

/// Everything a call's `Store` owns.
pub struct CallState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub limiter: Limiter,
    pub http: HttpState,
    pub log: LogCtx,
    pub stdout: CappedPipe,
    pub stderr: CappedPipe,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl CallState {
    /// A state whose WASI view exposes nothing of the host: no preopened directories, an
    /// empty environment, no arguments, sockets denied, stdin closed, stdout/stderr captured.
    pub fn new(limiter: Limiter, http: HttpState, log: LogCtx) -> CallState {
        let stdout = CappedPipe::new(STDIO_CAP);
        let stderr = CappedPipe::new(STDIO_CAP);
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        CallState {
            wasi,
            table: ResourceTable::new(),
            limiter,
            http,
            log,
            stdout,
            stderr,
        }
    }

    /// Writes captured stdout/stderr to the log, tagged like `log` calls.
    pub fn flush_stdio(&self) {
        for (stream, pipe) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let (text, truncated) = pipe.take();
            if !text.is_empty() {
                tracing::info!(
                    topic_id = self.log.topic_id,
                    adapter = %self.log.adapter,
                    role = self.log.role,
                    stream,
                    truncated,
                    "adapter output: {}",
                    text.trim_end()
                );
            }
        }
    }
}

/// Caps linear memory and table growth with wasmtime's [`StoreLimits`] (trapping on a
/// failed grow) and remembers whether a cap was hit, so the error is reported as "memory"
/// rather than a generic trap.
pub struct Limiter {
    limits: StoreLimits,
    pub hit: bool,
}

impl Limiter {
    /// Limits for one call.
    pub fn new(memory_bytes: usize, table_elements: usize) -> Limiter {
        let limits = StoreLimitsBuilder::new()
            .memory_size(memory_bytes)
            .table_elements(table_elements)
            .trap_on_grow_failure(true)
            .build();
        Limiter { limits, hit: false }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let r = self.limits.memory_growing(current, desired, maximum);
        if !matches!(r, Ok(true)) {
            self.hit = true;
        }
        r
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let r = self.limits.table_growing(current, desired, maximum);
        if !matches!(r, Ok(true)) {
            self.hit = true;
        }
        r
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// The HTTP budget of one call.
pub struct HttpState {
    pub allow: Arc<Allowlist>,
    pub clients: Arc<ClientCache>,
    pub max_requests: u32,
    pub used: u32,
    pub max_response_bytes: u64,
    pub deadline: Instant,
    /// The last refused or failed request, to classify a following adapter error as "http".
    pub last_error: Option<String>,
}

/// Tags for everything the call logs.
pub struct LogCtx {
    pub adapter: Arc<str>,
    pub topic_id: u64,
    pub role: &'static str,
    pub lines: u32,
}
