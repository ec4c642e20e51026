//! Architecture decision records (`adr/`) and RFCs (`rfcs/`): `adr new`/`rfc new`, and the tidy
//! checks that keep each index, the record files and MAINTAINERS.md in agreement.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};

/// One family of numbered records: where they live and which statuses they may have.
#[derive(Debug)]
pub(crate) struct Kind {
    /// Folder under the repository root.
    dir: &'static str,
    /// How people call one record: "ADR", "RFC".
    label: &'static str,
    statuses: &'static [&'static str],
    /// Whether `superseded by NNNN` (an ADR number) is a valid status.
    supersedable: bool,
    /// Heading prefix before the number: `# 0001. Title` or `# RFC 0001: Title`.
    heading_prefix: &'static str,
    heading_separator: &'static str,
}

pub(crate) const ADR: &Kind = &Kind {
    dir: "adr",
    label: "ADR",
    statuses: &["proposed", "accepted", "rejected", "deprecated"],
    supersedable: true,
    heading_prefix: "",
    heading_separator: ".",
};

pub(crate) const RFC: &Kind = &Kind {
    dir: "rfcs",
    label: "RFC",
    statuses: &["proposed", "accepted", "implemented", "rejected", "withdrawn"],
    supersedable: false,
    heading_prefix: "RFC ",
    heading_separator: ":",
};

/// Statuses of an RFC that a maintainer vote produced, so the votes must be on record.
const APPROVED_RFC_STATUSES: &[&str] = &["accepted", "implemented"];
const MIN_APPROVERS: usize = 2;

const INDEX: &str = "README.md";
const TEMPLATE: &str = "template.md";
const MAINTAINERS: &str = "MAINTAINERS.md";

impl Kind {
    fn heading(&self, number: u32, title: &str) -> String {
        format!("# {}{number:04}{} {title}", self.heading_prefix, self.heading_separator)
    }

    fn status_is_valid(&self, status: &str) -> bool {
        self.statuses.contains(&status) || (self.supersedable && superseded_by(status).is_some())
    }

    fn status_help(&self) -> String {
        let mut list = self.statuses.join(" | ");
        if self.supersedable {
            list.push_str(" | superseded by NNNN");
        }
        list
    }
}

/// The ADR number in `superseded by NNNN`.
fn superseded_by(status: &str) -> Option<u32> {
    let number = status.strip_prefix("superseded by ")?;
    (number.len() == 4 && number.bytes().all(|b| b.is_ascii_digit())).then(|| number.parse().ok())?
}

/// A record file, as parsed from its heading and header block.
#[derive(Debug)]
struct Record {
    /// `adr/0001-one-workspace.md`, for messages.
    path: String,
    file_name: String,
    number: u32,
    title: String,
    fields: BTreeMap<String, String>,
}

impl Record {
    fn field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }
}

/// One row of an index table: `| [0001](0001-x.md) | Title | accepted | 2026-11-24 |`.
#[derive(Debug)]
struct Row {
    number: String,
    link: String,
    title: String,
    status: String,
}

// ---------------------------------------------------------------------------------------------
// `cargo xtask adr new` / `rfc new`

pub(crate) fn new(kind: &Kind, title: &str) -> Result<()> {
    let root = std::env::current_dir()?;
    let path = new_in(&root, kind, title, &today())?;
    println!("created {}", path.display());
    println!(
        "next: fill it in, open a pull request, and keep `Status: proposed` until {}",
        if kind.dir == RFC.dir {
            "two maintainers approve (record them under `Approvers:`)"
        } else {
            "the decision is agreed (usually through an accepted RFC)"
        }
    );
    Ok(())
}

