//! The on-disk compiled-component cache: miss then hit, shared across
//! runtimes with the same engine settings, recovery from a damaged entry,
//! refusal of planted entries and of directories others could write, and
//! the size cap with least-recently-used eviction.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use lattice_runtime::{CacheOutcome, ErrorKind, Runtime};
use lattice_test_support::guests::{HELLO_HTTP, HTTP_ECHO, HTTP_TRAP};

use crate::{body_text, get, guest, test_limits};

fn cached_runtime(dir: &Path) -> Runtime {
    Runtime::builder().limits(test_limits()).cache_dir(dir).build().unwrap()
}

/// The `.cwasm` entries under a cache root (the key file is not one).
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for engine_dir in std::fs::read_dir(dir).unwrap() {
        let engine_dir = engine_dir.unwrap().path();
        if !engine_dir.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(engine_dir).unwrap() {
            found.push(entry.unwrap().path());
        }
    }
    found
}

/// The entry a component with these bytes is cached under.
fn entry_of(dir: &Path, hash: &str) -> PathBuf {
    entries(dir)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(&format!("{hash}.cwasm")))
        .unwrap_or_else(|| panic!("no entry for {hash} in {dir:?}"))
}

fn total_size(dir: &Path) -> u64 {
    entries(dir).iter().map(|p| std::fs::metadata(p).unwrap().len()).sum()
}

fn set_age(path: &Path, age: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

#[tokio::test]
async fn second_load_hits_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = guest(HELLO_HTTP);

    let first = cached_runtime(dir.path()).load("hello", &wasm).unwrap();
    assert_eq!(first.cache_outcome(), CacheOutcome::Miss);
    let files = entries(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0]
            .to_string_lossy()
            .ends_with(&format!("{}.cwasm", first.wasm_hash()))
    );

    // A new runtime (as after a host restart) finds the entry.
    let second = cached_runtime(dir.path()).load("hello", &wasm).unwrap();
    assert_eq!(second.cache_outcome(), CacheOutcome::Hit);
    let response = second.handle_http(get("/cached")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /cached\n");
}

#[tokio::test]
async fn damaged_entry_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = guest(HELLO_HTTP);
    cached_runtime(dir.path()).load("hello", &wasm).unwrap();
    let entry = entries(dir.path()).remove(0);
    std::fs::write(&entry, b"not a compiled component").unwrap();

    let reloaded = cached_runtime(dir.path()).load("hello", &wasm).unwrap();
    assert_eq!(reloaded.cache_outcome(), CacheOutcome::Miss);
    let response = reloaded.handle_http(get("/again")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /again\n");
    // The entry was replaced with a good one.
    let third = cached_runtime(dir.path()).load("hello", &wasm).unwrap();
    assert_eq!(third.cache_outcome(), CacheOutcome::Hit);
}

#[test]
fn without_a_cache_dir_nothing_is_cached() {
    let runtime = Runtime::builder().limits(test_limits()).build().unwrap();
    let hello = runtime.load("hello", &guest(HELLO_HTTP)).unwrap();
    assert_eq!(hello.cache_outcome(), CacheOutcome::Disabled);
}

/// An attacker who can write a compiled file under the victim's entry name
/// (another component's compiled code, or any bytes) must not get it run:
/// the runtime recompiles the victim, and what answers is the victim.
#[tokio::test]
async fn planted_entries_are_never_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let victim = guest(HELLO_HTTP);
    let other = guest(HTTP_ECHO);
    let victim_hash = cached_runtime(dir.path())
        .load("hello", &victim)
        .unwrap()
        .wasm_hash()
        .to_owned();
    let other_hash = cached_runtime(dir.path())
        .load("echo", &other)
        .unwrap()
        .wasm_hash()
        .to_owned();
    let victim_entry = entry_of(dir.path(), &victim_hash);
    let other_compiled = std::fs::read(entry_of(dir.path(), &other_hash)).unwrap();

    let mut random = vec![0u8; 4096];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for byte in &mut random {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    let plants: [(&str, Vec<u8>); 4] = [
        ("another component's entry", other_compiled.clone()),
        (
            "another component's compiled bytes without the MAC",
            other_compiled[32..].to_vec(),
        ),
        ("random bytes", random),
        (
            "a truncated entry",
            std::fs::read(&victim_entry).unwrap()[..16].to_vec(),
        ),
    ];
    for (what, bytes) in plants {
        std::fs::write(&victim_entry, &bytes).unwrap();
        let loaded = cached_runtime(dir.path()).load("hello", &victim).unwrap();
        assert_eq!(loaded.cache_outcome(), CacheOutcome::Miss, "{what} was loaded");
        let response = loaded.handle_http(get("/who")).await.unwrap();
        assert_eq!(body_text(response).await, "hello from /who\n", "{what}");
        // The plant was overwritten with a good entry.
        let again = cached_runtime(dir.path()).load("hello", &victim).unwrap();
        assert_eq!(again.cache_outcome(), CacheOutcome::Hit, "{what}");
    }
}

