//! The `wasmcloud` host leg of `cargo xtask bench`: a real `nats-server`
//! with JetStream, the host binary, and the control requests wash would
//! send (start the builtin http-server, put the listen config and the link,
//! scale the component), spoken over a minimal NATS client written here so
//! xtask links none of the product.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use super::{Options, Report, Server, free_port, measure, rss_kib, wait_status};
use crate::cmd::on_path;

const LATTICE: &str = "xtask-bench";

pub(super) fn find_server() -> Option<PathBuf> {
    on_path("nats-server")
}

/// A NATS connection that can only do request/reply.
struct Nats {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next_sid: u64,
}

/// Why a request got no answer.
#[derive(Debug)]
enum NoReply {
    /// The server said nothing subscribes to the subject.
    NoResponders,
    /// Anything else: a timeout, a broken connection, a bad reply.
    Failed(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for NoReply {
    fn from(error: E) -> Self {
        Self::Failed(error.into())
    }
}

impl Nats {
    fn connect(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect(addr).with_context(|| format!("connecting to NATS at {addr}"))?;
        // Each command is one write; without this, Nagle's algorithm holds a
        // write back for the server's delayed ACK and every timing here
        // would carry tens of milliseconds of TCP.
        stream.set_nodelay(true)?;
        let writer = stream.try_clone()?;
        let mut nats = Self {
            reader: BufReader::new(stream),
            writer,
            next_sid: 1,
        };
        let info = nats.line()?;
        if !info.starts_with("INFO ") {
            bail!("NATS sent {info:?} instead of INFO");
        }
        // Headers and no_responders: a request nobody listens to is answered
        // at once with status 503 instead of timing out.
        nats.writer.write_all(
            b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true}\r\nPING\r\n",
        )?;
        while nats.line()? != "PONG" {}
        Ok(nats)
    }

    fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            bail!("NATS closed the connection");
        }
        Ok(line.trim_end().to_string())
    }

    /// Publishes `payload` on `subject` and waits for one reply.
    fn request(&mut self, subject: &str, payload: &Value, timeout: Duration) -> Result<Value, NoReply> {
        let sid = self.next_sid;
        self.next_sid += 1;
        let inbox = format!("_INBOX.xtask.{sid}");
        let body = payload.to_string();
        let command = format!(
            "SUB {inbox} {sid}\r\nUNSUB {sid} 1\r\nPUB {subject} {inbox} {}\r\n{body}\r\n",
            body.len()
        );
        self.writer.write_all(command.as_bytes())?;
        self.reader.get_ref().set_read_timeout(Some(timeout))?;
        loop {
            let line = self
                .line()
                .with_context(|| format!("no reply to {subject} within {timeout:?}"))?;
            if line == "PING" {
                self.writer.write_all(b"PONG\r\n")?;
                continue;
            }
            if line.starts_with("-ERR") {
                return Err(anyhow::anyhow!("NATS error: {line}").into());
            }
            // MSG <subject> <sid> [reply] <size>
            // HMSG <subject> <sid> [reply] <header size> <total size>
            let (fields, with_headers) = match (line.strip_prefix("MSG "), line.strip_prefix("HMSG ")) {
                (Some(rest), _) => (rest.split(' ').collect::<Vec<_>>(), false),
                (_, Some(rest)) => (rest.split(' ').collect::<Vec<_>>(), true),
                _ => continue,
            };
            let len: usize = fields
                .last()
                .and_then(|n| n.parse().ok())
                .context("message without size")?;
            let mut data = vec![0; len + 2];
            self.reader.read_exact(&mut data)?;
            data.truncate(len);
            if fields.first() != Some(&inbox.as_str()) {
                continue;
            }
            if with_headers {
                let header_len: usize = fields
                    .get(fields.len() - 2)
                    .and_then(|n| n.parse().ok())
                    .context("HMSG without header size")?;
                let headers = String::from_utf8_lossy(&data[..header_len.min(data.len())]);
                if headers.starts_with("NATS/1.0 503") {
                    return Err(NoReply::NoResponders);
                }
                data.drain(..header_len.min(data.len()));
            }
            return Ok(serde_json::from_slice(&data).with_context(|| format!("reply to {subject} is not JSON"))?);
        }
    }

    /// A control request that must succeed.
    fn ctl(&mut self, operation: &str, payload: &Value) -> Result<Value> {
        let subject = format!("wasmbus.ctl.v1.{LATTICE}.{operation}");
        let reply = match self.request(&subject, payload, Duration::from_secs(30)) {
            Ok(reply) => reply,
            Err(NoReply::NoResponders) => bail!("no host answers {subject}"),
            Err(NoReply::Failed(error)) => return Err(error),
        };
        if reply.get("success") != Some(&Value::Bool(true)) {
            bail!("{subject} failed: {reply}");
        }
        Ok(reply)
    }
}

/// A `wasmcloud` host process on the benchmark's NATS.
struct HostProcess {
    server: Server,
    id: String,
    /// From spawning the process to its first `host.ping` answer.
    start_to_ready: Duration,
}

