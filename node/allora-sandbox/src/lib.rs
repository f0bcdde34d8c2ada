//! The adapter runtime: user model code runs as WebAssembly components in a wasmtime sandbox
//! and can never reach the wallet, the node's files, environment or network beyond its
//! allowlist (DESIGN.md "Adapters", "Sandbox rules").
//!
//! One [`AdapterRuntime`] owns one engine; [`AdapterRuntime::load`] compiles (or loads from
//! the on-disk cache) a component, checks it exports every configured role and prepares an
//! `InstancePre`; every call on the resulting [`Adapter`] waits (FIFO, up to its deadline)
//! for one of `max_concurrent_instances` pool slots and gets a fresh `Store` (or, for an
//! adapter loaded warm, its topic's kept instance) with memory limits, a deadline that
//! yields to the executor while the guest computes, an HTTP budget and capped output.
//!
//! Submodules, one concern each: `engine` (engine + epoch ticker), `cache` (compiled
//! components on disk), `compile` (size cap, compile budget, cache before compile),
//! `compile_process` (the compile in a child process under memory/CPU limits, and that
//! child's entry point), `exports` (roles ↔ WIT exports), `adapter` (calls), `checks`
//! (output validation, error classification), `pool` (the slot queue and its gauges),
//! `store` (a call's store, slot and yielding deadline), `warm` (kept instances), `state`
//! (per-call store data and limits), `host_http` / `wasi_http` (the
//! `allora:adapter/http` import and standard `wasi:http`), `http_target` / `netpolicy` (the
//! rules both HTTP interfaces enforce), `host_log` (the `log` import), `mounts` (read-only
//! model directories), `stdio` (captured guest
//! output), `text` (hidden characters, log escaping), `values` (decimal validation).

mod adapter;
mod bindings;
pub mod cache;
mod checks;
mod compile;
pub mod compile_process;
pub mod engine;
mod error;
pub mod exports;
mod host_http;
mod host_log;
mod http_target;
pub mod mounts;
pub mod netpolicy;
mod pool;
mod state;
pub mod static_exports;
mod stdio;
mod store;
mod text;
pub mod values;
mod warm;
mod wasi_http;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::Engine;
use wasmtime::component::{Component, HasSelf, Linker};

pub use adapter::{Adapter, LoadInfo};
pub use engine::Allocator;
pub use error::{CallError, CallErrorKind, LoadError, RuntimeError};
pub use exports::Inspection;
pub use mounts::Mount;
pub use pool::PoolStats;
pub use warm::WarmConfig;

use state::CallState;

/// A role an adapter can be configured for; each maps to one exported WIT interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// `allora:adapter/inference`.
    Inference,
    /// `allora:adapter/forecast`.
    Forecast,
    /// `allora:adapter/ground-truth`.
    GroundTruth,
    /// `allora:adapter/loss`.
    Loss,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [
        Role::Inference,
        Role::Forecast,
        Role::GroundTruth,
        Role::Loss,
    ];

    /// The name used in logs, metrics and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Inference => "inference",
            Role::Forecast => "forecast",
            Role::GroundTruth => "ground-truth",
            Role::Loss => "loss",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "inference" | "infer" => Ok(Role::Inference),
            "forecast" => Ok(Role::Forecast),
            "ground-truth" | "groundtruth" | "truth" => Ok(Role::GroundTruth),
            "loss" => Ok(Role::Loss),
            _ => Err(format!(
                "unknown role {s:?}; use inference, forecast, ground-truth or loss"
            )),
        }
    }
}

/// Per-adapter resource limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget of one call (instantiation included); a call's own deadline can
    /// only shorten it.
    pub timeout: Duration,
    /// Maximum size of each linear memory.
    pub memory_bytes: u64,
    /// HTTP requests (redirect hops included) per call.
    pub max_http_requests: u32,
    /// Maximum body size of one HTTP response.
    pub max_response_bytes: u64,
    /// Maximum total bytes of strings in one result.
    pub max_output_bytes: u64,
    /// Maximum number of elements of a returned list.
    pub max_list_len: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(5),
            memory_bytes: 128 << 20,
            max_http_requests: 16,
            max_response_bytes: 4 << 20,
            max_output_bytes: 1 << 20,
            max_list_len: 10_000,
        }
    }
}

/// What to load.
#[derive(Debug, Clone)]
pub struct AdapterSpec {
    /// Name used in logs and errors (e.g. the config entry or the file name).
    pub name: String,
    /// Path of the component (.wasm).
    pub wasm: PathBuf,
    /// Roles the adapter is configured for; each must be exported.
    pub roles: Vec<Role>,
    /// Resource limits.
    pub limits: Limits,
    /// The parsed `allowedHosts` policy ([`netpolicy::Allowlist::parse`] is its one
    /// parser; the node hands over what its config validation already parsed).
    pub allowed_hosts: netpolicy::Allowlist,
    /// Host directories the guest may read (see `mounts`); empty: no files at all.
    pub mounts: Vec<Mount>,
}

