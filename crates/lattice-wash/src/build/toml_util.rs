//! Small helpers for reading `wasmcloud.toml`: path resolution, value type
//! names for messages, and "did you mean" suggestions for misspelt keys.

use std::path::{Path, PathBuf};

use toml::de::DeValue;

/// `value` as a path: `~/` expanded, relative paths joined to `base`.
pub(crate) fn resolve(base: &Path, value: &str) -> PathBuf {
    let expanded = match value.strip_prefix("~/") {
        Some(rest) => {
            std::env::var_os("HOME").map_or_else(|| PathBuf::from(value), |home| PathBuf::from(home).join(rest))
        }
        None => PathBuf::from(value),
    };
    if expanded.is_absolute() {
        return expanded;
    }
    // `./keys` reads better as `<base>/keys` than `<base>/./keys`.
    let relative: PathBuf = expanded
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    base.join(relative)
}

/// "a string", "an integer", … for messages about wrong types.
pub(crate) fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The known key closest to a misspelt one, if any is close enough to be a typo.
pub(crate) fn nearest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance between two keys.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
