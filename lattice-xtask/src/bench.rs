//! `cargo xtask bench`: speed, side by side in one run.
//!
//! - HTTP hello: the built-in ingress against `wasmtime serve` on the same
//!   component — requests/s and p50/p99 at concurrency 1, 16 and 64, start-up
//!   and resident memory.
//! - kvcounter: the provider path (http-server provider → component →
//!   keyvalue-redis provider, both hops over NATS) against the all-built-in
//!   path (built-in HTTP server and key-value store) at concurrency 16 and 64.
//!
//! - start by reference: hello from a `file://` path against the same
//!   component in a local OCI registry (`docker-registry`), cold (pull +
//!   compile) and warm (cached layer, warm compile cache; by tag and by
//!   digest), each on a fresh host process, timed to the first 200.
//!
//! - observability: hello through the host with its metrics and traces on
//!   (metrics exported every second, one span per request batched, both over
//!   OTLP/HTTP to a real receiver) against off, at concurrency 1, 16 and 64,
//!   loaded at once and measured in turn.
//!
//! - with `--baseline REV`: the host built from this tree against the host
//!   built from git revision REV, hello at concurrency 1, 16 and 64, both
//!   deployed at once, loaded at once and measured in turn — how a change
//!   moved the HTTP path, in one run.
//!
//! Two ways to compare two servers: in turn (each alone on the machine, so
//! req/s is what it serves there; a drift of a shared machine between runs
//! shows as a difference), and loaded at once (one `wrk` each, started
//! together: both share the cores under the same conditions, so their ratio
//! is one of CPU per request, and a drift moves both alike). Runs in turn
//! also give each server's CPU time per request (user and system time of its
//! processes from `/proc`, over the requests `wrk` counted), which another
//! tenant of a shared machine moves far less than requests/s.
//!
//! Load comes from `wrk`. xtask spawns and measures; everything that speaks
//! a protocol (deploying through the control interface, waiting for a first
//! answer) is `lattice-bench` of `crates/lattice-bench`, on the
//! workspace's own libraries. Servers measured:
//! - `ingress`: the ingress in-process over the runtime, no NATS
//!   (`crates/lattice-host/examples/ingress_bench.rs`);
//! - `host`: the `wasmcloud` binary with the built-in HTTP server and a
//!   link, deployed over NATS like wash would (needs `nats-server`);
//! - `wasmtime serve` of the workspace's wasmtime version, installed under
//!   the target directory on first use (`cargo install wasmtime-cli`).

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::cmd::{self, on_path};
use crate::servers::free_port;

/// Concurrency levels measured, as the issue asks.
const CONCURRENCY: [u32; 3] = [1, 16, 64];

/// Concurrency levels of the kvcounter comparison, as issue 9 asks.
const KV_CONCURRENCY: [u32; 2] = [16, 64];

/// The parts of a run, for `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    /// The ingress in-process over the runtime.
    Ingress,
    /// Hello through the `wasmcloud` host.
    Host,
    /// kvcounter through providers against built-ins.
    Kvcounter,
    /// Start by reference: `file://` against OCI.
    OciStart,
    /// Hello through the host with metrics and traces on against off.
    Observability,
    /// `wasmtime serve`, the peer.
    Wasmtime,
}

