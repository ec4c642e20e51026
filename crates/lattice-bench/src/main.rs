//! `lattice-bench`: the lattice side of `cargo xtask bench`.
//!
//! xtask owns the measurement (it spawns servers, runs `wrk` and samples
//! memory); everything that speaks a protocol lives here, on the workspace's
//! own libraries: the control-interface client over `async-nats` to deploy,
//! and a `hyper` client to see when a server answers. Three subcommands:
//!
//! - `guest <name>` prints the path of a test guest (built in release by
//!   `lattice-test-support`), so the bench runs the very components the tests run;
//! - `probe <url>` waits until `GET <url>` answers a given status;
//! - `lattice <scenario>` starts a `nats-server` (and a `redis-server` or a
//!   `docker-registry` when the scenario needs one), hosts and providers, deploys the scenario,
//!   reports what it timed, then prints `serving` and keeps everything up
//!   until its standard input closes.
//!
//! Output of `lattice` is one tab-separated record per line, for xtask:
//! `ready <label> <ms>`, `first-200 <label> <ms>`, `idle-rss-kib <label>
//! <kib>` and finally `serving <url> <pid>[,<pid>…]` (the processes whose
//! memory counts as the server's).

mod lattice;
mod probe;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};

/// The lattice side of `cargo xtask bench`.
#[derive(Debug, Parser)]
#[command(name = "lattice-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the path of a test guest component, e.g. `hello-http`.
    Guest { name: String },
    /// Wait until `GET <url>` answers `--status`.
    Probe {
        url: String,
        #[arg(long, default_value_t = 200)]
        status: u16,
        #[arg(long, default_value_t = 120)]
        timeout_secs: u64,
    },
    /// Deploy a scenario on a fresh lattice and serve it until stdin closes.
    Lattice {
        #[arg(value_enum)]
        scenario: Scenario,
        /// The `wasmcloud` host binary.
        #[arg(long)]
        host: PathBuf,
        /// The http-server provider binary (scenario `kvcounter-providers`).
        #[arg(long)]
        http_server_provider: Option<PathBuf>,
        /// The keyvalue-redis provider binary (scenario `kvcounter-providers`).
        #[arg(long)]
        keyvalue_redis_provider: Option<PathBuf>,
    },
}

/// What `lattice` deploys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Scenario {
    /// The hello guest behind the built-in HTTP server, timed from a cold
    /// and from a warm compile cache.
    Hello,
    /// kvcounter behind the built-in HTTP server, counting in the built-in
    /// key-value store.
    KvcounterBuiltin,
    /// kvcounter behind the http-server provider, counting in Redis through
    /// the keyvalue-redis provider: every request crosses NATS twice.
    KvcounterProviders,
    /// hello started by reference on fresh hosts: `file://` against a local OCI registry,
    /// cold and warm, timed to the first 200.
    OciStart,
    /// As `hello`, with the hosts' metrics and traces on, exported to a real OTLP/HTTP
    /// receiver: the cost of observability on the HTTP path.
    HelloObservability,
    /// As `hello-observability`, with 1% of traces sampled (`OTEL_TRACES_SAMPLER` =
    /// `parentbased_traceidratio`, argument 0.01), as busy services are traced.
    HelloObservabilitySampled,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Guest { name } => {
            println!("{}", guest(&name)?);
            Ok(())
        }
        Command::Probe {
            url,
            status,
            timeout_secs,
        } => runtime()?.block_on(probe::wait_status(&url, status, Duration::from_secs(timeout_secs))),
        Command::Lattice {
            scenario,
            host,
            http_server_provider,
            keyvalue_redis_provider,
        } => {
            let providers = lattice::ProviderBinaries {
                http_server: http_server_provider,
                keyvalue_redis: keyvalue_redis_provider,
            };
            runtime()?.block_on(lattice::run(scenario, &host, &providers))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")
}

fn guest(name: &str) -> Result<&'static str> {
    use lattice_test_support::guests;
    Ok(match name {
        "hello-http" => guests::HELLO_HTTP,
        "http-kvcounter" => guests::HTTP_KVCOUNTER,
        other => bail!("no guest `{other}` in this bench; known: hello-http, http-kvcounter"),
    })
}

/// One tab-separated output record, flushed at once: xtask reads them live.
pub(crate) fn record(fields: &[&str]) {
    let mut out = std::io::stdout().lock();
    // A closed stdout means xtask is gone; the run ends on stdin's EOF.
    let _ = writeln!(out, "{}", fields.join("\t"));
    let _ = out.flush();
}
