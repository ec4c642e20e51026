//! Talking to a lattice: connecting to NATS, control-interface requests with
//! errors that name the fix, and waiting for the events that report how
//! asynchronous work (scaling, starting providers) turned out.
//!
//! Everything here returns [`LatticeError`]; the CLI renders the results.

mod call;
mod error;
mod workload;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lattice_control_interface::{self as ctl, Client, ComponentId, Host, HostId, HostInventory, ProviderId};

pub use call::{Callee, HTTP_HANDLER, HttpCall, HttpReply};
pub use error::{LatticeError, LatticeErrorKind, parse_key_values, validate_id};
pub use workload::{ProviderStart, ScaleOutcome, ScaleRequest, Started};

/// How to reach a lattice (the CLI's `CliConnectionOpts`, parsed).
#[derive(Debug, Clone)]
pub struct ConnectionOptions {
    /// NATS host of the control connection.
    pub host: String,
    /// NATS port of the control connection.
    pub port: u16,
    /// A user JWT to authenticate with (needs `seed`).
    pub jwt: Option<String>,
    /// The nkey seed that signs the server's nonce for `jwt`.
    pub seed: Option<String>,
    /// A NATS `.creds` file (JWT and seed in one).
    pub credsfile: Option<PathBuf>,
    /// A PEM file of extra root certificates to trust; turns TLS on.
    pub tls_ca_file: Option<PathBuf>,
    /// Start TLS before the server's greeting (servers with
    /// `handshake_first`); turns TLS on.
    pub tls_first: bool,
    /// JetStream domain of the lattice's NATS servers.
    pub js_domain: Option<String>,
    /// The lattice name.
    pub lattice: String,
    /// How long one control request waits, and how long scatter-gather
    /// (`host.ping`, auctions) collects replies.
    pub timeout: Duration,
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 4222,
            jwt: None,
            seed: None,
            credsfile: None,
            tls_ca_file: None,
            tls_first: false,
            js_domain: None,
            lattice: ctl::subject::DEFAULT_LATTICE.to_owned(),
            timeout: ctl::DEFAULT_TIMEOUT,
        }
    }
}

impl ConnectionOptions {
    /// `host:port`, as messages show it.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Turns a local path into the `file://` URL hosts load from; anything with
/// a scheme (`file://`, `wasmcloud+builtin://`) or that is not an existing
/// file (an OCI reference) is returned as given.
pub fn resolve_reference(reference: &str) -> String {
    let path = std::path::Path::new(reference);
    if reference.contains("://") || !path.is_file() {
        return reference.to_owned();
    }
    match std::fs::canonicalize(path) {
        Ok(absolute) => format!("file://{}", absolute.display()),
        Err(_) => reference.to_owned(),
    }
}

/// Whether an I/O error of kind `InvalidData` is among the causes.
fn invalid_data(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData)
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// A connected control-interface client plus what messages need to say where it points.
#[derive(Debug, Clone)]
pub struct Lattice {
    client: Client,
    address: String,
}

impl Lattice {
    /// Connects to the NATS server in `opts`.
    ///
    /// # Errors
    ///
    /// [`LatticeErrorKind::Connect`] when the server is unreachable or the
    /// credentials are unusable; [`LatticeErrorKind::InvalidArgument`] for a
    /// JWT without a seed.
    pub async fn connect(opts: &ConnectionOptions) -> Result<Self, LatticeError> {
        let address = opts.address();
        let mut nats = match &opts.credsfile {
            Some(path) => async_nats::ConnectOptions::with_credentials_file(path)
                .await
                .map_err(|e| {
                    LatticeError::invalid(format!(
                        "could not read the credentials file {}: {e}; pass a valid NATS .creds file",
                        path.display()
                    ))
                })?,
            None => async_nats::ConnectOptions::new(),
        };
        match (&opts.jwt, &opts.seed) {
            (Some(jwt), Some(seed)) => {
                let key = nkeys::KeyPair::from_seed(seed).map_err(|e| {
                    LatticeError::invalid(format!("invalid --ctl-seed: {e}; pass a user nkey seed (SU…)"))
                })?;
                let key = Arc::new(key);
                nats = nats.jwt(jwt.clone(), move |nonce| {
                    let key = Arc::clone(&key);
                    async move { key.sign(&nonce).map_err(async_nats::AuthError::new) }
                });
            }
            (Some(_), None) => {
                return Err(LatticeError::invalid(
                    "--ctl-jwt needs --ctl-seed to sign the server's nonce: pass both, or use --ctl-credsfile",
                ));
            }
            (None, Some(seed)) => {
                nkeys::KeyPair::from_seed(seed).map_err(|e| {
                    LatticeError::invalid(format!("invalid --ctl-seed: {e}; pass a user nkey seed (SU…)"))
                })?;
                nats = nats.nkey(seed.clone());
            }
            (None, None) => {}
        }
        if let Some(ca) = &opts.tls_ca_file {
            nats = nats.add_root_certificates(ca.clone()).require_tls(true);
        }
        if opts.tls_first {
            nats = nats.tls_first();
        }
        let nats =
            nats.name("wash")
                .connection_timeout(opts.timeout.max(Duration::from_secs(1)))
                .connect(address.as_str())
                .await
                .map_err(|e| match e.kind() {
                    async_nats::ConnectErrorKind::AuthorizationViolation
                    | async_nats::ConnectErrorKind::Authentication => LatticeError::connect_refused(&address, &e),
                    async_nats::ConnectErrorKind::Tls => LatticeError::connect_tls(&address, &e),
                    // A certificate rustls refuses surfaces as invalid data.
                    async_nats::ConnectErrorKind::Io if invalid_data(&e) => LatticeError::connect_tls(&address, &e),
                    _ => LatticeError::connect(&address, e),
                })?;
        let mut builder = Client::builder(nats)
            .lattice(opts.lattice.clone())
            .timeout(opts.timeout)
            .auction_timeout(opts.timeout);
        if let Some(domain) = &opts.js_domain {
            builder = builder.js_domain(domain.clone());
        }
        Ok(Self {
            client: builder.build(),
            address,
        })
    }

