//! Numbers a host is started with are checked before anything starts: a
//! heartbeat interval too large for a timer used to start the host and then
//! panic its heartbeat task; now it, and every other limit out of range, is
//! refused with a message naming the flag and the range.

use std::time::Duration;

use lattice_host::{ErrorKind, Host};

use crate::support::Lattice;

#[tokio::test(flavor = "multi_thread")]
async fn a_heartbeat_interval_that_overflows_the_timer_is_refused() {
    let lattice = Lattice::start().await;
    let mut config = lattice.host_config(&[]);
    config.heartbeat_interval = Duration::from_secs(u64::MAX);
    match Host::start(config).await {
        Ok(host) => {
            // Give the heartbeat task its first poll, where it panicked.
            tokio::task::yield_now().await;
            host.stop(None).await;
            panic!("the host started with a heartbeat interval of u64::MAX seconds");
        }
        Err(err) => {
            assert!(matches!(err.kind(), ErrorKind::InvalidConfig(_)), "{err:?}");
            assert!(err.to_string().contains("1 to 86400 seconds"), "{err}");
        }
    }
}
