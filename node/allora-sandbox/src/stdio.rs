//! Captured guest stdout/stderr: kept in memory up to a cap (the rest is dropped, never
//! trapping the guest) and written to the log after the call, so a guest's panic message is
//! not lost and a chatty guest cannot exhaust host memory.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// A bounded in-memory sink shared between the WASI stream and the host.
#[derive(Clone)]
pub struct CappedPipe {
    inner: Arc<Mutex<Captured>>,
}

#[derive(Default)]
struct Captured {
    buf: Vec<u8>,
    cap: usize,
    /// Bytes written past the cap and dropped.
    dropped: u64,
}

/// What a pipe captured.
pub struct Taken {
    /// The kept text (lossy UTF-8).
    pub text: String,
    /// Bytes kept.
    pub kept: usize,
    /// Bytes dropped past the cap.
    pub dropped: u64,
}

impl CappedPipe {
    /// A pipe keeping at most `cap` bytes.
    pub fn new(cap: usize) -> CappedPipe {
        CappedPipe {
            inner: Arc::new(Mutex::new(Captured {
                cap,
                ..Captured::default()
            })),
        }
    }

    /// The captured text and how many bytes were kept and dropped; resets the pipe.
    pub fn take(&self) -> Taken {
        match self.inner.lock() {
            Ok(mut c) => {
                let text = String::from_utf8_lossy(&c.buf).into_owned();
                let kept = c.buf.len();
                c.buf.clear();
                let dropped = std::mem::take(&mut c.dropped);
                Taken {
                    text,
                    kept,
                    dropped,
                }
            }
            Err(_) => Taken {
                text: String::new(),
                kept: 0,
                dropped: 0,
            },
        }
    }
}

impl IsTerminal for CappedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedPipe {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for CappedPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Ok(mut c) = self.inner.lock() {
            let room = c.cap.saturating_sub(c.buf.len());
            let n = room.min(data.len());
            c.buf.extend_from_slice(&data[..n]);
            c.dropped = c.dropped.saturating_add((data.len() - n) as u64);
        }
        // Report everything as written: excess output is dropped, not an error.
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
