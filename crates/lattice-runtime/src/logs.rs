//! Guest log lines (stdout, stderr and `wasi:logging`) on their way to
//! `tracing`: rate limited per component, then handed over a bounded queue
//! to one writer thread per runtime that emits them. A guest that floods
//! its output costs dropped lines, counted and reported as a warning, never
//! a runtime worker blocked on a slow log sink.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use crate::host::bindings::wasi::logging::logging::Level;
use crate::id::ComponentId;
use crate::trace::TraceContext;

/// Lines waiting for the writer thread, over every component of a runtime.
/// With lines of at most [`MAX_LINE`] bytes, the queue holds at most 8 MiB.
pub(crate) const QUEUE_LINES: usize = 512;

/// Longest line or `wasi:logging` message kept; longer ones are cut (at a
/// character boundary) so one call cannot queue unbounded text.
pub(crate) const MAX_LINE: usize = 16 * 1024;

/// How often the writer thread reports lines dropped since its last report.
const REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// Where a guest line came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Stdout,
    Stderr,
    Logging { level: Level, context: String },
}

/// One line on its way to the writer thread.
#[derive(Debug)]
struct Line {
    component: ComponentId,
    source: Source,
    message: String,
    /// The trace of the invocation that wrote it, if it has one.
    trace: Option<Arc<TraceContext>>,
}

/// Where one invocation's lines go: its component's budget, tagged with the invocation's
/// trace id when it runs in a trace.
#[derive(Debug, Clone)]
pub(crate) struct InvocationLog {
    budget: Arc<LogBudget>,
    trace: Option<Arc<TraceContext>>,
}

impl InvocationLog {
    pub(crate) fn new(budget: Arc<LogBudget>, trace: Option<Arc<TraceContext>>) -> Self {
        Self { budget, trace }
    }

    /// As [`LogBudget::log`], tagged with the invocation's trace id.
    pub(crate) fn log(&self, source: Source, message: String) {
        self.budget.log(source, message, self.trace.as_ref());
    }
}

/// The runtime's side of guest logging: the queue and the budgets of the
/// components loaded, which the writer thread sweeps for dropped counts.
#[derive(Debug)]
pub(crate) struct GuestLogs {
    queue: SyncSender<Line>,
    budgets: Arc<Mutex<Vec<Weak<LogBudget>>>>,
    max_lines_per_second: u32,
}

impl GuestLogs {
    /// Starts the writer thread. It ends once the runtime and every
    /// component (which hold the queue's senders) are gone.
    pub(crate) fn start(max_lines_per_second: u32) -> std::io::Result<Self> {
        let (queue, lines) = std::sync::mpsc::sync_channel(QUEUE_LINES);
        let budgets = Arc::new(Mutex::new(Vec::new()));
        std::thread::Builder::new().name("guest-log-writer".into()).spawn({
            let budgets = Arc::clone(&budgets);
            move || write_lines(&lines, &budgets)
        })?;
        Ok(Self {
            queue,
            budgets,
            max_lines_per_second,
        })
    }

    /// The budget of one component, shared by all its invocations.
    pub(crate) fn budget(&self, component: ComponentId) -> Arc<LogBudget> {
        let budget = Arc::new(LogBudget {
            component,
            queue: self.queue.clone(),
            rate: self.max_lines_per_second,
            bucket: Mutex::new(Bucket {
                tokens: f64::from(self.max_lines_per_second),
                last: Instant::now(),
            }),
            dropped: AtomicU64::new(0),
        });
        let mut budgets = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        budgets.retain(|b| b.strong_count() > 0);
        budgets.push(Arc::downgrade(&budget));
        budget
    }
}

