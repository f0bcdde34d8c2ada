//! Reading and compiling a component under the compile-bomb guards: a size cap checked
//! before reading; identical bytes already loaded are shared and an authenticated cache entry
//! is used without compiling; otherwise a compile slot is taken (at most
//! `max_concurrent_compiles` at once) and the component is compiled
//! - with [`Compiler::Process`] (the node): in a child process under the memory and CPU
//!   limits, killed at the compile budget ([`compile_process`]); its output is loaded only if
//!   it authenticates;
//! - with [`Compiler::InProcess`] (library tests, tools): on a dedicated thread under the
//!   wall-clock budget. wasmtime cannot cancel a compile, so an over-budget one finishes in
//!   the background; at most [`MAX_ABANDONED_COMPILES`] may be running before new ones are
//!   refused. Its memory is not bounded.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

use wasmtime::component::Component;

use super::adapter::LoadInfo;
use super::cache::{self, Source};
use super::compile_process::{self, Failure, Job};
use super::error::LoadError;
use super::{AdapterRuntime, Compiler, RuntimeConfig};

/// Compiles still running past their budget beyond which new compiles are refused, so a
/// stream of bombs cannot pile up threads and memory.
const MAX_ABANDONED_COMPILES: usize = 2;

/// Reads the file (size-capped), checks it is a component, and shares, loads from the cache
/// or compiles it (see the module docs).
pub(crate) async fn compile(
    rt: &AdapterRuntime,
    name: &str,
    path: &Path,
) -> Result<(Component, LoadInfo, PathBuf), LoadError> {
    let read_err = |source| LoadError::Read {
        adapter: name.to_string(),
        path: path.to_path_buf(),
        source,
    };
    let limit = rt.inner.config.max_wasm_bytes;
    let size = tokio::fs::metadata(path).await.map_err(read_err)?.len();
    if size > limit {
        return Err(LoadError::TooLarge {
            adapter: name.to_string(),
            path: path.to_path_buf(),
            size,
            limit,
        });
    }
    let bytes = tokio::fs::read(path).await.map_err(read_err)?;
    if bytes.len() as u64 > limit {
        return Err(LoadError::TooLarge {
            adapter: name.to_string(),
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            limit,
        });
    }
    let invalid = |reason: String| LoadError::Invalid {
        adapter: name.to_string(),
        path: path.to_path_buf(),
        reason,
    };
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(invalid(
            "the file does not start with the WebAssembly magic bytes".into(),
        ));
    }
    // Byte 6..8 is the "layer": 0 for core modules, 1 for components.
    if bytes[6..8] == [0, 0] {
        return Err(LoadError::NotComponent {
            adapter: name.to_string(),
            path: path.to_path_buf(),
        });
    }
    let started = Instant::now();
    // Adapters loaded from identical bytes share one compiled component (code is immutable;
    // every call still gets its own Store and instance).
    let digest = cache::wasm_digest(&bytes);
    let done = |component: Component, source: Source| {
        rt.remember_component(digest.clone(), component.clone());
        let info = LoadInfo {
            source,
            compile_time: started.elapsed(),
        };
        Ok((component, info, path.to_path_buf()))
    };
    if let Some(c) = rt.loaded_component(&digest) {
        return done(c, Source::Shared);
    }
    // A cache hit needs no compile slot, so a topic whose adapter is cached starts at once
    // even while other topics' adapters compile.
    if let Some(c) = cached(rt, &digest).await {
        return done(c, Source::Cached);
    }
    let _slot = rt
        .inner
        .compile_slot
        .acquire()
        .await
        .map_err(|e| invalid(format!("compiler unavailable: {e}")))?;
    // Another load of the same bytes may have compiled them while this one waited.
    if let Some(c) = rt.loaded_component(&digest) {
        return done(c, Source::Shared);
    }
    match &rt.inner.config.compiler {
        Compiler::Process(exe) => {
            let c = in_child(rt, name, path, exe, &digest).await?;
            done(c, Source::Compiled)
        }
        Compiler::InProcess => {
            let (c, source) = in_thread(rt, name, path, bytes).await?;
            done(c, source)
        }
    }
}

/// The authenticated cache entry for `digest`, if any (read and deserialized off the async
/// workers).
async fn cached(rt: &AdapterRuntime, digest: &str) -> Option<Component> {
    let dir = rt.component_cache()?.to_path_buf();
    let engine = rt.inner.engine.clone();
    let digest = digest.to_string();
    tokio::task::spawn_blocking(move || cache::lookup(&engine, &dir, &digest))
        .await
        .ok()
        .flatten()
}

