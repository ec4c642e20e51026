//! Waiting for a server to answer, with a real HTTP client.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

/// How often a server that does not answer yet is asked again. Short: the
/// time to the first answer is one of the figures.
const POLL: Duration = Duration::from_millis(2);

/// Waits until `GET <url>` answers `status`.
///
/// # Errors
///
/// When the URL is not `http://<ip:port>/…`, or nothing answered `status`
/// within `timeout` (the error gives the last answer seen).
pub(crate) async fn wait_status(url: &str, status: u16, timeout: Duration) -> Result<()> {
    let uri: http::Uri = url.parse().with_context(|| format!("`{url}` is not a URL"))?;
    let addr: SocketAddr = uri
        .authority()
        .map(http::uri::Authority::as_str)
        .and_then(|a| a.parse().ok())
        .with_context(|| format!("`{url}` must name an address as ip:port, e.g. http://127.0.0.1:8000/"))?;
    let path = uri.path_and_query().map_or("/", http::uri::PathAndQuery::as_str);
    let deadline = Instant::now() + timeout;
    loop {
        let last = match get(addr, path).await {
            Ok(answered) if answered == status => return Ok(()),
            Ok(answered) => format!("status {answered}"),
            Err(error) => format!("{error:#}"),
        };
        if Instant::now() > deadline {
            bail!("{url} did not answer {status} within {timeout:?}; last: {last}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// One `GET`, read to the end (closing early would fail the guest's write).
pub(crate) async fn get(addr: SocketAddr, path: &str) -> Result<u16> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = http::Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())?;
    let response = tokio::time::timeout(Duration::from_secs(30), sender.send_request(request))
        .await
        .context("no answer within 30 s")??;
    let status = response.status().as_u16();
    response.into_body().collect().await?;
    Ok(status)
}
