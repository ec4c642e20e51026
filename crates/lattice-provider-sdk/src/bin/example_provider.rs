//! `example-provider`: the smallest provider the SDK makes, printing one line on stdout per
//! hook call (`init <lattice> <id>`, `link-source <source> <target> <name> <config>`, `link-target …`,
//! `del-source …`, `del-target …`, `config <config>`, `shutdown`). A template for new
//! providers, and what the SDK's integration tests start as a host would.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;

use lattice_provider_sdk::{HookError, LinkConfig, LinkDelete, Provider, ProviderHandle, run_provider};

struct Example;

/// Prints a line and flushes it, so a reader sees each hook as it happens.
fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// A map in a stable order.
fn sorted(config: &HashMap<String, String>) -> String {
    format!("{:?}", config.iter().collect::<BTreeMap<_, _>>())
}

impl Provider for Example {
    async fn init(&self, handle: &ProviderHandle) -> Result<(), HookError> {
        say(&format!("init {} {}", handle.lattice(), handle.provider_id()));
        Ok(())
    }

    async fn receive_link_config_as_source(&self, link: LinkConfig) -> Result<(), HookError> {
        say(&format!(
            "link-source {} {} {} {}",
            link.source_id,
            link.target_id,
            link.link_name,
            sorted(&link.config)
        ));
        Ok(())
    }

    async fn receive_link_config_as_target(&self, link: LinkConfig) -> Result<(), HookError> {
        say(&format!(
            "link-target {} {} {} {}",
            link.source_id,
            link.target_id,
            link.link_name,
            sorted(&link.config)
        ));
        Ok(())
    }

    async fn delete_link_as_source(&self, link: LinkDelete) -> Result<(), HookError> {
        say(&format!(
            "del-source {} {} {}",
            link.source_id, link.target_id, link.link_name
        ));
        Ok(())
    }

    async fn delete_link_as_target(&self, link: LinkDelete) -> Result<(), HookError> {
        say(&format!(
            "del-target {} {} {}",
            link.source_id, link.target_id, link.link_name
        ));
        Ok(())
    }

    async fn on_config_update(&self, config: HashMap<String, String>) -> Result<(), HookError> {
        say(&format!("config {}", sorted(&config)));
        Ok(())
    }

    async fn shutdown(&self) {
        say("shutdown");
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let handle = run_provider(Example, "example-provider").await?;
    say("ready");
    handle.shutdown_requested().await;
    Ok(())
}
