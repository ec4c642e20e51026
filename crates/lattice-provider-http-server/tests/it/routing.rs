//! Routing modes and link deletion: path prefixes and 404s, host names, and a deleted link
//! freeing its port.

use bytes::Bytes;

use crate::support::{Lattice, free_addr, get_until, send, until};

#[tokio::test]
async fn path_mode_routes_by_longest_prefix_and_404s_the_rest() {
    let addr = free_addr();
    let lattice = Lattice::start(&[("routing_mode", "path"), ("default_address", &addr.to_string())]).await;
    let (_api, _users) = (lattice.component("api").await, lattice.component("users").await);
    lattice.put_link("api", &[("path", "/api")]).await;
    lattice.put_link("users", &[("path", "/api/users/")]).await;
    get_until(addr, "/api/users/7", "both routes taking effect", |a| {
        a.header("x-component") == "users"
    })
    .await;
    let answer = send(addr, "GET", "/api/orders?id=1", None, Bytes::new()).await.unwrap();
    assert_eq!(answer.header("x-component"), "api");
    // The path reaches the component unchanged.
    assert_eq!(answer.header("x-path"), "/api/orders?id=1");
    let answer = send(addr, "GET", "/elsewhere", None, Bytes::new()).await.unwrap();
    assert_eq!(answer.status, 404);
    assert_eq!(
        send(addr, "GET", "/apis", None, Bytes::new()).await.unwrap().status,
        404
    );

    // Deleting one route leaves the other, and the listener.
    lattice.delete_link("users").await;
    get_until(addr, "/api/users/7", "the users route going", |a| {
        a.header("x-component") == "api"
    })
    .await;
}

#[tokio::test]
async fn host_mode_routes_by_host_name() {
    let addr = free_addr();
    let lattice = Lattice::start(&[("routing_mode", "host"), ("default_address", &addr.to_string())]).await;
    let (_a, _b) = (lattice.component("a").await, lattice.component("b").await);
    lattice.put_link("a", &[("host", "a.example")]).await;
    lattice.put_link("b", &[("host", "B.example")]).await;
    until("both routes taking effect", async || {
        send(addr, "GET", "/", Some("b.example:80"), Bytes::new())
            .await
            .is_ok_and(|a| a.header("x-component") == "b")
    })
    .await;
    let answer = send(addr, "GET", "/", Some("a.example"), Bytes::new()).await.unwrap();
    assert_eq!(answer.header("x-component"), "a");
    let answer = send(addr, "GET", "/", Some("c.example"), Bytes::new()).await.unwrap();
    assert_eq!(answer.status, 404);
}

#[tokio::test]
async fn deleting_the_link_frees_the_port() {
    let lattice = Lattice::start(&[]).await;
    let _echo = lattice.component("echo").await;
    let addr = free_addr();
    lattice.put_link("echo", &[("address", &addr.to_string())]).await;
    get_until(addr, "/", "the route taking effect", |a| a.status == 200).await;
    assert!(
        std::net::TcpListener::bind(addr).is_err(),
        "the provider listens on {addr}"
    );

    lattice.delete_link("echo").await;
    until("the port being freed", async || {
        std::net::TcpListener::bind(addr).is_ok()
    })
    .await;
    assert!(send(addr, "GET", "/", None, Bytes::new()).await.is_err());

    // Linked again: it listens again.
    lattice.put_link("echo", &[("address", &addr.to_string())]).await;
    get_until(addr, "/", "the route coming back", |a| a.status == 200).await;
}