/// One component's log budget: a token bucket of `rate` lines per second
/// (bursts of as many) and the count of lines dropped since the last report.
#[derive(Debug)]
pub(crate) struct LogBudget {
    component: ComponentId,
    queue: SyncSender<Line>,
    rate: u32,
    bucket: Mutex<Bucket>,
    dropped: AtomicU64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl LogBudget {
    /// Queues one line if the budget and the queue allow, else counts it as
    /// dropped. Never blocks (beyond a short uncontended lock).
    pub(crate) fn log(&self, source: Source, mut message: String, trace: Option<&Arc<TraceContext>>) {
        if !self.admit(Instant::now()) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        truncate(&mut message, MAX_LINE);
        let line = Line {
            component: self.component.clone(),
            source,
            message,
            trace: trace.cloned(),
        };
        match self.queue.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            // The writer thread is gone (it panicked): nothing to log to.
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Lines dropped since the last call.
    pub(crate) fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }

    fn admit(&self, now: Instant) -> bool {
        if self.rate == 0 {
            return true;
        }
        let rate = f64::from(self.rate);
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let refill = now.saturating_duration_since(bucket.last).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(rate);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Drop for LogBudget {
    fn drop(&mut self) {
        // The writer thread only sees live budgets: report the tail here.
        report(&self.component, self.take_dropped());
    }
}

fn truncate(message: &mut String, max: usize) {
    if message.len() > max {
        let mut end = max;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
}

/// The writer thread: emits each line, and every [`REPORT_INTERVAL`] the
/// dropped counts of the components that dropped lines.
fn write_lines(lines: &Receiver<Line>, budgets: &Mutex<Vec<Weak<LogBudget>>>) {
    let mut last_report = Instant::now();
    loop {
        match lines.recv_timeout(REPORT_INTERVAL) {
            Ok(line) => emit(&line),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if last_report.elapsed() >= REPORT_INTERVAL {
            last_report = Instant::now();
            let live: Vec<Arc<LogBudget>> = budgets
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .filter_map(Weak::upgrade)
                .collect();
            for budget in live {
                report(&budget.component, budget.take_dropped());
            }
        }
    }
}

fn report(component: &ComponentId, dropped: u64) {
    if dropped > 0 {
        tracing::warn!(
            component_id = component.as_str(),
            dropped,
            "{dropped} guest log lines dropped: the component logs faster than its rate limit or the log queue was full"
        );
    }
}

fn emit(line: &Line) {
    let component = line.component.as_str();
    let message = &line.message;
    // Recorded only when the invocation runs in a trace; written here, off the guest's path.
    // With both, an exported line is put in the invocation's trace and span.
    let (trace_id, span_id) = match &line.trace {
        Some(trace) => (
            Some(trace.trace_id_hex().to_string()),
            Some(format!("{:016x}", trace.span_id())),
        ),
        None => (None, None),
    };
    let (trace_id, span_id) = (trace_id.as_deref(), span_id.as_deref());
    match &line.source {
        Source::Stdout => tracing::info!(
            component_id = component,
            trace_id,
            span_id,
            stream = "stdout",
            "{message}"
        ),
        Source::Stderr => tracing::warn!(
            component_id = component,
            trace_id,
            span_id,
            stream = "stderr",
            "{message}"
        ),
        // `tracing` levels are static per call site, hence one call per level.
        Source::Logging { level, context } => match level {
            Level::Trace => tracing::trace!(component_id = component, trace_id, span_id, context, "{message}"),
            Level::Debug => tracing::debug!(component_id = component, trace_id, span_id, context, "{message}"),
            Level::Info => tracing::info!(component_id = component, trace_id, span_id, context, "{message}"),
            Level::Warn => tracing::warn!(component_id = component, trace_id, span_id, context, "{message}"),
            Level::Error => tracing::error!(component_id = component, trace_id, span_id, context, "{message}"),
            Level::Critical => {
                tracing::error!(
                    component_id = component,
                    trace_id,
                    span_id,
                    context,
                    critical = true,
                    "{message}"
                );
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A budget whose queue nobody reads, with room for `queue` lines.
    fn budget(rate: u32, queue: usize) -> (Arc<LogBudget>, Receiver<Line>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(queue);
        let budget = Arc::new(LogBudget {
            component: ComponentId::from("c"),
            queue: tx,
            rate,
            bucket: Mutex::new(Bucket {
                tokens: f64::from(rate),
                last: Instant::now(),
            }),
            dropped: AtomicU64::new(0),
        });
        (budget, rx)
    }

    #[test]
    fn lines_past_the_rate_are_dropped_and_counted() {
        let (budget, rx) = budget(10, 100);
        for i in 0..50 {
            budget.log(Source::Stdout, format!("line {i}"), None);
        }
        let queued = rx.try_iter().count();
        // The burst, and perhaps a token refilled while the loop ran.
        assert!((10..=11).contains(&queued), "{queued}");
        assert_eq!(budget.take_dropped() + queued as u64, 50);
        assert_eq!(budget.take_dropped(), 0);
    }

    #[test]
    fn the_bucket_refills_with_time() {
        let (budget, _rx) = budget(10, 100);
        let start = Instant::now();
        let admitted = (0..20).filter(|_| budget.admit(start)).count();
        assert_eq!(admitted, 10);
        assert!(!budget.admit(start));
        // Half a second later: five more.
        let later = start + Duration::from_millis(500);
        let admitted = (0..20).filter(|_| budget.admit(later)).count();
        assert_eq!(admitted, 5);
    }

    /// A full queue (a writer stuck on a slow sink) costs dropped lines,
    /// never a blocked caller.
    #[test]
    fn a_full_queue_drops_without_blocking() {
        let (budget, rx) = budget(0, 4);
        let started = Instant::now();
        for i in 0..10_000 {
            budget.log(Source::Stderr, format!("line {i}"), None);
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(rx.try_iter().count(), 4);
        assert_eq!(budget.take_dropped(), 9_996);
    }

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        let (budget, rx) = budget(0, 4);
        budget.log(
            Source::Logging {
                level: Level::Info,
                context: String::new(),
            },
            "é".repeat(MAX_LINE),
            None,
        );
        let line = rx.try_recv().unwrap();
        assert!(line.message.len() <= MAX_LINE);
        assert!(line.message.len() >= MAX_LINE - 1);
    }

    #[test]
    fn an_invocations_lines_carry_its_trace_id() {
        let (budget, rx) = budget(0, 4);
        let trace = Arc::new(TraceContext::new(
            0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736,
            0x00f0_67aa_0ba9_02b7,
            1,
            None::<&str>,
        ));
        let traced = InvocationLog::new(Arc::clone(&budget), Some(Arc::clone(&trace)));
        traced.log(Source::Stdout, "traced".into());
        InvocationLog::new(budget, None).log(Source::Stdout, "untraced".into());
        let lines: Vec<Line> = rx.try_iter().collect();
        assert_eq!(lines[0].trace.as_deref(), Some(&*trace));
        assert_eq!(
            lines[0].trace.as_ref().map(|t| t.trace_id_hex().to_string()).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(lines[1].trace, None);
    }
}
