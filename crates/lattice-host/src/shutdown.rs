//! Shutdown signalling: a stop is requested once with a deadline (by
//! `host.stop`, a signal in the binary, or [`crate::Host::stop`]); every
//! long-running task watches for the request, and callers wait for the host
//! to report that it has stopped.

use tokio::sync::watch;
use tokio::time::Instant;

/// The host's shutdown state.
#[derive(Debug)]
pub(crate) struct Shutdown {
    deadline: watch::Sender<Option<Instant>>,
    done: watch::Sender<bool>,
}

/// A handle that resolves once a stop has been requested.
#[derive(Debug, Clone)]
pub(crate) struct Requested(watch::Receiver<Option<Instant>>);

impl Requested {
    /// Waits for the stop request; returns its deadline.
    pub(crate) async fn wait(&mut self) -> Instant {
        match self.0.wait_for(Option::is_some).await {
            Ok(deadline) => deadline.unwrap_or_else(Instant::now),
            // The host is gone altogether: stop now.
            Err(_) => Instant::now(),
        }
    }
}

impl Shutdown {
    pub(crate) fn new() -> Self {
        Self {
            deadline: watch::Sender::new(None),
            done: watch::Sender::new(false),
        }
    }

    /// Requests a stop finishing in-flight work by `deadline`; a second
    /// request keeps the first deadline. Returns whether this was the first.
    pub(crate) fn request(&self, deadline: Instant) -> bool {
        self.deadline.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(deadline);
            true
        })
    }

    pub(crate) fn is_requested(&self) -> bool {
        self.deadline.borrow().is_some()
    }

    pub(crate) fn requested(&self) -> Requested {
        Requested(self.deadline.subscribe())
    }

    /// Records that the host has stopped.
    pub(crate) fn mark_done(&self) {
        self.done.send_replace(true);
    }

    /// Waits until the host has stopped.
    pub(crate) async fn wait_done(&self) {
        let mut done = self.done.subscribe();
        // The sender lives as long as `self`, so this cannot fail.
        let _ = done.wait_for(|d| *d).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn first_request_wins_and_done_is_observed() {
        let shutdown = Shutdown::new();
        let mut requested = shutdown.requested();
        assert!(!shutdown.is_requested());
        let first = Instant::now() + Duration::from_secs(5);
        assert!(shutdown.request(first));
        assert!(!shutdown.request(Instant::now()));
        assert_eq!(requested.wait().await, first);
        shutdown.mark_done();
        shutdown.wait_done().await;
    }
}
