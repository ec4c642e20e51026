//! What the embedder learns of each invocation, for its metrics: when one takes an instance,
//! and how long it took and whether it failed once its instance is back. This crate records
//! nothing itself and knows no telemetry library; the host implements
//! [`InvocationObserver`] over OpenTelemetry.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The operation of a request served through `wasi:http/incoming-handler`.
pub const HTTP_OPERATION: &str = "wasi:http/incoming-handler/handle";

/// Told of every invocation of one component (set with
/// [`crate::Component::set_observer`]). Called on the invocation's task: implementations must
/// be cheap and must not block.
pub trait InvocationObserver: Send + Sync + 'static {
    /// An invocation of `operation` (`<interface>/<function>`, e.g.
    /// [`HTTP_OPERATION`], or [`crate::Export::operation`]) has taken an instance and is
    /// about to run.
    fn started(&self, operation: &str);

    /// The invocation [`started`](Self::started) before has ended and given its instance
    /// back: `elapsed` since it arrived (before waiting for an instance), `failed` when the
    /// guest trapped, ran out of time or memory, or answered with an error.
    fn ended(&self, operation: &str, elapsed: Duration, failed: bool);
}

/// One observed invocation: reports its end when the last holder lets go (for HTTP, both the
/// guest's task and the caller waiting for the response head hold one).
pub(crate) struct Probe {
    observer: Arc<dyn InvocationObserver>,
    operation: Arc<str>,
    arrived: Instant,
    failed: AtomicBool,
}

impl Probe {
    /// Reports the start of `operation`, which arrived at `arrived`.
    pub(crate) fn start(observer: Arc<dyn InvocationObserver>, operation: &Arc<str>, arrived: Instant) -> Arc<Self> {
        observer.started(operation);
        Arc::new(Self {
            observer,
            operation: Arc::clone(operation),
            arrived,
            failed: AtomicBool::new(false),
        })
    }

    /// Counts the invocation as failed.
    pub(crate) fn fail(&self) {
        self.failed.store(true, Ordering::Relaxed);
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.observer
            .ended(&self.operation, self.arrived.elapsed(), *self.failed.get_mut());
    }
}

/// Counts a component's invocations holding an instance; the count drops when the guard does.
#[derive(Debug)]
pub(crate) struct Active(Arc<AtomicU32>);

impl Active {
    pub(crate) fn enter(count: &Arc<AtomicU32>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(count))
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Seen(Mutex<Vec<String>>);

    impl InvocationObserver for Seen {
        fn started(&self, operation: &str) {
            self.0.lock().unwrap().push(format!("started {operation}"));
        }

        fn ended(&self, operation: &str, _elapsed: Duration, failed: bool) {
            self.0
                .lock()
                .unwrap()
                .push(format!("ended {operation} failed={failed}"));
        }
    }

    #[test]
    fn a_probe_reports_its_end_once_the_last_holder_lets_go() {
        let seen = Arc::new(Seen::default());
        let probe = Probe::start(seen.clone(), &Arc::from(HTTP_OPERATION), Instant::now());
        let caller = Arc::clone(&probe);
        drop(probe);
        assert_eq!(*seen.0.lock().unwrap(), ["started wasi:http/incoming-handler/handle"]);
        caller.fail();
        drop(caller);
        assert_eq!(
            *seen.0.lock().unwrap(),
            [
                "started wasi:http/incoming-handler/handle",
                "ended wasi:http/incoming-handler/handle failed=true"
            ]
        );
    }

    #[test]
    fn active_counts_what_is_held() {
        let count = Arc::new(AtomicU32::new(0));
        let a = Active::enter(&count);
        let b = Active::enter(&count);
        assert_eq!(count.load(Ordering::Relaxed), 2);
        drop(a);
        drop(b);
        assert_eq!(count.load(Ordering::Relaxed), 0);
    }
}
