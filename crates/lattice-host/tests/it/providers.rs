//! Provider processes, seen from the lattice: host data on stdin, a cleared environment, a
//! restart after an unexpected exit, an orderly stop, provider archives verified before they
//! run, and links told to providers as they change. The provider here is a shell script that
//! records what it was given, so the host's side is checked without any provider SDK.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt as _;
use lattice_control_interface::provider::{HostData, InterfaceLinkDefinition};
use lattice_control_interface::{
    ComponentId, ConfigName, ConfigValues, LatticeEvent, Link, LinkName, ProviderId, StartProviderCommand,
};
use lattice_provider_archive::{Builder, native_target};

use crate::support::{Lattice, WAIT, data, file_ref, wait_event, wait_until};

/// A provider that appends its host data line and its environment to files in `dir`, then
/// sleeps until it is killed. Paths are absolute: its environment (PATH too) is cleared.
fn recording_provider(dir: &Path) -> PathBuf {
    let script = dir.join("provider.sh");
    let record = dir.join("host-data");
    let env = dir.join("env");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nread -r line\necho \"$line\" >> {record}\n/usr/bin/env > {env}\nexec /bin/sleep 600\n",
            record = record.display(),
            env = env.display()
        ),
    )
    .unwrap();
    script
}

/// The host data lines the recording provider has written so far.
fn recorded(dir: &Path) -> Vec<HostData> {
    std::fs::read_to_string(dir.join("host-data"))
        .unwrap_or_default()
        .lines()
        .map(|line| HostData::from_stdin_line(line).expect("the host writes valid host data"))
        .collect()
}

fn start_command(host: &lattice_host::Host, id: &str, reference: String) -> StartProviderCommand {
    StartProviderCommand {
        provider_id: ProviderId::new(id),
        provider_ref: reference,
        host_id: host.id().clone(),
        config: vec![ConfigName::new("kv-settings")],
        ..StartProviderCommand::default()
    }
}

