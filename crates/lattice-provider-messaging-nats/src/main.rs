//! `messaging-nats-provider`: the NATS messaging provider's process, started by a host with its
//! host data on stdin.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lattice_provider_messaging_nats::run().await?;
    Ok(())
}
