//! `wash down`: stop the host and the `nats-server` a `wash up` started.

use clap::Args;
use lattice_wash::up::{StateDir, down};
use serde_json::json;

use super::Output;
use super::conn::block_on;

#[derive(Debug, Args)]
pub(crate) struct DownArgs {}

pub(crate) fn run(_args: &DownArgs) -> anyhow::Result<Output> {
    let state = StateDir::from_env();
    block_on(async move {
        let report = down(&state).await?;
        let mut parts = Vec::new();
        if let Some(host) = &report.host_id {
            parts.push(format!(
                "host {host}{}",
                if report.host_killed {
                    " (killed: it did not stop on request)"
                } else {
                    ""
                }
            ));
        }
        if let Some(pid) = report.nats_pid {
            parts.push(format!("nats-server (pid {pid})"));
        }
        let text = if parts.is_empty() {
            format!(
                "nothing to stop: no running host or nats-server recorded in {}",
                state.root().display()
            )
        } else {
            format!("stopped {}", parts.join(" and "))
        };
        Ok(Output::new(
            text,
            json!({
                "success": true,
                "host_id": report.host_id,
                "host_killed": report.host_killed,
                "nats_pid": report.nats_pid,
            }),
        ))
    })
}
