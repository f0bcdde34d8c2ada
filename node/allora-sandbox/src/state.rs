//! Per-call store data: the WASI context (only the adapter's read-only mounts, no env, no
//! args, no sockets), the `wasi:http` context, the memory limiter, the HTTP budget (shared by
//! both HTTP interfaces) and the log tags. A fresh one is built for every call, so nothing
//! leaks between calls and a trapped instance is never re-entered.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::WasiHttpCtx;

use super::host_http::ClientCache;
use super::mounts::{Mount, preopen};
use super::netpolicy::Allowlist;
use super::pool::Counters;
use super::stdio::CappedPipe;
use super::text::escape_for_log;

/// Bytes of guest stdout/stderr kept per call.
pub const STDIO_CAP: usize = 16 * 1024;

/// Everything a call's `Store` owns.
pub struct CallState {
    pub wasi: WasiCtx,
    pub wasi_http: WasiHttpCtx,
    pub table: ResourceTable,
    pub limiter: Limiter,
    pub http: HttpState,
    pub log: LogCtx,
    pub stdout: CappedPipe,
    pub stderr: CappedPipe,
    /// When the current call must end: the epoch callback traps the guest past it (see
    /// `store`). Reset by every call on a warm instance.
    pub deadline: Instant,
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
    /// A state whose WASI view exposes nothing of the host but the adapter's read-only
    /// `mounts`: an empty environment, no arguments, sockets denied, stdin closed,
    /// stdout/stderr captured. Fails only if a mounted directory can no longer be opened.
    pub fn new(
        limiter: Limiter,
        http: HttpState,
        log: LogCtx,
        mounts: &[Mount],
    ) -> Result<CallState, String> {
        let stdout = CappedPipe::new(STDIO_CAP);
        let stderr = CappedPipe::new(STDIO_CAP);
        let mut builder = WasiCtx::builder();
        builder
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        preopen(&mut builder, mounts)?;
        let wasi = builder.build();
        Ok(CallState {
            wasi,
            wasi_http: super::wasi_http::context(),
            table: ResourceTable::new(),
            limiter,
            http,
            log,
            stdout,
            stderr,
            deadline: Instant::now(),
        })
    }

    /// Writes captured stdout/stderr to the log, tagged like `log` calls and escaped so it
    /// cannot forge log lines; output cut at [`STDIO_CAP`] is reported once per stream with
    /// the bytes kept and dropped.
    pub fn flush_stdio(&self) {
        for (stream, pipe) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let taken = pipe.take();
            if !taken.text.is_empty() {
                tracing::info!(
                    topic_id = self.log.topic_id,
                    adapter = %self.log.adapter,
                    role = self.log.role,
                    stream,
                    truncated = taken.dropped > 0,
                    "adapter output: {}",
                    escape_for_log(taken.text.trim_end())
                );
            }
            if taken.dropped > 0 {
                tracing::warn!(
                    topic_id = self.log.topic_id,
                    adapter = %self.log.adapter,
                    role = self.log.role,
                    stream,
                    kept_bytes = taken.kept,
                    dropped_bytes = taken.dropped,
                    cap_bytes = STDIO_CAP,
                    "adapter output truncated"
                );
            }
        }
    }
}

/// Caps the *sum* of every linear memory (and of every table's elements) in the call's
/// store, so `memoryMb` bounds the call no matter how many memories or tables a component
/// declares. Remembers whether a cap was hit, so the error is reported as "memory" rather
/// than a generic trap. Failed grows trap. Reports every byte it grants to (and, when the
/// store is dropped, gives back to) the pool's `allora_adapter_linear_memory_bytes` gauge.
pub struct Limiter {
    memory_cap: usize,
    table_cap: usize,
    memory_used: usize,
    table_used: usize,
    pub hit: bool,
    counters: Option<Arc<Counters>>,
}

/// Memories, tables and instances a store may hold (wasmtime's defaults are 10 000).
const MAX_MEMORIES: usize = 16;
const MAX_TABLES: usize = 64;
const MAX_INSTANCES: usize = 128;

impl Limiter {
    /// Limits for one call: total bytes of all memories, total elements of all tables.
    pub fn new(memory_bytes: usize, table_elements: usize) -> Limiter {
        Limiter {
            memory_cap: memory_bytes,
            table_cap: table_elements,
            memory_used: 0,
            table_used: 0,
            hit: false,
            counters: None,
        }
    }

    /// The same limiter, reporting its memory to the pool's gauges.
    pub(crate) fn reporting_to(mut self, counters: Arc<Counters>) -> Limiter {
        self.counters = Some(counters);
        self
    }

    /// Bytes of linear memory the store holds now (all memories together).
    pub fn memory_used(&self) -> usize {
        self.memory_used
    }

