//! The client's error type: what went wrong, on which subject.

use std::time::Duration;

/// What kind of failure an [`Error`] is; branch on this, not on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Something listens on the subject but no reply came in time.
    Timeout,
    /// Nothing listens on the subject (NATS answered "no responders").
    NoResponders,
    /// The NATS connection failed (publish, subscribe, flush, I/O).
    Transport,
    /// A reply or event arrived but is not the JSON the subject promises.
    Decode,
    /// A host answered `success: false`; see [`Error::refusal`].
    Refused,
    /// An argument cannot be sent, e.g. an ID that would break the subject.
    InvalidArgument,
}

/// A failed control-interface operation.
///
/// The message names the subject and, where one helps, the fix. Errors from
/// the NATS client are kept as [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    subject: String,
    message: String,
    refusal: Option<String>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The subject of the request (or event) that failed. For an
    /// [`InvalidArgument`](ErrorKind::InvalidArgument) found before any
    /// subject could be built, the operation instead, e.g. `host.get`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The host's own message, for [`ErrorKind::Refused`].
    pub fn refusal(&self) -> Option<&str> {
        self.refusal.as_deref()
    }

    fn new(kind: ErrorKind, subject: &str, message: String) -> Self {
        Self {
            kind,
            subject: subject.to_owned(),
            message,
            refusal: None,
            source: None,
        }
    }

    pub(crate) fn timeout(subject: &str, timeout: Duration) -> Self {
        Self::new(
            ErrorKind::Timeout,
            subject,
            format!(
                "no reply on `{subject}` within {timeout:?}: check that a host on this lattice \
                 is healthy, or raise the timeout"
            ),
        )
    }

    pub(crate) fn no_responders(subject: &str) -> Self {
        Self::new(
            ErrorKind::NoResponders,
            subject,
            format!(
                "nothing is listening on `{subject}`: start a host on this lattice, or check \
                 the lattice name and host ID"
            ),
        )
    }

    pub(crate) fn transport(subject: &str, what: &str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            source: Some(Box::new(source)),
            ..Self::new(
                ErrorKind::Transport,
                subject,
                format!("{what} on `{subject}` failed: check the connection to the NATS server"),
            )
        }
    }

    pub(crate) fn decode(subject: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorKind::Decode,
            subject,
            format!("could not decode the reply on `{subject}`: {detail}"),
        )
    }

    pub(crate) fn decode_event(subject: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorKind::Decode,
            subject,
            format!("could not decode the event on `{subject}`: {detail}"),
        )
    }

    pub(crate) fn refused(subject: &str, refusal: String) -> Self {
        Self {
            message: format!("host refused `{subject}`: {refusal}"),
            refusal: Some(refusal),
            ..Self::new(ErrorKind::Refused, subject, String::new())
        }
    }

    pub(crate) fn invalid_token(subject_kind: &str, what: &str, value: &str) -> Self {
        Self::new(
            ErrorKind::InvalidArgument,
            subject_kind,
            format!(
                "{what} `{value}` cannot be used in a `{subject_kind}` subject: \
                 use one without dots, wildcards or whitespace"
            ),
        )
    }

    pub(crate) fn unsendable(subject: &str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            message: format!(
                "the request on `{subject}` cannot be sent ({source}): shorten the payload or fix the subject"
            ),
            source: Some(Box::new(source)),
            ..Self::new(ErrorKind::InvalidArgument, subject, String::new())
        }
    }

    pub(crate) fn encode(subject: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorKind::InvalidArgument,
            subject,
            format!("could not encode the request for `{subject}`: {detail}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_subject_and_the_fix() {
        let subject = "wasmbus.ctl.v1.default.host.get.NHOST";
        let e = Error::timeout(subject, Duration::from_secs(2));
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert_eq!(
            e.to_string(),
            "no reply on `wasmbus.ctl.v1.default.host.get.NHOST` within 2s: check that a host \
             on this lattice is healthy, or raise the timeout"
        );
        let e = Error::refused(subject, "component X not found".into());
        assert_eq!(e.refusal(), Some("component X not found"));
        assert_eq!(
            e.to_string(),
            "host refused `wasmbus.ctl.v1.default.host.get.NHOST`: component X not found"
        );
        let e = Error::decode(subject, "expected value at line 1 column 1");
        assert_eq!(e.subject(), subject);
        assert!(e.to_string().ends_with("expected value at line 1 column 1"));
    }

    #[test]
    fn transport_errors_keep_their_source() {
        let io = std::io::Error::other("connection reset");
        let e = Error::transport("s", "request", io);
        let source = std::error::Error::source(&e).unwrap();
        assert_eq!(source.to_string(), "connection reset");
        assert!(!e.to_string().ends_with('.'));
    }
}
