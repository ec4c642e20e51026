//! `keyvalue-redis-provider`: the key-value provider's process, started by a host with its
//! host data on stdin.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lattice_provider_keyvalue_redis::run().await?;
    Ok(())
}