/// Inputs of one call.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// Topic id.
    pub topic_id: u64,
    /// Nonce block height.
    pub nonce: i64,
    /// The topic's `parameters` from config.
    pub params: BTreeMap<String, String>,
    /// Hard deadline (e.g. the end of the submission window); the adapter's timeout applies
    /// too, whichever is earlier.
    pub deadline: Option<Instant>,
}

/// One labelled inference value (canonical decimal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabeledValue {
    pub label: String,
    pub value: String,
}

/// One forecasted loss for an inferer (canonical decimal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastValue {
    pub inferer: String,
    pub value: String,
}

/// Runtime-wide settings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Directory for compiled components; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Try the pooling allocator (falls back to on-demand if it cannot be created).
    pub pooling: bool,
    /// Pool size (`node.adapterInstances`): instances alive at once (running, or kept warm
    /// and idle). A call beyond it waits in FIFO order until a slot is free or its deadline
    /// passes ([`CallErrorKind::QueueTimeout`]); idle warm instances give their slot up first.
    pub max_concurrent_instances: u32,
    /// Upper bound for any adapter's `memory_bytes`.
    pub max_memory_bytes: u64,
    /// Largest `.wasm` file accepted (checked before reading it).
    pub max_wasm_bytes: u64,
    /// Wall-clock budget of compiling one component; past it the load fails naming the
    /// adapter and the budget (and with [`Compiler::Process`] the compile is killed).
    pub compile_timeout: Duration,
    /// Address-space limit (`RLIMIT_AS`) of one compile process: a compile that needs more
    /// fails its adapter with [`LoadError::CompileMemory`]. Only [`Compiler::Process`]
    /// enforces it.
    pub compile_memory_bytes: u64,
    /// Compiles that may run at the same time (each in its own process, each bounded by
    /// `compile_memory_bytes`); a cache hit needs no slot.
    pub max_concurrent_compiles: usize,
    /// Where components are compiled.
    pub compiler: Compiler,
}

/// Where a component is compiled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Compiler {
    /// On a thread of this process. wasmtime cannot cancel a compile, so an over-budget
    /// compile keeps running (and allocating) in the background and its memory is not
    /// bounded. Only for library tests and tools that cannot re-execute a binary.
    #[default]
    InProcess,
    /// In a child process: `exe __compile-adapter …` (see [`compile_process`]), under
    /// `RLIMIT_AS`/`RLIMIT_CPU`, killed at the compile budget. `exe` must call
    /// [`compile_process::run_if_requested`] first thing in `main`.
    Process(PathBuf),
}

impl Compiler {
    /// Re-executes the running binary ([`Compiler::Process`]); falls back to
    /// [`Compiler::InProcess`] with a warning when its path cannot be found.
    pub fn current_exe() -> Compiler {
        match std::env::current_exe() {
            Ok(exe) => Compiler::Process(exe),
            Err(e) => {
                tracing::warn!(error = %e, "cannot find the node's own binary; compiling adapters in-process, without a memory bound");
                Compiler::InProcess
            }
        }
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            pooling: true,
            max_concurrent_instances: 100,
            max_memory_bytes: 1 << 30,
            max_wasm_bytes: 64 << 20,
            compile_timeout: Duration::from_secs(120),
            compile_memory_bytes: DEFAULT_COMPILE_MEMORY_BYTES,
            max_concurrent_compiles: 2,
            compiler: Compiler::InProcess,
        }
    }
}

/// Default [`RuntimeConfig::compile_memory_bytes`]: 1 GiB of address space per compile
/// process. The shipped Python and JS adapters (18 MB and 12 MB) compile within 384 MiB.
pub const DEFAULT_COMPILE_MEMORY_BYTES: u64 = 1 << 30;

/// The adapter runtime (cheap to clone; one engine inside).
#[derive(Clone)]
pub struct AdapterRuntime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    allocator: Allocator,
    linker: Linker<CallState>,
    cache_dir: Option<PathBuf>,
    config: RuntimeConfig,
    /// Compiled components by sha256 of their bytes, shared between adapters.
    components: Mutex<HashMap<String, Component>>,
    /// The slot queue in front of the instance allocator, and the pool's gauges.
    pool: Arc<pool::Pool>,
    /// Bounds concurrent compiles (`max_concurrent_compiles`; compiling uses every core).
    compile_slot: tokio::sync::Semaphore,
    /// In-process compiles that ran past their budget and are still running on their thread.
    abandoned: Arc<std::sync::atomic::AtomicUsize>,
    /// Private directory where compile processes hand over their output when there is no
    /// usable cache directory (created on first use, removed with the runtime).
    handoff: compile_process::Handoff,
}

