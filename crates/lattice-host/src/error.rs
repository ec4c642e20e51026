//! The host library's error type: one struct with a `#[non_exhaustive]`
//! kind that callers branch on, the underlying NATS/runtime/io error kept as
//! `source()`.

use std::fmt;

/// Errors from starting or running a [`crate::Host`].
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// What went wrong, for callers that branch on it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The host seed is not a server (`SN…`) nkey seed.
    InvalidHostSeed,
    /// A configuration value is unusable; the message names it.
    InvalidConfig(String),
    /// Connecting to NATS failed.
    Connect {
        /// The address the host tried.
        url: String,
    },
    /// The NATS server refused the host's credentials (or asked for some
    /// and the host had none).
    NatsAuth {
        /// The address the host tried.
        url: String,
    },
    /// The TLS handshake with NATS, or loading the TLS files, failed.
    NatsTls {
        /// The address the host tried.
        url: String,
    },
    /// The NATS credentials file could not be read.
    NatsCreds {
        /// The file.
        path: String,
    },
    /// Creating or opening a JetStream key-value bucket failed.
    Bucket {
        /// The bucket's name.
        bucket: String,
    },
    /// Subscribing to a control or watch subject failed.
    Subscribe,
    /// The wasmtime runtime could not be built.
    Runtime,
    /// The compile cache directory is unusable or untrustworthy (a link,
    /// someone else's, writable by others); the source says which.
    CompileCache {
        /// The configured directory.
        dir: String,
    },
    /// The admin HTTP listener could not be bound.
    AdminListener {
        /// The address it tried to bind.
        addr: String,
    },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidHostSeed => f.write_str(
                "host seed is not a server nkey seed (it must start with `SN`): generate one with `wash keys gen server`",
            ),
            Self::InvalidConfig(what) => write!(f, "invalid host configuration: {what}"),
            Self::Connect { url } => write!(
                f,
                "cannot connect to NATS at {url}: start nats-server with JetStream (`nats-server -js`) or point the host at one"
            ),
            Self::NatsAuth { url } => write!(
                f,
                "the NATS server at {url} refused the host's credentials: pass the NATS user's seed with --nats-seed (and its JWT with --nats-jwt), or a .creds file with --nats-creds"
            ),
            Self::NatsTls { url } => write!(
                f,
                "cannot set up TLS with NATS at {url}: trust the server's CA with --tls-ca-path, check --nats-tls-cert and --nats-tls-key, and --nats-tls-first if the server wants TLS before its greeting"
            ),
            Self::NatsCreds { path } => write!(
                f,
                "cannot read the NATS credentials file {path}: pass a readable .creds file with --nats-creds"
            ),
            Self::Bucket { bucket } => write!(
                f,
                "cannot open the JetStream key-value bucket {bucket}: make sure JetStream is enabled on the NATS server and the domain is right"
            ),
            Self::Subscribe => f.write_str("cannot subscribe to the control interface subjects"),
            Self::Runtime => f.write_str("cannot create the wasmtime runtime"),
            Self::CompileCache { dir } => write!(
                f,
                "cannot use the compile cache directory {dir}: fix it as the cause below says, choose another with --compile-cache-dir, or run without one with --no-compile-cache"
            ),
            Self::AdminListener { addr } => {
                write!(f, "cannot listen on {addr} for the admin endpoint: choose a free address")
            }
        }
    }
}

impl Error {
    /// An error of `kind` without an underlying cause.
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error of `kind` caused by `source`.
    pub(crate) fn with_source(
        kind: ErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

/// An error and its causes, `: `-joined, each cause once (messages often repeat their
/// source's text): one line for a log or a reply.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Shorthand for results with the host's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner cause")]
    struct Inner;

    #[test]
    fn chains_join_causes() {
        assert_eq!(chain(&Outer(Inner)), "outer: inner cause");
    }

    #[test]
    fn messages_are_lowercase_without_trailing_period() {
        let kinds = [
            ErrorKind::InvalidHostSeed,
            ErrorKind::InvalidConfig("label `x` has no `=`".into()),
            ErrorKind::Connect {
                url: "nats://127.0.0.1:4222".into(),
            },
            ErrorKind::Bucket {
                bucket: "LATTICEDATA_default".into(),
            },
            ErrorKind::NatsAuth { url: "nats://x".into() },
            ErrorKind::NatsTls { url: "nats://x".into() },
            ErrorKind::NatsCreds {
                path: "/x.creds".into(),
            },
            ErrorKind::Subscribe,
            ErrorKind::Runtime,
            ErrorKind::CompileCache { dir: "/x".into() },
            ErrorKind::AdminListener {
                addr: "127.0.0.1:8080".into(),
            },
        ];
        for kind in kinds {
            let text = kind.to_string();
            assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
            assert!(!text.ends_with('.'), "{text}");
        }
    }
}
