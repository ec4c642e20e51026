//! `cargo xtask release`: plan a release (versions, publish order, changelog moves), ask crates.io
//! whether the names and versions are free, package and build every crate as crates.io would,
//! then hand the mechanics (bump, commit, tag, push) to cargo-release, configured in release.toml,
//! publishing in between in the planned order.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt, fs,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, Result, bail};

use crate::{
    cmd::{self, cmd},
    prereqs,
};

/// The changelog heading that collects changes until the next release; release.toml's
/// `pre-release-replacements` insert the new version heading right below it.
pub(crate) const UNRELEASED: &str = "## [Unreleased]";

pub(crate) fn run(level: &str, execute: bool) -> Result<()> {
    let plan = plan(level)?;
    print!("{plan}");
    if plan.crates.is_empty() {
        println!("nothing to release: no publishable crate in the workspace");
        return Ok(());
    }
    if let Some(dirty) = dirty_tree()? {
        bail!(
            "the git work tree has uncommitted changes ({dirty}); a release is cut from a clean \
             checkout: commit or stash them, then run `cargo xtask release {level}` again"
        );
    }
    let registry = Registry::ask(&plan);
    registry.report();
    if !registry.problems.is_empty() {
        bail!(
            "crates.io stands in the way of this release ({} finding(s) above); nothing was changed",
            registry.problems.len()
        );
    }
    // Before anything is committed: a crate that cannot be packaged or built from its package
    // stops the release here.
    verify_packages(&plan)?;
    if execute {
        release(&plan, &registry)
    } else {
        cargo_release_dry_run(&plan, Branch::Main)
    }
}

/// The `ci` step: the maintainer's dry run on a clean tree, except that what crates.io says about
/// names and versions is reported rather than failed (it is a fact about the registry, not about
/// the commit under test), any branch will do, and the crates are packaged without being built
/// from their packages. That build compiles every crate and most dependencies once more, with
/// each package's own features (most of this step's six and a half minutes in a cold CI run on
/// two cores, for a check that fails only when a package lacks a file); the release itself
/// still makes it. A developer running `cargo xtask ci` mid-change gets the plan only.
pub(crate) fn run_ci() -> Result<Option<String>> {
    let plan = plan("patch")?;
    print!("{plan}");
    if plan.crates.is_empty() {
        return Ok(Some("no publishable crate".to_owned()));
    }
    if let Some(dirty) = dirty_tree()? {
        let note = format!("planned only; dry run skipped: the tree is dirty ({dirty})");
        eprintln!("release: {note}");
        return Ok(Some(note));
    }
    let registry = Registry::ask(&plan);
    registry.report();
    package_packages(&plan)?;
    cargo_release_dry_run(&plan, Branch::Any)?;
    let crates = plan.crates.len();
    Ok(Some(if registry.problems.is_empty() {
        format!("{crates} crates packaged; crates.io: names free or ours")
    } else {
        format!(
            "{crates} crates packaged; crates.io: {} finding(s) reported, not failed",
            registry.problems.len()
        )
    }))
}

/// Packages every planned crate as crates.io would take it (manifest, files, a version on each
/// sibling dependency), without building it from its package: CI's share of
/// [`verify_packages`].
fn package_packages(plan: &Plan) -> Result<()> {
    cmd::run(&mut every_crate(plan, ["package", "--no-verify", "--locked"])).context(
        "packaging the publishable crates as crates.io would; the error above names the crate \
         and what its manifest lacks",
    )
}

/// Packages every planned crate and builds it from its package, the way crates.io will see it:
/// one `cargo publish --dry-run` for all of them, so a crate that needs a sibling not yet on
/// crates.io is built against the sibling's package (cargo resolves it locally).
fn verify_packages(plan: &Plan) -> Result<()> {
    forget_unpacked_packages(plan)?;
    cmd::run(&mut every_crate(plan, ["publish", "--dry-run", "--locked"])).context(
        "packaging and building the publishable crates as crates.io would; the error above names \
         the crate and the file or dependency its package lacks",
    )
}

/// `cargo <args>` for every planned crate at once (`--package` each).
fn every_crate<const N: usize>(plan: &Plan, args: [&str; N]) -> std::process::Command {
    let mut command = cmd("cargo", args);
    for krate in &plan.crates {
        command.args(["--package", &krate.name]);
    }
    command
}