impl AdapterRuntime {
    /// Creates the engine, the epoch ticker and the linker of host imports.
    pub fn new(config: RuntimeConfig) -> Result<AdapterRuntime, RuntimeError> {
        let (engine, allocator) = engine::create(&config)?;
        engine::start_ticker(&engine);
        let mut linker = Linker::<CallState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| RuntimeError::Engine(format!("linking WASI: {e:#}")))?;
        // Standard wasi:http, with `wasi_http`'s hooks enforcing the host import's rules.
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|e| RuntimeError::Engine(format!("linking wasi:http: {e:#}")))?;
        bindings::Host_::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |s| s)
            .map_err(|e| RuntimeError::Engine(format!("linking host imports: {e:#}")))?;
        let cache_dir = match &config.cache_dir {
            Some(root) => {
                std::fs::create_dir_all(root).map_err(|source| RuntimeError::CacheDir {
                    path: root.clone(),
                    source,
                })?;
                Some(cache::engine_dir(root, &engine))
            }
            None => None,
        };
        Ok(AdapterRuntime {
            inner: Arc::new(RuntimeInner {
                engine,
                allocator,
                linker,
                cache_dir,
                components: Mutex::default(),
                compile_slot: tokio::sync::Semaphore::new(config.max_concurrent_compiles.max(1)),
                abandoned: Arc::default(),
                pool: Arc::new(pool::Pool::new(config.max_concurrent_instances)),
                handoff: compile_process::Handoff::default(),
                config,
            }),
        })
    }

    /// The instance allocator in use (pooling unless it could not be created).
    pub fn allocator(&self) -> Allocator {
        self.inner.allocator
    }

    /// The wasmtime engine (for tools such as `adapter inspect`).
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Loads an adapter: compile or cache hit, export check for every configured role,
    /// import linking and a trial instantiation — every problem surfaces here, not at the
    /// first call.
    pub async fn load(&self, spec: AdapterSpec) -> Result<Adapter, LoadError> {
        adapter::load(self, spec, None).await
    }

    /// [`load`](Self::load), keeping one instance per topic warm between calls when `warm`
    /// is set (see [`WarmConfig`] and docs/SECURITY.md for the isolation trade-off).
    pub async fn load_with_warm(
        &self,
        spec: AdapterSpec,
        warm: Option<WarmConfig>,
    ) -> Result<Adapter, LoadError> {
        adapter::load(self, spec, warm).await
    }

    /// The instance pool's gauges and counters now (for `/metrics`).
    pub fn pool_stats(&self) -> PoolStats {
        self.inner.pool.stats()
    }

    /// Compiles (or loads from cache) a component without role checks, for inspection.
    pub async fn inspect(
        &self,
        name: &str,
        wasm: &std::path::Path,
    ) -> Result<Inspection, LoadError> {
        let (component, _, _) = compile::compile(self, name, wasm).await?;
        Ok(exports::inspect(&self.inner.engine, &component))
    }

    fn loaded_component(&self, digest: &str) -> Option<Component> {
        self.inner.components.lock().ok()?.get(digest).cloned()
    }

    fn remember_component(&self, digest: String, component: Component) {
        if let Ok(mut map) = self.inner.components.lock() {
            map.insert(digest, component);
        }
    }

    fn component_cache(&self) -> Option<&std::path::Path> {
        self.inner.cache_dir.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Actors hold adapters across tasks and await calls inside `tokio::spawn`.
    #[test]
    fn handles_are_shareable_and_calls_are_send() {
        fn shareable<T: Send + Sync + Clone>() {}
        shareable::<AdapterRuntime>();
        shareable::<Adapter>();
        fn send<T: Send>(_: &T) {}
        let call = |a: Adapter, c: CallContext| async move { a.infer(&c).await };
        let _ = |a: Adapter, c: CallContext| send(&call(a, c));
    }

    #[test]
    fn roles_parse_from_cli_and_config_spellings() {
        for (s, r) in [
            ("inference", Role::Inference),
            ("forecast", Role::Forecast),
            ("ground-truth", Role::GroundTruth),
            ("ground_truth", Role::GroundTruth),
            ("LOSS", Role::Loss),
        ] {
            assert_eq!(s.parse::<Role>(), Ok(r));
        }
        assert!(
            "reputer"
                .parse::<Role>()
                .unwrap_err()
                .contains("ground-truth")
        );
        assert_eq!(
            Role::GroundTruth.export_name(),
            "allora:adapter/ground-truth@0.1.0"
        );
    }

    #[test]
    fn deadlines_round_up_to_whole_ticks() {
        assert_eq!(engine::ticks_for(Duration::ZERO), 1);
        assert_eq!(engine::ticks_for(engine::EPOCH_TICK), 2);
        assert_eq!(
            engine::ticks_for(engine::EPOCH_TICK * 10 + Duration::from_nanos(1)),
            12
        );
    }
}
