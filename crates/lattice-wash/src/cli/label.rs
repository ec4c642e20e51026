//! `wash label <host-id> k=v…`: set (or with `--delete` remove) host labels.

use clap::Args;
use lattice_control_interface::HostId;
use lattice_wash::lattice::parse_key_values;
use serde_json::json;

use super::Output;
use super::conn::{CliConnectionOpts, block_on};

#[derive(Debug, Args)]
pub(crate) struct LabelArgs {
    /// The host to label (see `wash get hosts`).
    host_id: String,
    /// Labels as KEY=VALUE, several also comma-separated (with --delete, KEY alone is enough).
    #[arg(required = true, value_name = "KEY=VALUE", value_delimiter = ',')]
    labels: Vec<String>,
    /// Remove the labels instead of setting them.
    #[arg(long)]
    delete: bool,
    #[command(flatten)]
    conn: CliConnectionOpts,
}

pub(crate) fn run(args: LabelArgs) -> anyhow::Result<Output> {
    block_on(async move {
        let host_id = HostId::new(args.host_id.clone());
        let pairs: Vec<(String, String)> = if args.delete {
            args.labels
                .iter()
                .map(|l| {
                    let key = l.split_once('=').map_or(l.as_str(), |(k, _)| k);
                    (key.trim().to_owned(), String::new())
                })
                .collect()
        } else {
            parse_key_values("label", &args.labels)?.into_iter().collect()
        };
        if let Some((key, _)) = pairs.iter().find(|(k, _)| k.is_empty()) {
            anyhow::bail!("invalid label `{key}`: give the label's KEY");
        }
        let lattice = args.conn.connect().await?;
        let mut messages = Vec::new();
        for (key, value) in &pairs {
            let result = if args.delete {
                lattice.client().delete_label(&host_id, key).await
            } else {
                lattice.client().put_label(&host_id, key, value).await
            };
            messages.push(result.map_err(|e| lattice.host_error(e, &host_id))?);
        }
        let listed: Vec<String> = pairs
            .iter()
            .map(|(k, v)| if args.delete { k.clone() } else { format!("{k}={v}") })
            .collect();
        let verb = if args.delete { "removed" } else { "set" };
        Ok(Output::new(
            format!("{verb} label(s) {} on host {host_id}", listed.join(", ")),
            json!({
                "success": true,
                "host_id": host_id,
                "deleted": args.delete,
                "labels": pairs.iter().map(|(k, v)| json!({ "key": k, "value": v })).collect::<Vec<_>>(),
                "messages": messages,
            }),
        ))
    })
}