#[cfg(unix)]
#[test]
fn a_cache_dir_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("cache");
    std::fs::create_dir(&root).unwrap();
    for mode in [0o770, 0o707, 0o777] {
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = Runtime::builder()
            .limits(test_limits())
            .cache_dir(&root)
            .build()
            .unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::CacheDirRefused { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("writable by group or others"), "{text}");
        assert!(text.contains(&format!("chmod go-w {}", root.display())), "{text}");
    }
    // Fixed as the message says, it is used.
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    cached_runtime(&root);
}

#[cfg(unix)]
#[test]
fn an_engine_dir_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().unwrap();
    cached_runtime(root.path());
    let engine_dir = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    std::fs::set_permissions(&engine_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = Runtime::builder()
        .limits(test_limits())
        .cache_dir(root.path())
        .build()
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CacheDirRefused { path, .. } if *path == engine_dir),
        "{err:?}"
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_cache_dir_is_refused() {
    let parent = tempfile::tempdir().unwrap();
    let real = parent.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = parent.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let err = Runtime::builder()
        .limits(test_limits())
        .cache_dir(&link)
        .build()
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::CacheDirRefused { .. }), "{err:?}");
    assert!(err.to_string().contains("symbolic link"), "{err}");
    // Nothing was created through the link.
    assert_eq!(std::fs::read_dir(&real).unwrap().count(), 0);
}

#[test]
fn eviction_keeps_the_cache_under_its_cap_least_recently_used_first() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b, c] = [HELLO_HTTP, HTTP_ECHO, HTTP_TRAP].map(guest);
    let hash = |wasm: &[u8]| {
        cached_runtime(dir.path())
            .load("x", wasm)
            .unwrap()
            .wasm_hash()
            .to_owned()
    };
    let (hash_a, hash_b) = (hash(&a), hash(&b));
    let (entry_a, entry_b) = (entry_of(dir.path(), &hash_a), entry_of(dir.path(), &hash_b));
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    let (size_a, size_b) = (size(&entry_a), size(&entry_b));
    // B is older than A ...
    set_age(&entry_a, Duration::from_secs(7200));
    set_age(&entry_b, Duration::from_secs(3600));
    // ... until a hit makes A the most recently used.
    let capped = |max: u64| {
        Runtime::builder()
            .limits(test_limits())
            .cache_dir(dir.path())
            .cache_max_bytes(max)
            .build()
            .unwrap()
    };
    let size_c = {
        let elsewhere = tempfile::tempdir().unwrap();
        let hash_c = cached_runtime(elsewhere.path())
            .load("c", &c)
            .unwrap()
            .wasm_hash()
            .to_owned();
        size(&entry_of(elsewhere.path(), &hash_c))
    };
    // Room for A and one of B and C, not all three.
    let cap = size_a + size_b.max(size_c) + 1024;
    let runtime = capped(cap);
    assert_eq!(runtime.load("a", &a).unwrap().cache_outcome(), CacheOutcome::Hit);
    // C does not fit beside both: the least recently used (B) goes.
    assert_eq!(runtime.load("c", &c).unwrap().cache_outcome(), CacheOutcome::Miss);
    assert!(total_size(dir.path()) <= cap, "{} > {cap}", total_size(dir.path()));
    assert!(entry_a.exists(), "the recently used entry was evicted");
    assert!(!entry_b.exists(), "the least recently used entry was kept");
    assert_eq!(runtime.load("a", &a).unwrap().cache_outcome(), CacheOutcome::Hit);
    assert_eq!(runtime.load("b", &b).unwrap().cache_outcome(), CacheOutcome::Miss);
    assert!(total_size(dir.path()) <= cap, "{} > {cap}", total_size(dir.path()));
}
