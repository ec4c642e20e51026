//! Requests forwarded to a component and back: status, headers, bodies both ways; and the
//! answers when the component fails, is slow, is read-only, or does not run.

use bytes::Bytes;

use crate::support::{Lattice, PROVIDER, free_addr, get_until, send};

#[tokio::test]
async fn get_and_post_round_trip_through_the_component() {
    let lattice = Lattice::start(&[]).await;
    let _echo = lattice.component("echo").await;
    let addr = free_addr();
    lattice.put_link("echo", &[("address", &addr.to_string())]).await;
    let answer = get_until(addr, "/hello?x=1", "the route taking effect", |a| a.status == 200).await;
    assert_eq!(answer.header("x-component"), "echo");
    assert_eq!(answer.header("x-method"), "GET");
    assert_eq!(answer.header("x-path"), "/hello?x=1");
    assert_eq!(answer.header("x-authority"), addr.to_string());
    // What upstream providers send with a call to a component.
    assert_eq!(answer.header("x-source-id"), PROVIDER);
    assert_eq!(answer.header("x-target-id"), "echo");
    assert!(answer.body.is_empty());

    // A body larger than a NATS message streams through in chunks, both ways.
    let body: Bytes = (0..3 * 1024 * 1024)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    let answer = send(addr, "POST", "/upload", None, body.clone()).await.unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("x-method"), "POST");
    assert_eq!(answer.body.len(), body.len());
    assert!(answer.body == body, "the echoed body differs");
}

#[tokio::test]
async fn failures_become_their_status_codes() {
    let lattice = Lattice::start(&[]).await;
    let _echo = lattice.component("echo").await;
    let (plain, readonly, hasty, ghost) = (free_addr(), free_addr(), free_addr(), free_addr());
    lattice.put_link("echo", &[("address", &plain.to_string())]).await;
    get_until(plain, "/", "the route taking effect", |a| a.status == 200).await;

    // The component answers with an error code: 500, naming it.
    let answer = send(plain, "GET", "/fail", None, Bytes::new()).await.unwrap();
    assert_eq!(answer.status, 500);
    assert_eq!(answer.text(), "component `echo` failed to handle the request\n");

    // A component nothing serves: 503 naming it, at once.
    lattice.put_link("ghost", &[("address", &ghost.to_string())]).await;
    let answer = get_until(ghost, "/", "the ghost route taking effect", |a| a.status != 404).await;
    assert_eq!(answer.status, 503);
    assert_eq!(
        answer.text(),
        "component `ghost` did not answer on lattice `test`: is it running?\n"
    );

    // Links are per component: a second component plays the read-only and the hasty link.
    let _reader = lattice.component("reader").await;
    lattice
        .put_link(
            "reader",
            &[("address", &readonly.to_string()), ("readonly_mode", "true")],
        )
        .await;
    get_until(readonly, "/", "the read-only route taking effect", |a| a.status == 200).await;
    let answer = send(readonly, "POST", "/", None, Bytes::from_static(b"x"))
        .await
        .unwrap();
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), "GET, HEAD");
    assert_eq!(
        send(readonly, "HEAD", "/", None, Bytes::new()).await.unwrap().status,
        200
    );

    let _slow = lattice.component("slow").await;
    lattice
        .put_link("slow", &[("address", &hasty.to_string()), ("timeout_ms", "200")])
        .await;
    get_until(hasty, "/", "the hasty route taking effect", |a| a.status == 200).await;
    let answer = send(hasty, "GET", "/slow", None, Bytes::new()).await.unwrap();
    assert_eq!(answer.status, 408);
    assert_eq!(answer.text(), "component `slow` did not answer within 200 ms\n");
}
