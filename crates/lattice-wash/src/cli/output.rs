//! Printing command results as text for people or JSON for programs.

use std::io::Write as _;

use serde_json::{Value, json};

/// The global `-o/--output` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputKind {
    /// Human-readable text.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// What a command prints: the same result rendered both ways.
#[derive(Debug)]
pub(crate) struct Output {
    text: String,
    json: Value,
}

impl Output {
    pub(crate) fn new(text: impl Into<String>, json: Value) -> Output {
        Output {
            text: text.into(),
            json,
        }
    }

    /// Output that is raw text even under `-o json` (completion scripts).
    pub(crate) fn raw(text: impl Into<String>) -> Output {
        let text = text.into();
        Output {
            json: Value::String(text.clone()),
            text,
        }
    }

    pub(crate) fn print(&self, kind: OutputKind) {
        let mut stdout = std::io::stdout().lock();
        // A closed pipe (`wash … | head`) is not an error worth reporting.
        let _ = match (kind, &self.json) {
            (OutputKind::Json, Value::String(raw)) if *raw == self.text => write!(stdout, "{raw}"),
            (OutputKind::Json, json) => writeln!(stdout, "{json:#}"),
            (OutputKind::Text, _) if self.text.ends_with('\n') => write!(stdout, "{}", self.text),
            (OutputKind::Text, _) => writeln!(stdout, "{}", self.text),
        };
    }
}

pub(crate) fn print_error(kind: OutputKind, err: &anyhow::Error) {
    match kind {
        OutputKind::Text => eprintln!("error: {err:#}"),
        OutputKind::Json => println!("{:#}", json!({ "success": false, "error": format!("{err:#}") })),
    }
}

/// Lays out `label  value` rows with the values aligned.
pub(crate) fn rows(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(label, value)| format!("  {label:<width$}  {value}\n"))
        .collect()
}