/// Forgets what an earlier dry run built of our own packages. Cargo builds a sibling from the
/// local registry the dry run makes, and takes a registry package of an unchanged version to be
/// unchanged: its unpacked sources (`$CARGO_HOME/registry/src/<that registry>/<name>-<version>`)
/// and its build (the fingerprint under the target directory) are reused as they are. With a
/// target directory kept between runs, a sibling whose code changed would be built
/// from, or linked as, the earlier run's. Both are removed; crates.io's sources are left alone,
/// and the next build of the workspace rebuilds our crates once.
fn forget_unpacked_packages(plan: &Plan) -> Result<()> {
    let remove = |dir: &Path| {
        fs::remove_dir_all(dir).with_context(|| format!("removing {} left by an earlier dry run", dir.display()))
    };
    let fingerprints = cmd::target_dir()?.join("debug").join(".fingerprint");
    if let Ok(entries) = fs::read_dir(&fingerprints) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = plan.crates.iter().any(|krate| {
                name.strip_prefix(krate.name.as_str())
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|hash| hash.bytes().all(|b| b.is_ascii_hexdigit()))
            });
            if ours {
                remove(&entry.path())?;
            }
        }
    }
    let Some(sources) = cargo_home().map(|home| home.join("registry").join("src")) else {
        return Ok(());
    };
    let Ok(registries) = fs::read_dir(&sources) else {
        return Ok(());
    };
    for registry in registries.flatten() {
        if registry.file_name().to_string_lossy().starts_with("index.crates.io-") {
            continue;
        }
        for krate in &plan.crates {
            let unpacked = registry.path().join(format!("{}-{}", krate.name, krate.current));
            if unpacked.exists() {
                remove(&unpacked)?;
            }
        }
    }
    Ok(())
}

/// `$CARGO_HOME`, else `~/.cargo`.
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
}

/// crates.io lets an account publish this many new crates at once…
const NEW_CRATE_BURST: usize = 5;
/// …and then one more per this interval (its published rate limits for new crates).
const NEW_CRATE_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// What crates.io said about the planned crates.
#[derive(Debug)]
struct Registry {
    /// What stands in the way of publishing: a name that is someone else's, a version already
    /// published, a registry that did not answer.
    problems: Vec<String>,
    /// The planned crates crates.io does not have yet.
    new: BTreeSet<String>,
}

impl Registry {
    fn ask(plan: &Plan) -> Self {
        eprintln!("release: asking crates.io about {} crate names", plan.crates.len());
        let mut registry = Self {
            problems: Vec::new(),
            new: BTreeSet::new(),
        };
        for krate in &plan.crates {
            let lookup = lookup(&krate.name, &krate.new);
            if lookup == Lookup::Missing {
                registry.new.insert(krate.name.clone());
            }
            registry
                .problems
                .extend(judge(&krate.name, &krate.new, &plan.repository, &lookup));
        }
        registry
    }

    fn report(&self) {
        if self.problems.is_empty() {
            eprintln!("release: crates.io: every name is free or ours, and no planned version is taken");
        }
        for problem in &self.problems {
            eprintln!("release: crates.io: {problem}");
        }
        if self.new.len() > NEW_CRATE_BURST {
            let paced = self.new.len() - NEW_CRATE_BURST;
            eprintln!(
                "release: crates.io: {} crates are new there; it takes {NEW_CRATE_BURST} new crates \
                 at once and then one every {} minutes, so --execute publishes the last {paced} \
                 of them that far apart (about {} minutes)",
                self.new.len(),
                NEW_CRATE_INTERVAL.as_secs() / 60,
                paced as u64 * NEW_CRATE_INTERVAL.as_secs() / 60
            );
        }
    }
}

/// How long to wait before publishing each crate, in publish order: nothing for crates that
/// exist already or for the first [`NEW_CRATE_BURST`] new ones, then [`NEW_CRATE_INTERVAL`]
/// before each further new crate.
fn publish_pacing<'a>(order: &[&'a str], new: &BTreeSet<String>) -> Vec<(&'a str, Duration)> {
    let mut new_so_far = 0;
    order
        .iter()
        .map(|&name| {
            if !new.contains(name) {
                return (name, Duration::ZERO);
            }
            new_so_far += 1;
            let wait = if new_so_far > NEW_CRATE_BURST {
                NEW_CRATE_INTERVAL
            } else {
                Duration::ZERO
            };
            (name, wait)
        })
        .collect()
}

