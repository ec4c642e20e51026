//! `wrpc:http@0.1.0` ↔ the `http` crate: headers, methods, schemes, and bodies streamed both
//! ways. The host uses these to serve a provider's request into a component's
//! `wasi:http/incoming-handler`, the http-server provider to forward what it accepts, and the
//! runtime to send a guest's outgoing request over a link.
//!
//! A body crosses the wire as a byte stream plus a future of trailers. [`split_body`] turns an
//! `http_body::Body` into that pair without copying the data frames; [`WrpcBody`] turns the
//! pair back into an `http_body::Body`.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body::{Body, Frame};
use http_body_util::BodyExt as _;

pub use crate::bindings::wrpc::http::types::{ErrorCode, Fields, Method, Request, RequestOptions, Response, Scheme};

/// The body of a `wrpc:http` request or response.
pub type BodyStream = Pin<Box<dyn Stream<Item = Bytes> + Send>>;

/// The trailers of a `wrpc:http` request or response, known once the body has ended.
pub type TrailersFuture = Pin<Box<dyn Future<Output = Option<Fields>> + Send>>;

/// A message that cannot be expressed on the other side: a header name or value, a method
/// or a status code the `http` crate refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConversionError {
    /// A header name that is not a valid HTTP token.
    #[error("header name `{0}` is not valid HTTP")]
    HeaderName(String),
    /// A header value with bytes HTTP does not allow.
    #[error("value of header `{0}` is not valid HTTP")]
    HeaderValue(String),
    /// A method name that is not a valid HTTP token.
    #[error("method `{0}` is not a valid HTTP method")]
    Method(String),
    /// A status code outside 100..=999.
    #[error("status {0} is not a valid HTTP status code")]
    Status(u16),
    /// A request target that is not a valid URI.
    #[error("request target `{0}` is not a valid URI")]
    Uri(String),
}

/// The headers as a `wrpc:http` field list: one entry per name, with every value of that name
/// in order.
#[must_use]
pub fn fields_from_headers(headers: &HeaderMap) -> Fields {
    headers
        .keys()
        .map(|name| {
            let values = headers
                .get_all(name)
                .iter()
                .map(|v| Bytes::copy_from_slice(v.as_bytes()))
                .collect();
            (name.as_str().to_owned(), values)
        })
        .collect()
}

/// The field list as headers. A name listed twice keeps the values of both entries, in order.
///
/// # Errors
///
/// When a name or value is not valid HTTP.
pub fn headers_from_fields(fields: Fields) -> Result<HeaderMap, ConversionError> {
    let mut headers = HeaderMap::with_capacity(fields.len());
    for (name, values) in fields {
        let header = HeaderName::try_from(name.as_str()).map_err(|_| ConversionError::HeaderName(name.clone()))?;
        for value in values {
            let value =
                HeaderValue::from_maybe_shared(value).map_err(|_| ConversionError::HeaderValue(name.clone()))?;
            headers.append(header.clone(), value);
        }
    }
    Ok(headers)
}

impl From<&http::Method> for Method {
    fn from(method: &http::Method) -> Self {
        match *method {
            http::Method::GET => Self::Get,
            http::Method::HEAD => Self::Head,
            http::Method::POST => Self::Post,
            http::Method::PUT => Self::Put,
            http::Method::DELETE => Self::Delete,
            http::Method::CONNECT => Self::Connect,
            http::Method::OPTIONS => Self::Options,
            http::Method::TRACE => Self::Trace,
            http::Method::PATCH => Self::Patch,
            ref other => Self::Other(other.as_str().to_owned()),
        }
    }
}

impl TryFrom<&Method> for http::Method {
    type Error = ConversionError;

    fn try_from(method: &Method) -> Result<Self, Self::Error> {
        Ok(match method {
            Method::Get => Self::GET,
            Method::Head => Self::HEAD,
            Method::Post => Self::POST,
            Method::Put => Self::PUT,
            Method::Delete => Self::DELETE,
            Method::Connect => Self::CONNECT,
            Method::Options => Self::OPTIONS,
            Method::Trace => Self::TRACE,
            Method::Patch => Self::PATCH,
            Method::Other(name) => {
                Self::from_bytes(name.as_bytes()).map_err(|_| ConversionError::Method(name.clone()))?
            }
        })
    }
}

/// The scheme of a URI as `wrpc:http` names it.
#[must_use]
pub fn scheme_from_http(scheme: &http::uri::Scheme) -> Scheme {
    match scheme.as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_owned()),
    }
}

fn scheme_str(scheme: &Scheme) -> &str {
    match scheme {
        Scheme::Http => "http",
        Scheme::Https => "https",
        Scheme::Other(other) => other,
    }
}

