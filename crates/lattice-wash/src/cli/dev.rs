//! `wash dev`: build the project, serve it and rebuild on every save (the
//! loop itself is `lattice_wash::dev`); this file picks where it runs and prints its
//! events as status lines, or as one JSON object per line with `-o json`.
//!
//! Where: `--embedded`, or `--nats HOST:PORT` to join a lattice; otherwise on
//! a lattice of its own when `nats-server` is on `PATH`, else embedded.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use lattice_wash::dev::{DevEvent, DevLattice, DevMode, DevNats, DevOptions};
use lattice_wash::lattice::parse_key_values;
use lattice_wash::up::{NATS_BINARY, find_on_path};
use serde_json::json;

use super::conn::block_on;
use super::keys::KeyDirArgs;
use super::{Output, OutputKind};

#[derive(Debug, Args)]
pub(crate) struct DevArgs {
    /// The project: its wasmcloud.toml or the folder holding it [default: the current directory].
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
    /// Where to serve HTTP [default: 127.0.0.1:8000, or the next free port up to 8099].
    #[arg(long, value_name = "ADDR")]
    address: Option<SocketAddr>,
    /// Run in this process with the built-ins only, without NATS, even when nats-server is
    /// installed
    #[arg(long, conflicts_with_all = ["nats", "lattice"])]
    embedded: bool,
    /// Join the lattice of the NATS server at HOST:PORT instead of starting one
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_nats)]
    nats: Option<(String, u16)>,
    /// The lattice to serve on
    #[arg(long, value_name = "NAME", default_value = "default")]
    lattice: String,
    /// A label of the host wash dev runs on the lattice, as KEY=VALUE (repeatable)
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE", conflicts_with = "embedded")]
    labels: Vec<String>,
    #[command(flatten)]
    keys: KeyDirArgs,
}

pub(crate) fn run(args: &DevArgs, kind: OutputKind) -> anyhow::Result<Output> {
    let mode = if args.embedded {
        DevMode::Embedded
    } else {
        let nats = match (&args.nats, find_on_path(NATS_BINARY)) {
            (Some((host, port)), _) => Some(DevNats::Join {
                host: host.clone(),
                port: *port,
            }),
            (None, Some(binary)) => Some(DevNats::Start { binary }),
            (None, None) => None,
        };
        let labels = parse_key_values("label", &args.labels)?;
        match nats {
            Some(nats) => DevMode::Lattice(DevLattice {
                nats,
                lattice: args.lattice.clone(),
                labels,
            }),
            None if !labels.is_empty() => anyhow::bail!(
                "--label sets labels of a lattice host, and wash dev runs embedded here (no nats-server on PATH): \
                 install nats-server (`apt-get install -y nats-server`) or pass --nats HOST:PORT"
            ),
            None => DevMode::Embedded,
        }
    };
    let options = DevOptions {
        config_path: args.path.clone(),
        address: args.address,
        keys_directory: args.keys.explicit().map(PathBuf::from),
        mode,
    };
    let print = move |event: DevEvent| match kind {
        OutputKind::Json => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", as_json(&event));
            let _ = out.flush();
        }
        OutputKind::Text => eprintln!("{}", as_text(&event)),
    };
    block_on(async move {
        lattice_wash::dev::run(&options, &print, stopped()).await?;
        // Under `-o json` the last line is one more event, so the stream stays one object per line.
        Ok(match kind {
            OutputKind::Json => Output::raw(format!("{}\n", json!({ "event": "stopped" }))),
            OutputKind::Text => Output::new("wash dev: stopped\n", json!({ "event": "stopped" })),
        })
    })
}

/// `HOST:PORT`, or `nats://HOST:PORT`.
fn parse_nats(text: &str) -> Result<(String, u16), String> {
    let address = text.strip_prefix("nats://").unwrap_or(text);
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("`{text}` is not HOST:PORT: pass e.g. 127.0.0.1:4222"))?;
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("`{port}` is not a port number: pass e.g. 127.0.0.1:4222"))?;
    if host.is_empty() {
        return Err(format!("`{text}` names no host: pass e.g. 127.0.0.1:4222"));
    }
    Ok((host.to_owned(), port))
}

/// Ctrl-C or SIGTERM.
async fn stopped() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn as_text(event: &DevEvent) -> String {
    match event {
        DevEvent::Building { reason } if reason == "start" => "wash dev: building".to_owned(),
        DevEvent::Building { reason } => format!("wash dev: {reason} changed, rebuilding"),
        DevEvent::Progress(line) => format!("wash dev:   {line}"),
        DevEvent::Built { build, load } => format!(
            "wash dev: built in {:.2} s, loaded in {:.2} s",
            build.as_secs_f64(),
            load.as_secs_f64()
        ),
        DevEvent::BuildFailed { error } => {
            format!("wash dev: build failed; the last good build keeps serving\n{error}")
        }
        DevEvent::Serving { url, links, lattice } => {
            let mut text = match lattice {
                None => format!("wash dev: serving {url} (embedded host, no NATS; Ctrl-C stops)"),
                Some(on) => format!(
                    "wash dev: serving {url} as component `{}` on host {} in lattice `{}`, NATS {}{} (Ctrl-C stops)",
                    on.component_id,
                    on.host_id,
                    on.lattice,
                    on.nats,
                    if on.nats_started { ", started by wash dev" } else { "" }
                ),
            };
            for (import, by) in links {
                text.push_str(&format!("\n  {import} <- {by}"));
            }
            text
        }
        DevEvent::Reloaded { elapsed } => {
            format!("wash dev: reloaded, {:.2} s after the change", elapsed.as_secs_f64())
        }
        DevEvent::Request {
            method,
            path,
            status,
            elapsed,
        } => format!(
            "wash dev: {method} {path} -> {status} in {:.1} ms",
            elapsed.as_secs_f64() * 1000.0
        ),
        other => format!("wash dev: {other:?}"),
    }
}

fn as_json(event: &DevEvent) -> serde_json::Value {
    match event {
        DevEvent::Building { reason } => json!({ "event": "building", "reason": reason }),
        DevEvent::Progress(line) => json!({ "event": "progress", "line": line }),
        DevEvent::Built { build, load } => {
            json!({ "event": "built", "build_ms": build.as_millis(), "load_ms": load.as_millis() })
        }
        DevEvent::BuildFailed { error } => json!({ "event": "build_failed", "error": error }),
        DevEvent::Serving { url, links, lattice } => json!({
            "event": "serving",
            "url": url,
            "mode": if lattice.is_some() { "lattice" } else { "embedded" },
            "lattice": lattice.as_ref().map(|on| json!({
                "name": on.lattice,
                "nats": on.nats,
                "nats_started": on.nats_started,
                "host_id": on.host_id,
                "component_id": on.component_id,
            })),
            "links": links
                .iter()
                .map(|(import, by)| json!({ "import": import, "served_by": by }))
                .collect::<Vec<_>>(),
        }),
        DevEvent::Reloaded { elapsed } => json!({ "event": "reloaded", "ms": elapsed.as_millis() }),
        DevEvent::Request {
            method,
            path,
            status,
            elapsed,
        } => json!({
            "event": "request",
            "method": method,
            "path": path,
            "status": status,
            "ms": elapsed.as_secs_f64() * 1000.0,
        }),
        other => json!({ "event": format!("{other:?}") }),
    }
}