/// What crates.io says about one planned crate.
#[derive(Debug, PartialEq, Eq)]
enum Lookup {
    /// No crate of that name.
    Missing,
    /// A crate of that name, with the repository its latest version names, and whether the
    /// version this release would publish is already there.
    Found {
        repository: Option<String>,
        version_published: bool,
    },
    /// The registry could not be asked.
    Failed(String),
}

/// Asks crates.io about `name` and about `name@version`.
fn lookup(name: &str, version: &str) -> Lookup {
    let found = match cargo_info(name) {
        Ok(Some(info)) => info,
        Ok(None) => return Lookup::Missing,
        Err(reason) => return Lookup::Failed(reason),
    };
    match cargo_info(&format!("{name}@{version}")) {
        Ok(published) => Lookup::Found {
            repository: repository_of(&found),
            version_published: published.is_some(),
        },
        Err(reason) => Lookup::Failed(reason),
    }
}

/// `cargo info SPEC` run outside the workspace (inside it, cargo describes the local package
/// instead): its output when crates.io has `spec`, `None` when it does not.
fn cargo_info(spec: &str) -> Result<Option<String>, String> {
    let output = std::process::Command::new("cargo")
        .args(["info", "--quiet", "--registry", "crates-io", spec])
        .current_dir(std::env::temp_dir())
        .output()
        .map_err(|err| format!("could not run `cargo info`: {err}"))?;
    if output.status.success() {
        return Ok(Some(String::from_utf8_lossy(&output.stdout).into_owned()));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("could not find") {
        Ok(None)
    } else {
        Err(stderr.trim().to_owned())
    }
}

/// The `repository:` line of `cargo info` output.
fn repository_of(info: &str) -> Option<String> {
    info.lines()
        .find_map(|line| line.trim().strip_prefix("repository:"))
        .map(|url| url.trim().to_owned())
}

/// Whether two repository URLs name the same repository (case, a trailing `/` or `.git` aside).
fn same_repository(a: &str, b: &str) -> bool {
    let normal = |url: &str| {
        let url = url.trim().trim_end_matches('/');
        url.strip_suffix(".git").unwrap_or(url).to_ascii_lowercase()
    };
    normal(a) == normal(b)
}

fn judge(name: &str, version: &str, ours: &str, lookup: &Lookup) -> Option<String> {
    match lookup {
        Lookup::Missing => None,
        Lookup::Found { repository, .. } if !repository.as_deref().is_some_and(|r| same_repository(r, ours)) => {
            Some(format!(
                "`{name}` is already a crate on crates.io (repository: {}), not ours ({ours}); \
                 rename the package (ADR 0016 says how names are chosen)",
                repository.as_deref().unwrap_or("none given")
            ))
        }
        Lookup::Found {
            version_published: true,
            ..
        } => Some(format!(
            "`{name}` {version} is already published; release a higher version (`cargo xtask \
             release X.Y.Z`)"
        )),
        Lookup::Found { .. } => None,
        Lookup::Failed(reason) => Some(format!(
            "could not ask crates.io about `{name}`: {reason}; check the network and run again"
        )),
    }
}

/// Which branches a dry run accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Branch {
    /// release.toml's `allow-branch` (main): the maintainer's dry run, as the release will run.
    Main,
    /// Any: which branch CI checked out (often a detached HEAD) says nothing about the commit
    /// under test.
    Any,
}

/// The publishable crates, each as `--package NAME`: release.toml cannot express per-crate
/// `release = false` without editing every unpublished crate's manifest, so the selection lives
/// here.
fn cargo_release_cmd<'a>(plan: &Plan, args: impl IntoIterator<Item = &'a str>) -> std::process::Command {
    let mut command = cmd("cargo", ["release"]);
    command.args(args);
    for krate in &plan.crates {
        command.args(["--package", &krate.name]);
    }
    command
}

/// cargo-release's own dry run of the version bump, changelog moves, commit, tags and push.
/// Its publish step is left to [`verify_packages`], which is stronger (every crate is built from
/// its package, against its siblings' packages): cargo-release's dry-run publish checks whether
/// the new versions of the siblings are on crates.io already and how many new crates there are,
/// which are facts about the registry before the release, reported by [`Registry`].
fn cargo_release_dry_run(plan: &Plan, branch: Branch) -> Result<()> {
    prereqs::ensure_cargo_release()?;
    let version = plan.new_version.to_string();
    let mut command = cargo_release_cmd(plan, [version.as_str(), "--no-publish"]);
    if branch == Branch::Any {
        command.args(["--allow-branch", "*"]);
    }
    eprintln!("release: dry run; nothing is changed (pass --execute to release for real)");
    cmd::run(&mut command)
}

