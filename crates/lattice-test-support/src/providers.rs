//! The workspace's provider binaries, for tests that start providers on a host. A test asks
//! for a binary by package and name. When the binary beside the test (`cargo nextest` and
//! `cargo test --workspace` build every binary of the workspace before running tests) is
//! newer than the workspace's sources, that one is used; otherwise it is built into a target
//! directory of its own, so a test never runs a stale provider and never waits on the lock of
//! the cargo that runs it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

/// The keyvalue-redis provider: (package, binary).
pub const KEYVALUE_REDIS: (&str, &str) = ("lattice-provider-keyvalue-redis", "keyvalue-redis-provider");
/// The http-server provider: (package, binary).
pub const HTTP_SERVER: (&str, &str) = ("lattice-provider-http-server", "http-server-provider");
/// The messaging-nats provider: (package, binary).
pub const MESSAGING_NATS: (&str, &str) = ("lattice-provider-messaging-nats", "messaging-nats-provider");

/// The path of a provider binary of this workspace, fresh.
///
/// # Panics
///
/// When a build is needed and fails (its output says why), or the test does not run from a
/// cargo target directory.
#[must_use]
pub fn binary((package, name): (&str, &str)) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let (target_dir, profile_dir) = target_dirs();
    let beside = profile_dir.join(name);
    let path = if modified(&beside).is_some_and(|built| built >= newest_source()) {
        beside
    } else {
        build(package, name, &target_dir.join("test-providers"))
    };
    built.insert(name.to_owned(), path.clone());
    path
}

/// Builds `name` into `target_dir` (debug profile) and returns its path.
fn build(package: &str, name: &str, target_dir: &Path) -> PathBuf {
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--quiet", "--package", package, "--bin", name])
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(workspace_root())
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build `{name}`: {e}"));
    assert!(
        status.success(),
        "building provider `{name}` failed (see cargo's output above)"
    );
    let path = target_dir.join("debug").join(name);
    assert!(path.is_file(), "`{name}` was built but {} is missing", path.display());
    path
}

/// The target directory and the profile directory (`…/debug`) the running test lives in:
/// test binaries are `<target>/<profile>/deps/<name>-<hash>`.
fn target_dirs() -> (PathBuf, PathBuf) {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let deps = exe
        .parent()
        .filter(|d| d.ends_with("deps"))
        .unwrap_or_else(|| panic!("test binary {} is not in a cargo target directory", exe.display()));
    let profile = deps.parent().map(Path::to_path_buf).expect("deps has a parent");
    let target = profile
        .parent()
        .map(Path::to_path_buf)
        .expect("the profile has a parent");
    (target, profile)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// When the workspace's crates or lock file last changed.
fn newest_source() -> SystemTime {
    fn walk(dir: &Path, newest: &mut SystemTime) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name == "target" || name == "guests" || name.to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                walk(&path, newest);
            } else if let Some(time) = modified(&path) {
                *newest = (*newest).max(time);
            }
        }
    }
    let root = workspace_root();
    let mut newest = modified(&root.join("Cargo.lock")).unwrap_or(SystemTime::UNIX_EPOCH);
    walk(&root.join("crates"), &mut newest);
    newest
}
