//! Guest stdout and stderr as host log lines: each complete line a guest
//! writes becomes one `tracing` event tagged with the component id, so guest
//! output lands in the host's structured logs instead of its raw stdout.
//! Lines go through the component's [`LogBudget`]: rate limited, and never
//! blocking the guest.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use crate::logs::{InvocationLog, MAX_LINE, Source};

/// Which guest stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stdio {
    Stdout,
    Stderr,
}

/// A [`StdoutStream`] whose streams log lines for one invocation.
#[derive(Debug, Clone)]
pub(crate) struct LogStream {
    log: InvocationLog,
    stream: Stdio,
}

impl LogStream {
    pub(crate) fn new(log: InvocationLog, stream: Stdio) -> Self {
        Self { log, stream }
    }
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(LineLogger::new(self.log.clone(), self.stream))
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        // Logging never blocks, so the stream writes synchronously instead of
        // through the default adapter's background task.
        Box::new(LineLogger::new(self.log.clone(), self.stream))
    }
}

/// Buffers a partial line and logs each complete one.
#[derive(Debug)]
pub(crate) struct LineLogger {
    log: InvocationLog,
    stream: Stdio,
    pending: Vec<u8>,
}

impl LineLogger {
    fn new(log: InvocationLog, stream: Stdio) -> Self {
        Self {
            log,
            stream,
            pending: Vec::new(),
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            self.pending.extend_from_slice(&bytes[..end]);
            self.emit();
            bytes = &bytes[end + 1..];
        }
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= MAX_LINE {
            self.emit();
        }
    }

    fn emit(&mut self) {
        let pending = self.pending.strip_suffix(b"\r").unwrap_or(&self.pending);
        let line = String::from_utf8_lossy(pending).into_owned();
        let source = match self.stream {
            Stdio::Stdout => Source::Stdout,
            Stdio::Stderr => Source::Stderr,
        };
        self.log.log(source, line);
        self.pending.clear();
    }
}

impl Drop for LineLogger {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            self.emit();
        }
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LineLogger {
    async fn ready(&mut self) {}
}

impl OutputStream for LineLogger {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(MAX_LINE)
    }
}

impl tokio::io::AsyncWrite for LineLogger {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.get_mut().push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if !this.pending.is_empty() {
            this.emit();
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ComponentId;
    use crate::logs::GuestLogs;

    fn budget() -> InvocationLog {
        InvocationLog::new(GuestLogs::start(0).unwrap().budget(ComponentId::from("c")), None)
    }

    #[test]
    fn splits_lines_and_keeps_the_tail() {
        let mut logger = LineLogger::new(budget(), Stdio::Stdout);
        logger.push(b"one\ntw");
        assert_eq!(logger.pending, b"tw");
        logger.push(b"o\r\nthree");
        assert_eq!(logger.pending, b"three");
    }

    #[test]
    fn long_lines_are_flushed() {
        let mut logger = LineLogger::new(budget(), Stdio::Stderr);
        logger.push(&vec![b'x'; MAX_LINE + 1]);
        assert!(logger.pending.is_empty());
    }
}
