//! `cargo xtask ci`: exactly what CI runs, step by step, with a summary table at the end.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::{
    cmd::{self, cmd},
    conformance, deps, examples, prereqs, release, tidy, tour,
};

/// What a step reports when it succeeds: nothing, or a note for the summary table.
type StepResult = Result<Option<String>>;

struct Step {
    name: &'static str,
    run: fn() -> StepResult,
}

/// The pipeline, in the order CI runs it; the first failing step stops it. Every step is also
/// runnable alone (`cargo xtask ci tidy deps`), with the same commands and flags.
const STEPS: &[Step] = &[
    step("prereqs", || prereqs::run().map(|()| None)),
    step("fmt", fmt),
    step("clippy", clippy),
    step("test", test),
    step("tidy", || tidy::run().map(|()| None)),
    step("deps", || deps::run().map(|()| None)),
    // The README's five-minute tour, run for real against freshly built wash so the README never
    // lies (`cargo xtask tour`, kept in step with the README by its author).
    step("tour", || tour::run().map(|()| None)),
    // Every project under examples/ built with freshly built `wash build`, each output checked to
    // be a signed component, then served on a real host and curled.
    step("examples", examples::run),
    // The control-interface conformance suite against two of our hosts on one lattice.
    step("conformance", conformance::ci),
    step("release", release::run_ci),
    // Don't add placeholders that pass without doing anything: a green step must mean something.
];

const fn step(name: &'static str, run: fn() -> StepResult) -> Step {
    Step { name, run }
}

enum Outcome {
    Passed(Option<String>),
    Failed(String),
    NotRun,
}

pub(crate) fn run(only: &[String]) -> Result<()> {
    for name in only {
        if !STEPS.iter().any(|s| s.name == name) {
            bail!(
                "unknown ci step `{name}`: the steps are {}",
                STEPS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
            );
        }
    }
    let selected: Vec<&Step> = STEPS
        .iter()
        .filter(|s| only.is_empty() || only.iter().any(|n| n == s.name))
        .collect();

    let mut results: Vec<(&str, Outcome, Duration)> = Vec::new();
    let mut failed = None;
    for step in &selected {
        if failed.is_some() {
            results.push((step.name, Outcome::NotRun, Duration::ZERO));
            continue;
        }
        eprintln!("\n==> ci: {}", step.name);
        let start = Instant::now();
        let outcome = match (step.run)() {
            Ok(note) => Outcome::Passed(note),
            Err(err) => {
                eprintln!("error: {err:#}");
                failed = Some(step.name);
                Outcome::Failed(format!("{err:#}"))
            }
        };
        results.push((step.name, outcome, start.elapsed()));
    }

    println!("\n{}", summary(&results));
    match failed {
        Some(name) => bail!("ci failed at step `{name}`; rerun it alone with `cargo xtask ci {name}`"),
        None => Ok(()),
    }
}

/// The table printed at the end of every run, passed or failed.
fn summary(results: &[(&str, Outcome, Duration)]) -> String {
    use std::fmt::Write as _;

    let width = results
        .iter()
        .map(|(name, ..)| name.len())
        .max()
        .unwrap_or(0)
        .max("total".len());
    let total: Duration = results.iter().map(|(_, _, d)| *d).sum();
    let mut out = String::from("ci summary\n");
    let mut row = |name: &str, result: &str, time: &str, note: &str| {
        let line = format!("{name:<width$}  {result:<7}  {time:>8}  {note}");
        let _ = writeln!(out, "{}", line.trim_end());
    };
    row("step", "result", "time", "note");
    for (name, outcome, elapsed) in results {
        match outcome {
            Outcome::Passed(note) => row(name, "ok", &seconds(*elapsed), note.as_deref().unwrap_or_default()),
            Outcome::Failed(err) => row(name, "FAILED", &seconds(*elapsed), &first_line(err)),
            Outcome::NotRun => row(name, "-", "-", "not run: an earlier step failed"),
        }
    }
    row("total", "", &seconds(total), "");
    out
}

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn first_line(text: &str) -> String {
    const MAX: usize = 100;
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > MAX {
        format!("{}…", line.chars().take(MAX).collect::<String>())
    } else {
        line.to_owned()
    }
}

fn fmt() -> StepResult {
    cmd::run(&mut cmd("cargo", ["fmt", "--all", "--", "--check"]))?;
    Ok(None)
}

fn clippy() -> StepResult {
    // Warnings are denied here, on the command line, not with `#![deny(warnings)]` in code:
    // a new compiler lint must not break a user's build of a published crate.
    cmd::run(&mut cmd(
        "cargo",
        [
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
    ))?;
    Ok(None)
}

fn test() -> StepResult {
    if cmd::on_path("cargo-nextest").is_some() {
        // nextest does not run doctests, so they get their own `cargo test --doc`. They run
        // first so that the last test summary printed is nextest's total for the workspace,
        // not the doctest count of whichever crate happens to come last.
        cmd::run(&mut cmd("cargo", ["test", "--workspace", "--locked", "--doc"]))?;
        cmd::run(&mut cmd(
            "cargo",
            ["nextest", "run", "--workspace", "--locked", "--no-tests", "warn"],
        ))?;
        Ok(Some("cargo-nextest + doctests".to_owned()))
    } else {
        cmd::run(&mut cmd("cargo", ["test", "--workspace", "--locked"]))?;
        Ok(Some("cargo test (install cargo-nextest for faster runs)".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_lists_every_step_with_result_time_and_note() {
        let results = [
            ("prereqs", Outcome::Passed(None), Duration::from_millis(240)),
            (
                "test",
                Outcome::Passed(Some("cargo-nextest + doctests".to_owned())),
                Duration::from_secs(93),
            ),
            (
                "clippy",
                Outcome::Failed("`cargo clippy` failed (exit status: 101)\ncaused by".to_owned()),
                Duration::from_millis(41_050),
            ),
            ("release", Outcome::NotRun, Duration::ZERO),
        ];
        expect_test::expect![[r#"
            ci summary
            step     result       time  note
            prereqs  ok           0.2s
            test     ok          93.0s  cargo-nextest + doctests
            clippy   FAILED      41.0s  `cargo clippy` failed (exit status: 101)
            release  -               -  not run: an earlier step failed
            total               134.3s
        "#]]
        .assert_eq(&summary(&results));
    }

    #[test]
    fn step_names_are_unique() {
        let mut names: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), STEPS.len());
    }
}
