//! Compiling a component in a child process, so a compile bomb is bounded in memory and can
//! be stopped (wasmtime cannot cancel a compile running on a thread).
//!
//! The node re-executes its own binary as `<exe> __compile-adapter <wasm> <sha256> <dir>
//! <memory-bytes> <cpu-seconds>` ([`run`]) with an empty environment (no mnemonic or other
//! secret can reach it), `/dev/null` as stdin and stdout, `/` as working directory and
//! stderr captured (the last few KiB, for the error). The child ([`run_if_requested`], the
//! first thing the binary's `main` calls) sets `RLIMIT_AS`, `RLIMIT_CPU` and a zero
//! `RLIMIT_CORE` before it reads anything, checks the file still has the digest the parent
//! checked, compiles with the runtime's compilation settings, and writes the code into
//! `<dir>` in the compiled-code cache's authenticated format (HMAC under the directory's
//! key). The parent loads only an entry that authenticates ([`crate::cache`]); a child that
//! runs past the compile budget is killed and reaped before the load fails.
//!
//! When there is no usable cache directory the hand-over goes through a private temporary
//! directory ([`Handoff`]) and the entry is deleted once loaded.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use wasmtime::component::Component;

use super::cache;
use super::engine;

/// The hidden subcommand of the node binary that runs one compile.
pub const SUBCOMMAND: &str = "__compile-adapter";

/// Exit codes of the compile process (a Rust panic exits with 101).
const EXIT_OK: i32 = 0;
const EXIT_USAGE: i32 = 2;
const EXIT_IO: i32 = 3;
const EXIT_INVALID: i32 = 4;
const EXIT_MEMORY: i32 = 5;

/// Bytes of the child's stderr kept for the error message.
const STDERR_TAIL: usize = 4096;

/// The child's side: when the process was started as the compile process (first argument
/// [`SUBCOMMAND`]), runs the compile and returns its exit code; otherwise `None`. Call it
/// first in `main`, before any runtime, logging or config is set up.
pub fn run_if_requested() -> Option<i32> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != SUBCOMMAND {
        return None;
    }
    Some(child_main(&args.collect::<Vec<_>>()))
}

struct ChildArgs {
    wasm: PathBuf,
    digest: String,
    out: PathBuf,
    memory_bytes: u64,
    cpu_secs: u64,
}

impl ChildArgs {
    fn parse(args: &[OsString]) -> Option<ChildArgs> {
        let [wasm, digest, out, memory, cpu] = args else {
            return None;
        };
        let num = |s: &OsString| s.to_str()?.parse::<u64>().ok();
        let digest = digest.to_str()?.to_string();
        (digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit())).then_some(())?;
        Some(ChildArgs {
            wasm: PathBuf::from(wasm),
            digest,
            out: PathBuf::from(out),
            memory_bytes: num(memory)?,
            cpu_secs: num(cpu)?,
        })
    }
}

fn child_main(args: &[OsString]) -> i32 {
    let Some(a) = ChildArgs::parse(args) else {
        eprintln!(
            "usage: {SUBCOMMAND} <wasm> <sha256> <out-dir> <memory-bytes> <cpu-seconds> (internal: started by the node to compile one adapter)"
        );
        return EXIT_USAGE;
    };
    // Limits first: nothing of the guest is read before the process is bounded.
    if let Err(e) = limit_self(a.memory_bytes, a.cpu_secs) {
        eprintln!("cannot set the compile process's resource limits: {e}");
        return EXIT_IO;
    }
    let bytes = match std::fs::read(&a.wasm) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot read {}: {e}", a.wasm.display());
            return EXIT_IO;
        }
    };
    if cache::wasm_digest(&bytes) != a.digest {
        eprintln!(
            "{} changed since the node checked it; not compiling",
            a.wasm.display()
        );
        return EXIT_IO;
    }
    let failed = |what: &str, e: wasmtime::Error| {
        let msg = format!("{e:#}");
        eprintln!("{what}: {msg}");
        if looks_out_of_memory(&msg) {
            EXIT_MEMORY
        } else {
            EXIT_INVALID
        }
    };
    let engine = match engine::for_compiling() {
        Ok(e) => e,
        Err(e) => return failed("cannot create the compile engine", e),
    };
    let code = match Component::new(&engine, &bytes).and_then(|c| c.serialize()) {
        Ok(code) => code,
        Err(e) => return failed("compile failed", e),
    };
    drop(bytes);
    match cache::store_serialized(&a.out, &a.digest, &code) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!(
                "cannot hand the compiled code over in {}: {e}",
                a.out.display()
            );
            EXIT_IO
        }
    }
}