fn alive(pid: u32) -> bool {
    // A zombie has exited: only a process that still runs counts.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_process_gets_its_host_data_and_is_restarted_and_stopped() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    let client = &lattice.client;
    let dir = tempfile::tempdir().unwrap();
    let script = recording_provider(dir.path());

    // Config and a link that exist before the provider starts reach it in its host data.
    let settings = ConfigValues::from([("mode".to_owned(), "fast".to_owned())]);
    client
        .put_config(&ConfigName::new("kv-settings"), &settings)
        .await
        .unwrap();
    let url = ConfigValues::from([("URL".to_owned(), "redis://127.0.0.1:1/".to_owned())]);
    client.put_config(&ConfigName::new("kv-url"), &url).await.unwrap();
    let link = Link {
        source_id: ComponentId::new("counter"),
        target: ComponentId::new("kv"),
        wit_namespace: "wasi".into(),
        wit_package: "keyvalue".into(),
        interfaces: vec!["store".into(), "atomics".into()],
        target_config: vec![ConfigName::new("kv-url")],
        ..Link::default()
    };
    client.put_link(&link).await.unwrap();

    let mut events = lattice.events().await;
    client
        .start_provider(&start_command(&host, "kv", file_ref(&script.to_string_lossy())))
        .await
        .unwrap();
    let started = wait_event(&mut events, "provider_started", |e| match data(e) {
        LatticeEvent::ProviderStarted(p) => Some(p.clone()),
        _ => None,
    })
    .await;
    assert_eq!(started.provider_id, "kv");
    assert!(started.claims.is_none(), "an executable carries no claims");
    wait_until("the provider recording its host data", || {
        recorded(dir.path()).len() == 1
    })
    .await;

    let first = recorded(dir.path()).remove(0);
    assert_eq!(first.provider_key, "kv");
    assert_eq!(first.host_id, host.id().as_str());
    assert_eq!(first.lattice_rpc_prefix, "default");
    assert_eq!(first.lattice_rpc_url, lattice.nats.url());
    assert_eq!(first.config["mode"], "fast");
    assert!(first.provider_xkey_private_key.starts_with("SX"));
    assert!(first.host_xkey_public_key.starts_with('X'));
    let [linked] = first.link_definitions.as_slice() else {
        panic!("one link expected: {:?}", first.link_definitions);
    };
    assert_eq!(linked.source_id, "counter");
    assert_eq!(linked.target_config["URL"], "redis://127.0.0.1:1/");
    let env = std::fs::read_to_string(dir.path().join("env")).unwrap();
    for variable in env.lines().filter_map(|line| line.split_once('=').map(|(k, _)| k)) {
        assert!(
            variable == "RUST_LOG" || variable.starts_with("OTEL_") || variable == "PWD",
            "the provider's environment leaks {variable}: {env}"
        );
    }

    // Killed from outside, it comes back with fresh host data.
    let pid = host.provider_pid("kv").expect("the provider runs");
    assert!(alive(pid));
    std::process::Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .status()
        .unwrap();
    wait_until("the provider restarting", || {
        host.provider_pid("kv").is_some_and(|new| new != pid) && recorded(dir.path()).len() == 2
    })
    .await;
    let second = recorded(dir.path()).remove(1);
    assert_ne!(second.instance_id, first.instance_id);
    assert_ne!(second.provider_xkey_private_key, first.provider_xkey_private_key);

    // Stopped, it is gone (the script ignores the shutdown request, so it is killed).
    let pid = host.provider_pid("kv").unwrap();
    client.stop_provider(host.id(), &ProviderId::new("kv")).await.unwrap();
    let stopped = wait_event(&mut events, "provider_stopped", |e| match data(e) {
        LatticeEvent::ProviderStopped(p) => Some(p.clone()),
        _ => None,
    })
    .await;
    assert_eq!(stopped.reason, "stop");
    assert!(!alive(pid), "provider process {pid} still runs");
    assert_eq!(host.provider_pid("kv"), None);
    host.stop(Some(tokio::time::Instant::now() + Duration::from_secs(5)))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_archives_are_verified_before_they_run() {
    let lattice = Lattice::start().await;
    let mut config = lattice.host_config(&[]);
    let issuer = nkeys::KeyPair::new_account();
    config.allowed_issuers = vec![issuer.public_key()];
    let host = lattice_host::Host::start(config).await.unwrap();
    let client = &lattice.client;
    let dir = tempfile::tempdir().unwrap();
    let script = std::fs::read(recording_provider(dir.path())).unwrap();
    let archive = Builder::new("recorder", "tests")
        .version("1.2.3")
        .target(native_target(), script.clone())
        .build(&issuer, &nkeys::KeyPair::new_service().public_key())
        .unwrap();
    let good = dir.path().join("recorder.par.gz");
    std::fs::write(&good, archive.to_bytes(true).unwrap()).unwrap();
    let mut events = lattice.events().await;

    client
        .start_provider(&start_command(&host, "signed", file_ref(&good.to_string_lossy())))
        .await
        .unwrap();
    let started = wait_event(&mut events, "provider_started", |e| match data(e) {
        LatticeEvent::ProviderStarted(p) => Some(p.clone()),
        _ => None,
    })
    .await;
    let claims = started.claims.expect("an archive's claims are announced");
    assert_eq!(claims.issuer, issuer.public_key());
    assert_eq!(claims.version.as_deref(), Some("1.2.3"));
    wait_until("the archived provider running", || recorded(dir.path()).len() == 1).await;
    let inventory = client.get_host_inventory(host.id()).await.unwrap();
    let described = inventory.providers.iter().find(|p| p.id == "signed").unwrap();
    assert_eq!(described.name.as_deref(), Some("recorder"));

    // A plain executable is unsigned: this host runs only what its issuers signed.
    let start = start_command(
        &host,
        "unsigned",
        file_ref(&dir.path().join("provider.sh").to_string_lossy()),
    );
    client.start_provider(&start).await.unwrap();
    let failed = wait_event(&mut events, "provider_start_failed", |e| match data(e) {
        LatticeEvent::ProviderStartFailed(p) if p.provider_id == "unsigned" => Some(p.clone()),
        _ => None,
    })
    .await;
    assert!(failed.error.contains("unsigned executable"), "{}", failed.error);

    // Another account's archive, and a tampered one, are refused by name.
    let stranger = Builder::new("recorder", "tests")
        .target(native_target(), script.clone())
        .build(
            &nkeys::KeyPair::new_account(),
            &nkeys::KeyPair::new_service().public_key(),
        )
        .unwrap();
    let stranger_path = dir.path().join("stranger.par");
    std::fs::write(&stranger_path, stranger.to_bytes(false).unwrap()).unwrap();
    client
        .start_provider(&start_command(
            &host,
            "stranger",
            file_ref(&stranger_path.to_string_lossy()),
        ))
        .await
        .unwrap();
    let failed = wait_event(&mut events, "provider_start_failed", |e| match data(e) {
        LatticeEvent::ProviderStartFailed(p) if p.provider_id == "stranger" => Some(p.clone()),
        _ => None,
    })
    .await;
    assert!(failed.error.contains("does not allow"), "{}", failed.error);

    // One byte of the binary changed inside the archive.
    let mut plain = archive.to_bytes(false).unwrap();
    let at = plain
        .windows(script.len())
        .position(|window| window == script.as_slice())
        .expect("the binary is stored as is");
    plain[at + 20] ^= 0x01;
    let tampered = dir.path().join("tampered.par");
    std::fs::write(&tampered, plain).unwrap();
    client
        .start_provider(&start_command(&host, "tampered", file_ref(&tampered.to_string_lossy())))
        .await
        .unwrap();
    let failed = wait_event(&mut events, "provider_start_failed", |e| match data(e) {
        LatticeEvent::ProviderStartFailed(p) if p.provider_id == "tampered" => Some(p.clone()),
        _ => None,
    })
    .await;
    assert!(
        failed.error.contains("provider archive"),
        "the error names the archive: {}",
        failed.error
    );
    host.stop(Some(tokio::time::Instant::now() + Duration::from_secs(5)))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn providers_are_told_of_link_puts_and_deletions() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    let client = &lattice.client;
    let dir = tempfile::tempdir().unwrap();
    let script = recording_provider(dir.path());
    let mut events = lattice.events().await;
    client
        .start_provider(&start_command(&host, "kv", file_ref(&script.to_string_lossy())))
        .await
        .unwrap();
    wait_event(&mut events, "provider_started", |e| match data(e) {
        LatticeEvent::ProviderStarted(_) => Some(()),
        _ => None,
    })
    .await;
    wait_until("the provider running", || recorded(dir.path()).len() == 1).await;
    let xkey = nkeys::XKey::from_seed(&recorded(dir.path())[0].provider_xkey_private_key).unwrap();

    let nats = async_nats::connect(lattice.nats.url()).await.unwrap();
    let mut puts = nats
        .subscribe(format!("wasmbus.rpc.default.{}.linkdefs.put", xkey.public_key()))
        .await
        .unwrap();
    let mut source_dels = nats
        .subscribe("wasmbus.rpc.default.counter.linkdefs.del")
        .await
        .unwrap();
    let mut target_dels = nats.subscribe("wasmbus.rpc.default.kv.linkdefs.del").await.unwrap();
    nats.flush().await.unwrap();

    let link = Link {
        source_id: ComponentId::new("counter"),
        target: ComponentId::new("kv"),
        wit_namespace: "wasi".into(),
        wit_package: "keyvalue".into(),
        interfaces: vec!["store".into()],
        ..Link::default()
    };
    client.put_link(&link).await.unwrap();
    let put = tokio::time::timeout(WAIT, puts.next())
        .await
        .expect("a link put in time")
        .unwrap();
    let told: InterfaceLinkDefinition = serde_json::from_slice(&put.payload).unwrap();
    assert_eq!((told.source_id.as_str(), told.target.as_str()), ("counter", "kv"));

    client
        .delete_link(
            &ComponentId::new("counter"),
            &LinkName::default_name(),
            "wasi",
            "keyvalue",
        )
        .await
        .unwrap();
    // The answering host tells both ends, as upstream hosts expect.
    for deletions in [&mut source_dels, &mut target_dels] {
        let deleted = tokio::time::timeout(WAIT, deletions.next())
            .await
            .expect("a link deletion in time")
            .unwrap();
        let gone: InterfaceLinkDefinition = serde_json::from_slice(&deleted.payload).unwrap();
        assert_eq!(gone.wit_package, "keyvalue");
    }
    host.stop(Some(tokio::time::Instant::now() + Duration::from_secs(5)))
        .await;
}