/// The release itself: bump, changelog moves and commit (cargo-release), then each crate
/// published in order (cargo waits until the index has it before the next one needs it), paced
/// for crates.io's new-crate limit, then tags and push (cargo-release). Nothing is pushed until
/// every crate is published.
fn release(plan: &Plan, registry: &Registry) -> Result<()> {
    // CI has no terminal to confirm on, and the operator confirmed by dispatching the workflow;
    // at a terminal, cargo-release asks before it changes anything.
    let confirm: &[&str] = if cmd::is_ci() { &["--no-confirm"] } else { &[] };
    prereqs::ensure_cargo_release()?;
    let version = plan.new_version.to_string();
    let mut commit = cargo_release_cmd(
        plan,
        [version.as_str(), "--no-publish", "--no-tag", "--no-push", "--execute"],
    );
    commit.args(confirm);
    cmd::run(&mut commit)?;

    let order: Vec<&str> = plan.crates.iter().map(|c| c.name.as_str()).collect();
    for (name, wait) in publish_pacing(&order, &registry.new) {
        if !wait.is_zero() {
            eprintln!(
                "release: waiting {} minutes for crates.io's new-crate limit before {name}",
                wait.as_secs() / 60
            );
            std::thread::sleep(wait);
        }
        cmd::run(&mut cmd("cargo", ["publish", "--locked", "--package", name])).with_context(|| {
            format!(
                "publishing {name}; the crates before it are on crates.io and cannot be \
                 unpublished: fix the cause and publish the rest of this version by hand \
                 (`cargo publish --package <crate>` in the order printed above), then tag and push"
            )
        })?;
    }

    for step in ["tag", "push"] {
        let mut command = cargo_release_cmd(plan, [step, "--execute"]);
        command.args(confirm);
        cmd::run(&mut command)?;
    }
    Ok(())
}

/// `Some(summary)` when `git status` shows modified, staged or untracked files.
fn dirty_tree() -> Result<Option<String>> {
    let status = cmd::read(&mut cmd("git", ["status", "--porcelain", "--untracked-files=normal"]))
        .context("checking whether the git tree is clean")?;
    let files: Vec<&str> = status.lines().map(|l| l.get(3..).unwrap_or(l)).collect();
    if files.is_empty() {
        return Ok(None);
    }
    let shown: Vec<&str> = files.iter().copied().take(3).collect();
    let more = if files.len() > shown.len() {
        format!(" and {} more", files.len() - shown.len())
    } else {
        String::new()
    };
    Ok(Some(format!("{}{more}", shown.join(", "))))
}

/// A `major.minor.patch[-pre]` version; build metadata is not used in this workspace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    /// Empty for a release. (Ordering with a pre-release is only used for `>` on release
    /// versions, where an empty `pre` sorting first would be wrong; see `is_newer_than`.)
    pre: String,
}

impl Version {
    fn parse(text: &str) -> Result<Self> {
        let (core, pre) = match text.split_once('-') {
            Some((core, pre)) => (core, pre.to_owned()),
            None => (text, String::new()),
        };
        let parts: Vec<&str> = core.split('.').collect();
        let number = |s: &str| s.parse::<u64>().ok().filter(|_| !s.is_empty());
        match parts.as_slice() {
            [a, b, c] => match (number(a), number(b), number(c)) {
                (Some(major), Some(minor), Some(patch)) => Ok(Self {
                    major,
                    minor,
                    patch,
                    pre,
                }),
                _ => bail!("`{text}` is not a version: write X.Y.Z, e.g. 0.2.0"),
            },
            _ => bail!("`{text}` is not a version: write X.Y.Z, e.g. 0.2.0"),
        }
    }

    /// The version a `patch`/`minor`/`major` bump or an explicit `X.Y.Z` leads to (the same rules
    /// as cargo-release: a `patch` bump of a pre-release just drops the pre-release).
    fn bump(&self, level: &str) -> Result<Self> {
        let (major, minor, patch) = (self.major, self.minor, self.patch);
        let next = match level {
            "patch" if !self.pre.is_empty() => Self {
                pre: String::new(),
                ..self.clone()
            },
            "patch" => Self {
                major,
                minor,
                patch: patch + 1,
                pre: String::new(),
            },
            "minor" => Self {
                major,
                minor: minor + 1,
                patch: 0,
                pre: String::new(),
            },
            "major" => Self {
                major: major + 1,
                minor: 0,
                patch: 0,
                pre: String::new(),
            },
            explicit => {
                let next = Self::parse(explicit)
                    .context("the release level is patch, minor, major or an explicit version X.Y.Z")?;
                if !next.is_newer_than(self) {
                    bail!("version {next} is not newer than the current {self}: pick a higher one");
                }
                next
            }
        };
        Ok(next)
    }

