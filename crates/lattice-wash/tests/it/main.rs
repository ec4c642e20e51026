//! Integration tests for the `wash` binary: each module drives the real
//! executable the way a user would and checks what it prints and returns.

mod build;
mod claims_sign;
mod dev;
mod help;
mod inspect;
mod keys;
mod lattice;
mod lattice_host;
mod new;
mod par;
mod registry;

use std::path::Path;
use std::process::Command;

/// A finished `wash` run.
pub(crate) struct Run {
    pub(crate) success: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Parses stdout as JSON, failing the test with the output when it is not.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Asserts the run failed cleanly: non-zero exit, an error, no panic.
    pub(crate) fn assert_clean_failure(&self) -> &Self {
        assert!(!self.success, "expected failure, got success:\n{}", self.stdout);
        assert!(!self.stderr.contains("panicked"), "wash panicked:\n{}", self.stderr);
        assert!(self.stderr.starts_with("error: "), "no error message:\n{}", self.stderr);
        self
    }
}

/// Runs `wash` with `args`, keys stored in `keys_dir`.
pub(crate) fn wash(keys_dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_wash"))
        .args(args)
        .env("WASH_KEYS", keys_dir)
        .env("USER", "tester")
        .output()
        .expect("wash runs");
    Run {
        success: output.status.success(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// A fixed account seed so snapshots are stable.
pub(crate) const ACCOUNT_SEED: &str = "SAALPHVO6RNKJFNM5TRFNTNHUQUEKJKHNUZCMOCG2AAO4JYHQ4M5I33ZLY";
/// A fixed module seed so snapshots are stable.
pub(crate) const MODULE_SEED: &str = "SMACGB3IH7XI7PUA6RO7MYMS6KJHZLO2MSE7SLZEHPLEVJRPFGARSQVX7A";

/// Copies the hello component into `dir` and returns its path.
pub(crate) fn hello_component(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("hello.wasm");
    std::fs::copy(lattice_test_support::guests::HELLO_HTTP, &path).expect("copy guest");
    path
}