    fn grow(
        used: &mut usize,
        cap: usize,
        hit: &mut bool,
        current: usize,
        desired: usize,
        what: &str,
    ) -> wasmtime::Result<bool> {
        let total = used
            .saturating_sub(current)
            .saturating_add(desired.max(current));
        if total > cap {
            *hit = true;
            wasmtime::bail!("{what} would grow to {total} in total across the call, above {cap}");
        }
        *used = total;
        Ok(true)
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let before = self.memory_used;
        let granted = Limiter::grow(
            &mut self.memory_used,
            self.memory_cap,
            &mut self.hit,
            current,
            desired,
            "linear memory (bytes)",
        )?;
        if let Some(c) = &self.counters {
            c.memory_delta(self.memory_used.saturating_sub(before), 0);
        }
        Ok(granted)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Limiter::grow(
            &mut self.table_used,
            self.table_cap,
            &mut self.hit,
            current,
            desired,
            "table elements",
        )
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

impl Drop for Limiter {
    /// The store (and with it every memory) is going away: give its bytes back.
    fn drop(&mut self) {
        if let Some(c) = &self.counters {
            c.memory_delta(0, self.memory_used);
        }
    }
}

/// The HTTP budget of one call, shared by `allora:adapter/http` and `wasi:http`: one
/// allowlist, one request count, one deadline.
pub struct HttpState {
    pub allow: Arc<Allowlist>,
    pub clients: Arc<ClientCache>,
    pub max_requests: u32,
    pub used: u32,
    pub max_response_bytes: u64,
    /// When every request of the call ends (a little before the call's own deadline, see
    /// `http_target::http_deadline`).
    pub deadline: Instant,
    /// Who is calling, for the logs of refused or failed requests.
    pub tags: HttpTags,
    /// The last refused or failed request, to classify a following adapter error as "http".
    /// Shared because `wasi:http` requests finish on tasks outside the store.
    pub last_error: Arc<Mutex<Option<String>>>,
}

/// Log tags of the call making a request.
#[derive(Clone)]
pub struct HttpTags {
    pub adapter: Arc<str>,
    pub topic_id: u64,
    pub role: &'static str,
}

impl HttpState {
    /// Remembers a refused or failed request (the latest wins).
    pub fn record_error(&self, text: String) {
        record(&self.last_error, text);
    }

    /// The last refused or failed request of the call, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Stores `text` in a call's shared last-error slot.
pub fn record(slot: &Mutex<Option<String>>, text: String) {
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(text);
}

/// Tags for everything the call logs.
pub struct LogCtx {
    pub adapter: Arc<str>,
    pub topic_id: u64,
    pub role: &'static str,
    pub lines: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `memoryMb` is a budget for the call: two memories of 20 MiB do not fit in 32 MiB,
    /// although each would alone.
    #[test]
    fn memory_cap_covers_all_memories_of_the_store() {
        let mut l = Limiter::new(32 << 20, 100);
        assert!(l.memory_growing(0, 20 << 20, None).unwrap());
        assert!(l.memory_growing(0, 20 << 20, None).is_err());
        assert!(l.hit);
        assert_eq!(l.memory_used(), 20 << 20);
        // Growing the first memory within the budget still works.
        let mut l = Limiter::new(32 << 20, 100);
        assert!(l.memory_growing(0, 16 << 20, None).unwrap());
        assert!(l.memory_growing(16 << 20, 30 << 20, None).unwrap());
        assert!(l.memory_growing(0, 4 << 20, None).is_err());
        // Tables are summed the same way.
        assert!(l.table_growing(0, 60, None).unwrap());
        assert!(l.table_growing(0, 60, None).is_err());
    }

    /// The same rule holds for a real module with two memories in one store.
    #[test]
    fn two_memories_in_one_store_share_the_budget() {
        let engine = wasmtime::Engine::default();
        // (module (memory 200) (memory 200)): 2 × 12.5 MiB, each under a 16 MiB cap.
        let wasm = multi_memory_module(200, 2);
        let module = wasmtime::Module::new(&engine, &wasm).unwrap();
        let mut store = wasmtime::Store::new(&engine, Limiter::new(16 << 20, 1000));
        store.limiter(|l| l);
        let err = wasmtime::Instance::new(&mut store, &module, &[]).unwrap_err();
        assert!(store.data().hit, "{err:#}");
        let mut store = wasmtime::Store::new(&engine, Limiter::new(32 << 20, 1000));
        store.limiter(|l| l);
        wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        assert_eq!(store.data().memory_used(), 2 * 200 * 65536);
    }

    /// A core module declaring `count` memories of `pages` pages each (hand-encoded).
    fn multi_memory_module(pages: u8, count: u8) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        // memory section: id 5, size, count, then (flags 0, min pages as 2-byte LEB).
        let mut body = vec![count];
        for _ in 0..count {
            body.extend_from_slice(&[0x00, 0x80 | (pages & 0x7f), pages >> 7]);
        }
        m.push(5);
        m.push(body.len() as u8);
        m.extend_from_slice(&body);
        m
    }
}
