//! A tiny command-line parser: xtask has a handful of commands, so a parser dependency isn't worth it.

use anyhow::{Result, bail};

/// The arguments after `cargo xtask`, consumed piece by piece by the dispatcher.
#[derive(Debug)]
pub(crate) struct Args {
    rest: Vec<String>,
}

impl Args {
    pub(crate) fn from_env() -> Self {
        Self::new(std::env::args().skip(1))
    }

    pub(crate) fn new(args: impl IntoIterator<Item = String>) -> Self {
        Self {
            rest: args.into_iter().collect(),
        }
    }

    /// Whether `-h`/`--help` was given anywhere, so `cargo xtask release --help` helps too.
    pub(crate) fn wants_help(&self) -> bool {
        self.rest.iter().any(|a| a == "--help" || a == "-h")
    }

    /// Removes every occurrence of a boolean flag, reporting whether there was one.
    pub(crate) fn flag(&mut self, name: &str) -> bool {
        let before = self.rest.len();
        self.rest.retain(|a| a != name);
        self.rest.len() != before
    }

    /// Removes `name VALUE` (or `name=VALUE`), returning the value; the last one wins.
    pub(crate) fn value(&mut self, name: &str) -> Result<Option<String>> {
        let mut found = None;
        while let Some(at) = self
            .rest
            .iter()
            .position(|a| a == name || a.strip_prefix(name).is_some_and(|r| r.starts_with('=')))
        {
            let arg = self.rest.remove(at);
            if let Some(value) = arg.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                found = Some(value.to_owned());
            } else if at < self.rest.len() && !self.rest[at].starts_with('-') {
                found = Some(self.rest.remove(at));
            } else {
                bail!("{name} needs a value: run `cargo xtask --help` for usage");
            }
        }
        Ok(found)
    }

    /// Takes the next argument that is not a flag.
    pub(crate) fn next_positional(&mut self) -> Option<String> {
        let at = self.rest.iter().position(|a| !a.starts_with('-'))?;
        Some(self.rest.remove(at))
    }

    pub(crate) fn required_positional(&mut self, what: &str) -> Result<String> {
        match self.next_positional() {
            Some(value) => Ok(value),
            None => bail!("missing {what}: run `cargo xtask --help` for usage"),
        }
    }

    pub(crate) fn rest_positionals(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.next_positional()).collect()
    }

    /// Fails on anything left over, so a typo'd flag is an error rather than silently ignored.
    pub(crate) fn finish(self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            bail!(
                "unexpected argument(s) `{}`: run `cargo xtask --help` for usage",
                self.rest.join(" ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Args {
        Args::new(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn values_follow_their_flag_or_an_equals_sign() {
        let mut a = args(&["fuzz", "--time", "60", "lattice_bucket", "--jobs=2"]);
        assert_eq!(a.value("--time").unwrap().as_deref(), Some("60"));
        assert_eq!(a.value("--jobs").unwrap().as_deref(), Some("2"));
        assert_eq!(a.value("--merge").unwrap(), None);
        assert_eq!(a.rest_positionals(), ["fuzz", "lattice_bucket"]);
        let err = args(&["fuzz", "--time"]).value("--time").unwrap_err();
        assert!(err.to_string().contains("--time needs a value"), "{err}");
    }

    #[test]
    fn flags_are_found_anywhere() {
        let mut a = args(&["release", "--execute", "minor"]);
        assert_eq!(a.next_positional().as_deref(), Some("release"));
        assert!(a.flag("--execute"));
        assert_eq!(a.required_positional("LEVEL").unwrap(), "minor");
        a.finish().unwrap();
    }

    #[test]
    fn leftovers_are_errors() {
        let mut a = args(&["tidy", "--fast"]);
        assert_eq!(a.next_positional().as_deref(), Some("tidy"));
        let err = a.finish().unwrap_err().to_string();
        assert!(err.contains("--fast"), "{err}");
    }

    #[test]
    fn missing_positional_says_what_is_missing() {
        let mut a = args(&["release"]);
        a.next_positional();
        let err = a.required_positional("LEVEL").unwrap_err().to_string();
        assert!(err.starts_with("missing LEVEL"), "{err}");
    }

    #[test]
    fn help_anywhere() {
        assert!(args(&["release", "--help"]).wants_help());
        assert!(!args(&["release", "minor"]).wants_help());
    }
}
