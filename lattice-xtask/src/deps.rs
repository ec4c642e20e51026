//! `cargo xtask deps`: the architecture invariants of ARCHITECTURE.md, proven with `cargo tree`.
//!
//! Each rule says which crates a workspace crate must never pull in, through normal or build
//! dependencies, directly or transitively. Dev-dependencies are allowed: tests may use anything.

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail};

use crate::cmd::{self, cmd};

struct Rule {
    krate: &'static str,
    forbidden: &'static [&'static str],
    why: &'static str,
}

/// The invariants, as data. A rule for a crate that does not exist yet is skipped (and said so),
/// so the table can be written ahead of the code.
const RULES: &[Rule] = &[
    Rule {
        krate: "lattice-claims",
        forbidden: &["tokio", "async-nats", "wasmtime"],
        why: "the claims library is bytes in, claims out: no runtime, no network, no engine",
    },
    Rule {
        krate: "lattice-control-interface",
        forbidden: &["wasmtime"],
        why: "any NATS client program must be able to use the control interface",
    },
    Rule {
        krate: "lattice-runtime",
        forbidden: &["async-nats", "lattice-wash", "opentelemetry", "opentelemetry_sdk"],
        why: "the runtime runs components and asks host-provided traits where imports go and who observes invocations (ADR 0017)",
    },
    Rule {
        krate: "lattice-host",
        forbidden: &["lattice-wash"],
        why: "wash embeds the host for `wash dev` (ADR 0014); the host never reaches back into the CLI",
    },
    Rule {
        krate: "lattice-conformance",
        forbidden: &["lattice-control-interface", "lattice-host", "lattice-runtime"],
        why: "the conformance suite checks hosts from outside with its own reading of the wire (ADR 0015)",
    },
    Rule {
        krate: "lattice-provider-sdk",
        forbidden: &["wasmtime"],
        why: "providers are native processes that speak wRPC; they never embed an engine",
    },
    Rule {
        krate: "lattice-provider-keyvalue-redis",
        forbidden: &["wasmtime"],
        why: "providers are native processes that speak wRPC; they never embed an engine",
    },
    Rule {
        krate: "lattice-provider-http-server",
        forbidden: &["wasmtime"],
        why: "providers are native processes that speak wRPC; they never embed an engine",
    },
    Rule {
        krate: "lattice-provider-messaging-nats",
        forbidden: &["wasmtime"],
        why: "providers are native processes that speak wRPC; they never embed an engine",
    },
];

pub(crate) fn run() -> Result<()> {
    let members = workspace_members()?;
    let mut broken = Vec::new();
    for rule in RULES {
        if !members.contains(rule.krate) {
            eprintln!("deps: {} does not exist yet, rule skipped", rule.krate);
            continue;
        }
        let tree = cmd::read(&mut tree_cmd(rule.krate, None))?;
        let found = violations(rule.forbidden, &dependency_names(&tree));
        if found.is_empty() {
            eprintln!("deps: {} depends on none of {}", rule.krate, rule.forbidden.join(", "));
            continue;
        }
        for forbidden in found {
            // The inverted tree shows the path that pulls the crate in: that is what to cut.
            let path = cmd::read(&mut tree_cmd(rule.krate, Some(forbidden))).unwrap_or_default();
            broken.push(format!(
                "{krate} must not depend on {forbidden} ({why}); it does through:\n{path}\
                 fix: remove that dependency from crates/{krate}/Cargo.toml (or make it a \
                 dev-dependency), or move the code that needs it into a crate allowed to know it",
                krate = rule.krate,
                why = rule.why,
            ));
        }
    }
    if broken.is_empty() {
        return Ok(());
    }
    for problem in &broken {
        eprintln!("deps: {problem}\n");
    }
    bail!("{} architecture invariant(s) broken (see above)", broken.len())
}

/// `cargo tree` over normal and build edges for every target platform; with `invert`, the paths
/// from `krate` down to that one dependency.
fn tree_cmd(krate: &str, invert: Option<&str>) -> std::process::Command {
    let mut c = cmd("cargo", ["tree", "-p", krate, "-e", "normal,build", "--target", "all"]);
    match invert {
        Some(dep) => c.args(["-i", dep]),
        None => c.args(["--prefix", "none", "--format", "{p}"]),
    };
    c
}

/// Names of the workspace members, from `cargo metadata --no-deps` (no resolution, fast).
fn workspace_members() -> Result<BTreeSet<String>> {
    let json = cmd::read(&mut cmd("cargo", ["metadata", "--format-version", "1", "--no-deps"]))?;
    let meta: serde_json::Value = serde_json::from_str(&json).context("parsing cargo metadata")?;
    Ok(meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect())
}

/// Package names in `cargo tree --prefix none --format {p}` output (`tokio v1.47.0 (*)`).
fn dependency_names(tree: &str) -> BTreeSet<&str> {
    tree.lines().filter_map(|line| line.split_whitespace().next()).collect()
}

fn violations<'a>(forbidden: &[&'a str], names: &BTreeSet<&str>) -> Vec<&'a str> {
    forbidden.iter().copied().filter(|f| names.contains(f)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TREE: &str = "\
lattice-claims v0.1.0 (/repo/crates/lattice-claims)
nkeys v0.4.5
tokio v1.47.0
tokio-macros v2.5.0 (proc-macro)
serde v1.0.229 (*)
";

    #[test]
    fn finds_forbidden_crates_by_exact_name() {
        let names = dependency_names(TREE);
        assert_eq!(violations(&["tokio", "async-nats", "wasmtime"], &names), ["tokio"]);
        // `tokio-macros` is not `tokio`, and `wasmtime-wasi` would not be `wasmtime`.
        assert!(violations(&["wasmtime", "macros"], &names).is_empty());
    }

    #[test]
    fn every_rule_names_a_reason_and_something_forbidden() {
        for rule in RULES {
            assert!(!rule.forbidden.is_empty() && !rule.why.is_empty(), "{}", rule.krate);
        }
    }
}