impl Section {
    const ALL: [(&'static str, Self); 6] = [
        ("ingress", Self::Ingress),
        ("host", Self::Host),
        ("kvcounter", Self::Kvcounter),
        ("oci-start", Self::OciStart),
        ("observability", Self::Observability),
        ("wasmtime", Self::Wasmtime),
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Options of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// Seconds of load per measurement.
    pub(crate) seconds: u32,
    /// Skip the measurements that need a lattice (NATS, hosts, providers).
    pub(crate) no_host: bool,
    /// Use the release binaries already built.
    pub(crate) no_build: bool,
    /// The sections to run, one bit per [`Section`]; 0 runs them all.
    only: u8,
    /// Runs of each comparison of two servers loaded at once.
    at_once_runs: usize,
}

impl Options {
    pub(crate) fn new(quick: bool, no_host: bool, no_build: bool) -> Self {
        Self {
            seconds: if quick { 3 } else { 10 },
            no_host,
            no_build,
            only: 0,
            at_once_runs: if quick { 1 } else { AT_ONCE_RUNS },
        }
    }

    /// Loads two servers at once `runs` times per comparison and concurrency (`--runs`).
    pub(crate) fn at_once_runs(mut self, runs: &str) -> Result<Self> {
        match runs.parse::<usize>() {
            Ok(runs @ 1..=MAX_AT_ONCE_RUNS) => {
                self.at_once_runs = runs;
                Ok(self)
            }
            _ => bail!(
                "--runs {runs}: give a whole number of runs from 1 to {MAX_AT_ONCE_RUNS} \
                 ({MIN_RUNS_FOR_INTERVAL} or more also give the median a 95% confidence interval)"
            ),
        }
    }

    /// Runs only the sections named in `list` (comma-separated).
    pub(crate) fn only(mut self, list: &str) -> Result<Self> {
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let Some((_, section)) = Section::ALL.iter().find(|(known, _)| *known == name) else {
                let known: Vec<&str> = Section::ALL.iter().map(|(n, _)| *n).collect();
                bail!("--only {name}: no such section; use some of {}", known.join(", "));
            };
            self.only |= section.bit();
        }
        Ok(self)
    }

    fn wants(self, section: Section) -> bool {
        let needs_host = !matches!(section, Section::Ingress | Section::Wasmtime);
        (self.only == 0 || self.only & section.bit() != 0) && !(needs_host && self.no_host)
    }
}

/// One load measurement.
#[derive(Debug, Clone, Copy, Default)]
struct Load {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Peak resident memory of the server while loaded, KiB.
    peak_rss_kib: u64,
    /// Requests answered in the run.
    requests: u64,
    /// CPU time the server's processes spent in the run, per request answered, µs (0: not
    /// measured). Unlike requests/s, the machine's other tenants do not move it much.
    cpu_us_per_request: f64,
}

/// Everything measured for one server.
#[derive(Debug, Default)]
struct Report {
    name: String,
    loads: Vec<(u32, Load)>,
    /// Process start → ready to serve, by circumstance.
    ready: Vec<(String, Duration)>,
    /// What was timed up to the first 200 OK, and how long it took.
    first_200: Vec<(String, Duration)>,
    /// Resident memory once serving and idle, KiB, by circumstance.
    idle_rss: Vec<(String, u64)>,
}

pub(crate) fn run(options: Options, baseline: Option<&str>) -> Result<()> {
    let root = cmd::project_root();
    let target = target_dir(&root);
    let wrk = ensure_wrk()?;
    if baseline.is_some() && options.no_host {
        bail!("--baseline compares two hosts, and --no-host leaves the hosts out: drop one of them");
    }
    let version = wasmtime_version(&root)?;
    // The longest step: start it first, it builds while the rest is built.
    let mut wasmtime_install = if options.wants(Section::Wasmtime) {
        start_wasmtime_install(&target, &version)?
    } else {
        None
    };
    let release = target.join("release");
    if !options.no_build {
        // The bench guests are built for the wasm targets `rust-toolchain.toml` lists.
        crate::prereqs::rustup_targets()?;
        cmd::run(&mut cmd::cmd(
            "cargo",
            [
                "build",
                "--release",
                "-p",
                "lattice-host",
                "--bin",
                "wasmcloud",
                "--example",
                "ingress_bench",
                "-p",
                "lattice-bench",
                "--bin",
                "lattice-bench",
                "-p",
                "lattice-provider-http-server",
                "--bin",
                "http-server-provider",
                "-p",
                "lattice-provider-keyvalue-redis",
                "--bin",
                "keyvalue-redis-provider",
            ],
        ))?;
    }
    let bench = Tools {
        lattice_bench: release.join("lattice-bench"),
        wrk,
    };
    let wasm = bench.guest("hello-http")?;
    let wasmtime = match wasmtime_install.take() {
        Some(mut child) => {
            eprintln!("waiting for `cargo install wasmtime-cli --version {version}` to finish");
            let status = child.wait()?;
            if !status.success() {
                bail!("installing wasmtime-cli {version} failed ({status}): see the output above");
            }
            Some(wasmtime_bin(&target, &version))
        }
        None => options
            .wants(Section::Wasmtime)
            .then(|| wasmtime_bin(&target, &version)),
    };
    let mut reports = Vec::new();

    let cache = target.join("bench-cache");
    std::fs::create_dir_all(&cache)?;
    if options.wants(Section::Ingress) {
        reports.push(bench_ingress(
            &bench,
            &release.join("examples/ingress_bench"),
            &wasm,
            &cache,
            options,
        )?);
    }
    let host = host_of(&release);
    if options.wants(Section::Host) {
        let mut hello = bench.lattice("host", "hello", &host, &release)?;
        measure(
            &hello.server,
            &bench.wrk,
            &CONCURRENCY,
            options.seconds,
            &mut hello.report,
        )?;
        reports.push(hello.report);
    }
    let kvcounter = if options.wants(Section::Kvcounter) {
        compare_kvcounter(&bench, &host, &release, options)?
    } else {
        Vec::new()
    };
    let by_reference = if options.wants(Section::OciStart) {
        Some(
            bench
                .lattice("start by reference", "oci-start", &host, &release)?
                .report,
        )
    } else {
        None
    };
    let observability = if options.wants(Section::Observability) {
        let on = bench.lattice("observability on", "hello-observability", &host, &release)?;
        let sampled = bench.lattice(
            "observability on, 1% sampled",
            "hello-observability-sampled",
            &host,
            &release,
        )?;
        let off = bench.lattice("observability off", "hello", &host, &release)?;
        let together = [
            at_once(&bench, &on.server, &off.server, &CONCURRENCY, options)?,
            at_once(&bench, &sampled.server, &off.server, &CONCURRENCY, options)?,
        ];
        (in_turn(&bench, [on, sampled, off], &CONCURRENCY, options)?, together)
    } else {
        (Vec::new(), [Vec::new(), Vec::new()])
    };
    let versus = match baseline {
        Some(rev) => {
            let (name, old_host) = build_baseline(&root, &target, rev)?;
            compare_hosts(&bench, &host_of(&release), (&name, &old_host), &release, options)?
        }
        None => (Vec::new(), Vec::new()),
    };
    if let Some(wasmtime) = &wasmtime {
        reports.push(bench_wasmtime(&bench, wasmtime, &wasm, options)?);
    }
    if !reports.is_empty() {
        print_reports(&reports, &version, options);
    }
    print_kvcounter(&kvcounter, options);
    if let Some(report) = &by_reference {
        print_start_by_reference(report);
    }
    print_versus(&versus.0, &versus.1, options);
    print_observability(&observability.0, &observability.1, options);
    Ok(())
}

/// The HTTP path with metrics and traces on next to off, as ratios.
fn print_observability(runs: &[Report], together: &[Ratios; 2], options: Options) {
    let [on, sampled, off] = runs else {
        return;
    };
    print_at_once(
        "all traced / off, 1% sampled / off",
        &[&together[0], &together[1]],
        options,
    );
    println!();
    println!(
        "## HTTP hello: metrics and traces on (OTLP/HTTP to a receiver on this machine: metrics every second; every request traced, or 1% sampled) vs off (wrk -t1, {}s per run, median of {} runs taken in turn)",
        options.seconds,
        if options.seconds < 10 { 1 } else { KV_REPEATS }
    );
    println!();
    println!(
        "| c | all traced req/s | 1% sampled req/s | off req/s | all / off | sampled / off | p99 ms all | p99 ms sampled | p99 ms off |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (((c, on), (_, sampled)), (_, off)) in on.loads.iter().zip(&sampled.loads).zip(&off.loads) {
        println!(
            "| {c} | {:.0} | {:.0} | {:.0} | {:.2}× | {:.2}× | {:.3} | {:.3} | {:.3} |",
            on.rps,
            sampled.rps,
            off.rps,
            on.rps / off.rps,
            sampled.rps / off.rps,
            on.p99_ms,
            sampled.p99_ms,
            off.p99_ms
        );
    }
    print_cpu(&[on, sampled, off], &[(0, 2), (1, 2)]);
}

fn host_of(release: &Path) -> PathBuf {
    release.join("wasmcloud")
}

/// Builds the `wasmcloud` binary of git revision `rev` (in release, as its
/// own manifest says) from an export of that tree under the target
/// directory; returns the revision's short name and the binary.
fn build_baseline(root: &Path, target: &Path, rev: &str) -> Result<(String, PathBuf)> {
    let short = cmd::read(cmd::cmd("git", ["rev-parse", "--short", &format!("{rev}^{{commit}}")]).current_dir(root))
        .with_context(|| format!("--baseline {rev}: not a git revision of this repository"))?;
    let short = short.trim().to_owned();
    let base = target.join("bench-baseline");
    let tree = base.join(&short);
    if !tree.join("Cargo.toml").is_file() {
        std::fs::create_dir_all(&tree)?;
        let archive = cmd::cmd("git", ["archive", "--format=tar", &short])
            .current_dir(root)
            .stdout(Stdio::piped())
            .spawn()
            .context("starting git archive")?;
        let status = cmd::cmd("tar", ["-x", "-C"])
            .arg(&tree)
            .stdin(archive.stdout.context("git archive stdout")?)
            .status()
            .context("unpacking git archive with tar")?;
        if !status.success() {
            bail!("unpacking revision {short} into {} failed ({status})", tree.display());
        }
    }
    // A target directory of its own: the revision's sources and lock file differ from ours.
    // The binary is named, not its package: the package was `wasmcloud-host` before ADR 0016.
    let build = base.join("target");
    cmd::run(
        cmd::cmd("cargo", ["build", "--release", "--locked", "--bin", "wasmcloud"])
            .current_dir(&tree)
            .env("CARGO_TARGET_DIR", &build),
    )
    .with_context(|| format!("building the host of revision {short}"))?;
    Ok((short, build.join("release").join("wasmcloud")))
}

/// Hello through this tree's host and the baseline's, each on a lattice of
/// its own, both deployed at once, loaded at once and then in turn.
fn compare_hosts(
    tools: &Tools,
    host: &Path,
    (name, old_host): (&str, &Path),
    release: &Path,
    options: Options,
) -> Result<(Vec<Report>, Ratios)> {
    let now = tools.lattice("host", "hello", host, release)?;
    let then = tools.lattice(&format!("host @ {name}"), "hello", old_host, release)?;
    let together = at_once(tools, &now.server, &then.server, &CONCURRENCY, options)?;
    Ok((in_turn(tools, [now, then], &CONCURRENCY, options)?, together))
}

/// Ratios of servers loaded at once (see [`at_once`]): one column per comparison, each the
/// median and every run.
fn print_at_once(what: &str, comparisons: &[&[(u32, Vec<f64>)]], options: Options) {
    let Some(first) = comparisons.first() else {
        return;
    };
    println!();
    println!(
        "## HTTP hello, loaded at once (one wrk -t1 each, {}s per run, median of {} runs, which starts first alternating; 95% CI: the median's confidence interval, from {MIN_RUNS_FOR_INTERVAL} runs): {what}",
        options.seconds, options.at_once_runs,
    );
    println!();
    println!("| c |{}", " median ratio | 95% CI | runs |".repeat(comparisons.len()));
    println!("|---:|{}", "---:|---:|---|".repeat(comparisons.len()));
    for (row, (c, _)) in first.iter().enumerate() {
        let cells: String = comparisons
            .iter()
            .map(|ratios| {
                let runs = &ratios[row].1;
                let (median, all) = at_once_cells(runs);
                let interval =
                    median_interval(runs).map_or_else(|| "–".to_owned(), |(low, high)| format!("{low:.2}–{high:.2}"));
                format!(" {median:.2}× | {interval} | {all} |")
            })
            .collect();
        println!("| {c} |{cells}");
    }
}

/// This tree's host next to the baseline's, as ratios.
fn print_versus(runs: &[Report], together: &[(u32, Vec<f64>)], options: Options) {
    let [now, then] = runs else {
        return;
    };
    print_at_once(&format!("{} / {}", now.name, then.name), &[together], options);
    println!();
    println!(
        "## HTTP hello: {} vs {} (wrk -t1, {}s per run, median of {} runs taken in turn)",
        now.name,
        then.name,
        options.seconds,
        if options.seconds < 10 { 1 } else { KV_REPEATS }
    );
    println!();
    println!(
        "| c | {} req/s | {} req/s | ratio | p99 ms | p99 ms before |",
        now.name, then.name
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for ((c, new), (_, old)) in now.loads.iter().zip(&then.loads) {
        println!(
            "| {c} | {:.0} | {:.0} | {:.2}× | {:.3} | {:.3} |",
            new.rps,
            old.rps,
            new.rps / old.rps,
            new.p99_ms,
            old.p99_ms
        );
    }
    print_cpu(&[now, then], &[(0, 1)]);
}

/// The servers' CPU time per request of the runs taken in turn (their median), and as ratios
/// of requests per CPU second: for each `(a, b)` of `pairs`, `b`'s CPU per request over `a`'s,
/// comparable with a ratio of requests/s where CPU is the limit.
fn print_cpu(reports: &[&Report], pairs: &[(usize, usize)]) {
    let Some(first) = reports.first() else {
        return;
    };
    println!();
    println!("CPU time of each server's processes per request, µs (median of the same runs):");
    println!();
    let names: String = reports.iter().map(|r| format!(" {} |", r.name)).collect();
    let ratios: String = pairs
        .iter()
        .map(|&(a, b)| format!(" {} / {} |", reports[a].name, reports[b].name))
        .collect();
    println!("| c |{names}{ratios}");
    println!("|---:|{}", "---:|".repeat(reports.len() + pairs.len()));
    for (row, (c, _)) in first.loads.iter().enumerate() {
        let cpu = |report: usize| reports[report].loads[row].1.cpu_us_per_request;
        let values: String = (0..reports.len()).map(|r| format!(" {:.1} |", cpu(r))).collect();
        let ratios: String = pairs
            .iter()
            .map(|&(a, b)| format!(" {:.2}× |", cpu(b) / cpu(a)))
            .collect();
        println!("| {c} |{values}{ratios}");
    }
}

fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

fn ensure_wrk() -> Result<PathBuf> {
    if let Some(wrk) = on_path("wrk") {
        return Ok(wrk);
    }
    eprintln!("wrk not found: installing it with apt-get");
    cmd::run(&mut cmd::cmd("apt-get", ["install", "-y", "wrk"]))
        .or_else(|_| {
            cmd::run(&mut cmd::cmd("apt-get", ["update"]))?;
            cmd::run(&mut cmd::cmd("apt-get", ["install", "-y", "wrk"]))
        })
        .context("installing wrk (the load generator) failed: install the `wrk` package")?;
    on_path("wrk").context("wrk installed but not on PATH")
}

/// The wasmtime version the workspace resolved, from `Cargo.lock`.
fn wasmtime_version(root: &Path) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let lock: toml::Value = toml::from_str(&lock).context("parsing Cargo.lock")?;
    lock.get("package")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| p.get("name").and_then(toml::Value::as_str) == Some("wasmtime"))
        .and_then(|p| p.get("version").and_then(toml::Value::as_str))
        .map(str::to_string)
        .context("Cargo.lock has no wasmtime package")
}

