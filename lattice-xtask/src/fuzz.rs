//! `cargo xtask fuzz`: runs the fuzz targets of `crates/lattice-fuzz` under libFuzzer
//! through cargo-fuzz, installing cargo-fuzz when it is missing, and prints one line per target
//! with the executions it made. Inputs that add coverage go to a corpus in the target directory,
//! which the next run starts from; the checked-in corpus (seeds and inputs that once crashed,
//! replayed by the crate's tests in `cargo xtask ci`) is read, never written: a merged corpus
//! runs to tens of megabytes, too much to keep in the repository.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::cmd::{self, cmd};

/// cargo-fuzz is pinned for the same reason as cargo-release: a newer one may want a newer rustc.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// The crate holding the targets, relative to the workspace root.
const FUZZ_DIR: &str = "crates/lattice-fuzz";

/// What to run.
#[derive(Debug)]
pub(crate) struct Options {
    /// Targets to run; every target when empty.
    pub(crate) targets: Vec<String>,
    /// Seconds per target.
    pub(crate) seconds: u64,
    /// Targets fuzzed at once (one core each).
    pub(crate) jobs: usize,
}

impl Options {
    /// The default run: every target for ten minutes, one at a time.
    pub(crate) const DEFAULT_SECONDS: u64 = 600;

    pub(crate) fn parse(targets: Vec<String>, seconds: Option<String>, jobs: Option<String>) -> Result<Self> {
        let seconds = match seconds {
            None => Self::DEFAULT_SECONDS,
            Some(text) => match text.parse::<u64>() {
                Ok(n) if (1..=86_400).contains(&n) => n,
                _ => bail!("--time takes whole seconds from 1 to 86400, e.g. `--time 600`; got `{text}`"),
            },
        };
        let jobs = match jobs {
            None => 1,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=64).contains(&n) => n,
                _ => bail!("--jobs takes a number of targets to fuzz at once, 1 to 64; got `{text}`"),
            },
        };
        Ok(Self { targets, seconds, jobs })
    }
}

/// How one target's run ended.
#[derive(Debug)]
struct Outcome {
    target: String,
    seconds: f64,
    runs: Option<u64>,
    corpus: usize,
    crash: Option<String>,
}

pub(crate) fn run(options: &Options) -> Result<()> {
    ensure_cargo_fuzz()?;
    let toolchain = toolchain()?;
    let known = list_targets(&toolchain)?;
    let targets = if options.targets.is_empty() {
        known
    } else {
        for target in &options.targets {
            if !known.contains(target) {
                bail!("no fuzz target `{target}`; the targets are: {}", known.join(", "));
            }
        }
        options.targets.clone()
    };

    eprintln!(
        "fuzz: building {} target(s) with {}",
        targets.len(),
        toolchain.describe()
    );
    let triple = host_triple()?;
    cmd::run(&mut fuzz_cmd(
        &toolchain,
        "build",
        &["--target".to_owned(), triple.clone()],
    ))?;

    // The binaries run as built: edits to the tree while they run change nothing.
    let target_dir = cmd::target_dir()?;
    let bins = target_dir.join(&triple).join("release");
    let work = target_dir.join("fuzz");
    let queue = Mutex::new(targets.iter().cloned().collect::<VecDeque<_>>());
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.min(targets.len()) {
            scope.spawn(|| {
                loop {
                    let Some(target) = queue.lock().unwrap().pop_front() else {
                        return;
                    };
                    let outcome = fuzz_one(&bins.join(&target), &work, &target, options.seconds);
                    outcomes.lock().unwrap().push(outcome);
                }
            });
        }
    });
    let mut outcomes: Vec<Outcome> = outcomes.into_inner().unwrap().into_iter().collect::<Result<_>>()?;
    outcomes.sort_by(|a, b| a.target.cmp(&b.target));

    println!(
        "\n{:<20} {:>8} {:>14} {:>10} {:>8}  result",
        "target", "seconds", "executions", "exec/s", "corpus"
    );
    for o in &outcomes {
        let runs = o.runs.map_or_else(|| "?".to_owned(), |n| n.to_string());
        let rate = o
            .runs
            .map_or_else(|| "?".to_owned(), |n| format!("{:.0}", n as f64 / o.seconds));
        let result = o
            .crash
            .as_deref()
            .map_or_else(|| "ok".to_owned(), |c| format!("CRASH {c}"));
        println!(
            "{:<20} {:>8.0} {:>14} {:>10} {:>8}  {result}",
            o.target, o.seconds, runs, rate, o.corpus
        );
    }
    let crashed: Vec<&Outcome> = outcomes.iter().filter(|o| o.crash.is_some()).collect();
    if crashed.is_empty() {
        return Ok(());
    }
    for o in &crashed {
        eprintln!(
            "\n{}: reproduce with `{} {}`; once fixed, copy the input into {FUZZ_DIR}/corpus/{}/ so CI \
             replays it",
            o.target,
            bins.join(&o.target).display(),
            o.crash.as_deref().unwrap_or_default(),
            o.target
        );
    }
    bail!("{} fuzz target(s) found a crash", crashed.len())
}