/// Sets the address-space, CPU-time and core-dump limits of this process. Soft and hard
/// limits are lowered together, so the guest's compile cannot raise them again.
#[cfg(unix)]
fn limit_self(memory_bytes: u64, cpu_secs: u64) -> std::io::Result<()> {
    fn set(resource: i32, soft: u64, hard: u64) -> std::io::Result<()> {
        let mut cur = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: plain syscalls on a valid, owned struct.
        unsafe {
            if libc::getrlimit(resource as _, &mut cur) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Never try to raise an existing hard limit (that needs privileges).
            let new = libc::rlimit {
                rlim_cur: soft.min(cur.rlim_max),
                rlim_max: hard.min(cur.rlim_max),
            };
            if libc::setrlimit(resource as _, &new) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
    set(libc::RLIMIT_CORE as i32, 0, 0)?;
    set(libc::RLIMIT_AS as i32, memory_bytes, memory_bytes)?;
    // SIGXCPU at the soft limit, SIGKILL a second later.
    set(
        libc::RLIMIT_CPU as i32,
        cpu_secs,
        cpu_secs.saturating_add(1),
    )?;
    // Under a container's memory limit the kernel's OOM killer picks the compile process,
    // never the node (raising one's own score needs no privilege; best effort).
    #[cfg(target_os = "linux")]
    let _ = std::fs::write("/proc/self/oom_score_adj", "1000");
    // glibc reserves 64 MiB of address space per malloc arena (up to 8 per core); cap the
    // arenas so the limit measures what the compile allocates, not those reservations.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    Ok(())
}

#[cfg(not(unix))]
fn limit_self(_memory_bytes: u64, _cpu_secs: u64) -> std::io::Result<()> {
    Ok(())
}

/// Messages of allocation failures: Rust's `memory allocation of N bytes failed` (then
/// abort), and the OS's ENOMEM from mmap inside wasmtime.
fn looks_out_of_memory(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("memory allocation of")
        || t.contains("cannot allocate memory")
        || t.contains("out of memory")
}

/// One compile to run in a child process.
pub(crate) struct Job<'a> {
    /// The binary to re-execute (the node's own).
    pub exe: &'a Path,
    /// Absolute path of the `.wasm`.
    pub wasm: &'a Path,
    /// Its sha256, as the parent read it.
    pub digest: &'a str,
    /// Where the entry is handed over (a cache directory or the [`Handoff`] directory).
    pub out: &'a Path,
    pub memory_bytes: u64,
    pub budget: Duration,
}

/// How a compile process failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// It could not be started.
    Spawn(std::io::Error),
    /// It ran past the wall-clock budget and was killed (and reaped).
    Timeout,
    /// It reached its CPU-time limit.
    Cpu { secs: u64 },
    /// It ran out of its address-space limit.
    Memory { detail: String },
    /// The component did not validate or compile.
    Invalid(String),
    /// Anything else (a panic, a signal, an I/O problem), with its stderr.
    Crashed { status: String, stderr: String },
}

/// Runs one compile in a child process under `job`'s limits; `Ok` means the entry for
/// `job.digest` was written in `job.out` (the caller still authenticates it before use).
pub(crate) async fn run(job: &Job<'_>) -> Result<(), Failure> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    // A backstop for a child whose parent died: compiling uses every core, so the wall
    // budget in CPU seconds is budget × cores; the parent's kill normally comes first.
    let cpu_secs = job
        .budget
        .as_secs()
        .saturating_add(1)
        .saturating_mul(cpus)
        .saturating_add(1);
    let mut child = tokio::process::Command::new(job.exe)
        .arg(SUBCOMMAND)
        .arg(job.wasm)
        .arg(job.digest)
        .arg(job.out)
        .arg(job.memory_bytes.to_string())
        .arg(cpu_secs.to_string())
        .env_clear()
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // If the load is abandoned (shutdown), the compile goes with it.
        .kill_on_drop(true)
        .spawn()
        .map_err(Failure::Spawn)?;
    let pid = child.id();
    let stderr = child.stderr.take();
    let tail = tokio::spawn(async move {
        match stderr {
            Some(s) => read_tail(s).await,
            None => String::new(),
        }
    });
    let status = match tokio::time::timeout(job.budget, child.wait()).await {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => {
            return Err(Failure::Crashed {
                status: format!("cannot wait for it: {e}"),
                stderr: String::new(),
            });
        }
        Err(_) => {
            // Kill and reap, so no compile outlives its budget.
            let _ = child.start_kill();
            let _ = child.wait().await;
            tracing::warn!(pid = ?pid, budget_ms = job.budget.as_millis() as u64, "adapter compile process killed at its budget");
            return Err(Failure::Timeout);
        }
    };
    let stderr = tail.await.unwrap_or_default();
    classify(status, stderr, cpu_secs)
}

