//! `cargo xtask tidy`: fast repository rules that need no compiler, each failure naming the file
//! and the fix.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};

use crate::records;

/// Folders never searched for `.rs` files: build output and version-control internals.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules"];

/// Every package name starts with this (ADR 0016): names of our own on crates.io, one family.
const PACKAGE_PREFIX: &str = "lattice-";

/// Dependency tables that must inherit from `[workspace.dependencies]`.
const DEPENDENCY_TABLES: &[&str] = &["dependencies", "dev-dependencies", "build-dependencies"];

pub(crate) fn run() -> Result<()> {
    let root = std::env::current_dir()?;
    let problems = check(&root)?;
    if problems.is_empty() {
        eprintln!("tidy: all rules hold");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("tidy: {problem}");
    }
    bail!("tidy found {} problem(s) (see above)", problems.len())
}

/// Every rule, over the repository at `root`.
pub(crate) fn check(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let (manifests, orphans) = member_manifests(root)?;
    problems.extend(orphans);
    for manifest in manifests {
        check_manifest(root, &manifest, &mut problems);
    }
    check_rust_headers(root, root, &mut problems)?;
    problems.extend(records::check(root));
    Ok(problems)
}

/// The `Cargo.toml` of every workspace member, from the root `[workspace] members` globs
/// (a literal path or `dir/*`, the only forms this repository uses), and the problems of folders
/// that a glob matches but that hold no manifest.
fn member_manifests(root: &Path) -> Result<(Vec<PathBuf>, Vec<String>)> {
    let text = fs::read_to_string(root.join("Cargo.toml")).context("reading the root Cargo.toml")?;
    let doc: toml::Table = text.parse().context("parsing the root Cargo.toml")?;
    let members = doc
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .context("the root Cargo.toml has no [workspace] members list")?;
    let mut manifests = Vec::new();
    let mut orphans = Vec::new();
    for pattern in members.iter().filter_map(|m| m.as_str()) {
        if let Some(dir) = pattern.strip_suffix("/*") {
            let Ok(entries) = fs::read_dir(root.join(dir)) else {
                continue;
            };
            for entry in entries {
                let entry = entry?;
                let manifest = entry.path().join("Cargo.toml");
                if manifest.is_file() {
                    manifests.push(manifest);
                } else if entry.file_type()?.is_dir() {
                    // Cargo treats every folder matched by the glob as a member and fails on one
                    // without a manifest (e.g. a changelog committed before its crate).
                    orphans.push(format!(
                        "{}: matched by the workspace members glob `{pattern}` but has no \
                         Cargo.toml; cargo cannot load the workspace: commit the crate's \
                         Cargo.toml too, or move the folder",
                        relative(root, &entry.path())
                    ));
                }
            }
        } else if pattern.contains('*') {
            bail!("tidy understands member globs of the form `dir/*` only, not `{pattern}`");
        } else {
            manifests.push(root.join(pattern).join("Cargo.toml"));
        }
    }
    manifests.sort();
    orphans.sort();
    Ok((manifests, orphans))
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

fn check_manifest(root: &Path, manifest: &Path, problems: &mut Vec<String>) {
    let shown = relative(root, manifest);
    let doc: toml::Table = match fs::read_to_string(manifest)
        .map_err(anyhow::Error::from)
        .and_then(|t| Ok(t.parse()?))
    {
        Ok(doc) => doc,
        Err(err) => {
            problems.push(format!("{shown}: unreadable or invalid TOML: {err}"));
            return;
        }
    };

    let lints_inherited = doc
        .get("lints")
        .and_then(|l| l.get("workspace"))
        .and_then(|w| w.as_bool())
        .unwrap_or(false);
    if !lints_inherited {
        problems.push(format!(
            "{shown}: lints are not inherited; add `[lints]` with `workspace = true` so the root \
             [workspace.lints] apply"
        ));
    }

    let package = doc.get("package").and_then(|p| p.as_table());
    let name = package
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or_default();
    let dir = manifest.parent().unwrap_or(root);
    let folder = dir
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.starts_with(PACKAGE_PREFIX) {
        problems.push(format!(
            "{shown}: package `{name}` does not start with `{PACKAGE_PREFIX}`; every package of \
             this workspace is named `{PACKAGE_PREFIX}<what it is>` so its name is ours on \
             crates.io (ADR 0016): rename it and its folder"
        ));
    }
    if name != folder {
        problems.push(format!(
            "{shown}: package `{name}` lives in folder `{folder}`; rename the folder to `{name}` \
             (or the package to `{folder}`) so paths and names agree"
        ));
    }

    let mut tables: Vec<(String, &toml::Table)> = Vec::new();
    for key in DEPENDENCY_TABLES {
        if let Some(t) = doc.get(*key).and_then(|t| t.as_table()) {
            tables.push(((*key).to_owned(), t));
        }
    }
    if let Some(targets) = doc.get("target").and_then(|t| t.as_table()) {
        for (cfg, target) in targets {
            for key in DEPENDENCY_TABLES {
                if let Some(t) = target.get(*key).and_then(|t| t.as_table()) {
                    tables.push((format!("target.'{cfg}'.{key}"), t));
                }
            }
        }
    }
    for (table, deps) in tables {
        for (dep, spec) in deps {
            let inherited = spec.get("workspace").and_then(|w| w.as_bool()).unwrap_or(false);
            if !inherited {
                problems.push(format!(
                    "{shown}: [{table}] `{dep}` declares its own source or version; declare it \
                     once in the root [workspace.dependencies] and write `{dep}.workspace = true` \
                     (features may be added: `{dep} = {{ workspace = true, features = [..] }}`)"
                ));
            }
        }
    }

    // Publishable crates keep a changelog that `cargo xtask release` moves under each version.
    let publishable = package.and_then(|p| p.get("publish")).and_then(|p| p.as_bool()) != Some(false);
    if publishable {
        let changelog = dir.join("CHANGELOG.md");
        let ok = fs::read_to_string(&changelog).is_ok_and(|t| crate::release::has_unreleased_heading(&t));
        if !ok {
            problems.push(format!(
                "{}: missing or without a `{}` section; a publishable crate keeps one (copy \
                 crates/lattice-claims/CHANGELOG.md), or mark the crate `publish = false`",
                relative(root, &changelog),
                crate::release::UNRELEASED
            ));
        }
    }
}

/// Every `.rs` file opens with a `//!` line saying what it is for.
fn check_rust_headers(root: &Path, dir: &Path, problems: &mut Vec<String>) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            if !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_str()) {
                check_rust_headers(root, &path, problems)?;
            }
        } else if file_type.is_file() && name.ends_with(".rs") {
            let text = fs::read_to_string(&path).unwrap_or_default();
            if !text.lines().next().is_some_and(|l| l.starts_with("//!")) {
                problems.push(format!(
                    "{}: does not open with a `//!` line; start it with `//! <what this file is \
                     for>`",
                    relative(root, &path)
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    const ROOT_MANIFEST: &str = "[workspace]\nmembers = [\"crates/*\", \"lattice-xtask\"]\n";
    const GOOD_CRATE: &str = "[package]\nname = \"lattice-good\"\n\n[lints]\nworkspace = true\n\n\
        [dependencies]\nserde.workspace = true\ntokio = { workspace = true, features = [\"rt\"] }\n";

    fn repo() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(root, "Cargo.toml", ROOT_MANIFEST);
        write(root, "crates/lattice-good/Cargo.toml", GOOD_CRATE);
        write(
            root,
            "crates/lattice-good/CHANGELOG.md",
            "# Changelog\n\n## [Unreleased]\n",
        );
        write(root, "crates/lattice-good/src/lib.rs", "//! A good crate.\n");
        write(
            root,
            "lattice-xtask/Cargo.toml",
            "[package]\nname = \"lattice-xtask\"\npublish = false\n[lints]\nworkspace = true\n",
        );
        write(root, "lattice-xtask/src/main.rs", "//! Automation.\nfn main() {}\n");
        // Build output is never checked.
        write(root, "target/debug/build/out.rs", "fn generated() {}\n");
        tmp
    }

    fn manifest_problems(root: &Path) -> Vec<String> {
        let (manifests, mut problems) = member_manifests(root).unwrap();
        for manifest in manifests {
            check_manifest(root, &manifest, &mut problems);
        }
        problems
    }

    fn header_problems(root: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        check_rust_headers(root, root, &mut problems).unwrap();
        problems
    }

    #[test]
    fn a_tidy_repository_passes() {
        let repo = repo();
        assert_eq!(manifest_problems(repo.path()), Vec::<String>::new());
        assert_eq!(header_problems(repo.path()), Vec::<String>::new());
    }

    #[test]
    fn crates_must_inherit_lints_and_dependencies() {
        let repo = repo();
        write(
            repo.path(),
            "crates/lattice-bad/Cargo.toml",
            "[package]\nname = \"lattice-bad\"\npublish = false\n\n[dependencies]\nserde = \"1\"\n\
             local = { path = \"../local\" }\n\n[target.'cfg(unix)'.dev-dependencies]\nlibc = { version = \"0.2\" }\n",
        );
        let problems = manifest_problems(repo.path());
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].contains("crates/lattice-bad/Cargo.toml: lints are not inherited"));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("[dependencies] `serde`") && p.contains("serde.workspace = true"))
        );
        assert!(problems.iter().any(|p| p.contains("[dependencies] `local`")));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("[target.'cfg(unix)'.dev-dependencies] `libc`"))
        );
    }

    #[test]
    fn folder_must_match_package_name() {
        let repo = repo();
        write(
            repo.path(),
            "crates/lattice-good/Cargo.toml",
            &GOOD_CRATE.replace("name = \"lattice-good\"", "name = \"lattice-better\""),
        );
        let problems = manifest_problems(repo.path());
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].contains("package `lattice-better` lives in folder `lattice-good`"));
    }

    #[test]
    fn package_names_carry_the_prefix() {
        let repo = repo();
        write(
            repo.path(),
            "crates/wascap/Cargo.toml",
            "[package]\nname = \"wascap\"\npublish = false\n[lints]\nworkspace = true\n",
        );
        let problems = manifest_problems(repo.path());
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].contains("crates/wascap/Cargo.toml: package `wascap` does not start with `lattice-`"),
            "{problems:#?}"
        );
    }

    #[test]
    fn publishable_crates_need_a_changelog() {
        let repo = repo();
        fs::remove_file(repo.path().join("crates/lattice-good/CHANGELOG.md")).unwrap();
        let problems = manifest_problems(repo.path());
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].starts_with("crates/lattice-good/CHANGELOG.md: missing"));
    }

    #[test]
    fn folders_under_a_members_glob_need_a_manifest() {
        let repo = repo();
        write(repo.path(), "crates/half/CHANGELOG.md", "## [Unreleased]\n");
        let problems = manifest_problems(repo.path());
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].starts_with("crates/half: matched by the workspace members glob `crates/*`"));
    }

    #[test]
    fn the_unreleased_heading_must_be_a_line_of_its_own() {
        let repo = repo();
        write(
            repo.path(),
            "crates/lattice-good/CHANGELOG.md",
            "# Changelog\n\nEntries go under `## [Unreleased]`.\n",
        );
        let problems = manifest_problems(repo.path());
        assert_eq!(problems.len(), 1, "{problems:#?}");
    }

    #[test]
    fn rust_files_open_with_a_doc_line() {
        let repo = repo();
        write(
            repo.path(),
            "crates/lattice-good/src/bad.rs",
            "// not an inner doc comment\n",
        );
        write(repo.path(), "examples/demo/src/main.rs", "fn main() {}\n");
        write(
            repo.path(),
            "crates/lattice-good/tests/it/main.rs",
            "\n//! a blank line first\n",
        );
        let problems = header_problems(repo.path());
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with("crates/lattice-good/src/bad.rs: does not open with a `//!` line"));
        assert!(problems[1].starts_with("crates/lattice-good/tests/it/main.rs"));
        assert!(problems[2].starts_with("examples/demo/src/main.rs"));
    }
}
