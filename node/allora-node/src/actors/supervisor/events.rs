//! The event pump: the one task that reads the chain's signal stream. It routes each window
//! signal to its actor ([`Router`]), feeds each block heartbeat into the shared height
//! ([`WindowClock`]) and the stream's health ([`StreamHealth`]), turns resubscriptions into
//! one poll per actor, and declares the stream deaf when no heartbeat came for the
//! watchdog's span (`node.eventWatchdogBlocks` block times), so actors go back to polling
//! every `loopSeconds` while the websocket is being replaced.

use std::sync::Arc;

use futures::StreamExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::SignalStream;
use crate::actors::ChainSignal;
use crate::actors::clock::WindowClock;
use crate::actors::trigger::StreamHealth;
use crate::actors::wakeup::Router;

pub(super) struct Pump {
    pub router: Arc<Router>,
    pub clock: WindowClock,
    pub health: StreamHealth,
    pub deaf_after_blocks: u32,
}

impl Pump {
    /// Runs until shutdown or the end of the stream; leaves the health deaf when it ends.
    pub async fn run(self, mut stream: SignalStream, stop: CancellationToken) {
        let mut last_beat: Option<Instant> = None;
        loop {
            // Only a healthy stream can go deaf; the span follows the measured block time.
            let deaf_at = last_beat
                .filter(|_| self.health.state().healthy)
                .map(|t| t + self.clock.block_time() * self.deaf_after_blocks);
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = sleep_until(deaf_at) => {
                    self.health.deaf();
                    tracing::info!(deaf_after_blocks = self.deaf_after_blocks, "no block heartbeat for the watchdog's span; actors poll every loopSeconds until heartbeats return");
                }
                ev = stream.next() => match ev {
                    Some(ChainSignal::Window(sig)) => {
                        if !self.router.route(sig) {
                            tracing::debug!(topic_id = sig.topic_id, role = sig.role.as_str(), nonce = sig.nonce, "window event for no configured actor");
                        }
                    }
                    Some(ChainSignal::Block(height)) => {
                        let now = Instant::now();
                        self.clock.observe(height, now.into_std());
                        last_beat = Some(now);
                        self.health.beat();
                    }
                    Some(ChainSignal::Resubscribed) => {
                        tracing::info!("event websocket resubscribed; every actor polls once");
                        self.health.resubscribed();
                    }
                    None => {
                        tracing::warn!("window event stream ended; actors keep polling");
                        break;
                    }
                }
            }
        }
        self.health.deaf();
    }
}

/// Sleeps until `at`, or forever when there is no deadline.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::channel::mpsc;

    use super::*;
    use crate::actors::trigger::StreamState;

    fn pump() -> (Pump, StreamHealth) {
        let health = StreamHealth::new(Duration::from_secs(300));
        let pump = Pump {
            router: Arc::new(Router::new([])),
            clock: WindowClock::new(Duration::from_secs(5)),
            health: health.clone(),
            deaf_after_blocks: 4,
        };
        (pump, health)
    }

    async fn advance(d: Duration) {
        tokio::time::sleep(d).await;
    }

    /// Heartbeats make the stream healthy; none for the watchdog's span (4 measured block
    /// times) makes it deaf; a resubscription opens a new epoch; the end of the stream
    /// leaves it deaf.
    #[tokio::test(start_paused = true)]
    async fn health_follows_heartbeats_resubscriptions_and_the_end() {
        let (pump, health) = pump();
        let (tx, rx) = mpsc::unbounded();
        let stop = CancellationToken::new();
        let task = tokio::spawn(pump.run(Box::pin(rx), stop.clone()));
        assert!(
            !health.state().healthy,
            "unhealthy until the first heartbeat"
        );
        for h in 1..=5 {
            tx.unbounded_send(ChainSignal::Block(h)).unwrap();
            advance(Duration::from_secs(1)).await;
        }
        let s = health.state();
        assert!(s.healthy);
        assert_eq!(s.epoch, 1, "one return to health");
        // 1 s blocks measured: deaf after 4 s without a heartbeat, not before.
        advance(Duration::from_millis(2_500)).await;
        assert!(health.state().healthy);
        advance(Duration::from_secs(2)).await;
        assert!(!health.state().healthy, "deaf after the watchdog's span");
        tx.unbounded_send(ChainSignal::Block(6)).unwrap();
        advance(Duration::from_millis(10)).await;
        assert_eq!(
            health.state(),
            StreamState {
                healthy: true,
                epoch: 2
            }
        );
        tx.unbounded_send(ChainSignal::Resubscribed).unwrap();
        advance(Duration::from_millis(10)).await;
        assert_eq!(
            health.state(),
            StreamState {
                healthy: false,
                epoch: 3
            }
        );
        tx.unbounded_send(ChainSignal::Block(7)).unwrap();
        advance(Duration::from_millis(10)).await;
        assert!(health.state().healthy);
        drop(tx);
        task.await.unwrap();
        assert!(!health.state().healthy, "ended stream: deaf");
    }
}