    /// The control-interface client, for operations without extra logic.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The lattice name.
    pub fn name(&self) -> &str {
        self.client.lattice()
    }

    /// `host:port` of the NATS server.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Maps a control-interface error for a request answered by any host.
    pub fn any_host_error(&self, error: ctl::Error) -> LatticeError {
        LatticeError::ctl(error, self.name(), &self.address, None)
    }

    /// Maps a control-interface error for a request to one host.
    pub fn host_error(&self, error: ctl::Error, host_id: &HostId) -> LatticeError {
        LatticeError::ctl(error, self.name(), &self.address, Some(host_id.as_str()))
    }

    /// The hosts that answer a ping, sorted by ID; empty when there are none.
    ///
    /// # Errors
    ///
    /// When the ping cannot be sent.
    pub async fn hosts(&self) -> Result<Vec<Host>, LatticeError> {
        let mut hosts = self.client.get_hosts().await.map_err(|e| self.any_host_error(e))?;
        hosts.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(hosts)
    }

    /// Like [`Lattice::hosts`], but no host at all is an error.
    ///
    /// # Errors
    ///
    /// [`LatticeErrorKind::NoHost`] when nobody answers.
    pub async fn require_hosts(&self) -> Result<Vec<Host>, LatticeError> {
        let hosts = self.hosts().await?;
        if hosts.is_empty() {
            Err(LatticeError::no_host(self.name(), &self.address))
        } else {
            Ok(hosts)
        }
    }

    /// One host's inventory.
    ///
    /// # Errors
    ///
    /// [`LatticeErrorKind::HostNotFound`] when that host does not answer.
    pub async fn inventory(&self, host_id: &HostId) -> Result<HostInventory, LatticeError> {
        self.client
            .get_host_inventory(host_id)
            .await
            .map_err(|e| self.host_error(e, host_id))
    }

    /// The inventory of `host_id`, or of every host when `None`.
    ///
    /// # Errors
    ///
    /// [`LatticeErrorKind::NoHost`] when no host answers the ping, or as
    /// [`Lattice::inventory`].
    pub async fn inventories(&self, host_id: Option<&HostId>) -> Result<Vec<HostInventory>, LatticeError> {
        if let Some(host_id) = host_id {
            return Ok(vec![self.inventory(host_id).await?]);
        }
        let mut inventories = Vec::new();
        for host in self.require_hosts().await? {
            match self.inventory(&host.id).await {
                Ok(inventory) => inventories.push(inventory),
                // A host that stopped between the ping and now has nothing to show.
                Err(e) if e.kind() == LatticeErrorKind::HostNotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(inventories)
    }

    /// Finds the host running component `id` (on `host_id` only, if given)
    /// and the reference it runs from.
    ///
    /// # Errors
    ///
    /// [`LatticeErrorKind::NotRunning`] when no host runs it, or as [`Lattice::inventories`].
    pub async fn find_component(
        &self,
        id: &ComponentId,
        host_id: Option<&HostId>,
    ) -> Result<(HostId, String), LatticeError> {
        for inventory in self.inventories(host_id).await? {
            if let Some(found) = inventory.components.iter().find(|c| c.id == *id) {
                return Ok((inventory.host_id.clone(), found.image_ref.clone()));
            }
        }
        Err(self.not_running("component", id.as_str(), host_id))
    }

    /// Finds the host running provider `id` (on `host_id` only, if given).
    ///
    /// # Errors
    ///
    /// As [`Lattice::find_component`].
    pub async fn find_provider(&self, id: &ProviderId, host_id: Option<&HostId>) -> Result<HostId, LatticeError> {
        for inventory in self.inventories(host_id).await? {
            if inventory.providers.iter().any(|p| p.id == *id) {
                return Ok(inventory.host_id);
            }
        }
        Err(self.not_running("provider", id.as_str(), host_id))
    }

    fn not_running(&self, what: &str, id: &str, host_id: Option<&HostId>) -> LatticeError {
        let place = match host_id {
            Some(host) => format!("host `{host}`"),
            None => format!("any host on lattice `{}`", self.name()),
        };
        LatticeError::new(
            LatticeErrorKind::NotRunning,
            format!("{what} `{id}` is not running on {place}: see what runs with `wash get inventory`"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_files_become_file_urls_and_references_stay() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = dir.path().join("hello.wasm");
        std::fs::write(&wasm, b"\0asm").unwrap();
        let absolute = std::fs::canonicalize(&wasm).unwrap();
        assert_eq!(
            resolve_reference(wasm.to_str().unwrap()),
            format!("file://{}", absolute.display())
        );
        assert_eq!(resolve_reference("file:///x.wasm"), "file:///x.wasm");
        assert_eq!(
            resolve_reference("ghcr.io/acme/hello:0.1.0"),
            "ghcr.io/acme/hello:0.1.0"
        );
        assert_eq!(
            resolve_reference("wasmcloud+builtin://http-server"),
            "wasmcloud+builtin://http-server"
        );
    }
}