fn wasmtime_root(target: &Path, version: &str) -> PathBuf {
    target.join("bench-tools").join(format!("wasmtime-{version}"))
}

fn wasmtime_bin(target: &Path, version: &str) -> PathBuf {
    wasmtime_root(target, version).join("bin").join("wasmtime")
}

/// Starts installing wasmtime-cli of exactly `version` if it is missing.
fn start_wasmtime_install(target: &Path, version: &str) -> Result<Option<Child>> {
    if wasmtime_bin(target, version).is_file() {
        return Ok(None);
    }
    let root = wasmtime_root(target, version);
    let mut install = cmd::cmd(
        "cargo",
        ["install", "wasmtime-cli", "--locked", "--version", version, "--root"],
    );
    install.arg(&root);
    // Its own target directory: the shared one is locked by our own build.
    install.env("CARGO_TARGET_DIR", target.join("bench-tools").join("build"));
    eprintln!("$ {}", cmd::display(&install));
    Ok(Some(install.spawn().context("starting cargo install wasmtime-cli")?))
}

/// The programs a run drives.
struct Tools {
    /// `crates/lattice-bench`'s binary, built in release.
    lattice_bench: PathBuf,
    wrk: PathBuf,
}

/// One lattice scenario, deployed and serving.
struct LatticeRun {
    server: Server,
    report: Report,
}

