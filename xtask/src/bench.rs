//! `cargo xtask bench`: the built-in HTTP ingress against `wasmtime serve`
//! on the same hello component, side by side in one run. Requests/s and
//! p50/p99 latency at concurrency 1, 16 and 64 (load from `wrk`), start-up
//! times and resident memory. Builds and spawns release binaries; it links
//! none of the product.
//!
//! Servers measured:
//! - `ingress`: the ingress in-process over the runtime, no NATS
//!   (`crates/wasmcloud-host/examples/ingress_bench.rs`);
//! - `host`: the `wasmcloud` binary with the builtin http-server provider
//!   and a link, driven over NATS like wash would (needs `nats-server`);
//! - `wasmtime serve` of the workspace's wasmtime version, installed under
//!   the target directory on first use (`cargo install wasmtime-cli`).

mod nats;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::cmd::{self, on_path};

/// Concurrency levels measured, as the issue asks.
const CONCURRENCY: [u32; 3] = [1, 16, 64];

/// How long a server may take to answer its first request.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Options of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// Seconds of load per measurement.
    pub(crate) seconds: u32,
    /// Skip the `wasmcloud` host (NATS) measurements.
    pub(crate) no_host: bool,
    /// Use the release binaries already built.
    pub(crate) no_build: bool,
}

