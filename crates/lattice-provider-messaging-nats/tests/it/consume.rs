//! Component → provider: `publish` and `request` over the lattice's NATS, or over a link's own
//! server.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use lattice_interfaces::bindings::wasmcloud::messaging::consumer;
use lattice_interfaces::bindings::wasmcloud::messaging::types::BrokerMessage;
use lattice_test_support::nats::NatsServer;

use crate::support::{Lattice, PROVIDER, WAIT, headers, link, until};

fn message(subject: &str, body: &str, reply_to: Option<&str>) -> BrokerMessage {
    BrokerMessage {
        subject: subject.into(),
        body: Bytes::copy_from_slice(body.as_bytes()),
        reply_to: reply_to.map(str::to_owned),
    }
}

#[tokio::test]
async fn publish_and_request_reach_the_lattice() {
    let lattice = Lattice::start().await;
    let wrpc = &lattice.wrpc;
    let mut out = lattice.client.subscribe("out").await.unwrap();
    // A service answering requests, and one that never does.
    let mut service = lattice.client.subscribe("svc").await.unwrap();
    let _silent = lattice.client.subscribe("silent").await.unwrap();
    lattice.client.flush().await.unwrap();
    let responder = lattice.client.clone();
    tokio::spawn(async move {
        while let Some(request) = service.next().await {
            let mut body = b"pong:".to_vec();
            body.extend_from_slice(&request.payload);
            responder.publish(request.reply.unwrap(), body.into()).await.unwrap();
        }
    });

    consumer::publish(wrpc, Some(headers("app")), &message("out", "hi", Some("inbox.1")))
        .await
        .unwrap()
        .unwrap();
    let got = tokio::time::timeout(WAIT, out.next()).await.unwrap().unwrap();
    assert_eq!(&got.payload[..], b"hi");
    assert_eq!(got.reply.as_deref(), Some("inbox.1"));

    let reply = consumer::request(wrpc, Some(headers("app")), "svc", &Bytes::from_static(b"ping"), 2000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&reply.body[..], b"pong:ping");

    let timed_out = consumer::request(wrpc, Some(headers("app")), "silent", &Bytes::new(), 200)
        .await
        .unwrap();
    assert_eq!(timed_out.unwrap_err(), "request to silent timed out after 200 ms");
    let nobody = consumer::request(wrpc, Some(headers("app")), "nobody", &Bytes::new(), 200)
        .await
        .unwrap();
    assert_eq!(
        nobody.unwrap_err(),
        "request to nobody: nothing answers on that subject"
    );
    let bad = consumer::publish(wrpc, Some(headers("app")), &message("bad subject", "", None))
        .await
        .unwrap();
    assert!(bad.unwrap_err().starts_with("cannot publish to `bad subject`"));
}

#[tokio::test]
async fn a_link_with_its_own_server_publishes_there_until_it_goes() {
    let lattice = Lattice::start().await;
    let elsewhere = NatsServer::start();
    let elsewhere_client = async_nats::connect(elsewhere.url()).await.unwrap();
    let mut there = elsewhere_client.subscribe("out").await.unwrap();
    let mut here = lattice.client.subscribe("out").await.unwrap();
    elsewhere_client.flush().await.unwrap();
    lattice.client.flush().await.unwrap();
    let link = link("app", PROVIDER, &[("cluster_uris", &elsewhere.url())]);
    lattice.put(&link).await;

    let publish = || async {
        consumer::publish(&lattice.wrpc, Some(headers("app")), &message("out", "x", None))
            .await
            .unwrap()
            .unwrap();
    };
    until("the link's own server being used", async || {
        publish().await;
        tokio::time::timeout(Duration::from_millis(100), there.next())
            .await
            .is_ok()
    })
    .await;
    lattice.delete(&link).await;
    until("the lattice being used again", async || {
        publish().await;
        tokio::time::timeout(Duration::from_millis(100), here.next())
            .await
            .is_ok()
    })
    .await;
}
