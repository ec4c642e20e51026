//! Calling a running component's export over wRPC on NATS, the way providers and other
//! components do: on `{lattice}.{component}.wrpc.0.0.1.{instance}.{function}`.
//!
//! Two shapes are supported: an HTTP handler (`wrpc:http/incoming-handler.handle`, which
//! hosts serve for components exporting `wasi:http/incoming-handler`), and a function whose
//! parameters are all strings and whose result is one string. wash knows nothing else of a
//! component's types, so other signatures cannot be encoded.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use lattice_control_interface::ComponentId;
use lattice_interfaces::bindings::wrpc::http::incoming_handler;
use lattice_interfaces::http::{Request, Scheme, fields_from_headers};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wrpc_transport::Invoke as _;

use super::{Lattice, LatticeError, LatticeErrorKind};

/// The instance hosts serve a component's HTTP handler as.
pub const HTTP_HANDLER: &str = "wrpc:http/incoming-handler@0.1.0";

/// What to call: an interface instance and one of its functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callee {
    /// The component's HTTP handler.
    Http,
    /// `function` of `instance` (e.g. `test:unlinked/greeter@0.1.0`), taking and returning strings.
    Strings {
        /// The interface instance with its version, as the component exports it.
        instance: String,
        /// The function's name.
        function: String,
    },
}

impl Callee {
    /// Parses `ns:pkg/iface[@version].function`. `wrpc:http/incoming-handler.handle` and
    /// `wasi:http/incoming-handler.handle` (any version) name the HTTP handler.
    ///
    /// # Errors
    ///
    /// [`LatticeErrorKind::InvalidArgument`] when `target` has no interface or function part.
    pub fn parse(target: &str) -> Result<Self, LatticeError> {
        let invalid = || {
            LatticeError::invalid(format!(
                "`{target}` does not name a function: use `namespace:package/interface@version.function`, \
                 e.g. `wrpc:http/incoming-handler.handle` or `test:unlinked/greeter@0.1.0.greet`"
            ))
        };
        let (instance, function) = target.rsplit_once('.').ok_or_else(invalid)?;
        let unversioned = instance.split_once('@').map_or(instance, |(name, _)| name);
        let well_formed = unversioned
            .split_once(':')
            .and_then(|(namespace, rest)| rest.split_once('/').map(|(package, iface)| [namespace, package, iface]))
            .is_some_and(|parts| parts.iter().all(|p| !p.is_empty()));
        if !well_formed || function.is_empty() {
            return Err(invalid());
        }
        if matches!(unversioned, "wrpc:http/incoming-handler" | "wasi:http/incoming-handler") && function == "handle" {
            return Ok(Self::Http);
        }
        Ok(Self::Strings {
            instance: instance.to_owned(),
            function: function.to_owned(),
        })
    }

    fn describe(&self) -> String {
        match self {
            Self::Http => format!("{HTTP_HANDLER}.handle"),
            Self::Strings { instance, function } => format!("{instance}.{function}"),
        }
    }
}

/// An HTTP request to send to a component's handler, checked to be valid HTTP.
#[derive(Debug, Clone)]
pub struct HttpCall {
    method: http::Method,
    path: String,
    headers: http::HeaderMap,
    body: Bytes,
}

impl HttpCall {
    /// A request of `method` (e.g. `GET`) for `path` (with query, e.g. `/items?limit=2`)
    /// with `headers` in order (a name may repeat) and `body`.
    ///
    /// # Errors
    ///
    /// [`LatticeErrorKind::InvalidArgument`] for a method or header that is not valid HTTP.
    pub fn new(method: &str, path: &str, headers: &[(String, String)], body: Vec<u8>) -> Result<Self, LatticeError> {
        let method = http::Method::from_bytes(method.as_bytes())
            .map_err(|_| LatticeError::invalid(format!("`{method}` is not an HTTP method: use e.g. GET or POST")))?;
        let mut map = http::HeaderMap::new();
        for (name, value) in headers {
            let invalid = || LatticeError::invalid(format!("header `{name}:{value}` is not valid HTTP"));
            let name = http::HeaderName::try_from(name.trim()).map_err(|_| invalid())?;
            let value = http::HeaderValue::try_from(value.trim()).map_err(|_| invalid())?;
            map.append(name, value);
        }
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        Ok(Self {
            method,
            path,
            headers: map,
            body: body.into(),
        })
    }

