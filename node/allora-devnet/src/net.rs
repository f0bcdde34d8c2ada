//! Loopback listeners whose connections obey `Faults`: `drop_connections()` resets every
//! open connection, `set_stalled(true)` makes them hang (a half-open peer). Used by both the
//! gRPC (tonic) and the JSON-RPC (axum) servers.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::faults::Faults;

type Wake = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A TCP stream that fails or hangs on command.
pub struct FaultyStream {
    inner: TcpStream,
    remote: Option<SocketAddr>,
    gen0: u64,
    /// Stall epoch at accept time: only older connections hang when a stall begins.
    stall0: u64,
    drop_rx: watch::Receiver<u64>,
    stall_rx: watch::Receiver<(bool, u64)>,
    wake: Wake,
}

fn wake_on_change(drop_rx: &watch::Receiver<u64>, stall_rx: &watch::Receiver<(bool, u64)>) -> Wake {
    let mut d = drop_rx.clone();
    let mut s = stall_rx.clone();
    Box::pin(async move {
        tokio::select! {
            r = d.changed() => if r.is_err() { std::future::pending::<()>().await },
            r = s.changed() => if r.is_err() { std::future::pending::<()>().await },
        }
    })
}

impl FaultyStream {
    fn new(inner: TcpStream, faults: &Faults) -> FaultyStream {
        let drop_rx = faults.drop_watch();
        let stall_rx = faults.stall_watch();
        let gen0 = *drop_rx.borrow();
        let stall0 = stall_rx.borrow().1;
        let wake = wake_on_change(&drop_rx, &stall_rx);
        let remote = inner.peer_addr().ok();
        FaultyStream {
            inner,
            remote,
            gen0,
            stall0,
            drop_rx,
            stall_rx,
            wake,
        }
    }

    /// Ready(Err) when dropped, Pending while stalled, Ready(Ok) to proceed.
    fn gate(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if *self.drop_rx.borrow() != self.gen0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "devnet fault injection: connection dropped",
                )));
            }
            match self.wake.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.wake = wake_on_change(&self.drop_rx, &self.stall_rx);
                    continue;
                }
                Poll::Pending => {}
            }
            let (on, epoch) = *self.stall_rx.borrow();
            if on && self.stall0 < epoch {
                return Poll::Pending;
            }
            return Poll::Ready(Ok(()));
        }
    }
}

impl AsyncRead for FaultyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.gate(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_read(cx, buf),
            other => other,
        }
    }
}

impl AsyncWrite for FaultyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.gate(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_write(cx, buf),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.gate(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for FaultyStream {
    type ConnectInfo = Option<SocketAddr>;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.remote
    }
}

/// A listener yielding `FaultyStream`s (for axum).
pub struct FaultyListener {
    pub listener: TcpListener,
    pub faults: Faults,
}

impl axum::serve::Listener for FaultyListener {
    type Io = FaultyStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.listener.accept().await {
                Ok((s, addr)) => {
                    let _ = s.set_nodelay(true);
                    return (FaultyStream::new(s, &self.faults), addr);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "devnet rpc accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// The incoming-connection stream for tonic.
pub fn incoming(
    listener: TcpListener,
    faults: Faults,
) -> impl futures::Stream<Item = io::Result<FaultyStream>> + Send + 'static {
    futures::stream::unfold((listener, faults), |(l, f)| async move {
        loop {
            match l.accept().await {
                Ok((s, _)) => {
                    let _ = s.set_nodelay(true);
                    let stream = FaultyStream::new(s, &f);
                    return Some((Ok(stream), (l, f)));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "devnet grpc accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    })
}
