//! The typed error of lattice operations, with messages that name the fix.

use std::time::Duration;

use lattice_control_interface as ctl;

/// What kind of failure a [`LatticeError`] is; branch on this, not on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LatticeErrorKind {
    /// The NATS server could not be reached or refused the credentials.
    Connect,
    /// No host answered on the lattice at all.
    NoHost,
    /// The named host does not answer (wrong ID, or it stopped).
    HostNotFound,
    /// The component or provider is not running where it was looked for.
    NotRunning,
    /// Hosts are up, but none accepted the auction.
    NoBidder,
    /// A host tried and reported failure (e.g. `component_scale_failed`).
    Failed,
    /// The outcome event did not arrive in time.
    WaitTimeout,
    /// The component runs, but exports no such function.
    NotExported,
    /// A wRPC call failed: in transport, in the component, or with a result wash cannot decode.
    Rpc,
    /// An argument is malformed (an ID, a `key=value` pair).
    InvalidArgument,
    /// Any other control-interface failure (timeout, refusal, decode, transport).
    Ctl,
}

/// A failed lattice operation.
///
/// The message already says what the control-interface error said (or says
/// it better), so [`source`](std::error::Error::source) skips that error and
/// goes straight to its cause, if any: printing the chain repeats nothing.
#[derive(Debug)]
pub struct LatticeError {
    kind: LatticeErrorKind,
    message: String,
    ctl: Option<Box<ctl::Error>>,
}

impl std::fmt::Display for LatticeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LatticeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.ctl.as_deref().and_then(std::error::Error::source)
    }
}

impl LatticeError {
    pub(crate) fn new(kind: LatticeErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            ctl: None,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> LatticeErrorKind {
        self.kind
    }

    /// The control-interface error behind this one, if any.
    pub fn ctl_error(&self) -> Option<&ctl::Error> {
        self.ctl.as_deref()
    }

    pub(crate) fn connect(url: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            LatticeErrorKind::Connect,
            format!(
                "could not connect to NATS at {url} ({detail}): start a lattice with `wash up`, \
                 or point --ctl-host/--ctl-port at a running NATS server"
            ),
        )
    }

    pub(crate) fn connect_refused(url: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            LatticeErrorKind::Connect,
            format!(
                "the NATS server at {url} refused wash's credentials ({detail}): pass the user's seed with \
                 --ctl-seed (and its JWT with --ctl-jwt), or a .creds file with --ctl-credsfile"
            ),
        )
    }

    pub(crate) fn connect_tls(url: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            LatticeErrorKind::Connect,
            format!(
                "TLS with the NATS server at {url} failed ({detail}): trust its CA with --ctl-tls-ca-file, \
                 and pass --ctl-tls-first if it wants TLS before its greeting"
            ),
        )
    }

    pub(crate) fn no_host(lattice: &str, url: &str) -> Self {
        Self::new(
            LatticeErrorKind::NoHost,
            format!("no host answered on lattice `{lattice}` at {url}: start one with `wash up`"),
        )
    }

    pub(crate) fn host_not_found(host_id: &str, lattice: &str) -> Self {
        Self::new(
            LatticeErrorKind::HostNotFound,
            format!("host `{host_id}` did not answer on lattice `{lattice}`: list the hosts with `wash get hosts`"),
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(LatticeErrorKind::InvalidArgument, message)
    }

    pub(crate) fn wait_timeout(what: &str, timeout: Duration) -> Self {
        Self::new(
            LatticeErrorKind::WaitTimeout,
            format!(
                "no {what} within {timeout:?}: the host may still be working on it, check with \
                 `wash get inventory`, or raise --wait-timeout-ms"
            ),
        )
    }

    /// Wraps a control-interface error; "no responders" means no host listens.
    pub(crate) fn ctl(error: ctl::Error, lattice: &str, url: &str, host: Option<&str>) -> Self {
        let (kind, message) = match (error.kind(), host) {
            (ctl::ErrorKind::NoResponders, Some(host)) => {
                let e = Self::host_not_found(host, lattice);
                (e.kind, e.message)
            }
            (ctl::ErrorKind::NoResponders, None) => {
                let e = Self::no_host(lattice, url);
                (e.kind, e.message)
            }
            (ctl::ErrorKind::Refused, _) => (
                LatticeErrorKind::Ctl,
                format!("the host refused: {}", error.refusal().unwrap_or_default()),
            ),
            _ => (LatticeErrorKind::Ctl, error.to_string()),
        };
        Self {
            kind,
            message,
            ctl: Some(Box::new(error)),
        }
    }
}

/// Checks a component or provider ID: letters, digits, `_` and `-` only.
///
/// # Errors
///
/// [`LatticeErrorKind::InvalidArgument`] naming the offending ID.
pub fn validate_id(what: &str, id: &str) -> Result<(), LatticeError> {
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        Ok(())
    } else {
        Err(LatticeError::invalid(format!(
            "invalid {what} ID `{id}`: use only letters, digits, `_` and `-`"
        )))
    }
}

/// Parses `key=value` pairs (the key must not be empty; the value may be).
///
/// # Errors
///
/// [`LatticeErrorKind::InvalidArgument`] naming the pair and the `what` it was for.
pub fn parse_key_values<S: AsRef<str>>(
    what: &str,
    pairs: &[S],
) -> Result<std::collections::BTreeMap<String, String>, LatticeError> {
    pairs
        .iter()
        .map(|pair| {
            let pair = pair.as_ref();
            match pair.split_once('=') {
                Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_owned(), value.to_owned())),
                _ => Err(LatticeError::invalid(format!(
                    "invalid {what} `{pair}`: expected KEY=VALUE, e.g. `zone=eu`"
                ))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_allow_alphanumerics_dash_and_underscore() {
        assert!(validate_id("component", "hello_world-2").is_ok());
        let err = validate_id("component", "a.b").unwrap_err();
        assert_eq!(err.kind(), LatticeErrorKind::InvalidArgument);
        assert_eq!(
            err.to_string(),
            "invalid component ID `a.b`: use only letters, digits, `_` and `-`"
        );
        assert!(validate_id("provider", "").is_err());
        assert!(validate_id("provider", "sp ace").is_err());
    }

    #[test]
    fn key_values_need_an_equals_sign_and_a_key() {
        let map = parse_key_values("label", &["a=1", "b=", "c=x=y"]).unwrap();
        assert_eq!(map["a"], "1");
        assert_eq!(map["b"], "");
        assert_eq!(map["c"], "x=y");
        let err = parse_key_values("label", &["novalue"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid label `novalue`: expected KEY=VALUE, e.g. `zone=eu`"
        );
        assert!(parse_key_values("label", &["=v"]).is_err());
    }
}
