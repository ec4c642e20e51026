//! What the suite found: one line per check, as a table or as JSON.

use std::fmt::Write as _;

use serde_json::json;

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// One check: a stable id, what it checks in one line, and how it ended.
#[derive(Debug, Clone)]
pub(crate) struct CheckResult {
    pub(crate) id: &'static str,
    pub(crate) description: &'static str,
    pub(crate) outcome: Outcome,
}

/// Every check of one run, in the order they ran.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) results: Vec<CheckResult>,
}

impl Report {
    /// Records a check that ran: `Ok` passes, `Err` fails with that reason.
    pub(crate) fn record(&mut self, id: &'static str, description: &'static str, outcome: Result<(), String>) -> bool {
        let passed = outcome.is_ok();
        self.results.push(CheckResult {
            id,
            description,
            outcome: outcome.map_or_else(Outcome::Fail, |()| Outcome::Pass),
        });
        passed
    }

    /// Records a check that could not run, and why.
    pub(crate) fn skip(&mut self, id: &'static str, description: &'static str, reason: impl Into<String>) {
        self.results.push(CheckResult {
            id,
            description,
            outcome: Outcome::Skip(reason.into()),
        });
    }

    /// Whether any check failed.
    pub(crate) fn failed(&self) -> bool {
        self.results.iter().any(|r| matches!(r.outcome, Outcome::Fail(_)))
    }

    fn count(&self, wanted: fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| wanted(&r.outcome)).count()
    }

    /// A table: id, result, description, and the reason of a failure or skip.
    pub(crate) fn table(&self) -> String {
        let width = self.results.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
        let mut out = format!("{:width$}  result  check\n", "id");
        for result in &self.results {
            let (word, reason) = match &result.outcome {
                Outcome::Pass => ("pass", None),
                Outcome::Fail(why) => ("FAIL", Some(why)),
                Outcome::Skip(why) => ("skip", Some(why)),
            };
            let _ = writeln!(out, "{:width$}  {word:6}  {}", result.id, result.description);
            if let Some(reason) = reason {
                let _ = writeln!(out, "{:width$}          → {reason}", "");
            }
        }
        let _ = write!(
            out,
            "\n{} checks: {} passed, {} failed, {} skipped\n",
            self.results.len(),
            self.count(|o| *o == Outcome::Pass),
            self.count(|o| matches!(o, Outcome::Fail(_))),
            self.count(|o| matches!(o, Outcome::Skip(_))),
        );
        out
    }

    /// One JSON document: every check with its result and reason.
    pub(crate) fn json(&self) -> serde_json::Value {
        let checks: Vec<_> = self
            .results
            .iter()
            .map(|r| {
                let (result, reason) = match &r.outcome {
                    Outcome::Pass => ("pass", None),
                    Outcome::Fail(why) => ("fail", Some(why)),
                    Outcome::Skip(why) => ("skip", Some(why)),
                };
                json!({"id": r.id, "description": r.description, "result": result, "reason": reason})
            })
            .collect();
        json!({"passed": !self.failed(), "checks": checks})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut report = Report::default();
        report.record("ping.answers", "every host answers host.ping", Ok(()));
        report.record("label.put", "a label is put", Err("`labels` missing".into()));
        report.skip("provider.start", "a built-in provider starts", "no host answered");
        report
    }

    #[test]
    fn the_table_shows_every_check_and_each_reason() {
        let table = sample().table();
        expect_lines(
            &table,
            &[
                "ping.answers    pass    every host answers host.ping",
                "label.put       FAIL    a label is put",
                "                        → `labels` missing",
                "provider.start  skip    a built-in provider starts",
                "                        → no host answered",
                "3 checks: 1 passed, 1 failed, 1 skipped",
            ],
        );
    }

    #[test]
    fn json_names_each_result_and_the_run_fails_on_any_failure() {
        let report = sample();
        assert!(report.failed());
        let json = report.json();
        assert_eq!(json["passed"], false);
        assert_eq!(json["checks"][1]["result"], "fail");
        assert_eq!(json["checks"][1]["reason"], "`labels` missing");
        assert_eq!(json["checks"][0]["reason"], serde_json::Value::Null);
        let mut passing = Report::default();
        passing.record("a", "b", Ok(()));
        assert!(!passing.failed());
    }

    fn expect_lines(table: &str, lines: &[&str]) {
        for line in lines {
            assert!(table.lines().any(|l| l.trim_end() == *line), "{line:?} not in\n{table}");
        }
    }
}