/// Compiles in a child process ([`compile_process`]) and loads the entry it wrote, after
/// authenticating it.
async fn in_child(
    rt: &AdapterRuntime,
    name: &str,
    path: &Path,
    exe: &Path,
    digest: &str,
) -> Result<Component, LoadError> {
    let cfg = &rt.inner.config;
    let compiler_err = |reason: String| LoadError::Compiler {
        adapter: name.to_string(),
        reason,
    };
    let cache_dir = rt.component_cache().map(Path::to_path_buf);
    let usable = match cache_dir.clone() {
        Some(d) => tokio::task::spawn_blocking(move || cache::usable(&d))
            .await
            .unwrap_or(false),
        None => false,
    };
    let (out, handoff) = match cache_dir {
        Some(d) if usable => (d, false),
        _ => (
            rt.inner.handoff.dir().map_err(|e| {
                compiler_err(format!(
                    "cannot create a private directory to receive the compiled code: {e}"
                ))
            })?,
            true,
        ),
    };
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (wasm, out) = (absolute(path), absolute(&out));
    let job = Job {
        exe,
        wasm: &wasm,
        digest,
        out: &out,
        memory_bytes: cfg.compile_memory_bytes,
        budget: cfg.compile_timeout,
    };
    let started = Instant::now();
    compile_process::run(&job)
        .await
        .map_err(|f| failure(name, path, cfg, f))?;
    tracing::debug!(adapter = %name, compile_ms = started.elapsed().as_millis() as u64, "adapter compiled in a child process");
    let engine = rt.inner.engine.clone();
    let digest = digest.to_string();
    tokio::task::spawn_blocking(move || {
        let loaded = cache::load_written(&engine, &out, &digest);
        if handoff {
            cache::remove_entry(&out, &digest);
        }
        loaded
    })
    .await
    .map_err(|e| compiler_err(format!("loading the compiled code failed: {e}")))?
    .map_err(|why| {
        compiler_err(format!(
            "the compile process's output was refused ({why}); nothing was executed"
        ))
    })
}

/// Maps a compile process failure to the load error naming the adapter, the limit and the fix.
fn failure(name: &str, path: &Path, cfg: &RuntimeConfig, f: Failure) -> LoadError {
    let adapter = name.to_string();
    let path = path.to_path_buf();
    match f {
        Failure::Spawn(e) => LoadError::Compiler {
            adapter,
            reason: format!("cannot start the compile process: {e}"),
        },
        Failure::Timeout => LoadError::CompileBudget {
            adapter,
            path,
            limit: cfg.compile_timeout,
            detail: " (the compile process was killed)".into(),
        },
        Failure::Cpu { secs } => LoadError::CompileBudget {
            adapter,
            path,
            limit: cfg.compile_timeout,
            detail: format!(" (its CPU-time limit of {secs} s)"),
        },
        Failure::Memory { detail } => LoadError::CompileMemory {
            adapter,
            path,
            limit_bytes: cfg.compile_memory_bytes,
            detail,
        },
        Failure::Invalid(reason) => LoadError::Invalid {
            adapter,
            path,
            reason,
        },
        Failure::Crashed { status, stderr } => LoadError::CompileCrashed {
            adapter,
            path,
            status,
            stderr,
        },
    }
}

/// Compiles on a dedicated thread under the wall-clock budget (see the module docs).
async fn in_thread(
    rt: &AdapterRuntime,
    name: &str,
    path: &Path,
    bytes: Vec<u8>,
) -> Result<(Component, Source), LoadError> {
    let invalid = |reason: String| LoadError::Invalid {
        adapter: name.to_string(),
        path: path.to_path_buf(),
        reason,
    };
    let budget = rt.inner.config.compile_timeout;
    let over_budget = |detail: String| LoadError::CompileBudget {
        adapter: name.to_string(),
        path: path.to_path_buf(),
        limit: budget,
        detail,
    };
    let abandoned = rt.inner.abandoned.clone();
    let running = abandoned.load(Ordering::SeqCst);
    if running >= MAX_ABANDONED_COMPILES {
        return Err(over_budget(format!(
            " (not started: {running} earlier over-budget compiles are still running)"
        )));
    }
    let engine = rt.inner.engine.clone();
    let dir = rt.component_cache().map(Path::to_path_buf);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let started_compile = Instant::now();
    let worker_abandoned = abandoned.clone();
    let adapter = name.to_string();
    std::thread::Builder::new()
        .name("wasm-compile".into())
        .spawn(move || {
            let r = cache::load(&engine, dir.as_deref(), &bytes, || {
                Component::new(&engine, &bytes)
            });
            if let Err(r) = tx.send(r) {
                // The load gave up at its budget; this compile was counted as abandoned.
                worker_abandoned.fetch_sub(1, Ordering::SeqCst);
                tracing::warn!(adapter = %adapter, compile_ms = started_compile.elapsed().as_millis() as u64, ok = r.is_ok(), "over-budget adapter compile finished");
            }
        })
        .map_err(|e| invalid(format!("cannot start the compiler thread: {e}")))?;
    let mut rx = rx;
    match tokio::time::timeout(budget, &mut rx).await {
        Ok(Ok(r)) => r.map_err(|e| invalid(format!("{e:#}"))),
        Ok(Err(_)) => Err(invalid("the compiler thread failed".into())),
        Err(_) => {
            // Count it before closing the channel, so the worker's decrement pairs with it.
            abandoned.fetch_add(1, Ordering::SeqCst);
            rx.close();
            if rx.try_recv().is_ok() {
                // Finished in the race window: the worker's send succeeded, undo the count.
                abandoned.fetch_sub(1, Ordering::SeqCst);
            }
            tracing::warn!(adapter = %name, budget_ms = budget.as_millis() as u64, "adapter compile exceeded its budget; the topic fails");
            Err(over_budget(String::new()))
        }
    }
}