fn start_host(host_bin: &Path, nats_port: u16, cache: &Path, client: &mut Nats) -> Result<HostProcess> {
    let started = Instant::now();
    let mut server = Server {
        child: Command::new(host_bin)
            .args(["--nats-host", "127.0.0.1", "--nats-port", &nats_port.to_string()])
            .args(["--lattice", LATTICE, "--allow-file-load", "--log-level", "warn"])
            .arg("--compile-cache-dir")
            .arg(cache)
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", host_bin.display()))?,
        addr: SocketAddr::from(([127, 0, 0, 1], nats_port)),
    };
    let ping = format!("wasmbus.ctl.v1.{LATTICE}.host.ping");
    let deadline = started + Duration::from_secs(30);
    loop {
        match client.request(&ping, &json!({}), Duration::from_secs(5)) {
            Ok(reply) => {
                let id = reply
                    .pointer("/response/id")
                    .and_then(Value::as_str)
                    .with_context(|| format!("host.ping answered without a host id: {reply}"))?;
                return Ok(HostProcess {
                    id: id.to_string(),
                    start_to_ready: started.elapsed(),
                    server,
                });
            }
            // Not subscribed yet: ask again.
            Err(NoReply::NoResponders) => {}
            Err(NoReply::Failed(error)) => return Err(error.context("waiting for the host to answer host.ping")),
        }
        if let Some(status) = server.child.try_wait()? {
            bail!("the wasmcloud host exited ({status}) before answering host.ping");
        }
        if Instant::now() > deadline {
            bail!("the wasmcloud host did not answer host.ping within 30 s");
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Scales `hello` to `count` on `host` and times it to the first 200 (or,
/// for 0, waits for the 503 of a stopped component).
fn scale(client: &mut Nats, host: &mut HostProcess, wasm: &Path, count: u32) -> Result<Duration> {
    let scaled = Instant::now();
    client.ctl(
        &format!("component.scale.{}", host.id),
        &json!({"component_ref": format!("file://{}", wasm.display()), "component_id": "hello",
                "host_id": host.id, "count": count, "config": []}),
    )?;
    let status = if count == 0 { 503 } else { 200 };
    let answered = wait_status(host.server.addr, status, &mut host.server.child)?;
    Ok(answered - scaled)
}

/// Measures the host twice: a first process compiles into a fresh compile
/// cache, then a second one starts, as a restarted host would, with that
/// cache warm; start-up, scale and memory are reported for both, the load
/// is run against the second.
pub(super) fn bench_host(
    nats_server: &Path,
    host_bin: &Path,
    wasm: &Path,
    wrk: &Path,
    options: Options,
) -> Result<Report> {
    let mut report = Report {
        name: "host".into(),
        ..Report::default()
    };
    let store = std::env::temp_dir().join(format!("xtask-bench-nats-{}", std::process::id()));
    let cache = store.join("compile-cache");
    let nats_port = free_port()?;
    let nats_addr = SocketAddr::from(([127, 0, 0, 1], nats_port));
    let nats = Server {
        child: Command::new(nats_server)
            .args(["-js", "-a", "127.0.0.1", "-p", &nats_port.to_string(), "-sd"])
            .arg(&store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting nats-server")?,
        addr: nats_addr,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut client = loop {
        match Nats::connect(nats_addr) {
            Ok(client) => break client,
            Err(err) if Instant::now() > deadline => return Err(err.context("nats-server did not come up")),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let wasm = wasm.canonicalize()?;
    let port = free_port()?;
    for cache_state in ["cold", "warm"] {
        let mut host = start_host(host_bin, nats_port, &cache, &mut client)?;
        report
            .ready
            .push((format!("{cache_state} compile cache"), host.start_to_ready));
        if cache_state == "cold" {
            // Stored in the lattice: the second host finds them.
            client.ctl(
                "config.put.xtask-bench-listen",
                &json!({"address": format!("127.0.0.1:{port}")}),
            )?;
            client.ctl(
                "link.put",
                &json!({"source_id": "http-server", "target": "hello", "name": "default",
                        "wit_namespace": "wasi", "wit_package": "http", "interfaces": ["incoming-handler"],
                        "source_config": ["xtask-bench-listen"], "target_config": []}),
            )?;
        }
        client.ctl(
            &format!("provider.start.{}", host.id),
            &json!({"provider_id": "http-server", "provider_ref": "wasmcloud+builtin://http-server",
                    "host_id": host.id, "config": []}),
        )?;
        host.server.addr = SocketAddr::from(([127, 0, 0, 1], port));
        let first = scale(&mut client, &mut host, &wasm, 1000)?;
        report
            .first_200
            .push((format!("scale → first 200, {cache_state} compile cache"), first));
        report
            .idle_rss
            .push((format!("{cache_state} compile cache"), rss_kib(host.server.child.id())));
        if cache_state == "cold" {
            // Scaled to zero and back: the same process, the cache now warm.
            scale(&mut client, &mut host, &wasm, 0)?;
            let again = scale(&mut client, &mut host, &wasm, 1000)?;
            report
                .first_200
                .push(("scale → first 200 again in the same host".into(), again));
            continue;
        }
        measure(&host.server, wrk, options, &mut report)?;
    }
    drop(nats);
    let _ = std::fs::remove_dir_all(&store);
    Ok(report)
}