/// Splits a body into the byte stream and trailers future `wrpc:http` sends. The trailers
/// resolve once the stream has been read to its end; a body that fails midway ends the stream
/// there (the peer sees a short body) and has no trailers.
pub fn split_body<B>(body: B) -> (BodyStream, TrailersFuture)
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: fmt::Display,
{
    let (trailers_tx, trailers_rx) = tokio::sync::oneshot::channel();
    let stream = futures::stream::unfold(
        (Box::pin(body), Some(trailers_tx)),
        |(mut body, mut trailers_tx)| async move {
            loop {
                match body.frame().await? {
                    Ok(frame) => match frame.into_data() {
                        Ok(data) if data.is_empty() => {}
                        Ok(data) => return Some((data, (body, trailers_tx))),
                        Err(frame) => {
                            if let (Ok(trailers), Some(tx)) = (frame.into_trailers(), trailers_tx.take()) {
                                // The receiver may be gone: nobody wants the trailers.
                                let _ = tx.send(fields_from_headers(&trailers));
                            }
                        }
                    },
                    Err(err) => {
                        tracing::debug!(error = %err, "http body failed; ending the stream early");
                        return None;
                    }
                }
            }
        },
    );
    let trailers = async move { trailers_rx.await.ok() };
    (Box::pin(stream), Box::pin(trailers))
}

/// A body read from a `wrpc:http` byte stream and trailers future.
pub struct WrpcBody {
    stream: Option<BodyStream>,
    trailers: Option<TrailersFuture>,
}

impl fmt::Debug for WrpcBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrpcBody")
            .field("streaming", &self.stream.is_some())
            .field("trailers_pending", &self.trailers.is_some())
            .finish()
    }
}

impl WrpcBody {
    /// A body that yields `stream`'s bytes, then the trailers `trailers` resolves to.
    #[must_use]
    pub fn new(stream: BodyStream, trailers: TrailersFuture) -> Self {
        Self {
            stream: Some(stream),
            trailers: Some(trailers),
        }
    }
}

impl Body for WrpcBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(stream) = &mut this.stream {
            match stream.poll_next_unpin(cx) {
                Poll::Ready(Some(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                Poll::Ready(None) => this.stream = None,
                Poll::Pending => return Poll::Pending,
            }
        }
        if let Some(trailers) = &mut this.trailers {
            let fields = match trailers.as_mut().poll(cx) {
                Poll::Ready(fields) => fields,
                Poll::Pending => return Poll::Pending,
            };
            this.trailers = None;
            match fields.filter(|f| !f.is_empty()).map(headers_from_fields) {
                Some(Ok(trailers)) => return Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
                Some(Err(err)) => tracing::debug!(error = %err, "dropping trailers that are not valid HTTP"),
                None => {}
            }
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.stream.is_none() && self.trailers.is_none()
    }
}

/// A request as `wrpc:http` carries it. The scheme and authority come from the URI, or the
/// authority from the `Host` header when the URI has none (as in requests a server accepts).
pub fn request_from_http<B>(request: http::Request<B>) -> Request
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: fmt::Display,
{
    let (parts, body) = request.into_parts();
    let (body, trailers) = split_body(body);
    let authority = parts.uri.authority().map(|a| a.as_str().to_owned()).or_else(|| {
        parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
    });
    Request {
        body,
        trailers,
        method: Method::from(&parts.method),
        path_with_query: parts.uri.path_and_query().map(|p| p.as_str().to_owned()),
        scheme: parts.uri.scheme().map(scheme_from_http),
        authority,
        headers: fields_from_headers(&parts.headers),
    }
}

/// A `wrpc:http` request as an `http` request whose body streams from the peer.
///
/// # Errors
///
/// When the method, target or a header is not valid HTTP.
pub fn request_into_http(request: Request) -> Result<http::Request<WrpcBody>, ConversionError> {
    let Request {
        body,
        trailers,
        method,
        path_with_query,
        scheme,
        authority,
        headers,
    } = request;
    let path = path_with_query.unwrap_or_else(|| "/".to_owned());
    let target = match (&scheme, &authority) {
        (Some(scheme), Some(authority)) => format!("{}://{authority}{path}", scheme_str(scheme)),
        _ => path,
    };
    let uri = http::Uri::try_from(target.as_str()).map_err(|_| ConversionError::Uri(target.clone()))?;
    let mut out = http::Request::new(WrpcBody::new(body, trailers));
    *out.method_mut() = http::Method::try_from(&method)?;
    *out.uri_mut() = uri;
    *out.headers_mut() = headers_from_fields(headers)?;
    if !out.headers().contains_key(http::header::HOST) {
        if let Some(host) = authority.and_then(|a| HeaderValue::try_from(a).ok()) {
            out.headers_mut().insert(http::header::HOST, host);
        }
    }
    Ok(out)
}

/// A response as `wrpc:http` carries it.
pub fn response_from_http<B>(response: http::Response<B>) -> Response
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: fmt::Display,
{
    let (parts, body) = response.into_parts();
    let (body, trailers) = split_body(body);
    Response {
        body,
        trailers,
        status: parts.status.as_u16(),
        headers: fields_from_headers(&parts.headers),
    }
}

/// A `wrpc:http` response as an `http` response whose body streams from the peer.
///
/// # Errors
///
/// When the status or a header is not valid HTTP.
pub fn response_into_http(response: Response) -> Result<http::Response<WrpcBody>, ConversionError> {
    let Response {
        body,
        trailers,
        status,
        headers,
    } = response;
    let mut out = http::Response::new(WrpcBody::new(body, trailers));
    *out.status_mut() = http::StatusCode::from_u16(status).map_err(|_| ConversionError::Status(status))?;
    *out.headers_mut() = headers_from_fields(headers)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt as _, Full, StreamBody};

