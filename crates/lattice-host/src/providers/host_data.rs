//! The [`HostData`] a provider process starts with: who the host is, where the lattice is
//! (with the host's own NATS credentials, when it has a JWT), the provider's config and links
//! as they are now, and a fresh curve key pair for this start.

use std::collections::{BTreeMap, HashMap};

use lattice_control_interface::provider::HostData;
use lattice_control_interface::{ConfigName, ProviderId};

use crate::host::HostCtx;

/// The host's RPC timeout as providers are told it (wasmCloud v1's default).
const RPC_TIMEOUT_MS: u64 = 2000;

/// Host data for starting `id` with its named `config`; `xkey_seed` is the provider's curve
/// seed for this start.
pub(super) async fn build(ctx: &HostCtx, id: &ProviderId, config: &[ConfigName], xkey_seed: String) -> HostData {
    let (jwt, seed) = user_credentials(ctx);
    let links = super::links::desired(ctx, id).await;
    HostData {
        host_id: ctx.identity.host_id.to_string(),
        lattice_rpc_prefix: ctx.config.lattice.clone(),
        link_name: "default".to_owned(),
        lattice_rpc_user_jwt: jwt,
        lattice_rpc_user_seed: seed,
        lattice_rpc_url: ctx.config.nats_url.clone(),
        provider_key: id.to_string(),
        env_values: BTreeMap::new(),
        instance_id: uuid::Uuid::new_v4().to_string(),
        link_definitions: links.into_values().collect(),
        cluster_issuers: Vec::new(),
        config: crate::reconcile::resolve_config(ctx, config)
            .await
            .into_iter()
            .collect::<HashMap<_, _>>(),
        secrets: HashMap::new(),
        host_xkey_public_key: ctx.identity.xkey.public_key(),
        provider_xkey_private_key: xkey_seed,
        default_rpc_timeout_ms: Some(RPC_TIMEOUT_MS),
        structured_logging: ctx.config.structured_logging,
        log_level: ctx.config.log_level.clone(),
        otel_config: ctx.config.observability.clone(),
    }
}

/// The JWT and seed the host itself logs in with, when it uses a user JWT (given directly or
/// in a `.creds` file); empty strings otherwise, and providers connect as the server allows.
fn user_credentials(ctx: &HostCtx) -> (String, String) {
    let auth = &ctx.config.nats_auth;
    if let (Some(jwt), Some(seed)) = (&auth.jwt, &auth.seed) {
        return (jwt.clone(), seed.clone());
    }
    if let Some(path) = &auth.creds_file {
        match std::fs::read_to_string(path) {
            Ok(creds) => {
                if let Some(pair) = parse_creds(&creds) {
                    return pair;
                }
                tracing::warn!(path = %path.display(), "providers get no NATS credentials: the creds file holds no JWT and seed");
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "providers get no NATS credentials: cannot read the creds file");
            }
        }
    }
    (String::new(), String::new())
}

/// The JWT and the seed of a NATS `.creds` file: each is the first line after its
/// `-----BEGIN …-----` marker.
fn parse_creds(creds: &str) -> Option<(String, String)> {
    let after = |marker: &str| {
        let mut lines = creds.lines().map(str::trim);
        lines.find(|line| line.contains(marker))?;
        lines.find(|line| !line.is_empty()).map(str::to_owned)
    };
    Some((after("BEGIN NATS USER JWT")?, after("BEGIN USER NKEY SEED")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creds_files_yield_jwt_and_seed() {
        let creds = "-----BEGIN NATS USER JWT-----\neyJ0eXAi.payload.sig\n------END NATS USER JWT------\n\n\
                     ************************* IMPORTANT *************************\n\n\
                     -----BEGIN USER NKEY SEED-----\nSUAEXAMPLE\n------END USER NKEY SEED------\n";
        assert_eq!(
            parse_creds(creds),
            Some(("eyJ0eXAi.payload.sig".to_owned(), "SUAEXAMPLE".to_owned()))
        );
        assert_eq!(parse_creds("nothing here"), None);
    }
}