    fn is_newer_than(&self, other: &Self) -> bool {
        let core = |v: &Self| (v.major, v.minor, v.patch);
        match core(self).cmp(&core(other)) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            // Same core: a release is newer than its pre-releases; pre-releases compare as text.
            std::cmp::Ordering::Equal => match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, false) => true,
                (false, false) => self.pre > other.pre,
                _ => false,
            },
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        Ok(())
    }
}

/// One workspace package as far as releasing is concerned.
#[derive(Debug, Clone)]
struct Package {
    name: String,
    version: String,
    publishable: bool,
    /// The `repository` URL of its manifest; crates.io shows it for each crate.
    repository: Option<String>,
    dir: PathBuf,
    /// Workspace packages this one needs at build or run time (dev-dependencies excluded: cargo
    /// strips them when publishing, so they do not constrain the order).
    needs: BTreeSet<String>,
}

#[derive(Debug)]
struct PlannedCrate {
    name: String,
    current: String,
    new: String,
    changelog: String,
    unreleased_entries: usize,
}

#[derive(Debug)]
struct Plan {
    new_version: Version,
    date: String,
    /// The repository the publishable crates name (the workspace shares one); a crate of the
    /// same name on crates.io that names another repository is someone else's.
    repository: String,
    /// In publish order.
    crates: Vec<PlannedCrate>,
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "release plan")?;
        if self.crates.is_empty() {
            return Ok(());
        }
        let width = self.crates.iter().map(|c| c.name.len()).max().unwrap_or(0);
        writeln!(f, "  crates (current -> new):")?;
        for c in &self.crates {
            writeln!(f, "    {:<width$}  {} -> {}", c.name, c.current, c.new)?;
        }
        let order: Vec<&str> = self.crates.iter().map(|c| c.name.as_str()).collect();
        writeln!(f, "  publish order: {}", order.join(" -> "))?;
        writeln!(f, "  changelog moves:")?;
        for c in &self.crates {
            writeln!(
                f,
                "    {}: {UNRELEASED} ({} entr{}) -> ## [{}] - {}",
                c.changelog,
                c.unreleased_entries,
                if c.unreleased_entries == 1 { "y" } else { "ies" },
                c.new,
                self.date
            )?;
        }
        let tags: Vec<String> = self.crates.iter().map(|c| format!("{}-v{}", c.name, c.new)).collect();
        writeln!(f, "  tags: {}", tags.join(", "))
    }
}

fn plan(level: &str) -> Result<Plan> {
    let root = std::env::current_dir()?;
    let json = cmd::read(&mut cmd("cargo", ["metadata", "--format-version", "1", "--no-deps"]))?;
    let packages = packages_from_metadata(&json)?;
    plan_from(&root, &packages, level, &crate::records::today())
}

