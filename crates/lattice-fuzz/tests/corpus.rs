//! Replays every checked-in input of every fuzz target on the stable
//! toolchain: the seeds, and the inputs a fuzzer once found a crash with
//! (kept as regressions). Each target must have a corpus and a libFuzzer
//! entry, so none is added half-way or left to rot.

use std::fs;
use std::path::{Path, PathBuf};

use lattice_fuzz::TARGETS;

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = crate_dir().join("corpus").join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; every target keeps a seed corpus", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_input_passes_its_target() {
    for (name, target) in TARGETS {
        let files = inputs(name);
        assert!(!files.is_empty(), "corpus/{name} is empty");
        for file in files {
            let data = fs::read(&file).unwrap();
            let run = std::panic::catch_unwind(|| target(&data));
            assert!(run.is_ok(), "{name} fails on {}", file.display());
        }
    }
}

#[test]
fn targets_corpora_and_entries_match() {
    let mut corpora: Vec<String> = fs::read_dir(crate_dir().join("corpus"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    corpora.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|(name, _)| (*name).to_owned()).collect();
    names.sort();
    assert_eq!(corpora, names, "corpus/ folders and TARGETS differ");
    let manifest = fs::read_to_string(crate_dir().join("Cargo.toml")).unwrap();
    for name in &names {
        let entry = crate_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = fs::read_to_string(&entry).unwrap_or_else(|e| panic!("{}: {e}", entry.display()));
        assert!(
            text.contains(&format!("lattice_fuzz::{name}(")),
            "{} calls another target",
            entry.display()
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "Cargo.toml has no [[bin]] {name}"
        );
    }
}