async fn read_tail(mut r: impl tokio::io::AsyncRead + Unpin) -> String {
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > STDERR_TAIL {
                    kept.drain(..kept.len() - STDERR_TAIL);
                }
            }
        }
    }
    String::from_utf8_lossy(&kept).trim().to_string()
}

fn classify(status: ExitStatus, stderr: String, cpu_secs: u64) -> Result<(), Failure> {
    if status.success() {
        return Ok(());
    }
    let signal = signal_of(status);
    if signal == Some(libc_signal::SIGXCPU) {
        return Err(Failure::Cpu { secs: cpu_secs });
    }
    if status.code() == Some(EXIT_MEMORY) || looks_out_of_memory(&stderr) {
        return Err(Failure::Memory {
            detail: last_line(&stderr),
        });
    }
    // Not our kill (that is a timeout, handled before): the OOM killer, which prefers this
    // process (oom_score_adj 1000) when the host or container has less memory than the limit.
    if signal == Some(libc_signal::SIGKILL) {
        return Err(Failure::Memory {
            detail: "killed by SIGKILL, most likely the out-of-memory killer: the host or container has less memory free than the compile budget".into(),
        });
    }
    if status.code() == Some(EXIT_INVALID) {
        let reason = stderr
            .strip_prefix("compile failed: ")
            .unwrap_or(&stderr)
            .to_string();
        return Err(Failure::Invalid(reason));
    }
    let status = match (status.code(), signal) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => status.to_string(),
    };
    Err(Failure::Crashed { status, stderr })
}

fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or_default().to_string()
}

#[cfg(unix)]
fn signal_of(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn signal_of(_status: ExitStatus) -> Option<i32> {
    None
}

#[cfg(unix)]
mod libc_signal {
    pub const SIGXCPU: i32 = libc::SIGXCPU;
    pub const SIGKILL: i32 = libc::SIGKILL;
}

#[cfg(not(unix))]
mod libc_signal {
    pub const SIGXCPU: i32 = -1;
    pub const SIGKILL: i32 = -2;
}

/// A private temporary directory (0700, under the system temp dir) for compile processes
/// to hand code over when there is no usable cache directory; removed when dropped.
#[derive(Default)]
pub(crate) struct Handoff {
    root: Mutex<Option<PathBuf>>,
}

impl Handoff {
    /// The hand-over directory, created on first use. The entry directory is a
    /// subdirectory, so its parent is private too (the cache's checks require that).
    pub(crate) fn dir(&self) -> std::io::Result<PathBuf> {
        let mut root = self
            .root
            .lock()
            .map_err(|_| std::io::Error::other("hand-over directory lock poisoned"))?;
        if let Some(r) = &*root {
            return Ok(r.join("code"));
        }
        let r = std::env::temp_dir().join(format!(
            "allora-compile-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&r)?;
        *root = Some(r.clone());
        Ok(r.join("code"))
    }
}

impl Drop for Handoff {
    fn drop(&mut self) {
        if let Ok(root) = self.root.get_mut()
            && let Some(r) = root.take()
        {
            let _ = std::fs::remove_dir_all(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_arguments_are_strict() {
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let digest = "ab".repeat(32);
        assert!(ChildArgs::parse(&os(&["/a.wasm", &digest, "/out", "1024", "5"])).is_some());
        assert!(ChildArgs::parse(&os(&["/a.wasm", "short", "/out", "1024", "5"])).is_none());
        assert!(ChildArgs::parse(&os(&["/a.wasm", &digest, "/out", "-1", "5"])).is_none());
        assert!(ChildArgs::parse(&os(&["/a.wasm", &digest, "/out", "1024"])).is_none());
    }

    #[test]
    fn allocation_failures_are_recognised() {
        assert!(looks_out_of_memory(
            "memory allocation of 1048576 bytes failed"
        ));
        assert!(looks_out_of_memory(
            "compile failed: failed to mmap: Cannot allocate memory (os error 12)"
        ));
        assert!(!looks_out_of_memory("compile failed: invalid section"));
    }
}