    /// The request as `wrpc:http` carries it; the authority is the `Host` header's, else
    /// `localhost`.
    fn into_wrpc(self) -> Request {
        let authority = self
            .headers
            .get(http::header::HOST)
            .and_then(|host| host.to_str().ok())
            .unwrap_or("localhost")
            .to_owned();
        let chunks = if self.body.is_empty() {
            Vec::new()
        } else {
            vec![self.body]
        };
        Request {
            body: Box::pin(futures::stream::iter(chunks)),
            trailers: Box::pin(async { None }),
            method: (&self.method).into(),
            path_with_query: Some(self.path),
            scheme: Some(Scheme::Http),
            authority: Some(authority),
            headers: fields_from_headers(&self.headers),
        }
    }
}

/// A component's HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// Headers in order, values as text (lossily, should one not be UTF-8).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Lattice {
    /// Calls `function` of `instance` on component `id` with string `args`, and decodes its
    /// string result.
    ///
    /// # Errors
    ///
    /// [`LatticeErrorKind::NotRunning`] or [`LatticeErrorKind::NotExported`] when nothing
    /// answers, [`LatticeErrorKind::WaitTimeout`] after `timeout`, and
    /// [`LatticeErrorKind::Rpc`] when the call fails or its result is not one string.
    pub async fn call_strings(
        &self,
        id: &ComponentId,
        instance: &str,
        function: &str,
        args: &[String],
        timeout: Duration,
    ) -> Result<String, LatticeError> {
        let callee = Callee::Strings {
            instance: instance.to_owned(),
            function: function.to_owned(),
        };
        let client = self.rpc_client(id).await?;
        let call = async {
            let paths: &[&[Option<usize>]] = &[];
            let (mut params, mut results) = client
                .invoke(None, instance, function, encode_strings(args), paths)
                .await?;
            params.shutdown().await?;
            let mut bytes = Vec::new();
            results.read_to_end(&mut bytes).await?;
            anyhow::Ok(bytes)
        };
        let bytes = self.finish(id, &callee, timeout, call).await?;
        decode_string(&bytes).ok_or_else(|| {
            let what = if bytes.is_empty() {
                "nothing: it failed (see the host's log) or returns no value".to_owned()
            } else {
                format!("{} bytes that are not one string", bytes.len())
            };
            LatticeError::new(
                LatticeErrorKind::Rpc,
                format!(
                    "component `{id}` answered `{}` with {what}; `wash call` decodes a single string result only",
                    callee.describe()
                ),
            )
        })
    }

    /// Sends `request` to the HTTP handler of component `id` and reads the whole response.
    ///
    /// # Errors
    ///
    /// As [`Lattice::call_strings`].
    pub async fn call_http(
        &self,
        id: &ComponentId,
        request: HttpCall,
        timeout: Duration,
    ) -> Result<HttpReply, LatticeError> {
        let request = request.into_wrpc();
        let client = self.rpc_client(id).await?;
        let call = async {
            let (result, io) = incoming_handler::handle(&client, None, request).await?;
            // Streams the request body out and the response body in, beside the reading below.
            let io = io.map(tokio::spawn);
            let response = match result {
                Ok(response) => response,
                Err(code) => anyhow::bail!(Failed(format!("{code:?}"))),
            };
            let body: Vec<Bytes> = response.body.collect().await;
            if let Some(io) = io {
                io.await??;
            }
            let headers = response
                .headers
                .into_iter()
                .flat_map(|(name, values)| {
                    values
                        .into_iter()
                        .map(move |value| (name.clone(), String::from_utf8_lossy(&value).into_owned()))
                })
                .collect();
            Ok(HttpReply {
                status: response.status,
                headers,
                body: body.concat(),
            })
        };
        self.finish(id, &Callee::Http, timeout, call).await
    }

    async fn rpc_client(&self, id: &ComponentId) -> Result<wrpc_transport_nats::Client, LatticeError> {
        let nats = Arc::new(self.client.nats().clone());
        wrpc_transport_nats::Client::new(nats, format!("{}.{id}", self.name()), None)
            .await
            .map_err(|e| LatticeError::new(LatticeErrorKind::Rpc, format!("cannot prepare wRPC calls: {e:#}")))
    }

    /// Runs `call` within `timeout`, explaining a call nobody answered.
    async fn finish<T>(
        &self,
        id: &ComponentId,
        callee: &Callee,
        timeout: Duration,
        call: impl Future<Output = anyhow::Result<T>>,
    ) -> Result<T, LatticeError> {
        let Ok(result) = tokio::time::timeout(timeout, call).await else {
            return Err(LatticeError::new(
                LatticeErrorKind::WaitTimeout,
                format!(
                    "no component `{id}` answered on lattice `{}` within {}ms; is it running? (wash get inventory), \
                     or raise --rpc-timeout-ms",
                    self.name(),
                    timeout.as_millis()
                ),
            ));
        };
        let err = match result {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        let what = callee.describe();
        if let Some(Failed(code)) = err.downcast_ref::<Failed>() {
            return Err(LatticeError::new(
                LatticeErrorKind::Rpc,
                format!("component `{id}` failed to handle the request: {code}"),
            ));
        }
        let unanswered = err
            .chain()
            .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
            .any(|io| io.kind() == std::io::ErrorKind::NotConnected);
        if !unanswered {
            return Err(LatticeError::new(
                LatticeErrorKind::Rpc,
                format!("calling `{what}` on component `{id}` failed: {err:#}"),
            ));
        }
        // Nobody subscribes to that subject: tell a stopped component from a missing export.
        match self.find_component(id, None).await {
            Ok((host, _)) => Err(LatticeError::new(
                LatticeErrorKind::NotExported,
                format!(
                    "component `{id}` runs on host {host} but does not export `{what}`: list its exports with \
                     `wash inspect --wit <file>`, and include the interface's version (e.g. `@0.1.0`)"
                ),
            )),
            Err(e) if e.kind() == LatticeErrorKind::NotRunning => Err(LatticeError::new(
                LatticeErrorKind::NotRunning,
                format!(
                    "no component `{id}` answered on lattice `{}`; is it running? (wash get inventory)",
                    self.name()
                ),
            )),
            Err(e) => Err(e),
        }
    }
}

