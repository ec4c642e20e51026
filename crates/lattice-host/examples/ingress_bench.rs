//! The built-in HTTP ingress serving one component, without NATS: what
//! `cargo xtask bench` measures when it compares the ingress's hot path
//! with `wasmtime serve`. Prints `ready <address>` once requests are served
//! and stops gracefully on SIGINT or SIGTERM.
//!
//! ```text
//! cargo run --release -p lattice-host --example ingress_bench -- \
//!     --wasm hello_http.wasm [--address 127.0.0.1:8080] [--cache-dir DIR] [--max-instances N]
//! ```

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use lattice_host::ingress::{HttpIngress, IngressSettings, RouteKey};
use lattice_runtime::Runtime;
use tokio::signal::unix::{SignalKind, signal};

struct Args {
    wasm: String,
    address: String,
    cache_dir: Option<String>,
    max_instances: Option<usize>,
}

fn parse_args() -> Result<Args> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        wasm: String::new(),
        address: "127.0.0.1:8080".into(),
        cache_dir: None,
        max_instances: None,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--wasm" => parsed.wasm = value()?,
            "--address" => parsed.address = value()?,
            "--cache-dir" => parsed.cache_dir = Some(value()?),
            "--max-instances" => parsed.max_instances = Some(value()?.parse().context("--max-instances")?),
            other => bail!("unknown argument `{other}`: see the usage at the top of examples/ingress_bench.rs"),
        }
    }
    if parsed.wasm.is_empty() {
        bail!("--wasm <component.wasm> is required");
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = parse_args()?;
    let wasm = std::fs::read(&args.wasm).with_context(|| format!("reading {}", args.wasm))?;
    let mut builder = Runtime::builder();
    if let Some(dir) = &args.cache_dir {
        builder = builder.cache_dir(dir);
    }
    let runtime = builder.build().context("building the runtime")?;
    let component = tokio::task::spawn_blocking(move || runtime.load("hello", &wasm))
        .await?
        .context("loading the component")?;
    if let Some(max) = args.max_instances {
        component.set_instance_permits(Some(Arc::new(tokio::sync::Semaphore::new(max))));
    }
    let ingress = HttpIngress::new(IngressSettings::default(), move |id: &str| {
        (id == "hello").then(|| component.clone())
    })?;
    let config = HashMap::from([("address", args.address.as_str())]);
    let address = ingress.add_route(RouteKey::new("hello", "default"), config)?;
    println!("ready {address}");
    std::io::stdout().flush()?;

    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    ingress.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