fn plan_from(root: &Path, packages: &[Package], level: &str, date: &str) -> Result<Plan> {
    let order = publish_order(packages)?;
    let mut crates = Vec::new();
    let mut new_version = None;
    let mut repository = None;
    for name in order {
        let package = packages.iter().find(|p| p.name == name).expect("ordered from packages");
        match (&package.repository, &repository) {
            (None, _) => bail!(
                "{} has no `repository` in its manifest; crates.io shows it, and the release \
                 tells our crates from others' by it: add `repository.workspace = true`",
                package.name
            ),
            (Some(url), Some(first)) if url != first => bail!(
                "{} names repository {url}, other crates {first}: the workspace shares one, \
                 write `repository.workspace = true`",
                package.name
            ),
            (Some(url), _) => repository = Some(url.clone()),
        }
        let current = Version::parse(&package.version).with_context(|| format!("{}'s version", package.name))?;
        let new = current.bump(level)?;
        let changelog_path = package.dir.join("CHANGELOG.md");
        let changelog = changelog_path
            .strip_prefix(root)
            .unwrap_or(&changelog_path)
            .display()
            .to_string();
        let text = fs::read_to_string(&changelog_path).with_context(|| {
            format!("{changelog}: missing; a publishable crate keeps a changelog with a `{UNRELEASED}` section")
        })?;
        let unreleased_entries = unreleased_entries(&text).with_context(|| {
            format!("{changelog}: no `{UNRELEASED}` section for the release to move under the new version")
        })?;
        new_version.get_or_insert_with(|| new.clone());
        crates.push(PlannedCrate {
            name: package.name.clone(),
            current: current.to_string(),
            new: new.to_string(),
            changelog,
            unreleased_entries,
        });
    }
    // release.toml shares one version across the workspace, so every crate lands on the same one.
    let distinct: BTreeSet<&str> = crates.iter().map(|c| c.new.as_str()).collect();
    if distinct.len() > 1 {
        bail!(
            "publishable crates would end up on different versions ({}): the workspace shares one \
             version, so give every crate `version.workspace = true`",
            distinct.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    let new_version = match new_version {
        Some(v) => v,
        None => Version::parse("0.0.0")?,
    };
    Ok(Plan {
        new_version,
        date: date.to_owned(),
        repository: repository.unwrap_or_default(),
        crates,
    })
}

/// Whether a changelog has the `## [Unreleased]` heading on a line of its own (the only form the
/// anchored replacement in release.toml moves).
pub(crate) fn has_unreleased_heading(changelog: &str) -> bool {
    changelog.lines().any(|l| l.trim_end() == UNRELEASED)
}

/// How many `- ` entries the `## [Unreleased]` section holds, or `None` without that section.
fn unreleased_entries(changelog: &str) -> Option<usize> {
    let mut lines = changelog.lines().skip_while(|l| l.trim_end() != UNRELEASED);
    lines.next()?;
    Some(
        lines
            .take_while(|l| !l.starts_with("## "))
            .filter(|l| l.trim_start().starts_with("- "))
            .count(),
    )
}

fn packages_from_metadata(json: &str) -> Result<Vec<Package>> {
    let meta: serde_json::Value = serde_json::from_str(json).context("parsing cargo metadata")?;
    let members: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str())
        .collect();
    let mut packages = Vec::new();
    for p in meta["packages"].as_array().into_iter().flatten() {
        if !p["id"].as_str().is_some_and(|id| members.contains(id)) {
            continue;
        }
        let name = p["name"].as_str().context("cargo metadata: package without a name")?;
        // `publish` is null when unrestricted and a list of registries otherwise; `[]` is
        // `publish = false`.
        let publishable = p["publish"].as_array().is_none_or(|registries| !registries.is_empty());
        let manifest = p["manifest_path"]
            .as_str()
            .context("cargo metadata: no manifest_path")?;
        let needs = p["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["path"].is_string() && d["kind"].as_str() != Some("dev"))
            .filter_map(|d| d["name"].as_str().map(str::to_owned))
            .collect();
        packages.push(Package {
            name: name.to_owned(),
            version: p["version"].as_str().unwrap_or_default().to_owned(),
            publishable,
            repository: p["repository"].as_str().map(str::to_owned),
            dir: Path::new(manifest)
                .parent()
                .context("manifest_path has no parent")?
                .to_path_buf(),
            needs,
        });
    }
    Ok(packages)
}

/// Publishable packages, each after every workspace package it needs (ties broken by name, so
/// the order is stable). A publishable crate that needs an unpublishable one is an error:
/// crates.io would reject it.
fn publish_order(packages: &[Package]) -> Result<Vec<String>> {
    let by_name: BTreeMap<&str, &Package> = packages.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut pending: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for p in packages.iter().filter(|p| p.publishable) {
        let mut needs = BTreeSet::new();
        for dep in &p.needs {
            match by_name.get(dep.as_str()) {
                Some(d) if d.publishable => {
                    needs.insert(d.name.as_str());
                }
                Some(d) => bail!(
                    "{} needs {} (a normal or build dependency), but {} has `publish = false`: \
                     make it a dev-dependency, or make {} publishable",
                    p.name,
                    d.name,
                    d.name,
                    d.name
                ),
                None => {}
            }
        }
        pending.insert(p.name.as_str(), needs);
    }
    let mut order = Vec::new();
    while !pending.is_empty() {
        let ready: Vec<&str> = pending
            .iter()
            .filter(|(_, needs)| needs.is_empty())
            .map(|(name, _)| *name)
            .collect();
        let Some(next) = ready.first().copied() else {
            bail!(
                "the workspace crates {} depend on each other in a cycle; break it before releasing",
                pending.keys().copied().collect::<Vec<_>>().join(", ")
            );
        };
        pending.remove(next);
        for needs in pending.values_mut() {
            needs.remove(next);
        }
        order.push(next.to_owned());
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, publishable: bool, needs: &[&str]) -> Package {
        Package {
            name: name.to_owned(),
            version: "0.1.0".to_owned(),
            publishable,
            repository: Some("https://github.com/lattice-rs/lattice".to_owned()),
            dir: PathBuf::from(format!("/repo/crates/{name}")),
            needs: needs.iter().map(|n| n.to_string()).collect(),
        }
    }

    #[test]
    fn bumps_follow_cargo_release() {
        let v = |s: &str| Version::parse(s).unwrap();
        assert_eq!(v("0.1.0").bump("patch").unwrap(), v("0.1.1"));
        assert_eq!(v("0.1.3").bump("minor").unwrap(), v("0.2.0"));
        assert_eq!(v("0.1.3").bump("major").unwrap(), v("1.0.0"));
        assert_eq!(v("0.2.0-rc.1").bump("patch").unwrap(), v("0.2.0"));
        assert_eq!(v("0.1.0").bump("0.3.0").unwrap(), v("0.3.0"));
        assert!(v("0.2.0").bump("0.1.9").is_err());
        assert!(v("0.2.0").bump("0.2.0").is_err());
        assert!(v("0.2.0").bump("huge").is_err());
        assert_eq!(v("1.2.3-beta.2").to_string(), "1.2.3-beta.2");
    }

    #[test]
    fn publish_order_is_topological_and_stable() {
        let packages = [
            package("lattice-wash", true, &["lattice-claims", "lattice-control-interface"]),
            package("lattice-control-interface", true, &[]),
            package("lattice-claims", true, &[]),
            package("lattice-runtime", true, &["lattice-claims"]),
            package("lattice-xtask", false, &[]),
        ];
        assert_eq!(
            publish_order(&packages).unwrap(),
            [
                "lattice-claims",
                "lattice-control-interface",
                "lattice-runtime",
                "lattice-wash"
            ]
        );
    }

    #[test]
    fn publishable_crates_cannot_need_unpublishable_ones_and_cycles_fail() {
        let err = publish_order(&[
            package("lattice-wash", true, &["lattice-test-support"]),
            package("lattice-test-support", false, &[]),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("lattice-wash needs lattice-test-support"), "{err}");

        let err = publish_order(&[package("a", true, &["b"]), package("b", true, &["a"])])
            .unwrap_err()
            .to_string();
        assert!(err.contains("cycle"), "{err}");
    }

    #[test]
    fn plans_versions_order_and_changelog_moves() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let mut packages = Vec::new();
        for (name, needs) in [("lattice-wash", vec!["lattice-claims"]), ("lattice-claims", vec![])] {
            let dir = root.join("crates").join(name);
            fs::create_dir_all(&dir).unwrap();
            fs::write(
                dir.join("CHANGELOG.md"),
                "# Changelog\n\n## [Unreleased]\n\n### Added\n- one\n- two\n\n## [0.1.0] - 2026-01-01\n- old\n",
            )
            .unwrap();
            packages.push(Package {
                dir,
                ..package(name, true, &needs)
            });
        }
        packages.push(package("lattice-test-support", false, &[]));

        let plan = plan_from(root, &packages, "minor", "2026-11-24").unwrap();
        expect_test::expect![[r#"
            release plan
              crates (current -> new):
                lattice-claims  0.1.0 -> 0.2.0
                lattice-wash    0.1.0 -> 0.2.0
              publish order: lattice-claims -> lattice-wash
              changelog moves:
                crates/lattice-claims/CHANGELOG.md: ## [Unreleased] (2 entries) -> ## [0.2.0] - 2026-11-24
                crates/lattice-wash/CHANGELOG.md: ## [Unreleased] (2 entries) -> ## [0.2.0] - 2026-11-24
              tags: lattice-claims-v0.2.0, lattice-wash-v0.2.0
        "#]]
        .assert_eq(&plan.to_string());

        fs::write(root.join("crates/lattice-wash/CHANGELOG.md"), "# Changelog\n").unwrap();
        let err = format!("{:#}", plan_from(root, &packages, "minor", "2026-11-24").unwrap_err());
        assert!(
            err.contains("crates/lattice-wash/CHANGELOG.md: no `## [Unreleased]` section"),
            "{err}"
        );
    }

    #[test]
    fn reads_packages_from_cargo_metadata() {
        let json = r#"{
            "workspace_members": ["path+file:///r/crates/lattice-wash#0.1.0", "path+file:///r/lattice-xtask#0.0.0"],
            "packages": [
                {"id": "path+file:///r/crates/lattice-wash#0.1.0", "name": "lattice-wash", "version": "0.1.0", "publish": null,
                 "manifest_path": "/r/crates/lattice-wash/Cargo.toml",
                 "dependencies": [
                    {"name": "lattice-claims", "kind": null, "path": "/r/crates/lattice-claims"},
                    {"name": "lattice-test-support", "kind": "dev", "path": "/r/crates/lattice-test-support"},
                    {"name": "anyhow", "kind": null}
                 ]},
                {"id": "path+file:///r/lattice-xtask#0.0.0", "name": "lattice-xtask", "version": "0.0.0", "publish": [],
                 "manifest_path": "/r/lattice-xtask/Cargo.toml", "dependencies": []}
            ]
        }"#;
        let packages = packages_from_metadata(json).unwrap();
        assert_eq!(packages.len(), 2);
        assert!(packages[0].publishable && !packages[1].publishable);
        assert_eq!(packages[0].needs.iter().collect::<Vec<_>>(), ["lattice-claims"]);
        assert_eq!(packages[0].dir, Path::new("/r/crates/lattice-wash"));
    }

    #[test]
    fn crates_io_findings_name_the_crate_and_the_fix() {
        let ours = "https://github.com/lattice-rs/lattice";
        let found = |repository: Option<&str>, version_published| Lookup::Found {
            repository: repository.map(str::to_owned),
            version_published,
        };
        assert_eq!(judge("lattice-host", "0.2.0", ours, &Lookup::Missing), None);
        assert_eq!(
            judge(
                "lattice-host",
                "0.2.0",
                ours,
                &found(Some("https://GitHub.com/lattice-rs/lattice.git/"), false)
            ),
            None
        );
        let taken = judge(
            "wascap",
            "0.2.0",
            ours,
            &found(Some("https://github.com/wasmCloud/wasmCloud"), true),
        )
        .unwrap();
        assert!(
            taken.contains(
                "`wascap` is already a crate on crates.io (repository: https://github.com/wasmCloud/wasmCloud)"
            ) && taken.contains("rename the package"),
            "{taken}"
        );
        assert!(
            judge("x", "0.2.0", ours, &found(None, false))
                .unwrap()
                .contains("repository: none given")
        );
        let again = judge("lattice-host", "0.2.0", ours, &found(Some(ours), true)).unwrap();
        assert!(again.contains("`lattice-host` 0.2.0 is already published"), "{again}");
        let offline = judge("lattice-host", "0.2.0", ours, &Lookup::Failed("timed out".to_owned())).unwrap();
        assert!(
            offline.contains("could not ask crates.io about `lattice-host`: timed out"),
            "{offline}"
        );
    }

    #[test]
    fn new_crates_past_the_burst_are_paced() {
        let order = ["a", "b", "c", "d", "e", "old", "f", "g"];
        let new: BTreeSet<String> = ["a", "b", "c", "d", "e", "f", "g"].map(str::to_owned).into();
        let waits: Vec<u64> = publish_pacing(&order, &new)
            .into_iter()
            .map(|(_, wait)| wait.as_secs() / 60)
            .collect();
        assert_eq!(waits, [0, 0, 0, 0, 0, 0, 10, 10]);
        assert!(
            publish_pacing(&order, &BTreeSet::new())
                .iter()
                .all(|(_, w)| w.is_zero())
        );
    }

    #[test]
    fn reads_the_repository_from_cargo_info() {
        let info = "wascap #jwt\nExtracting tokens\nversion: 0.16.2\nrepository: https://github.com/wasmCloud/wasmCloud\ncrates.io: https://crates.io/crates/wascap/0.16.2\n";
        assert_eq!(
            repository_of(info).as_deref(),
            Some("https://github.com/wasmCloud/wasmCloud")
        );
        assert_eq!(
            repository_of("version: 0.2.0\nhomepage: https://github.com/wascc\n"),
            None
        );
    }

    #[test]
    fn counts_unreleased_entries() {
        assert_eq!(unreleased_entries("## [Unreleased]\n\n## [0.1.0]\n- x\n"), Some(0));
        assert_eq!(
            unreleased_entries("# C\n## [Unreleased]\n### Fixed\n- a\n  - nested\n"),
            Some(2)
        );
        assert_eq!(unreleased_entries("# C\n"), None);
    }
}
