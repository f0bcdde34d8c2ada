//! Errors of the adapter runtime. Every error names the adapter (and for calls the topic and
//! role) so an operator can tell which config entry to fix.

use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

use super::Role;

/// The runtime itself could not be created.
#[derive(Debug, Error)]
pub enum RuntimeError {
    /// wasmtime rejected the engine configuration.
    #[error("cannot create the wasm engine: {0}")]
    Engine(String),
    /// The compiled-component cache directory cannot be created.
    #[error("cannot use the adapter cache directory {path}: {source}")]
    CacheDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An adapter could not be loaded; raised at startup, never at the first call.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The .wasm file cannot be read.
    #[error("adapter {adapter}: cannot read {path}: {source}")]
    Read {
        adapter: String,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is larger than the runtime accepts (a compile-bomb guard).
    #[error(
        "adapter {adapter}: {path} is {size} bytes, above the limit of {limit} bytes for a .wasm file"
    )]
    TooLarge {
        adapter: String,
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    /// Compiling took longer than the compile budget (or too many over-budget compiles are
    /// still running); the topic fails, other adapters load.
    #[error(
        "adapter {adapter}: compiling {path} exceeded the compile budget of {limit:?}{detail}; the .wasm may be a compile bomb, or raise node.compileTimeoutSecs"
    )]
    CompileBudget {
        adapter: String,
        path: PathBuf,
        limit: Duration,
        detail: String,
    },
    /// The compile process ran out of its address-space limit (a compile-bomb guard).
    #[error(
        "adapter {adapter}: compiling {path} needed more than the compile memory budget of {} MiB ({detail}); the .wasm may be a compile bomb, or raise node.compileMemoryMb",
        .limit_bytes >> 20
    )]
    CompileMemory {
        adapter: String,
        path: PathBuf,
        limit_bytes: u64,
        detail: String,
    },
    /// The compile process failed in another way (panic, signal, I/O).
    #[error(
        "adapter {adapter}: the process compiling {path} failed ({status}): {stderr}; the .wasm may be hostile or damaged"
    )]
    CompileCrashed {
        adapter: String,
        path: PathBuf,
        status: String,
        stderr: String,
    },
    /// The compile process could not be started, or its output did not authenticate.
    #[error("adapter {adapter}: {reason}")]
    Compiler { adapter: String, reason: String },
    /// The file is a core WebAssembly module, not a component.
    #[error(
        "adapter {adapter}: {path} is a core WebAssembly module, not a component; build it for wasm32-wasip2 (Rust) or with componentize-py / jco componentize (see adapters-wasm/README.md)"
    )]
    NotComponent { adapter: String, path: PathBuf },
    /// The file is not WebAssembly or failed validation/compilation.
    #[error("adapter {adapter}: {path} is not a valid WebAssembly component: {reason}")]
    Invalid {
        adapter: String,
        path: PathBuf,
        reason: String,
    },
    /// The component does not export the interface of a configured role.
    #[error(
        "adapter {adapter} is configured for role {role} but does not export `{export}`; export it (see wit/roles.wit) or change the adapter's role in the config"
    )]
    MissingExport {
        adapter: String,
        role: Role,
        export: String,
    },
    /// The export exists but has a different signature (e.g. another WIT version).
    #[error("adapter {adapter}: export for role {role} has the wrong signature: {reason}")]
    BadSignature {
        adapter: String,
        role: Role,
        reason: String,
    },
    /// The component imports something the node does not provide.
    #[error(
        "adapter {adapter}: cannot link its imports (the node provides allora:adapter/http, allora:adapter/log, wasi:http/outgoing-handler and WASI 0.2 without sockets): {reason}"
    )]
    Link { adapter: String, reason: String },
    /// The adapter's limits or allowlist are invalid.
    #[error("adapter {adapter}: {reason}")]
    Config { adapter: String, reason: String },
    /// A read-only mount is unusable: guest path not absolute or mounted twice, host path
    /// missing or not a directory, or more bytes under it than its cap.
    #[error("adapter {adapter}: mount {host} -> {guest}: {reason}")]
    Mount {
        adapter: String,
        host: PathBuf,
        guest: String,
        reason: String,
    },
    /// A trial instantiation failed (start function trapped, too much memory, …).
    #[error("adapter {adapter}: instantiation failed: {reason}")]
    Instantiate { adapter: String, reason: String },
}

/// A call into an adapter failed. Affects only this topic and role.
#[derive(Debug, Error)]
#[error("adapter {adapter} (topic {topic_id}, role {role}): {kind}")]
pub struct CallError {
    /// The adapter's configured name.
    pub adapter: String,
    /// The topic of the call.
    pub topic_id: u64,
    /// The role called.
    pub role: Role,
    /// What went wrong.
    pub kind: CallErrorKind,
}

impl CallError {
    /// A short, bounded label for metrics: "timeout", "trap", "memory", "output",
    /// "invalid_value", "http", "adapter_error", "instantiate", "queue_timeout", "not_exported".
    pub fn kind(&self) -> &'static str {
        self.kind.label()
    }
}

/// The failure classes of a call.
#[derive(Debug, Error)]
pub enum CallErrorKind {
    /// The call ran past its deadline and was stopped.
    #[error("stopped at its deadline after {0:?}")]
    Timeout(Duration),
    /// The guest trapped (panic, unreachable, out-of-bounds, …).
    #[error("trapped: {0}")]
    Trap(String),
    /// The guest tried to grow its memory (or tables) past the limit.
    #[error("exceeded its memory limit of {limit_bytes} bytes")]
    Memory { limit_bytes: u64 },
    /// The result is too large (list length or total bytes over the cap).
    #[error("output rejected: {0}")]
    Output(String),
    /// A returned value is not a finite decimal or otherwise invalid.
    #[error("invalid value {value:?}: {reason}")]
    InvalidValue { value: String, reason: String },
    /// The adapter returned an error after an HTTP request failed.
    #[error("adapter error after a failed HTTP request ({http}): {message}")]
    Http { http: String, message: String },
    /// The adapter returned an error of its own.
    #[error("adapter returned an error: {0}")]
    Adapter(String),
    /// Creating the instance failed.
    #[error("instantiation failed: {0}")]
    Instantiate(String),
    /// Every instance slot stayed busy until the call's deadline (counted in
    /// `allora_adapter_queue_timeouts_total`); raise `node.adapterInstances` or give calls
    /// more time.
    #[error(
        "waited {waited:?} for one of the {instances} adapter instance slots (node.adapterInstances) and reached its deadline before one was free"
    )]
    QueueTimeout { waited: Duration, instances: u32 },
    /// The adapter was not loaded for this role.
    #[error("the adapter is not configured for this role")]
    NotExported,
}

impl CallErrorKind {
    fn label(&self) -> &'static str {
        match self {
            CallErrorKind::Timeout(_) => "timeout",
            CallErrorKind::Trap(_) => "trap",
            CallErrorKind::Memory { .. } => "memory",
            CallErrorKind::Output(_) => "output",
            CallErrorKind::InvalidValue { .. } => "invalid_value",
            CallErrorKind::Http { .. } => "http",
            CallErrorKind::Adapter(_) => "adapter_error",
            CallErrorKind::Instantiate(_) => "instantiate",
            CallErrorKind::QueueTimeout { .. } => "queue_timeout",
            CallErrorKind::NotExported => "not_exported",
        }
    }
}
