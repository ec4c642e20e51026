//! Provider → component: subscriptions delivered as `handle-message` calls, queue groups,
//! and a deleted link's subscriptions gone.

use std::time::Duration;

use async_nats::RequestErrorKind;
use futures::StreamExt as _;
use lattice_interfaces::bindings::wasmcloud::messaging::types::BrokerMessage;
use tokio::sync::mpsc;

use crate::support::{Lattice, PROVIDER, WAIT, link, next, until};

type Inbox = mpsc::UnboundedReceiver<(BrokerMessage, String)>;

/// Publishes `probe` bodies on `subject` until the component gets one: the link's
/// subscriptions are then on the server. Probes still in flight are skipped by [`real`].
async fn wait_subscribed(lattice: &Lattice, rx: &mut Inbox, subject: &str) {
    until("the subscription being made", async || {
        lattice
            .client
            .publish(subject.to_owned(), "probe".into())
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_millis(100), rx.recv())
            .await
            .is_ok_and(|m| m.is_some_and(|(m, _)| &m.body[..] == b"probe"))
    })
    .await;
}

/// The next message that is not a probe.
async fn real(rx: &mut Inbox) -> (BrokerMessage, String) {
    loop {
        let (message, source) = next(rx).await;
        if &message.body[..] != b"probe" {
            return (message, source);
        }
    }
}

#[tokio::test]
async fn subscriptions_are_delivered_until_the_link_goes() {
    let lattice = Lattice::start().await;
    let (mut rx, _component) = lattice.component("listener").await;
    let link = link(PROVIDER, "listener", &[("subscriptions", "events.>, other")]);
    lattice.put(&link).await;
    wait_subscribed(&lattice, &mut rx, "events.probe").await;

    lattice
        .client
        .publish_with_reply("events.a", "reply.here", "hello".into())
        .await
        .unwrap();
    lattice.client.publish("other", "second".into()).await.unwrap();
    // Each message is its own call, so they may arrive in any order.
    let mut got = vec![real(&mut rx).await, real(&mut rx).await];
    got.sort_by(|a, b| a.0.subject.cmp(&b.0.subject));
    let [(first, source), (second, _)] = <[_; 2]>::try_from(got).ok().unwrap();
    assert_eq!(first.subject, "events.a");
    assert_eq!(&first.body[..], b"hello");
    assert_eq!(first.reply_to.as_deref(), Some("reply.here"));
    // Calls to components name the provider, as upstream providers do.
    assert_eq!(source, PROVIDER);
    assert_eq!((second.subject.as_str(), &second.body[..]), ("other", &b"second"[..]));
    assert_eq!(second.reply_to, None);

    // Deleted: the subscriptions leave the server (a request then has no responders).
    lattice.delete(&link).await;
    until("the subscriptions going", async || {
        let request = async_nats::Request::new()
            .payload("probe".into())
            .timeout(Some(Duration::from_millis(200)));
        matches!(
            lattice.client.send_request("events.gone", request).await,
            Err(err) if err.kind() == RequestErrorKind::NoResponders
        )
    })
    .await;
}

#[tokio::test]
async fn a_queue_subscription_shares_messages_with_its_group() {
    let lattice = Lattice::start().await;
    let (mut rx, _component) = lattice.component("worker").await;
    lattice
        .put(&link(PROVIDER, "worker", &[("subscriptions", "jobs|workers")]))
        .await;
    wait_subscribed(&lattice, &mut rx, "jobs").await;

    // Another member of the group: each job goes to one of the two, never to both.
    let mut peer = lattice.client.queue_subscribe("jobs", "workers".into()).await.unwrap();
    lattice.client.flush().await.unwrap();
    const JOBS: usize = 40;
    for n in 0..JOBS {
        lattice.client.publish("jobs", n.to_string().into()).await.unwrap();
    }
    let (mut to_component, mut to_peer) = (0, 0);
    let deadline = tokio::time::Instant::now() + WAIT;
    while to_component + to_peer < JOBS {
        tokio::select! {
            Some((message, _)) = rx.recv() => if &message.body[..] != b"probe" { to_component += 1 },
            Some(message) = peer.next() => if &message.payload[..] != b"probe" { to_peer += 1 },
            () = tokio::time::sleep_until(deadline) => panic!("only {} of {JOBS} jobs arrived", to_component + to_peer),
        }
    }
    assert_eq!(to_component + to_peer, JOBS);
    // A plain subscription would have given every job to both.
    assert!(
        to_component < JOBS && to_peer < JOBS,
        "component {to_component}, peer {to_peer}"
    );
}
