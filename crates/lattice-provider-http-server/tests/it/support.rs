//! The provider, components played by the test, links, and an HTTP client.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use http_body_util::{BodyExt as _, Full};
use lattice_control_interface::provider::{HostData, InterfaceLinkDefinition, subject};
use lattice_control_interface::{ComponentId, LinkName};
use lattice_interfaces::bindings::exports::wrpc::http::incoming_handler;
use lattice_interfaces::http::{ErrorCode, Request, Response};
use lattice_test_support::nats::NatsServer;
use tokio::process::Child;
use tokio::task::JoinHandle;
use wrpc_transport_nats::NatsContext;

/// How long anything that should happen may take.
pub const WAIT: Duration = Duration::from_secs(10);
pub const LATTICE: &str = "test";
pub const PROVIDER: &str = "http";

/// A free port on 127.0.0.1 (bound, read, released).
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The provider on a fresh NATS server, killed on drop.
pub struct Lattice {
    /// Held for its `Drop`: the server lives as long as the lattice.
    _nats: NatsServer,
    pub client: async_nats::Client,
    /// Held for its `Drop` (`kill_on_drop`).
    _provider: Child,
}

impl Lattice {
    /// Starts NATS and the provider with `config`, and waits until it answers health checks
    /// (its link subscriptions exist from then on).
    pub async fn start(config: &[(&str, &str)]) -> Self {
        let nats = NatsServer::start();
        let host_data = HostData {
            host_id: "NHOST".into(),
            lattice_rpc_prefix: LATTICE.into(),
            link_name: "default".into(),
            lattice_rpc_url: nats.url(),
            provider_key: PROVIDER.into(),
            config: config.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            log_level: Some("info".into()),
            ..HostData::default()
        };
        let mut provider = tokio::process::Command::new(env!("CARGO_BIN_EXE_http-server-provider"))
            .stdin(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting http-server-provider");
        let mut stdin = provider.stdin.take().unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stdin, host_data.to_stdin_line().as_bytes())
            .await
            .unwrap();
        drop(stdin);
        let client = async_nats::connect(nats.url()).await.unwrap();
        let health = subject::health(LATTICE, PROVIDER);
        until("the provider answering health checks", async || {
            // No responders come back at once while the provider is not subscribed yet.
            client.request(health.clone(), "".into()).await.is_ok()
        })
        .await;
        Self {
            _nats: nats,
            client,
            _provider: provider,
        }
    }

    /// Puts a link from the provider to `component` with this source config.
    pub async fn put_link(&self, component: &str, config: &[(&str, &str)]) {
        self.client
            .publish(
                subject::link_put(LATTICE, PROVIDER),
                serde_json::to_vec(&link(component, config)).unwrap().into(),
            )
            .await
            .unwrap();
    }

    /// Deletes the link from the provider to `component`.
    pub async fn delete_link(&self, component: &str) {
        self.client
            .publish(
                subject::link_del(LATTICE, PROVIDER),
                serde_json::to_vec(&link(component, &[])).unwrap().into(),
            )
            .await
            .unwrap();
    }

    /// Plays component `id`: serves its `wrpc:http/incoming-handler` with [`Echo`] until the
    /// returned task is aborted.
    pub async fn component(&self, id: &str) -> JoinHandle<()> {
        let prefix = format!("{LATTICE}.{id}");
        let wrpc = wrpc_transport_nats::Client::new(self.client.clone(), prefix.as_str(), Some(prefix.as_str().into()))
            .await
            .unwrap();
        let [(_, _, mut calls)] = incoming_handler::serve_interface(&wrpc, Echo { id: id.into() })
            .await
            .unwrap();
        tokio::spawn(async move {
            let _wrpc = wrpc;
            while let Some(call) = calls.next().await {
                if let Ok(call) = call {
                    tokio::spawn(call);
                }
            }
        })
    }
}

fn link(component: &str, config: &[(&str, &str)]) -> InterfaceLinkDefinition {
    InterfaceLinkDefinition {
        source_id: ComponentId::new(PROVIDER),
        target: ComponentId::new(component),
        name: LinkName::default(),
        wit_namespace: "wasi".into(),
        wit_package: "http".into(),
        interfaces: vec!["incoming-handler".into()],
        source_config: config
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<HashMap<_, _>>(),
        ..InterfaceLinkDefinition::default()
    }
}

/// A component that answers with what it got: status 200, the method, path and caller as
/// `x-` headers, and the request body streamed back. `/fail` fails with an error code; `/slow`
/// answers after a second.
#[derive(Clone)]
pub struct Echo {
    id: String,
}

impl incoming_handler::Handler<NatsContext> for Echo {
    async fn handle(&self, cx: NatsContext, request: Request) -> anyhow::Result<Result<Response, ErrorCode>> {
        let path = request.path_with_query.clone().unwrap_or_default();
        if path == "/fail" {
            return Ok(Err(ErrorCode::InternalError(Some("asked to fail".into()))));
        }
        if path == "/slow" {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let header = |name: &str| {
            cx.headers
                .as_ref()
                .and_then(|h| h.get(name))
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default()
        };
        let echo = |value: String| vec![Bytes::from(value)];
        let headers = vec![
            ("x-component".to_owned(), echo(self.id.clone())),
            (
                "x-method".to_owned(),
                echo(http::Method::try_from(&request.method)?.to_string()),
            ),
            ("x-path".to_owned(), echo(path)),
            (
                "x-authority".to_owned(),
                echo(request.authority.clone().unwrap_or_default()),
            ),
            ("x-source-id".to_owned(), echo(header("source-id"))),
            ("x-target-id".to_owned(), echo(header("target-id"))),
        ];
        Ok(Ok(Response {
            body: request.body,
            trailers: request.trailers,
            status: 200,
            headers,
        }))
    }
}

/// Polls `done` until it holds, for at most [`WAIT`].
pub async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "{what} did not happen in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

/// Sends a request to `addr`; `Err` when the connection fails (nothing listens).
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    host: Option<&str>,
    body: Bytes,
) -> Result<Answer, String> {
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if let Some(host) = host {
        request = request.header(http::header::HOST, host);
    }
    let response = tokio::time::timeout(WAIT, client.request(request.body(Full::new(body)).unwrap()))
        .await
        .expect("an answer in time")
        .map_err(|e| format!("{e:?}"))?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}

/// GETs `path` until the answer satisfies `done`.
pub async fn get_until(addr: SocketAddr, path: &str, what: &str, done: impl Fn(&Answer) -> bool) -> Answer {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(answer) = send(addr, "GET", path, None, Bytes::new()).await
            && done(&answer)
        {
            return answer;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what} did not happen in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