/// Runs one target's binary for `seconds`, its log in `work/logs/<target>.log`.
fn fuzz_one(bin: &Path, work: &Path, target: &str, seconds: u64) -> Result<Outcome> {
    let corpus = work.join("corpus").join(target);
    let artifacts = work.join("artifacts").join(target);
    let logs = work.join("logs");
    for dir in [&corpus, &artifacts, &logs] {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let log_path = logs.join(format!("{target}.log"));
    let log = fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let seeds = Path::new(FUZZ_DIR).join("corpus").join(target);
    eprintln!("fuzz: {target} for {seconds} s (log: {})", log_path.display());
    let mut args = vec![
        corpus.display().to_string(),
        seeds.display().to_string(),
        format!("-max_total_time={seconds}"),
        format!("-artifact_prefix={}/", artifacts.display()),
        "-timeout=10".to_owned(),
        "-print_final_stats=1".to_owned(),
    ];
    // Fragments random mutation rarely finds (wasm magic, JWT headers), where a target has them.
    let dict = Path::new(FUZZ_DIR).join("dict").join(format!("{target}.dict"));
    if dict.is_file() {
        args.push(format!("-dict={}", dict.display()));
    }
    let started = Instant::now();
    let status = libfuzzer(bin)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(log)
        .status()
        .with_context(|| format!("running {}", bin.display()))?;
    let elapsed = started.elapsed().as_secs_f64();
    let text = fs::read_to_string(&log_path).unwrap_or_default();
    let crash = if status.success() {
        None
    } else {
        Some(newest_file(&artifacts).map_or_else(
            || format!("(exit {status}; see {})", log_path.display()),
            |p| p.display().to_string(),
        ))
    };
    Ok(Outcome {
        target: target.to_owned(),
        seconds: elapsed,
        runs: executions(&text),
        corpus: fs::read_dir(&corpus).map(Iterator::count).unwrap_or(0),
        crash,
    })
}

/// A libFuzzer binary as cargo-fuzz would run it.
fn libfuzzer(bin: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(bin);
    c.env("ASAN_OPTIONS", "detect_odr_violation=0");
    c
}

/// The triple the binaries are built for: the host's, from `rustc -vV`.
fn host_triple() -> Result<String> {
    let info = cmd::read(&mut cmd("rustc", ["-vV"]))?;
    info.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .context("`rustc -vV` printed no host line")
}

/// libFuzzer's count of executions, from `-print_final_stats`.
fn executions(log: &str) -> Option<u64> {
    log.lines()
        .rev()
        .find_map(|line| line.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse().ok())
}

fn newest_file(dir: &Path) -> Option<PathBuf> {
    fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()
        .map(|(_, path)| path)
}

/// The toolchain cargo-fuzz builds with: libFuzzer's sanitizer flags are unstable.
#[derive(Debug)]
enum Toolchain {
    /// rustup's nightly.
    Nightly,
    /// The pinned toolchain with `RUSTC_BOOTSTRAP=1`, when no nightly is installed.
    Bootstrapped,
}

impl Toolchain {
    fn describe(&self) -> &'static str {
        match self {
            Self::Nightly => "the nightly toolchain",
            Self::Bootstrapped => {
                "the pinned toolchain with RUSTC_BOOTSTRAP=1 (no nightly installed; `rustup toolchain install \
                 nightly` gives cargo-fuzz the toolchain it is made for)"
            }
        }
    }
}