/// Writes the next record of `kind` under `root` from the template and adds its index row.
fn new_in(root: &Path, kind: &Kind, title: &str, date: &str) -> Result<PathBuf> {
    let title = title.trim();
    if title.contains(['|', '\n', '\r']) {
        bail!("the title `{title}` contains `|` or a line break, which would break the index table");
    }
    let slug = slug(title);
    if slug.is_empty() {
        bail!("the title `{title}` has no letters or digits to make a file name from");
    }
    let dir = root.join(kind.dir);
    let template_path = dir.join(TEMPLATE);
    let template =
        fs::read_to_string(&template_path).with_context(|| format!("reading {}", template_path.display()))?;
    let number = record_files(&dir)?
        .iter()
        .filter_map(|name| name.get(..4)?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    let file_name = format!("{number:04}-{slug}.md");
    let path = dir.join(&file_name);

    let body = fill_template(kind, &template, number, title, date);
    let index_path = dir.join(INDEX);
    let index = fs::read_to_string(&index_path).with_context(|| format!("reading {}", index_path.display()))?;
    let row = format!("| [{number:04}]({file_name}) | {title} | proposed | {date} |");
    let index = insert_row(&index, &row).with_context(|| {
        format!(
            "{}: no index table found (a `| Number | Title | Status | Date |` header)",
            index_path.display()
        )
    })?;

    // Write the record last-but-one and the index last: a failure leaves at most a stray file
    // that tidy will point at, never an index row without its file.
    fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
    fs::write(&index_path, index).with_context(|| format!("writing {}", index_path.display()))?;
    Ok(path)
}

/// The template with its heading, status and date lines filled in; everything else kept. Only
/// the header block (before the first `## ` section) is touched.
fn fill_template(kind: &Kind, template: &str, number: u32, title: &str, date: &str) -> String {
    let mut heading_done = false;
    let mut in_header = true;
    let mut out = String::with_capacity(template.len() + title.len());
    for line in template.lines() {
        in_header &= !line.starts_with("## ");
        let filled = if !heading_done && line.starts_with("# ") {
            heading_done = true;
            kind.heading(number, title)
        } else if in_header && line.starts_with("- Status:") {
            "- Status: proposed".to_owned()
        } else if in_header && line.starts_with("- Date:") {
            format!("- Date: {date}")
        } else {
            line.to_owned()
        };
        out.push_str(&filled);
        out.push('\n');
    }
    out
}

/// Inserts `row` after the last row of the index table (or right under its header).
fn insert_row(index: &str, row: &str) -> Option<String> {
    let lines: Vec<&str> = index.lines().collect();
    let after = match lines.iter().rposition(|line| parse_row(line).is_some()) {
        Some(last_row) => last_row,
        None => {
            let header = lines.iter().position(|line| is_index_header(line))?;
            // The header is followed by its `|---|` separator line.
            (header + 1 < lines.len() && lines[header + 1].trim_start().starts_with('|')).then_some(header + 1)?
        }
    };
    let mut out = String::with_capacity(index.len() + row.len() + 1);
    for (i, line) in lines.iter().enumerate() {
        out.push_str(line);
        out.push('\n');
        if i == after {
            out.push_str(row);
            out.push('\n');
        }
    }
    Some(out)
}

/// A kebab-case file-name slug: lowercase ASCII letters and digits separated by single dashes.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// Today's UTC date as `YYYY-MM-DD`, computed from the system clock (no date crate needed).
pub(crate) fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), using 400-year eras.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // year of era
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year, March-based
    let mp = (5 * doy + 2) / 153; // month, March = 0
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

// ---------------------------------------------------------------------------------------------
// Tidy checks

/// Every problem with the ADRs, the RFCs and their indexes, each naming the file and the fix.
pub(crate) fn check(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let maintainers = match fs::read_to_string(root.join(MAINTAINERS)) {
        Ok(text) => handles(&text),
        Err(_) => {
            problems.push(format!(
                "{MAINTAINERS}: missing; list the maintainers (GitHub @handles) per area there"
            ));
            BTreeSet::new()
        }
    };
    let adrs = check_kind(root, ADR, &mut problems);
    let rfcs = check_kind(root, RFC, &mut problems);
    let adr_numbers: BTreeSet<u32> = adrs.iter().map(|r| r.number).collect();

    for adr in &adrs {
        if let Some(target) = adr.field("status").and_then(superseded_by) {
            if !adr_numbers.contains(&target) {
                problems.push(format!(
                    "{}: `superseded by {target:04}` names no existing ADR; point it at the ADR \
                     that replaces this one",
                    adr.path
                ));
            } else if target == adr.number {
                problems.push(format!("{}: an ADR cannot supersede itself", adr.path));
            }
        }
    }
    for rfc in &rfcs {
        if let Some(adr) = rfc.field("adr").filter(|v| !is_empty_value(v)) {
            let number = adr.trim_start_matches("ADR").trim();
            let exists = number.len() == 4 && number.parse::<u32>().is_ok_and(|n| adr_numbers.contains(&n));
            if !exists {
                problems.push(format!(
                    "{}: `ADR: {adr}` names no existing ADR; write the 4-digit number of the ADR \
                     that records this decision, or `-` while there is none",
                    rfc.path
                ));
            }
        }
        let status = rfc.field("status").unwrap_or_default();
        if APPROVED_RFC_STATUSES.contains(&status) {
            check_approvers(rfc, &maintainers, &mut problems);
        }
    }
    problems
}

