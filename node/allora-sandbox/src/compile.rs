//! Reading and compiling a component under the compile-bomb guards: a size cap checked
//! before reading, then compile (or authenticated cache load) on a dedicated thread, one at a
//! time, under a wall-clock budget. An over-budget compile fails its adapter with
//! [`LoadError::CompileBudget`] while the next adapter starts at once; wasmtime cannot cancel
//! a compile, so it finishes in the background and at most [`MAX_ABANDONED_COMPILES`] such
//! compiles may be running before new ones are refused.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

use wasmtime::component::Component;

use super::AdapterRuntime;
use super::adapter::LoadInfo;
use super::cache::{self, Source};
use super::error::LoadError;

/// Compiles still running past their budget beyond which new compiles are refused, so a
/// stream of bombs cannot pile up threads and memory.
const MAX_ABANDONED_COMPILES: usize = 2;

/// Reads the file (size-capped), checks it is a component and compiles it (or loads it from
/// the cache) on a dedicated thread under the compile budget, one compile at a time.
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
    if let Some(c) = rt.loaded_component(&digest) {
        let info = LoadInfo {
            source: Source::Shared,
            compile_time: started.elapsed(),
        };
        return Ok((c, info, path.to_path_buf()));
    }
    let budget = rt.inner.config.compile_timeout;
    let over_budget = |detail: String| LoadError::CompileBudget {
        adapter: name.to_string(),
        path: path.to_path_buf(),
        limit: budget,
        detail,
    };
    let _slot = rt
        .inner
        .compile_slot
        .acquire()
        .await
        .map_err(|e| invalid(format!("compiler unavailable: {e}")))?;
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
    let compiled = match tokio::time::timeout(budget, &mut rx).await {
        Ok(Ok(r)) => r.map_err(|e| invalid(format!("{e:#}")))?,
        Ok(Err(_)) => return Err(invalid("the compiler thread failed".into())),
        Err(_) => {
            // Count it before closing the channel, so the worker's decrement pairs with it.
            abandoned.fetch_add(1, Ordering::SeqCst);
            rx.close();
            if rx.try_recv().is_ok() {
                // Finished in the race window: the worker's send succeeded, undo the count.
                abandoned.fetch_sub(1, Ordering::SeqCst);
            }
            tracing::warn!(adapter = %name, budget_ms = budget.as_millis() as u64, "adapter compile exceeded its budget; the topic fails");
            return Err(over_budget(String::new()));
        }
    };
    let info = LoadInfo {
        source: compiled.1,
        compile_time: started.elapsed(),
    };
    rt.remember_component(digest, compiled.0.clone());
    Ok((compiled.0, info, path.to_path_buf()))
}