fn toolchain() -> Result<Toolchain> {
    if cmd::on_path("rustup").is_none() {
        bail!("rustup is not on PATH: install Rust through rustup (https://rustup.rs); cargo-fuzz needs it");
    }
    let nightly = cmd("rustup", ["run", "nightly", "rustc", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    Ok(if nightly {
        Toolchain::Nightly
    } else {
        Toolchain::Bootstrapped
    })
}

/// `cargo [+nightly] fuzz <sub> --fuzz-dir … --features libfuzzer <args>`, built with many
/// codegen units and without the release profile's LTO: a fuzz build is rebuilt often and its
/// speed comes from the sanitizer coverage, not from cross-crate inlining.
fn fuzz_cmd(toolchain: &Toolchain, sub: &str, args: &[String]) -> std::process::Command {
    let mut c = cmd("cargo", std::iter::empty::<&str>());
    if let Toolchain::Nightly = toolchain {
        c.arg("+nightly");
    } else {
        c.env("RUSTC_BOOTSTRAP", "1");
    }
    c.args(["fuzz", sub, "--fuzz-dir", FUZZ_DIR, "--features", "libfuzzer"]);
    if sub != "list" {
        c.args(["--codegen-units", "16"]);
    }
    c.args(args);
    c.env("CARGO_PROFILE_RELEASE_LTO", "false");
    c
}

fn list_targets(toolchain: &Toolchain) -> Result<Vec<String>> {
    let mut c = cmd("cargo", std::iter::empty::<&str>());
    if let Toolchain::Nightly = toolchain {
        c.arg("+nightly");
    }
    c.args(["fuzz", "list", "--fuzz-dir", FUZZ_DIR]);
    let text = cmd::read(&mut c)?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Installs the pinned cargo-fuzz from crates.io when it is missing.
fn ensure_cargo_fuzz() -> Result<()> {
    if cmd::on_path("cargo-fuzz").is_some() {
        return Ok(());
    }
    eprintln!("cargo-fuzz: not found; installing version {CARGO_FUZZ_VERSION} from crates.io");
    cmd::run(&mut cmd(
        "cargo",
        ["install", "cargo-fuzz", "--locked", "--version", CARGO_FUZZ_VERSION],
    ))
    .with_context(|| {
        format!("installing cargo-fuzz; install it yourself with `cargo install cargo-fuzz --locked --version {CARGO_FUZZ_VERSION}`")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executions_come_from_the_final_stats() {
        let log = "#1024 pulse cov: 10\nDone 5000 runs in 60 second(s)\nstat::number_of_executed_units: 5003\n\
                   stat::peak_rss_mb: 80\n";
        assert_eq!(executions(log), Some(5003));
        assert_eq!(executions("INFO: Seed: 1\n"), None);
    }

    #[test]
    fn options_are_range_checked() {
        let o = Options::parse(vec![], None, None).unwrap();
        assert_eq!((o.seconds, o.jobs), (Options::DEFAULT_SECONDS, 1));
        let err = Options::parse(vec![], Some("0".into()), None).unwrap_err();
        assert!(err.to_string().contains("--time takes whole seconds"), "{err}");
        let err = Options::parse(vec![], None, Some("many".into())).unwrap_err();
        assert!(err.to_string().contains("--jobs"), "{err}");
    }
}