fn check_approvers(rfc: &Record, maintainers: &BTreeSet<String>, problems: &mut Vec<String>) {
    let approvers = handles(rfc.field("approvers").unwrap_or_default());
    if approvers.len() < MIN_APPROVERS {
        problems.push(format!(
            "{}: an RFC with status `{}` needs at least {MIN_APPROVERS} maintainer approvals; \
             list them as `- Approvers: @one, @two`, or set the status back to `proposed`",
            rfc.path,
            rfc.field("status").unwrap_or_default(),
        ));
    }
    for approver in approvers.difference(maintainers) {
        problems.push(format!(
            "{}: approver `{approver}` is not listed in {MAINTAINERS}; only maintainers can \
             accept an RFC (add them there first, through its own review)",
            rfc.path
        ));
    }
}

fn is_empty_value(value: &str) -> bool {
    matches!(value.trim(), "" | "-" | "—" | "none" | "n/a")
}

/// Parses and checks one folder of records; returns the records that parsed.
fn check_kind(root: &Path, kind: &Kind, problems: &mut Vec<String>) -> Vec<Record> {
    let dir = root.join(kind.dir);
    if !dir.is_dir() {
        problems.push(format!(
            "{}/: missing; it holds the {}s, its {INDEX} index and {TEMPLATE}",
            kind.dir, kind.label
        ));
        return Vec::new();
    }
    if !dir.join(TEMPLATE).is_file() {
        problems.push(format!(
            "{}/{TEMPLATE}: missing; `cargo xtask {} new` copies it",
            kind.dir,
            kind.dir.trim_end_matches('s')
        ));
    }
    let files = match record_files(&dir) {
        Ok(files) => files,
        Err(err) => {
            problems.push(format!("{}/: {err:#}", kind.dir));
            return Vec::new();
        }
    };

    let mut records = Vec::new();
    let mut by_number: BTreeMap<u32, String> = BTreeMap::new();
    for file_name in files {
        let path = format!("{}/{file_name}", kind.dir);
        let Some(number) = file_number(&file_name) else {
            problems.push(format!(
                "{path}: records are named NNNN-kebab-title.md; rename it (or create records \
                 with `cargo xtask {} new \"<title>\"`)",
                kind.dir.trim_end_matches('s')
            ));
            continue;
        };
        if let Some(other) = by_number.insert(number, path.clone()) {
            problems.push(format!(
                "{path}: number {number:04} is also used by {other}; renumber the newer one"
            ));
        }
        let text = match fs::read_to_string(dir.join(&file_name)) {
            Ok(text) => text,
            Err(err) => {
                problems.push(format!("{path}: unreadable: {err}"));
                continue;
            }
        };
        if let Some(record) = parse_record(kind, &path, &file_name, number, &text, problems) {
            records.push(record);
        }
    }

    check_index(kind, &dir, &records, problems);
    records
}

/// `NNNN` from `NNNN-kebab-title.md`, when the name has that shape.
fn file_number(file_name: &str) -> Option<u32> {
    let stem = file_name.strip_suffix(".md")?;
    let (number, slug) = stem.split_once('-')?;
    let kebab = !slug.is_empty()
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--")
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (number.len() == 4 && kebab).then(|| number.parse().ok())?
}

