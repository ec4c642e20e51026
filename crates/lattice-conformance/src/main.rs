//! `lattice-conformance`: drives whatever hosts are on a lattice through
//! every wasmCloud v1 control operation — ping, inventory, labels, config,
//! claims, links, component auction/scale/update, provider
//! auction/start/stop, registry credentials, host stop — and checks each
//! reply, each event and the JetStream bucket entries field for field.
//!
//! It needs a NATS URL and nothing else: it signs its own test component
//! (loaded by the hosts from a `file://` reference, so they must run on this
//! machine with file loads allowed) and assumes nothing about which
//! implementation the hosts are. Each check has an id and a one-line
//! description; the output is a table or, with `-o json`, one JSON document;
//! the exit code is 1 when any check failed.

mod fixture;
mod lattice;
mod report;
mod shape;
mod suite;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Checks the hosts of a lattice against the wasmCloud v1 control interface"
)]
struct Cli {
    /// NATS server of the lattice.
    #[arg(long, env = "WASMCLOUD_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats: String,
    /// Lattice name.
    #[arg(short = 'x', long, env = "WASMCLOUD_LATTICE", default_value = "default")]
    lattice: String,
    /// Control topic prefix of the hosts.
    #[arg(long, default_value = "wasmbus.ctl")]
    ctl_topic_prefix: String,
    /// JetStream domain of the lattice's buckets.
    #[arg(long, env = "WASMCLOUD_JS_DOMAIN")]
    js_domain: Option<String>,
    /// Wait until this many hosts answer `host.ping` (fails if fewer do).
    #[arg(long, default_value_t = 1)]
    hosts: usize,
    /// How long to wait for the hosts, in seconds.
    #[arg(long, default_value_t = 30)]
    host_wait_secs: u64,
    /// How long to wait for a heartbeat, in seconds (hosts beat every 30 s by default).
    #[arg(long, default_value_t = 35)]
    heartbeat_wait_secs: u64,
    /// How long single requests and events are waited for, in seconds.
    #[arg(long, default_value_t = 20)]
    timeout_secs: u64,
    /// How long scatter-gather requests collect answers, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    gather_ms: u64,
    /// Also stop one host with `host.stop` at the end (it does not come back).
    #[arg(long)]
    stop_host: bool,
    /// Where the signed test components are written; the hosts must be able to read it.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&cli)) {
        Ok(report) => {
            match cli.output {
                Output::Text => print!("{}", report.table()),
                Output::Json => println!("{}", report.json()),
            }
            if report.failed() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: &Cli) -> Result<report::Report> {
    let timeout = Duration::from_secs(cli.timeout_secs);
    let lattice = lattice::Lattice::connect(
        &cli.nats,
        &cli.lattice,
        &cli.ctl_topic_prefix,
        timeout,
        cli.js_domain.clone(),
    )
    .await?;
    let fixture = fixture::Fixture::create(cli.work_dir.as_deref())?;
    let options = suite::Options {
        hosts: cli.hosts,
        host_wait: Duration::from_secs(cli.host_wait_secs),
        heartbeat_wait: Duration::from_secs(cli.heartbeat_wait_secs),
        gather_window: Duration::from_millis(cli.gather_ms),
        event_wait: timeout,
        stop_host: cli.stop_host,
    };
    suite::run(&lattice, &options, fixture).await
}