impl Tools {
    /// The path of a test guest, built in release by `lattice-test-support`.
    fn guest(&self, name: &str) -> Result<PathBuf> {
        let out = cmd::read(Command::new(&self.lattice_bench).args(["guest", name]))?;
        Ok(PathBuf::from(out.trim()))
    }

    /// Waits until `GET /` of `addr` answers `status` (or `server` exits);
    /// returns when it did.
    fn wait_status(&self, addr: SocketAddr, status: u16, server: &mut Child) -> Result<Instant> {
        let mut probe = Command::new(&self.lattice_bench)
            .args(["probe", &format!("http://{addr}/"), "--status", &status.to_string()])
            .spawn()
            .context("starting lattice-bench probe")?;
        loop {
            if let Some(done) = probe.try_wait()? {
                let answered = Instant::now();
                if !done.success() {
                    bail!("no {status} from {addr}: see the error above");
                }
                return Ok(answered);
            }
            if let Some(exit) = server.try_wait()? {
                let _ = probe.kill();
                let _ = probe.wait();
                bail!("the server exited ({exit}) before answering {status} on {addr}");
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }

    /// Starts `lattice-bench lattice <scenario>` and reads what it timed
    /// until it serves.
    fn lattice(&self, name: &str, scenario: &str, host: &Path, release: &Path) -> Result<LatticeRun> {
        let mut child = Command::new(&self.lattice_bench)
            .args(["lattice", scenario, "--host"])
            .arg(host)
            .arg("--http-server-provider")
            .arg(release.join("http-server-provider"))
            .arg("--keyvalue-redis-provider")
            .arg(release.join("keyvalue-redis-provider"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting lattice-bench lattice")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("lattice-bench stdout")?;
        let mut report = Report {
            name: name.into(),
            ..Report::default()
        };
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            let fields: Vec<&str> = line.split('\t').collect();
            let ms = |value: &str| value.parse::<f64>().map(|ms| Duration::from_secs_f64(ms / 1000.0));
            match fields.as_slice() {
                ["ready", label, value] => report.ready.push(((*label).into(), ms(value)?)),
                ["first-200", label, value] => report.first_200.push(((*label).into(), ms(value)?)),
                ["idle-rss-kib", label, value] => report.idle_rss.push(((*label).into(), value.parse()?)),
                ["serving", url, pid] => {
                    let addr = url
                        .trim_start_matches("http://")
                        .trim_end_matches('/')
                        .parse()
                        .with_context(|| format!("lattice-bench serves at `{url}`, not http://ip:port/"))?;
                    let server = Server {
                        child,
                        stdin,
                        addr,
                        rss_pid: pid.parse()?,
                    };
                    return Ok(LatticeRun { server, report });
                }
                _ => bail!("lattice-bench printed an unknown record: {line:?}"),
            }
        }
        let status = child.wait()?;
        bail!("lattice-bench {scenario} exited ({status}) before serving: see the error above")
    }
}

/// A spawned server: stopped on drop by closing its standard input (the
/// way `lattice-bench` is told to tear its lattice down), then killed.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    addr: SocketAddr,
    /// The process whose memory (with its children's) is the server's.
    rss_pid: u32,
}

impl Server {
    fn spawned(child: Child, addr: SocketAddr) -> Self {
        let rss_pid = child.id();
        Self {
            child,
            stdin: None,
            addr,
            rss_pid,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.stdin.take().is_some() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if matches!(self.child.try_wait(), Ok(Some(_)) | Err(_)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of `pid` and its descendants (a host's provider
/// processes), in KiB.
fn rss_kib(pid: u32) -> u64 {
    sum_over_tree(pid, &|pid| {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find_map(|line| line.strip_prefix("VmRSS:"))?;
        line.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// `read` of `pid` and of each of its descendants (0 where it reads nothing), added up.
fn sum_over_tree(pid: u32, read: &dyn Fn(u32) -> Option<u64>) -> u64 {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    read(pid).unwrap_or(0)
        + children
            .split_whitespace()
            .filter_map(|child| child.parse().ok())
            .map(|child| sum_over_tree(child, read))
            .sum::<u64>()
}

/// Warms the server up, then loads it at each concurrency.
fn measure(server: &Server, wrk: &Path, concurrency: &[u32], seconds: u32, report: &mut Report) -> Result<()> {
    wrk_run(wrk, server, 16, 2)?;
    for &connections in concurrency {
        let load = wrk_run(wrk, server, connections, seconds)?;
        report.loads.push((connections, load));
    }
    Ok(())
}
fn wrk_run(wrk: &Path, server: &Server, connections: u32, seconds: u32) -> Result<Load> {
    let pid = server.rss_pid;
    let cpu_before = cpu_ticks(pid);
    let mut child = spawn_wrk(wrk, server, connections, seconds)?;
    let mut peak = 0;
    while child.try_wait()?.is_none() {
        peak = peak.max(rss_kib(pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    let cpu = cpu_ticks(pid).saturating_sub(cpu_before);
    let mut load = wrk_load(child)?;
    load.peak_rss_kib = peak;
    if load.requests > 0 {
        load.cpu_us_per_request = cpu as f64 * 1e6 / clock_ticks_per_second() / load.requests as f64;
    }
    Ok(load)
}

/// CPU time (user and system) `pid` and its descendants have used, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    sum_over_tree(pid, &|pid| {
        stat_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    })
}

/// utime + stime of a `/proc/<pid>/stat` line: its 14th and 15th fields, counted after the
/// command name, which is in parentheses and may hold spaces and parentheses itself.
fn stat_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`), which `/proc/<pid>/stat` counts in.
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        cmd::read(&mut cmd::cmd("getconf", ["CLK_TCK"]))
            .ok()
            .and_then(|out| out.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn spawn_wrk(wrk: &Path, server: &Server, connections: u32, seconds: u32) -> Result<Child> {
    Command::new(wrk)
        .args([
            "-t",
            "1",
            "-c",
            &connections.to_string(),
            "-d",
            &format!("{seconds}s"),
            "--latency",
        ])
        .arg(format!("http://{}/", server.addr))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting wrk")
}

/// What a `wrk` spawned by [`spawn_wrk`] measured, once it ends.
fn wrk_load(child: Child) -> Result<Load> {
    let out = child.wait_with_output().context("waiting for wrk")?;
    parse_wrk(&String::from_utf8_lossy(&out.stdout))
}

/// Runs of two servers loaded at once, by default.
const AT_ONCE_RUNS: usize = 5;

/// The most `--runs` takes: at three concurrencies and 10 s a run, 99 runs load one pair for
/// about an hour.
const MAX_AT_ONCE_RUNS: usize = 99;

/// `a`'s requests/s over `b`'s, both loaded at once (one `wrk` each, `connections` each, started
/// together), at each concurrency: every run's ratio, sorted. The two servers share the
/// machine's cores under the same conditions, so the ratio is one of CPU per request, and a
/// drift of the machine that runs taken in turn would see (another tenant, a clock change)
/// moves both alike. Which of the two is started first alternates from run to run.
fn at_once(tools: &Tools, a: &Server, b: &Server, concurrency: &[u32], options: Options) -> Result<Ratios> {
    for server in [a, b] {
        wrk_run(&tools.wrk, server, 16, 2)?;
    }
    let mut ratios = Vec::new();
    for &connections in concurrency {
        let mut runs = Vec::with_capacity(options.at_once_runs);
        for run in 0..options.at_once_runs {
            let (first, second) = if run % 2 == 0 { (a, b) } else { (b, a) };
            let first = spawn_wrk(&tools.wrk, first, connections, options.seconds)?;
            let second = spawn_wrk(&tools.wrk, second, connections, options.seconds)?;
            // Both are waited for before either's failure is reported.
            let (first, second) = (wrk_load(first), wrk_load(second));
            let (first, second) = (first?, second?);
            let (of_a, of_b) = if run % 2 == 0 { (first, second) } else { (second, first) };
            runs.push(of_a.rps / of_b.rps);
        }
        runs.sort_by(f64::total_cmp);
        ratios.push((connections, runs));
    }
    Ok(ratios)
}

/// Runs needed for a 95% confidence interval of their median (see [`median_interval`]).
const MIN_RUNS_FOR_INTERVAL: usize = 6;

/// A distribution-free 95% confidence interval for the median of the population `sorted` (at
/// least [`MIN_RUNS_FOR_INTERVAL`] values, ascending) was drawn from: the `k`-th smallest and
/// the `k`-th largest value, for the largest `k` such that fewer than `k` of `n` fair coin
/// flips come up heads with probability at most 2.5%. It assumes only that runs are
/// independent and alike; with fewer runs there is no such interval.
fn median_interval(sorted: &[f64]) -> Option<(f64, f64)> {
    let n = sorted.len();
    // P(Binomial(n, 1/2) <= j), accumulated term by term.
    let mut term = 0.5_f64.powi(i32::try_from(n).ok()?);
    let mut below = 0.0;
    let mut k = 0;
    for j in 0..n {
        below += term;
        if below > 0.025 {
            break;
        }
        k = j + 1;
        term *= (n - j) as f64 / (j + 1) as f64;
    }
    (k >= 1).then(|| (sorted[k - 1], sorted[n - k]))
}

/// Ratios measured at once, by concurrency: every run's, sorted.
type Ratios = Vec<(u32, Vec<f64>)>;

/// One row of ratios measured at once: the median, then every run.
fn at_once_cells(runs: &[f64]) -> (f64, String) {
    let all: Vec<String> = runs.iter().map(|r| format!("{r:.2}")).collect();
    (runs[runs.len() / 2], all.join(", "))
}

fn parse_wrk(out: &str) -> Result<Load> {
    if let Some(line) = out.lines().find(|l| l.contains("Non-2xx")) {
        bail!("the server answered errors under load: {}\n{out}", line.trim());
    }
    let rps = out
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no Requests/sec in wrk output:\n{out}"))?;
    let percentile = |p: &str| {
        out.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(p))
            .and_then(|v| duration_ms(v.trim()))
            .with_context(|| format!("no {p} latency in wrk output:\n{out}"))
    };
    // `  30000 requests in 3.00s, 3.00MB read`
    let requests = out
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(count, _)| count.trim().parse().ok())
        .with_context(|| format!("no request count in wrk output:\n{out}"))?;
    Ok(Load {
        rps,
        p50_ms: percentile("50%")?,
        p99_ms: percentile("99%")?,
        peak_rss_kib: 0,
        requests,
        cpu_us_per_request: 0.0,
    })
}

/// `812.00us`, `1.23ms`, `2.00s` → milliseconds.
fn duration_ms(value: &str) -> Option<f64> {
    let split = value.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    match unit {
        "us" => Some(number / 1000.0),
        "ms" => Some(number),
        "s" => Some(number * 1000.0),
        "m" => Some(number * 60_000.0),
        _ => None,
    }
}

fn spawn_ingress(bin: &Path, wasm: &Path, cache: &Path) -> Result<(Server, Instant)> {
    let port = free_port()?;
    let started = Instant::now();
    let child = Command::new(bin)
        .arg("--wasm")
        .arg(wasm)
        .args(["--address", &format!("127.0.0.1:{port}")])
        .arg("--cache-dir")
        .arg(cache)
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    Ok((Server::spawned(child, addr), started))
}

fn bench_ingress(tools: &Tools, bin: &Path, wasm: &Path, cache: &Path, options: Options) -> Result<Report> {
    let mut report = Report {
        name: "ingress".into(),
        ..Report::default()
    };
    // Once to fill the compile cache, then the measured start.
    {
        let (mut server, _) = spawn_ingress(bin, wasm, cache)?;
        tools.wait_status(server.addr, 200, &mut server.child)?;
    }
    let (mut server, started) = spawn_ingress(bin, wasm, cache)?;
    let stdout = server.child.stdout.take().context("ingress stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    if !line.starts_with("ready ") {
        bail!("ingress_bench did not say it was ready: {line:?}");
    }
    report.ready.push(("warm compile cache".into(), started.elapsed()));
    let first = tools.wait_status(server.addr, 200, &mut server.child)?;
    report
        .first_200
        .push(("process start → first 200, warm cache".into(), first - started));
    report.idle_rss.push((String::new(), rss_kib(server.rss_pid)));
    measure(&server, &tools.wrk, &CONCURRENCY, options.seconds, &mut report)?;
    Ok(report)
}

fn bench_wasmtime(tools: &Tools, bin: &Path, wasm: &Path, options: Options) -> Result<Report> {
    let mut report = Report {
        name: "wasmtime serve".into(),
        ..Report::default()
    };
    let port = free_port()?;
    let started = Instant::now();
    let child = Command::new(bin)
        .args(["serve", "-S", "cli", "--addr", &format!("127.0.0.1:{port}")])
        .arg(wasm)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut server = Server::spawned(child, SocketAddr::from(([127, 0, 0, 1], port)));
    let first = tools.wait_status(server.addr, 200, &mut server.child)?;
    report
        .first_200
        .push(("process start → first 200".into(), first - started));
    report.idle_rss.push((String::new(), rss_kib(server.rss_pid)));
    measure(&server, &tools.wrk, &CONCURRENCY, options.seconds, &mut report)?;
    Ok(report)
}

fn print_reports(reports: &[Report], version: &str, options: Options) {
    let baseline = reports.iter().find(|r| r.name == "wasmtime serve");
    println!();
    println!(
        "## HTTP hello: requests/s and latency (wrk -t1, {}s per run)",
        options.seconds
    );
    println!();
    println!("| server | c | req/s | vs wasmtime serve {version} | p50 ms | p99 ms | p99 vs wasmtime |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for report in reports {
        for (c, load) in &report.loads {
            let base = baseline
                .and_then(|b| b.loads.iter().find(|(bc, _)| bc == c))
                .map(|(_, l)| *l);
            let (ratio, p99_ratio) = match base {
                Some(base) => (
                    format!("{:.2}×", load.rps / base.rps),
                    format!("{:.2}×", load.p99_ms / base.p99_ms),
                ),
                None => ("-".into(), "-".into()),
            };
            println!(
                "| {} | {c} | {:.0} | {ratio} | {:.3} | {:.3} | {p99_ratio} |",
                report.name, load.rps, load.p50_ms, load.p99_ms
            );
        }
    }
    println!();
    println!("## Start-up and memory");
    println!();
    println!("| server | start → ready | first 200 | idle RSS MiB | peak RSS MiB at c=64 |");
    println!("|---|---:|---:|---:|---:|");
    for report in reports {
        let ready = cells(&report.ready, |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0));
        let first = cells(&report.first_200, |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0));
        let idle = cells(&report.idle_rss, |kib| format!("{:.1}", mib(*kib)));
        let peak = report
            .loads
            .iter()
            .find(|(c, _)| *c == 64)
            .map_or(0, |(_, l)| l.peak_rss_kib);
        println!("| {} | {ready} | {first} | {idle} | {:.1} |", report.name, mib(peak));
    }
}

/// Runs per concurrency and path in the kvcounter comparison; the median
/// (by requests/s) is reported.
const KV_REPEATS: usize = 3;

/// kvcounter through the built-ins and through the providers, both deployed
/// at once on lattices of their own and measured in turn.
fn compare_kvcounter(tools: &Tools, host: &Path, release: &Path, options: Options) -> Result<Vec<Report>> {
    let builtin = tools.lattice("built-in", "kvcounter-builtin", host, release)?;
    let providers = tools.lattice("providers", "kvcounter-providers", host, release)?;
    in_turn(tools, [builtin, providers], &KV_CONCURRENCY, options)
}

/// Loads deployed servers in turn (the first, the second, …, the first, …)
/// at each concurrency, so that drift in the machine's speed falls on all
/// alike; each figure is the median of [`KV_REPEATS`] runs.
fn in_turn<const N: usize>(
    tools: &Tools,
    mut runs: [LatticeRun; N],
    concurrency: &[u32],
    options: Options,
) -> Result<Vec<Report>> {
    for run in &runs {
        wrk_run(&tools.wrk, &run.server, 16, 2)?;
    }
    let repeats = if options.seconds < 10 { 1 } else { KV_REPEATS };
    for &connections in concurrency {
        let mut loads: [Vec<Load>; N] = std::array::from_fn(|_| Vec::new());
        for _ in 0..repeats {
            for (run, load) in runs.iter().zip(&mut loads) {
                load.push(wrk_run(&tools.wrk, &run.server, connections, options.seconds)?);
            }
        }
        for (run, load) in runs.iter_mut().zip(loads) {
            run.report.loads.push((connections, median(load)));
        }
    }
    Ok(runs.into_iter().map(|run| run.report).collect())
}

/// The run with the median requests/s (its latencies with it), with the median CPU time per
/// request of all runs.
fn median(mut runs: Vec<Load>) -> Load {
    let mut cpu: Vec<f64> = runs.iter().map(|load| load.cpu_us_per_request).collect();
    cpu.sort_by(f64::total_cmp);
    runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    Load {
        cpu_us_per_request: cpu[cpu.len() / 2],
        ..runs[runs.len() / 2]
    }
}

/// The provider path next to the all-built-in path, as ratios.
fn print_kvcounter(runs: &[Report], options: Options) {
    let [builtin, providers] = runs else {
        return;
    };
    println!();
    println!(
        "## kvcounter: providers (http-server + keyvalue-redis over NATS) vs built-ins (wrk -t1, {}s per run, median of {} runs taken in turn)",
        options.seconds,
        if options.seconds < 10 { 1 } else { KV_REPEATS }
    );
    println!();
    println!(
        "| c | built-in req/s | providers req/s | providers / built-in | built-in p99 ms | providers p99 ms | peak RSS MiB built-in / providers |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for ((c, base), (_, load)) in builtin.loads.iter().zip(&providers.loads) {
        println!(
            "| {c} | {:.0} | {:.0} | {:.2}× | {:.3} | {:.3} | {:.1} / {:.1} |",
            base.rps,
            load.rps,
            load.rps / base.rps,
            base.p99_ms,
            load.p99_ms,
            mib(base.peak_rss_kib),
            mib(load.peak_rss_kib)
        );
    }
}

/// Start by reference: each way, and the registry's against the file's under the same cache.
fn print_start_by_reference(report: &Report) {
    let find = |label: &str| {
        report
            .first_200
            .iter()
            .find(|(what, _)| what == label)
            .map(|(_, time)| time.as_secs_f64() * 1000.0)
    };
    let file_cold = find("file://, cold compile cache");
    let file_warm = find("file://, warm compile cache");
    println!();
    println!("## Start by reference: scale → first 200 on a fresh host (hello, one run)");
    println!();
    println!("| reference | ms | vs file:// under the same compile cache |");
    println!("|---|---:|---:|");
    for (label, ms) in &report.first_200 {
        let ms = ms.as_secs_f64() * 1000.0;
        let base = if label.contains("cold") { file_cold } else { file_warm };
        let ratio = match base {
            Some(base) if !label.starts_with("file://") && base > 0.0 => format!("{:.2}×", ms / base),
            _ => "-".into(),
        };
        println!("| {label} | {ms:.1} | {ratio} |");
    }
}

/// `12.0 ms (cold); 3.1 ms (warm)`: measurements with what they were taken
/// under, `-` when there are none.
fn cells<T>(measured: &[(String, T)], show: impl Fn(&T) -> String) -> String {
    if measured.is_empty() {
        return "-".into();
    }
    let shown: Vec<String> = measured
        .iter()
        .map(|(what, value)| match what.as_str() {
            "" => show(value),
            what => format!("{} ({what})", show(value)),
        })
        .collect();
    shown.join("; ")
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_output_is_parsed() {
        let out = "Running 3s test @ http://127.0.0.1:1/\n  1 threads and 16 connections\n  \
                   Latency Distribution\n     50%  812.00us\n     75%    1.01ms\n     90%    1.20ms\n     \
                   99%    2.50ms\n  30000 requests in 3.00s, 3.00MB read\nRequests/sec:  10000.50\n";
        let load = parse_wrk(out).unwrap();
        assert!((load.rps - 10000.5).abs() < 1e-9);
        assert!((load.p50_ms - 0.812).abs() < 1e-9);
        assert!((load.p99_ms - 2.5).abs() < 1e-9);
        assert_eq!(load.requests, 30000);
        assert!(parse_wrk("Non-2xx or 3xx responses: 5\n").is_err());
    }

    #[test]
    fn the_median_interval_takes_the_order_statistics_of_the_binomial_tail() {
        let sorted = |n: usize| (1..=n).map(|i| i as f64).collect::<Vec<_>>();
        // Five runs: the widest interval, smallest to largest, holds the median with
        // probability 1 - 2/32 < 95%, so there is none.
        assert_eq!(median_interval(&sorted(5)), None);
        // Six: smallest to largest, 1 - 2/64 >= 95%.
        assert_eq!(median_interval(&sorted(6)), Some((1.0, 6.0)));
        // Eleven: P(X <= 1) = 12/2048 <= 2.5% < P(X <= 2) = 67/2048, so the 2nd of each end.
        assert_eq!(median_interval(&sorted(11)), Some((2.0, 10.0)));
        // Fifteen: P(X <= 3) = 576/32768 <= 2.5% < P(X <= 4), so the 4th of each end.
        assert_eq!(median_interval(&sorted(15)), Some((4.0, 12.0)));
        assert_eq!(median_interval(&[]), None);
    }

    #[test]
    fn runs_at_once_are_bounded() {
        let options = Options::new(false, false, false);
        assert_eq!(options.at_once_runs, AT_ONCE_RUNS);
        assert_eq!(options.at_once_runs("15").unwrap().at_once_runs, 15);
        for bad in ["0", "100", "-1", "five"] {
            let err = options.at_once_runs(bad).unwrap_err().to_string();
            assert!(err.contains("--runs") && err.contains("from 1 to 99"), "{err}");
        }
    }

    #[test]
    fn cpu_time_is_read_from_a_stat_line() {
        let line = "4242 (tokio (worker) 1) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 56 0 0 20 0 5 0";
        assert_eq!(stat_ticks(line), Some(1290));
        assert_eq!(stat_ticks("4242 (cut short) S 1"), None);
        // This process's own line parses.
        let own = std::fs::read_to_string("/proc/self/stat").unwrap();
        assert!(stat_ticks(&own).is_some(), "{own}");
    }

    #[test]
    fn durations_convert_to_ms() {
        assert_eq!(duration_ms("2.00s"), Some(2000.0));
        assert_eq!(duration_ms("1.5ms"), Some(1.5));
        assert_eq!(duration_ms("fast"), None);
    }
}