/// The component answered the HTTP call with an error code.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Failed(String);

/// Strings as wRPC encodes a tuple of them: each its LEB128 byte length, then its UTF-8.
fn encode_strings(args: &[String]) -> Bytes {
    let mut buf = BytesMut::new();
    for arg in args {
        let mut len = arg.len();
        loop {
            // Seven bits a byte, the high bit set while more follow.
            let byte = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                buf.extend_from_slice(&[byte]);
                break;
            }
            buf.extend_from_slice(&[byte | 0x80]);
        }
        buf.extend_from_slice(arg.as_bytes());
    }
    buf.freeze()
}

/// One wRPC-encoded string filling `bytes` exactly, if that is what they are.
fn decode_string(bytes: &[u8]) -> Option<String> {
    let mut len: usize = 0;
    for (i, byte) in bytes.iter().enumerate().take(5) {
        len |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let text = bytes.get(i + 1..)?;
            return (text.len() == len).then(|| String::from_utf8(text.to_vec()).ok())?;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_through_the_wire_encoding() {
        let long = "x".repeat(300);
        let encoded = encode_strings(&["hi".to_owned(), long.clone()]);
        assert_eq!(&encoded[..3], b"\x02hi");
        // 300 = 0b10_0101100: 0xac then 0x02.
        assert_eq!(&encoded[3..5], [0xac, 0x02]);
        assert_eq!(decode_string(&encoded[3..]), Some(long));
        assert_eq!(decode_string(b"\x00"), Some(String::new()));
        assert_eq!(decode_string(b""), None);
        assert_eq!(decode_string(b"\x03hi"), None);
        assert_eq!(decode_string(b"\x01\xff"), None);
    }

    #[test]
    fn callees_are_parsed_with_the_http_handler_recognised() {
        assert_eq!(
            Callee::parse("wrpc:http/incoming-handler.handle").unwrap(),
            Callee::Http
        );
        assert_eq!(
            Callee::parse("wasi:http/incoming-handler@0.2.0.handle").unwrap(),
            Callee::Http
        );
        assert_eq!(
            Callee::parse("test:unlinked/greeter@0.1.0.greet").unwrap(),
            Callee::Strings {
                instance: "test:unlinked/greeter@0.1.0".into(),
                function: "greet".into()
            }
        );
        for bad in ["greet", "test:unlinked.greet", "greeter/x.greet", "a:b/c.", ":b/c.f"] {
            let err = Callee::parse(bad).unwrap_err();
            assert_eq!(err.kind(), LatticeErrorKind::InvalidArgument, "{bad}");
        }
    }
}