fn parse_record(
    kind: &Kind,
    path: &str,
    file_name: &str,
    number: u32,
    text: &str,
    problems: &mut Vec<String>,
) -> Option<Record> {
    let example = kind.heading(number, "Title");
    let Some(heading) = text.lines().find_map(|l| l.strip_prefix("# ")) else {
        problems.push(format!("{path}: no `# ` heading; the first heading reads `{example}`"));
        return None;
    };
    let parsed = heading
        .strip_prefix(kind.heading_prefix)
        .and_then(|rest| rest.split_once(kind.heading_separator))
        .and_then(|(n, title)| Some((n.trim().parse::<u32>().ok()?, title.trim())));
    let title = match parsed {
        Some((n, title)) if n == number && !title.is_empty() => title.to_owned(),
        Some((n, _)) if n != number => {
            problems.push(format!(
                "{path}: the heading says {n:04} but the file name says {number:04}; make them agree"
            ));
            return None;
        }
        _ => {
            problems.push(format!("{path}: the heading `# {heading}` should read `{example}`"));
            return None;
        }
    };

    // The header block is the `- Key: value` list between the heading and the first section.
    let mut fields = BTreeMap::new();
    for line in text.lines().skip_while(|l| !l.starts_with("# ")).skip(1) {
        if line.starts_with("## ") {
            break;
        }
        if let Some((key, value)) = line.strip_prefix("- ").and_then(|l| l.split_once(':')) {
            fields
                .entry(key.trim().to_ascii_lowercase())
                .or_insert_with(|| value.trim().to_owned());
        }
    }

    match fields.get("status").map(String::as_str) {
        None => problems.push(format!(
            "{path}: no `- Status:` line in the header; add one ({})",
            kind.status_help()
        )),
        Some(status) if !kind.status_is_valid(status) => problems.push(format!(
            "{path}: status `{status}` is not one of: {}",
            kind.status_help()
        )),
        Some(_) => {}
    }
    match fields.get("date") {
        None => problems.push(format!("{path}: no `- Date: YYYY-MM-DD` line in the header")),
        Some(date) if !is_date(date) => {
            problems.push(format!("{path}: date `{date}` is not written YYYY-MM-DD"));
        }
        Some(_) => {}
    }

    Some(Record {
        path: path.to_owned(),
        file_name: file_name.to_owned(),
        number,
        title,
        fields,
    })
}

fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn check_index(kind: &Kind, dir: &Path, records: &[Record], problems: &mut Vec<String>) {
    let index_path = format!("{}/{INDEX}", kind.dir);
    let Ok(index) = fs::read_to_string(dir.join(INDEX)) else {
        problems.push(format!(
            "{index_path}: missing; it describes the process and indexes every {}",
            kind.label
        ));
        return;
    };
    if !index.lines().any(is_index_header) {
        problems.push(format!(
            "{index_path}: no index table; add one with the header `| Number | Title | Status | Date |`"
        ));
        return;
    }
    let rows: Vec<Row> = index.lines().filter_map(parse_row).collect();
    let mut seen = BTreeSet::new();
    for row in &rows {
        let Some(record) = records.iter().find(|r| r.file_name == row.link) else {
            problems.push(format!(
                "{index_path}: the row for `{}` links to {}, which does not exist; fix the link or \
                 remove the row",
                row.number, row.link
            ));
            continue;
        };
        seen.insert(record.file_name.as_str());
        if row.number != format!("{:04}", record.number) {
            problems.push(format!(
                "{index_path}: the row linking {} says number {}; write {:04}",
                row.link, row.number, record.number
            ));
        }
        if row.title != record.title {
            problems.push(format!(
                "{index_path}: the row for {} has title `{}` but the record says `{}`; copy the \
                 record's title",
                row.link, row.title, record.title
            ));
        }
        let status = record.field("status").unwrap_or_default();
        if row.status != status {
            problems.push(format!(
                "{index_path}: the row for {} has status `{}` but the record says `{status}`; \
                 update the row",
                row.link, row.status
            ));
        }
    }
    for record in records.iter().filter(|r| !seen.contains(r.file_name.as_str())) {
        let mut row = String::new();
        let _ = write!(
            row,
            "| [{:04}]({}) | {} | {} | {} |",
            record.number,
            record.file_name,
            record.title,
            record.field("status").unwrap_or("proposed"),
            record.field("date").unwrap_or("YYYY-MM-DD"),
        );
        problems.push(format!("{}: not in {index_path}; add the row `{row}`", record.path));
    }
}

fn is_index_header(line: &str) -> bool {
    let cells = cells(line);
    cells.len() >= 4 && cells[..4] == ["Number", "Title", "Status", "Date"]
}

fn cells(line: &str) -> Vec<&str> {
    let line = line.trim();
    if !line.starts_with('|') {
        return Vec::new();
    }
    line.trim_matches('|').split('|').map(str::trim).collect()
}

