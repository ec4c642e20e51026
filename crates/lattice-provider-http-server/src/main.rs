//! `http-server-provider`: the HTTP server provider's process, started by a host with its
//! host data on stdin.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lattice_provider_http_server::run().await?;
    Ok(())
}