    use super::*;

    #[test]
    fn headers_group_values_by_name_and_round_trip() {
        let mut headers = HeaderMap::new();
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        headers.append("content-type", HeaderValue::from_static("text/plain"));
        let fields = fields_from_headers(&headers);
        assert_eq!(fields.len(), 2);
        let x_a = fields.iter().find(|(n, _)| n == "x-a").unwrap();
        assert_eq!(x_a.1, [Bytes::from_static(b"1"), Bytes::from_static(b"2")]);
        assert_eq!(headers_from_fields(fields).unwrap(), headers);
    }

    #[test]
    fn bad_fields_are_named() {
        let bad_name = vec![("bad name".to_owned(), vec![])];
        assert_eq!(
            headers_from_fields(bad_name).unwrap_err().to_string(),
            "header name `bad name` is not valid HTTP"
        );
        let bad_value = vec![("x".to_owned(), vec![Bytes::from_static(b"a\nb")])];
        assert!(matches!(
            headers_from_fields(bad_value),
            Err(ConversionError::HeaderValue(_))
        ));
        let twice = vec![
            ("x".to_owned(), vec![Bytes::from_static(b"1")]),
            ("x".to_owned(), vec![Bytes::from_static(b"2")]),
        ];
        let merged = headers_from_fields(twice).unwrap();
        assert_eq!(merged.get_all("x").iter().collect::<Vec<_>>(), ["1", "2"]);
    }

    #[test]
    fn methods_round_trip() {
        for method in [
            http::Method::GET,
            http::Method::PATCH,
            http::Method::from_bytes(b"PURGE").unwrap(),
        ] {
            assert_eq!(http::Method::try_from(&Method::from(&method)).unwrap(), method);
        }
        assert!(http::Method::try_from(&Method::Other("NO PE".into())).is_err());
    }

    #[tokio::test]
    async fn requests_round_trip_with_body_and_trailers() {
        let mut trailers = HeaderMap::new();
        trailers.insert("x-checksum", HeaderValue::from_static("abc"));
        let frames = vec![
            Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"hello "))),
            Ok(Frame::data(Bytes::from_static(b"world"))),
            Ok(Frame::trailers(trailers.clone())),
        ];
        let request = http::Request::builder()
            .method("POST")
            .uri("http://example.com/a?b=c")
            .header("x-h", "v")
            .body(StreamBody::new(futures::stream::iter(frames)))
            .unwrap();
        let wrpc = request_from_http(request);
        assert_eq!(wrpc.authority.as_deref(), Some("example.com"));
        assert_eq!(wrpc.path_with_query.as_deref(), Some("/a?b=c"));
        assert!(matches!(wrpc.scheme, Some(Scheme::Http)));
        let back = request_into_http(wrpc).unwrap();
        assert_eq!(back.method(), http::Method::POST);
        assert_eq!(back.uri(), "http://example.com/a?b=c");
        assert_eq!(back.headers()["x-h"], "v");
        assert_eq!(back.headers()["host"], "example.com");
        let collected = back.into_body().collect().await.unwrap();
        assert_eq!(collected.trailers(), Some(&trailers));
        assert_eq!(collected.to_bytes(), "hello world");
    }

    #[tokio::test]
    async fn responses_round_trip() {
        let response = http::Response::builder()
            .status(418)
            .body(Full::new(Bytes::from_static(b"teapot")))
            .unwrap();
        let back = response_into_http(response_from_http(response)).unwrap();
        assert_eq!(back.status(), 418);
        let collected = back.into_body().collect().await.unwrap();
        assert!(collected.trailers().is_none());
        assert_eq!(collected.to_bytes(), "teapot");
        let bad = Response {
            body: Box::pin(futures::stream::empty()),
            trailers: Box::pin(async { None }),
            status: 42,
            headers: Vec::new(),
        };
        assert_eq!(response_into_http(bad).unwrap_err(), ConversionError::Status(42));
    }

    #[tokio::test]
    async fn a_failing_body_ends_the_stream_without_trailers() {
        let frames = vec![Ok(Frame::data(Bytes::from_static(b"part"))), Err("broken pipe")];
        let (stream, trailers) = split_body(StreamBody::new(futures::stream::iter(frames)));
        let chunks: Vec<Bytes> = stream.collect().await;
        assert_eq!(chunks, [Bytes::from_static(b"part")]);
        assert_eq!(trailers.await, None);
    }
}