/// An index row is a table row whose first cell is a `[NNNN](file.md)` link.
fn parse_row(line: &str) -> Option<Row> {
    let cells = cells(line);
    let (number, link) = cells.first()?.strip_prefix('[')?.split_once("](")?;
    let link = link.strip_suffix(')')?;
    Some(Row {
        number: number.to_owned(),
        link: link.to_owned(),
        title: cells.get(1)?.to_string(),
        status: cells.get(2)?.to_string(),
    })
}

/// The `.md` files of a record folder, apart from its index and template, sorted.
fn record_files(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") && name != INDEX && name != TEMPLATE {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The `@handle`s in a text: GitHub logins are letters, digits and single dashes.
fn handles(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices('@') {
        // `user@example.com` is an email address, not a handle.
        if text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        {
            continue;
        }
        let login: String = text[at + 1..]
            .chars()
            // GitHub logins, and teams as `@org/team`.
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '/')
            .collect();
        if !login.is_empty() {
            found.insert(format!("@{}", login.to_ascii_lowercase()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADR_TEMPLATE: &str =
        "# NNNN. Title\n\n- Status: proposed\n- Date: YYYY-MM-DD\n- Deciders: @who\n\n## Context\n";
    const RFC_TEMPLATE: &str = "# RFC NNNN: Title\n\n- Status: proposed\n- Date: YYYY-MM-DD\n- Authors: @who\n- Approvers: (none yet)\n- ADR: -\n\n## Summary\n";
    const INDEX_HEAD: &str = "# Index\n\nProcess text.\n\n| Number | Title | Status | Date |\n|---|---|---|---|\n";

    /// A repository with one accepted ADR and one proposed RFC, all consistent.
    fn good_repo() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir_all(root.join("adr")).unwrap();
        fs::create_dir_all(root.join("rfcs")).unwrap();
        fs::write(
            root.join("MAINTAINERS.md"),
            "# Maintainers\n\n| crates/lattice-claims | @alice, @bob, @carol |\n",
        )
        .unwrap();
        fs::write(root.join("adr/template.md"), ADR_TEMPLATE).unwrap();
        fs::write(root.join("rfcs/template.md"), RFC_TEMPLATE).unwrap();
        fs::write(
            root.join("adr/README.md"),
            format!("{INDEX_HEAD}| [0001](0001-one-workspace.md) | One workspace | accepted | 2026-11-24 |\n"),
        )
        .unwrap();
        fs::write(
            root.join("adr/0001-one-workspace.md"),
            "# 0001. One workspace\n\n- Status: accepted\n- Date: 2026-11-24\n\n## Context\n- Status: not a header line\n",
        )
        .unwrap();
        fs::write(
            root.join("rfcs/README.md"),
            format!("{INDEX_HEAD}| [0001](0001-host-metrics.md) | Host metrics | proposed | 2026-11-24 |\n"),
        )
        .unwrap();
        fs::write(
            root.join("rfcs/0001-host-metrics.md"),
            "# RFC 0001: Host metrics\n\n- Status: proposed\n- Date: 2026-11-24\n- Approvers: (none yet)\n- ADR: -\n\n## Summary\n",
        )
        .unwrap();
        tmp
    }

    fn write(root: &Path, path: &str, text: &str) {
        fs::write(root.join(path), text).unwrap();
    }

    fn edit(root: &Path, path: &str, from: &str, to: &str) {
        let text = fs::read_to_string(root.join(path)).unwrap();
        assert!(text.contains(from), "{path} lacks {from:?}");
        write(root, path, &text.replace(from, to));
    }

    /// Asserts exactly one problem, mentioning every `needle`.
    #[track_caller]
    fn assert_one_problem(root: &Path, needles: &[&str]) {
        let problems = check(root);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        for needle in needles {
            assert!(problems[0].contains(needle), "{needle:?} not in {:?}", problems[0]);
        }
    }

    #[test]
    fn a_consistent_repository_passes() {
        let repo = good_repo();
        assert_eq!(check(repo.path()), Vec::<String>::new());
    }

    #[test]
    fn a_record_missing_from_the_index_is_reported_with_its_row() {
        let repo = good_repo();
        write(
            repo.path(),
            "adr/0002-use-nats.md",
            "# 0002. Use NATS\n\n- Status: accepted\n- Date: 2026-11-24\n",
        );
        assert_one_problem(
            repo.path(),
            &[
                "adr/0002-use-nats.md",
                "| [0002](0002-use-nats.md) | Use NATS | accepted | 2026-11-24 |",
            ],
        );
    }

    #[test]
    fn a_row_without_a_file_is_reported() {
        let repo = good_repo();
        edit(
            repo.path(),
            "adr/README.md",
            "2026-11-24 |\n",
            "2026-11-24 |\n| [0002](0002-gone.md) | Gone | accepted | 2026-11-24 |\n",
        );
        assert_one_problem(repo.path(), &["adr/README.md", "0002-gone.md", "does not exist"]);
    }

    #[test]
    fn index_title_and_status_must_agree_with_the_record() {
        let repo = good_repo();
        edit(
            repo.path(),
            "adr/README.md",
            "| One workspace |",
            "| One big workspace |",
        );
        assert_one_problem(repo.path(), &["adr/README.md", "One big workspace", "One workspace"]);

        let repo = good_repo();
        edit(repo.path(), "rfcs/README.md", "| proposed |", "| accepted |");
        assert_one_problem(repo.path(), &["rfcs/README.md", "status `accepted`", "`proposed`"]);
    }

    #[test]
    fn invalid_statuses_are_reported() {
        let repo = good_repo();
        edit(
            repo.path(),
            "adr/0001-one-workspace.md",
            "Status: accepted",
            "Status: approved",
        );
        edit(repo.path(), "adr/README.md", "| accepted |", "| approved |");
        assert_one_problem(
            repo.path(),
            &["adr/0001-one-workspace.md", "`approved`", "superseded by NNNN"],
        );

        let repo = good_repo();
        edit(repo.path(), "rfcs/0001-host-metrics.md", "- Status: proposed\n", "");
        edit(repo.path(), "rfcs/README.md", "| proposed |", "|  |");
        assert_one_problem(repo.path(), &["rfcs/0001-host-metrics.md", "no `- Status:` line"]);
    }

    #[test]
    fn superseded_by_must_name_an_existing_adr() {
        let repo = good_repo();
        edit(
            repo.path(),
            "adr/0001-one-workspace.md",
            "Status: accepted",
            "Status: superseded by 0007",
        );
        edit(repo.path(), "adr/README.md", "| accepted |", "| superseded by 0007 |");
        assert_one_problem(repo.path(), &["adr/0001-one-workspace.md", "0007", "no existing ADR"]);

        write(
            repo.path(),
            "adr/0007-many-repos.md",
            "# 0007. Many repos\n\n- Status: accepted\n- Date: 2026-11-25\n",
        );
        edit(
            repo.path(),
            "adr/README.md",
            "2026-11-24 |\n",
            "2026-11-24 |\n| [0007](0007-many-repos.md) | Many repos | accepted | 2026-11-25 |\n",
        );
        assert_eq!(check(repo.path()), Vec::<String>::new());
    }

    #[test]
    fn an_accepted_rfc_needs_two_maintainer_approvers() {
        let repo = good_repo();
        edit(
            repo.path(),
            "rfcs/0001-host-metrics.md",
            "Status: proposed",
            "Status: accepted",
        );
        edit(repo.path(), "rfcs/README.md", "| proposed |", "| accepted |");
        assert_one_problem(repo.path(), &["rfcs/0001-host-metrics.md", "at least 2"]);

        edit(
            repo.path(),
            "rfcs/0001-host-metrics.md",
            "(none yet)",
            "@alice, @mallory",
        );
        assert_one_problem(
            repo.path(),
            &["rfcs/0001-host-metrics.md", "@mallory", "MAINTAINERS.md"],
        );

        edit(repo.path(), "rfcs/0001-host-metrics.md", "@mallory", "@Bob");
        assert_eq!(check(repo.path()), Vec::<String>::new());
    }

    #[test]
    fn an_rfc_adr_link_must_exist() {
        let repo = good_repo();
        edit(repo.path(), "rfcs/0001-host-metrics.md", "- ADR: -", "- ADR: 0009");
        assert_one_problem(repo.path(), &["rfcs/0001-host-metrics.md", "ADR: 0009"]);
        edit(repo.path(), "rfcs/0001-host-metrics.md", "- ADR: 0009", "- ADR: 0001");
        assert_eq!(check(repo.path()), Vec::<String>::new());
    }

    #[test]
    fn file_names_and_headings_are_checked() {
        let repo = good_repo();
        write(repo.path(), "adr/notes.md", "# Notes\n");
        assert_one_problem(repo.path(), &["adr/notes.md", "NNNN-kebab-title.md"]);

        let repo = good_repo();
        edit(repo.path(), "adr/0001-one-workspace.md", "# 0001.", "# 0003.");
        let problems = check(repo.path());
        assert!(problems[0].contains("heading says 0003"), "{problems:#?}");

        let repo = good_repo();
        edit(repo.path(), "adr/0001-one-workspace.md", "2026-11-24", "24/11/2026");
        assert_one_problem(repo.path(), &["adr/0001-one-workspace.md", "YYYY-MM-DD"]);
    }

    #[test]
    fn missing_folders_and_maintainers_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let problems = check(tmp.path());
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems.iter().any(|p| p.starts_with("MAINTAINERS.md")));
        assert!(problems.iter().any(|p| p.starts_with("adr/")));
        assert!(problems.iter().any(|p| p.starts_with("rfcs/")));
    }

    #[test]
    fn new_records_get_the_next_number_and_an_index_row() {
        let repo = good_repo();
        let path = new_in(repo.path(), ADR, "Use NATS (JetStream KV) for state!", "2026-12-01").unwrap();
        assert_eq!(path, repo.path().join("adr/0002-use-nats-jetstream-kv-for-state.md"));
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# 0002. Use NATS (JetStream KV) for state!\n\n- Status: proposed\n- Date: 2026-12-01\n"),
            "{text}"
        );
        assert!(text.contains("## Context"));
        let index = fs::read_to_string(repo.path().join("adr/README.md")).unwrap();
        assert!(index.ends_with(
            "| [0001](0001-one-workspace.md) | One workspace | accepted | 2026-11-24 |\n\
             | [0002](0002-use-nats-jetstream-kv-for-state.md) | Use NATS (JetStream KV) for state! | proposed | 2026-12-01 |\n"
        ), "{index}");
        assert_eq!(check(repo.path()), Vec::<String>::new());

        let path = new_in(repo.path(), RFC, "Provider OCI references", "2026-12-01").unwrap();
        assert_eq!(path, repo.path().join("rfcs/0002-provider-oci-references.md"));
        assert!(
            fs::read_to_string(&path)
                .unwrap()
                .starts_with("# RFC 0002: Provider OCI references\n")
        );
        assert_eq!(check(repo.path()), Vec::<String>::new());
    }

    #[test]
    fn new_into_an_empty_index_goes_under_the_header() {
        let repo = good_repo();
        write(repo.path(), "rfcs/README.md", INDEX_HEAD);
        fs::remove_file(repo.path().join("rfcs/0001-host-metrics.md")).unwrap();
        new_in(repo.path(), RFC, "First", "2026-12-01").unwrap();
        let index = fs::read_to_string(repo.path().join("rfcs/README.md")).unwrap();
        assert!(
            index.ends_with("|---|---|---|---|\n| [0001](0001-first.md) | First | proposed | 2026-12-01 |\n"),
            "{index}"
        );
        assert!(new_in(repo.path(), RFC, "?!", "2026-12-01").is_err());
        assert!(new_in(repo.path(), RFC, "a | b", "2026-12-01").is_err());
    }

    #[test]
    fn team_handles_are_whole() {
        let found = handles("- Approvers: @lattice-rs/host-maintainers, @Someone, mail@example.com");
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            ["@lattice-rs/host-maintainers", "@someone"]
        );
    }

    #[test]
    fn slugs_handles_and_dates() {
        assert_eq!(
            slug("  Wire compatibility with wasmCloud v1 "),
            "wire-compatibility-with-wasmcloud-v1"
        );
        assert_eq!(slug("xtask over make/nix"), "xtask-over-make-nix");
        let found: Vec<String> = handles("@alice, @Bob-2 and mail@example.com").into_iter().collect();
        assert_eq!(found, ["@alice", "@bob-2"]);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_416), (2025, 11, 24));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(superseded_by("superseded by 0004"), Some(4));
        assert_eq!(superseded_by("superseded by 4"), None);
    }
}
