//! Starting `example-provider` the way a host does, and reading what it reports.

use std::process::Stdio;
use std::time::Duration;

use lattice_provider_sdk::HostData;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

/// How long anything that should happen may take.
pub const WAIT: Duration = Duration::from_secs(10);
/// The provider's id in these tests.
pub const PROVIDER: &str = "example";
/// The lattice.
pub const LATTICE: &str = "test";
/// The host that starts the provider.
pub const HOST: &str = "NHOSTEXAMPLE";

/// Host data for a provider on `nats_url`.
pub fn host_data(nats_url: &str) -> HostData {
    HostData {
        host_id: HOST.into(),
        lattice_rpc_prefix: LATTICE.into(),
        link_name: "default".into(),
        lattice_rpc_url: nats_url.into(),
        provider_key: PROVIDER.into(),
        instance_id: "instance".into(),
        log_level: Some("info".into()),
        ..HostData::default()
    }
}

/// A running `example-provider`, killed on drop.
pub struct Example {
    pub child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Example {
    /// Starts the binary and writes `host_data` to its stdin, as a host does; waits until it
    /// says it is ready.
    pub async fn start(host_data: &HostData) -> Self {
        let mut example = Self::spawn(host_data).await;
        example.expect_line("init test example").await;
        example.expect_line("ready").await;
        example
    }

    /// Starts the binary and writes `host_data` to its stdin, as a host does.
    pub async fn spawn(host_data: &HostData) -> Self {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_example-provider"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("starting example-provider");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(host_data.to_stdin_line().as_bytes()).await.unwrap();
        // A host closes stdin after the line.
        drop(stdin);
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self { child, lines }
    }

    /// The next line the provider prints, within [`WAIT`].
    pub async fn next_line(&mut self) -> String {
        tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .expect("the provider printed nothing in time")
            .unwrap()
            .expect("the provider closed its stdout")
    }

    /// Asserts the next line is `want`.
    pub async fn expect_line(&mut self, want: &str) {
        assert_eq!(self.next_line().await, want);
    }

    /// Asserts the process still runs.
    pub fn assert_running(&mut self) {
        assert!(self.child.try_wait().unwrap().is_none(), "the provider exited");
    }
}