impl Options {
    pub(crate) fn new(quick: bool, no_host: bool, no_build: bool) -> Self {
        Self {
            seconds: if quick { 3 } else { 10 },
            no_host,
            no_build,
        }
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

pub(crate) fn run(options: Options) -> Result<()> {
    let root = cmd::project_root();
    let target = target_dir(&root);
    let wrk = ensure_wrk()?;
    let version = wasmtime_version(&root)?;
    // The longest step: start it first, it builds while the rest is built.
    let mut wasmtime_install = start_wasmtime_install(&target, &version)?;
    if !options.no_build {
        cmd::run(&mut cmd::cmd(
            "cargo",
            [
                "build",
                "--release",
                "-p",
                "wasmcloud-host",
                "--bin",
                "wasmcloud",
                "--example",
                "ingress_bench",
            ],
        ))?;
    }
    let wasm = build_guest(&root, &target)?;
    let wasmtime = match wasmtime_install.take() {
        Some(mut child) => {
            eprintln!("waiting for `cargo install wasmtime-cli --version {version}` to finish");
            let status = child.wait()?;
            if !status.success() {
                bail!("installing wasmtime-cli {version} failed ({status}): see the output above");
            }
            wasmtime_bin(&target, &version)
        }
        None => wasmtime_bin(&target, &version),
    };
    let release = target.join("release");
    let mut reports = Vec::new();

    let cache = target.join("bench-cache");
    std::fs::create_dir_all(&cache)?;
    reports.push(bench_ingress(
        &release.join("examples/ingress_bench"),
        &wasm,
        &cache,
        &wrk,
        options,
    )?);
    if !options.no_host {
        match nats::find_server() {
            Some(nats_server) => reports.push(nats::bench_host(
                &nats_server,
                &release.join("wasmcloud"),
                &wasm,
                &wrk,
                options,
            )?),
            None => eprintln!("nats-server not found: skipping the wasmcloud host (pass --no-host to silence)"),
        }
    }
    reports.push(bench_wasmtime(&wasmtime, &wasm, &wrk, options)?);
    print_reports(&reports, &version, options);
    Ok(())
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

/// Builds the hello guest for wasm32-wasip2 in release mode.
fn build_guest(root: &Path, target: &Path) -> Result<PathBuf> {
    let guests = root.join("crates/test-support/guests");
    let out = target.join("bench-guests");
    let mut build = cmd::cmd(
        "cargo",
        [
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
            "-p",
            "hello-http",
        ],
    );
    build.current_dir(&guests).arg("--target-dir").arg(&out);
    build.env_remove("CARGO_TARGET_DIR");
    cmd::run(&mut build)?;
    Ok(out.join("wasm32-wasip2/release/hello_http.wasm"))
}

/// A spawned server, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The status code of `GET /` at `addr`, if anything answers.
fn get_status(addr: SocketAddr) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    // One write, sent at once: a request split over writes would wait on
    // Nagle's algorithm and the server's delayed ACK, and so would the timing.
    stream.set_nodelay(true).ok()?;
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    // Read it all: closing early would fail the guest's body write.
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    std::str::from_utf8(response.get(9..12)?).ok()?.parse().ok()
}

/// Polls `GET /` until it answers 200; returns when it did.
fn wait_200(addr: SocketAddr, child: &mut Child) -> Result<Instant> {
    wait_status(addr, 200, child)
}

/// Polls `GET /` until it answers `status`; returns when it did.
fn wait_status(addr: SocketAddr, status: u16, child: &mut Child) -> Result<Instant> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if get_status(addr) == Some(status) {
            return Ok(Instant::now());
        }
        if let Some(exit) = child.try_wait()? {
            bail!("the server exited ({exit}) before answering {status} on {addr}");
        }
        if Instant::now() > deadline {
            bail!("no {status} from {addr} within {READY_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Resident memory of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Warms the server up, then loads it at each concurrency.
fn measure(server: &Server, wrk: &Path, options: Options, report: &mut Report) -> Result<()> {
    wrk_run(wrk, server, 16, 2)?;
    for connections in CONCURRENCY {
        let load = wrk_run(wrk, server, connections, options.seconds)?;
        report.loads.push((connections, load));
    }
    Ok(())
}

fn wrk_run(wrk: &Path, server: &Server, connections: u32, seconds: u32) -> Result<Load> {
    let mut command = Command::new(wrk);
    command
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
        .stderr(Stdio::piped());
    let mut child = command.spawn().context("starting wrk")?;
    let pid = server.child.id();
    let mut peak = 0;
    while child.try_wait()?.is_none() {
        peak = peak.max(rss_kib(pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = String::new();
    child.stdout.take().context("wrk stdout")?.read_to_string(&mut out)?;
    let mut load = parse_wrk(&out)?;
    load.peak_rss_kib = peak;
    Ok(load)
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
    Ok(Load {
        rps,
        p50_ms: percentile("50%")?,
        p99_ms: percentile("99%")?,
        peak_rss_kib: 0,
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
    Ok((Server { child, addr }, started))
}

fn bench_ingress(bin: &Path, wasm: &Path, cache: &Path, wrk: &Path, options: Options) -> Result<Report> {
    let mut report = Report {
        name: "ingress".into(),
        ..Report::default()
    };
    // Once to fill the compile cache, then the measured start.
    {
        let (mut server, _) = spawn_ingress(bin, wasm, cache)?;
        wait_200(server.addr, &mut server.child)?;
    }
    let (mut server, started) = spawn_ingress(bin, wasm, cache)?;
    let stdout = server.child.stdout.take().context("ingress stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    if !line.starts_with("ready ") {
        bail!("ingress_bench did not say it was ready: {line:?}");
    }
    report.ready.push(("warm compile cache".into(), started.elapsed()));
    let first = wait_200(server.addr, &mut server.child)?;
    report
        .first_200
        .push(("process start → first 200, warm cache".into(), first - started));
    report.idle_rss.push((String::new(), rss_kib(server.child.id())));
    measure(&server, wrk, options, &mut report)?;
    Ok(report)
}

fn bench_wasmtime(bin: &Path, wasm: &Path, wrk: &Path, options: Options) -> Result<Report> {
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
    let mut server = Server {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    };
    let first = wait_200(server.addr, &mut server.child)?;
    report
        .first_200
        .push(("process start → first 200".into(), first - started));
    report.idle_rss.push((String::new(), rss_kib(server.child.id())));
    measure(&server, wrk, options, &mut report)?;
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
        assert!(parse_wrk("Non-2xx or 3xx responses: 5\n").is_err());
    }

    #[test]
    fn durations_convert_to_ms() {
        assert_eq!(duration_ms("2.00s"), Some(2000.0));
        assert_eq!(duration_ms("1.5ms"), Some(1.5));
        assert_eq!(duration_ms("fast"), None);
    }
}
