//! Request bodies on their way to a guest, bounded: a body that grows past
//! the size limit or stalls longer than the idle timeout ends with the
//! `wasi:http` error the guest would see from a real client failure, so no
//! client can hold an instance with a trickle or fill its memory.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use lattice_runtime::{HttpErrorCode, request_body_error};
use tokio::time::{Instant, Sleep};

/// [`Incoming`] with a size limit and an idle timeout.
#[derive(Debug)]
pub(crate) struct BoundedBody {
    inner: Incoming,
    /// Bytes still allowed.
    remaining: u64,
    limit: u64,
    idle: Duration,
    /// When the next frame is due; armed only while the body is waited on,
    /// so a request whose body is already there costs no timer.
    deadline: Option<Pin<Box<Sleep>>>,
    /// Set once an error has been reported: the body ends there.
    failed: bool,
}

impl BoundedBody {
    pub(crate) fn new(inner: Incoming, limit: u64, idle: Duration) -> Self {
        Self {
            inner,
            remaining: limit,
            limit,
            idle,
            deadline: None,
            failed: false,
        }
    }
}

impl Body for BoundedBody {
    type Data = Bytes;
    type Error = HttpErrorCode;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, HttpErrorCode>>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let len = frame.data_ref().map_or(0, |data| data.len() as u64);
                if len > this.remaining {
                    this.failed = true;
                    return Poll::Ready(Some(Err(HttpErrorCode::HttpRequestBodySize(Some(this.limit)))));
                }
                this.remaining -= len;
                this.deadline = None;
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                this.failed = true;
                Poll::Ready(Some(Err(request_body_error(error))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this
                .deadline
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(Instant::now() + this.idle)))
                .as_mut()
                .poll(cx)
            {
                Poll::Ready(()) => {
                    this.failed = true;
                    Poll::Ready(Some(Err(HttpErrorCode::ConnectionReadTimeout)))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
