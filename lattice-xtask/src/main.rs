//! `cargo xtask`: project automation that drives cargo and friends; it never links the product.
//!
//! `main` only parses the command line and dispatches: each subcommand lives in its own module.
//! See `cargo xtask --help` and CONTRIBUTING.md.

mod bench;
mod ci;
mod cmd;
mod conformance;
mod deps;
mod examples;
mod flags;
mod fuzz;
mod prereqs;
mod records;
mod release;
mod servers;
mod tidy;
mod tour;

use std::process::ExitCode;

use anyhow::Result;

use crate::flags::Args;

const HELP: &str = "\
cargo xtask: project automation (run from anywhere inside the repository)

USAGE:
    cargo xtask <COMMAND> [ARGS]

COMMANDS:
    ci [STEP...]                  run what CI runs, in order, with a summary table
                                  (steps: prereqs fmt clippy test tidy deps tour examples conformance release;
                                  name some to run only those)
    prereqs                       install rustup targets and cargo-release, check nats-server/redis-server/docker-registry/openssl
    tidy                          fast repository rules (manifests, `//!` headers, ADR/RFC records)
    deps                          architecture invariants: crates that must not depend on others
    release <LEVEL> [--execute]   plan and (with --execute) cut a release with cargo-release;
                                  LEVEL is patch, minor, major or an explicit X.Y.Z
    bench [--quick] [--no-host] [--no-build] [--only SECTIONS] [--baseline REV] [--runs N]
                                  HTTP hello through the built-in ingress and the wasmcloud host vs
                                  `wasmtime serve`: req/s, p50/p99 at c=1/16/64, start-up, RSS;
                                  kvcounter through providers vs built-ins at c=16/64; start by
                                  reference; the host with metrics and traces on vs off
                                  (--only ingress,host,kvcounter,oci-start,observability,wasmtime runs
                                  those sections; --no-host skips everything that needs nats-server;
                                  --baseline REV also runs the host of git revision REV
                                  beside this one, hello at c=1/16/64, in turn and at once;
                                  --runs N loads each pair at once N times, default 5, and
                                  from 6 also gives the median ratio a 95% confidence interval)
    fuzz [TARGET...] [--time S] [--jobs N]
                                  run the fuzz targets (crates/lattice-fuzz) under libFuzzer,
                                  S seconds each (default 600), N at once; installs cargo-fuzz
    conformance [--nats URL --lattice NAME --hosts N --stop-host] [-o json]
                                  the control-interface conformance suite against the hosts of a
                                  lattice; without --nats, against two fresh hosts of our own
    adr new <TITLE>               create the next architecture decision record from adr/template.md
    rfc new <TITLE>               create the next RFC from rfcs/template.md
    tour                          run the README's five-minute tour against freshly built binaries
    help                          print this help

ENVIRONMENT:
    CI=true                       let `prereqs` install missing system packages with apt-get (as root)
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let mut args = Args::from_env();
    // Every path below is relative to the workspace root, wherever cargo was invoked from.
    std::env::set_current_dir(cmd::project_root())?;

    if args.wants_help() {
        print!("{HELP}");
        return Ok(());
    }
    let Some(command) = args.next_positional() else {
        print!("{HELP}");
        return Ok(());
    };
    match command.as_str() {
        "help" => {
            print!("{HELP}");
            Ok(())
        }
        "ci" => {
            let steps = args.rest_positionals();
            args.finish()?;
            ci::run(&steps)
        }
        "prereqs" => {
            args.finish()?;
            prereqs::run()
        }
        "tidy" => {
            args.finish()?;
            tidy::run()
        }
        "tour" => {
            args.finish()?;
            tour::run()
        }
        "deps" => {
            args.finish()?;
            deps::run()
        }
        "release" => {
            let execute = args.flag("--execute");
            let level = args.required_positional("LEVEL (patch, minor, major or X.Y.Z)")?;
            args.finish()?;
            release::run(&level, execute)
        }
        "bench" => {
            let mut options =
                bench::Options::new(args.flag("--quick"), args.flag("--no-host"), args.flag("--no-build"));
            if let Some(only) = args.value("--only")? {
                options = options.only(&only)?;
            }
            if let Some(runs) = args.value("--runs")? {
                options = options.at_once_runs(&runs)?;
            }
            let baseline = args.value("--baseline")?;
            args.finish()?;
            bench::run(options, baseline.as_deref())
        }
        "conformance" => {
            let options = conformance::Options {
                nats: args.value("--nats")?,
                lattice: args.value("--lattice")?,
                hosts: args.value("--hosts")?,
                output: args.value("--output")?.or(args.value("-o")?),
                stop_host: args.flag("--stop-host"),
            };
            args.finish()?;
            conformance::run(&options)
        }
        "fuzz" => {
            let seconds = args.value("--time")?;
            let jobs = args.value("--jobs")?;
            let targets = args.rest_positionals();
            args.finish()?;
            fuzz::run(&fuzz::Options::parse(targets, seconds, jobs)?)
        }
        "adr" | "rfc" => {
            let kind = if command == "adr" { records::ADR } else { records::RFC };
            let action = args.required_positional("an action (`new`)")?;
            if action != "new" {
                anyhow::bail!("unknown action `{command} {action}`: the only action is `{command} new <TITLE>`");
            }
            let title = args.required_positional("a TITLE in quotes")?;
            args.finish()?;
            records::new(kind, &title)
        }
        other => anyhow::bail!("unknown command `{other}`: run `cargo xtask --help` for the list"),
    }
}
