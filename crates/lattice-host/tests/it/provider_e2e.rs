//! End to end across two hosts, by links alone: the http-server provider and kvcounter on
//! host A, the keyvalue-redis provider on host B, counts in a real Redis. Killing the Redis
//! provider loses no acknowledged increment; garbage on the subjects providers and hosts
//! listen on changes nothing.

use std::net::SocketAddr;
use std::time::Duration;

use lattice_control_interface::{ConfigName, ConfigValues};
use lattice_test_support::redis::RedisServer;
use lattice_test_support::{guests, providers};
use redis::AsyncCommands as _;

use crate::support::{Lattice, WAIT, free_address, http_link, keyvalue_link};

/// One GET through the http-server provider: the status and body, or `None` when the
/// provider does not accept the connection (yet) or drops it.
async fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    use http_body_util::{BodyExt as _, Empty};
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(connection);
    let request = http::Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .body(Empty::<bytes::Bytes>::new())
        .ok()?;
    let response = tokio::time::timeout(WAIT, sender.send_request(request))
        .await
        .ok()?
        .ok()?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.ok()?.to_bytes();
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}

#[tokio::test(flavor = "multi_thread")]
async fn kvcounter_counts_in_redis_through_two_providers_on_two_hosts() {
    let lattice = Lattice::start().await;
    let redis = RedisServer::start();
    let (host_a, host_b) = tokio::join!(lattice.host(&[]), lattice.host(&[]));
    let client = &lattice.client;

    lattice.scale(&host_a, "kvcounter", guests::HTTP_KVCOUNTER, 16).await;
    lattice.start_provider(&host_a, "http", providers::HTTP_SERVER).await;
    lattice
        .start_provider(&host_b, "kv-redis", providers::KEYVALUE_REDIS)
        .await;

    let addr = free_address();
    let listen = ConfigValues::from([("address".to_owned(), addr.to_string())]);
    client.put_config(&ConfigName::new("listen"), &listen).await.unwrap();
    let url = ConfigValues::from([("URL".to_owned(), redis.url())]);
    client.put_config(&ConfigName::new("redis"), &url).await.unwrap();
    client
        .put_link(&http_link("http", "kvcounter", "listen"))
        .await
        .unwrap();
    client
        .put_link(&keyvalue_link("kvcounter", "kv-redis", "redis"))
        .await
        .unwrap();

    // The links take effect as each host and provider hears of them.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut acknowledged = 0_u64;
    loop {
        if let Some((200, body)) = get(addr, "/a").await {
            acknowledged += 1;
            assert_eq!(body, format!("{{\"path\":\"/a\",\"count\":{acknowledged}}}"));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "kvcounter never answered through the providers"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..4 {
        let (status, body) = get(addr, "/a").await.expect("the provider answers");
        assert_eq!(status, 200, "{body}");
        acknowledged += 1;
    }
    let mut redis_client = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let stored: u64 = redis_client.get("counter:/a").await.unwrap();
    assert_eq!(stored, acknowledged, "the counts live in Redis");

    // Garbage where providers and hosts listen is logged and ignored.
    let nats = lattice.client.nats();
    for subject in [
        "wasmbus.rpc.default.kv-redis.linkdefs.put",
        "wasmbus.rpc.default.kv-redis.linkdefs.del",
        "wasmbus.rpc.default.kv-redis.health",
        "wasmbus.rpc.default.kv-redis.default.shutdown",
        "wasmbus.rpc.default.http.config.update",
        "default.kvcounter.wrpc.0.0.1.wrpc:http/incoming-handler@0.1.0.handle",
        "default.kv-redis.wrpc.0.0.1.wrpc:keyvalue/atomics@0.2.0-draft.increment",
    ] {
        nats.publish(subject, "\u{0}garbage{".into()).await.unwrap();
    }
    nats.flush().await.unwrap();
    let (status, body) = get(addr, "/a").await.expect("the provider answers");
    assert_eq!(status, 200, "{body}");
    acknowledged += 1;

    // The Redis provider dies: its host starts it again, and counting resumes. Requests in
    // between may fail; none that succeeded is lost.
    let pid = host_b.provider_pid("kv-redis").expect("the provider runs on host B");
    std::process::Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .status()
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut after_restart = 0;
    while after_restart < 3 {
        match get(addr, "/a").await {
            Some((200, _)) => {
                acknowledged += 1;
                if host_b.provider_pid("kv-redis").is_some_and(|new| new != pid) {
                    after_restart += 1;
                }
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "counting did not resume after the restart"
        );
    }
    let stored: u64 = redis_client.get("counter:/a").await.unwrap();
    assert_eq!(stored, acknowledged, "every acknowledged increment is in Redis");

    let deadline = Some(tokio::time::Instant::now() + Duration::from_secs(5));
    tokio::join!(host_a.stop(deadline), host_b.stop(deadline));
}
