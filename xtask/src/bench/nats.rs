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

use super::{Options, Report, Server, free_port, measure, rss_kib, wait_200, wait_status};
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

impl Nats {
    fn connect(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect(addr).with_context(|| format!("connecting to NATS at {addr}"))?;
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
        nats.writer
            .write_all(b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":false}\r\nPING\r\n")?;
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
    fn request(&mut self, subject: &str, payload: &Value, timeout: Duration) -> Result<Value> {
        let sid = self.next_sid;
        self.next_sid += 1;
        let inbox = format!("_INBOX.xtask.{sid}");
        let body = payload.to_string();
        write!(
            self.writer,
            "SUB {inbox} {sid}\r\nUNSUB {sid} 1\r\nPUB {subject} {inbox} {}\r\n{body}\r\n",
            body.len()
        )?;
        self.reader.get_ref().set_read_timeout(Some(timeout))?;
        loop {
            let line = self
                .line()
                .with_context(|| format!("no reply to {subject} within {timeout:?}"))?;
            if line == "PING" {
                self.writer.write_all(b"PONG\r\n")?;
                continue;
            }
            if let Some(rest) = line.strip_prefix("MSG ") {
                let fields: Vec<&str> = rest.split(' ').collect();
                let len: usize = fields.last().and_then(|n| n.parse().ok()).context("MSG without size")?;
                let mut data = vec![0; len + 2];
                self.reader.read_exact(&mut data)?;
                data.truncate(len);
                if fields.first() != Some(&inbox.as_str()) {
                    continue;
                }
                return serde_json::from_slice(&data).with_context(|| format!("reply to {subject} is not JSON"));
            }
            if line.starts_with("-ERR") {
                bail!("NATS error: {line}");
            }
        }
    }

    /// A control request that must succeed.
    fn ctl(&mut self, operation: &str, payload: &Value) -> Result<Value> {
        let subject = format!("wasmbus.ctl.v1.{LATTICE}.{operation}");
        let reply = self.request(&subject, payload, Duration::from_secs(30))?;
        if reply.get("success") != Some(&Value::Bool(true)) {
            bail!("{subject} failed: {reply}");
        }
        Ok(reply)
    }
}

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

    let started = Instant::now();
    let mut host = Server {
        child: Command::new(host_bin)
            .args(["--nats-host", "127.0.0.1", "--nats-port", &nats_port.to_string()])
            .args(["--lattice", LATTICE, "--allow-file-load", "--log-level", "warn"])
            // A fresh compile cache: the first scale compiles, the second
            // finds the compiled component on disk.
            .arg("--compile-cache-dir")
            .arg(store.join("compile-cache"))
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", host_bin.display()))?,
        addr: nats_addr,
    };
    let ping = format!("wasmbus.ctl.v1.{LATTICE}.host.ping");
    let host_id = loop {
        if let Ok(reply) = client.request(&ping, &json!({}), Duration::from_millis(200))
            && let Some(id) = reply.pointer("/response/id").and_then(Value::as_str)
        {
            break id.to_string();
        }
        if Instant::now() > deadline {
            bail!("the wasmcloud host did not answer host.ping");
        }
    };
    report.start_to_ready = Some(started.elapsed());

    let port = free_port()?;
    client.ctl(
        &format!("provider.start.{host_id}"),
        &json!({"provider_id": "http-server", "provider_ref": "wasmcloud+builtin://http-server",
                "host_id": host_id, "config": []}),
    )?;
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
    let wasm = wasm.canonicalize()?;
    let scale = |client: &mut Nats, count: u32| {
        client.ctl(
            &format!("component.scale.{host_id}"),
            &json!({"component_ref": format!("file://{}", wasm.display()), "component_id": "hello",
                    "host_id": host_id, "count": count, "config": []}),
        )
    };
    host.addr = SocketAddr::from(([127, 0, 0, 1], port));
    for cache in ["cold", "warm"] {
        let scaled = Instant::now();
        scale(&mut client, 1000)?;
        let first = wait_200(host.addr, &mut host.child)?;
        report
            .first_200
            .push((format!("scale → first 200, {cache} compile cache"), first - scaled));
        if cache == "cold" {
            scale(&mut client, 0)?;
            wait_status(host.addr, 503, &mut host.child)?;
        }
    }
    report.idle_rss_kib = rss_kib(host.child.id());
    measure(&host, wrk, options, &mut report)?;
    drop(host);
    drop(nats);
    let _ = std::fs::remove_dir_all(&store);
    Ok(report)
}
