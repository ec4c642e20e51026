//! Every function over wRPC, read back from Redis; links kept apart; calls without a link;
//! Redis going away.

use bytes::Bytes;
use lattice_interfaces::bindings::wrpc::keyvalue::{atomics, batch, store};
use lattice_test_support::redis::RedisServer;
use redis::AsyncCommands as _;

use crate::support::{Lattice, WAIT, headers, redis};

fn b(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

/// A host (and `wash dev`) takes a provider to be ready when it answers a health check: by
/// then its exports must be served.
#[tokio::test]
async fn the_exports_are_served_once_the_provider_answers_its_health_check() {
    let lattice = Lattice::spawn(&[]).await;
    lattice
        .until("the provider answers its health check", async || {
            lattice.answers_health().await
        })
        .await;
    assert!(lattice.serves().await, "health answered, but no export is served yet");
}

#[tokio::test]
async fn every_function_lands_in_redis() {
    let redis_server = RedisServer::start();
    let lattice = Lattice::start(&[]).await;
    lattice
        .put_link("app", "default", &[("url", &redis_server.url())])
        .await;
    let mut direct = redis(&redis_server.url()).await;
    let wrpc = &lattice.wrpc;
    let cx = || Some(headers("app", "default"));

    // store: the bucket name is carried but does not prefix keys, as upstream.
    store::set(wrpc, cx(), "bucket", "greeting", &b("hello"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        direct.get::<_, Option<String>>("greeting").await.unwrap().as_deref(),
        Some("hello")
    );
    assert_eq!(
        store::get(wrpc, cx(), "other-bucket", "greeting")
            .await
            .unwrap()
            .unwrap(),
        Some(b("hello"))
    );
    assert_eq!(store::get(wrpc, cx(), "", "missing").await.unwrap().unwrap(), None);
    assert!(store::exists(wrpc, cx(), "", "greeting").await.unwrap().unwrap());
    assert!(!store::exists(wrpc, cx(), "", "missing").await.unwrap().unwrap());
    store::delete(wrpc, cx(), "", "greeting").await.unwrap().unwrap();
    assert!(!direct.exists::<_, bool>("greeting").await.unwrap());
    // Deleting what is not there is fine.
    store::delete(wrpc, cx(), "", "greeting").await.unwrap().unwrap();

    // atomics
    assert_eq!(
        atomics::increment(wrpc, cx(), "", "counter", 5).await.unwrap().unwrap(),
        5
    );
    assert_eq!(
        atomics::increment(wrpc, cx(), "", "counter", 2).await.unwrap().unwrap(),
        7
    );
    assert_eq!(direct.get::<_, i64>("counter").await.unwrap(), 7);
    let () = direct.set("text", "not a number").await.unwrap();
    let Err(store::Error::Other(message)) = atomics::increment(wrpc, cx(), "", "text", 1).await.unwrap() else {
        panic!("incrementing text must fail");
    };
    assert!(
        message.starts_with("INCRBY `text` failed on Redis at redis://127.0.0.1:"),
        "{message}"
    );

    // batch
    batch::set_many(wrpc, cx(), "", &[("a", &b("1")), ("b", &b("2"))])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(direct.mget::<_, Vec<String>>(&["a", "b"]).await.unwrap(), ["1", "2"]);
    assert_eq!(
        batch::get_many(wrpc, cx(), "", &["a", "nope", "b"])
            .await
            .unwrap()
            .unwrap(),
        [Some(("a".to_owned(), b("1"))), None, Some(("b".to_owned(), b("2")))]
    );
    assert_eq!(batch::get_many(wrpc, cx(), "", &[]).await.unwrap().unwrap(), []);

    // list-keys pages through everything with SCAN's cursor; the last page has none.
    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let page = store::list_keys(wrpc, cx(), "", cursor).await.unwrap().unwrap();
        keys.extend(page.keys);
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    keys.sort();
    assert_eq!(keys, ["a", "b", "counter", "text"]);

    batch::delete_many(wrpc, cx(), "", &["a", "b"]).await.unwrap().unwrap();
    assert_eq!(direct.exists::<_, u64>(&["a", "b"]).await.unwrap(), 0);
}

#[tokio::test]
async fn two_links_to_two_databases_stay_apart() {
    let redis_server = RedisServer::start();
    let lattice = Lattice::start(&[]).await;
    let (db1, db2) = (format!("{}/1", redis_server.url()), format!("{}/2", redis_server.url()));
    lattice.put_link("alice", "default", &[("URL", &db1)]).await;
    lattice.put_link("bob", "cache", &[("URL", &db2)]).await;
    let wrpc = &lattice.wrpc;

    store::set(wrpc, Some(headers("alice", "default")), "", "who", &b("alice"))
        .await
        .unwrap()
        .unwrap();
    store::set(wrpc, Some(headers("bob", "cache")), "", "who", &b("bob"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(redis(&db1).await.get::<_, String>("who").await.unwrap(), "alice");
    assert_eq!(redis(&db2).await.get::<_, String>("who").await.unwrap(), "bob");
    assert_eq!(
        redis(&redis_server.url())
            .await
            .get::<_, Option<String>>("who")
            .await
            .unwrap(),
        None
    );

    // bob's link is named `cache`: his default link does not exist.
    let answer = store::get(wrpc, Some(headers("bob", "default")), "", "who")
        .await
        .unwrap();
    assert!(
        matches!(&answer, Err(store::Error::Other(m)) if !m.contains("--link-name") && m.starts_with("no key-value link from `bob` named `default`")),
        "{answer:?}"
    );
}

#[tokio::test]
async fn the_providers_own_url_serves_links_that_name_none() {
    let redis_server = RedisServer::start();
    let db3 = format!("{}/3", redis_server.url());
    let lattice = Lattice::start(&[("URL", &db3)]).await;
    lattice.put_link("app", "default", &[]).await;
    store::set(&lattice.wrpc, Some(headers("app", "default")), "", "k", &b("v"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(redis(&db3).await.get::<_, String>("k").await.unwrap(), "v");
}

#[tokio::test]
async fn a_call_without_a_link_names_the_link_to_put() {
    let lattice = Lattice::start(&[]).await;
    let answer = store::get(&lattice.wrpc, Some(headers("stranger", "cache")), "", "k")
        .await
        .unwrap();
    let Err(store::Error::Other(message)) = answer else {
        panic!("{answer:?}");
    };
    assert_eq!(
        message,
        "no key-value link from `stranger` named `cache` to provider `kv-redis`: put a link from the component \
         to the provider (wash link put stranger kv-redis wasi keyvalue --interface store --link-name cache)"
    );
    // A call naming no component at all.
    let answer = store::get(&lattice.wrpc, None, "", "k").await.unwrap();
    assert!(matches!(answer, Err(store::Error::Other(m)) if m.contains("no source-id header")));
}

#[tokio::test]
async fn when_redis_goes_away_calls_fail_quickly_and_the_provider_stays() {
    let redis_server = RedisServer::start();
    let url = redis_server.url();
    let mut lattice = Lattice::start(&[]).await;
    lattice.put_link("app", "default", &[("URL", &url)]).await;
    let cx = || Some(headers("app", "default"));
    store::set(&lattice.wrpc, cx(), "", "k", &b("v"))
        .await
        .unwrap()
        .unwrap();

    // A connection Redis drops is remade: calls succeed again by themselves.
    let mut admin = redis(&url).await;
    let () = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "normal", "SKIPME", "yes"])
        .query_async::<u64>(&mut admin)
        .await
        .map(drop)
        .unwrap();
    lattice
        .until("the dropped connection being remade", async || {
            matches!(store::get(&lattice.wrpc, cx(), "", "k").await, Ok(Ok(Some(_))))
        })
        .await;

    drop(redis_server);
    for _ in 0..3 {
        let answer = tokio::time::timeout(WAIT, store::get(&lattice.wrpc, cx(), "", "k"))
            .await
            .expect("a call to a Redis that is down fails in time")
            .unwrap();
        let Err(store::Error::Other(message)) = answer else {
            panic!("{answer:?}");
        };
        assert!(
            message.starts_with(&format!("GET `k` failed on Redis at {url}")),
            "{message}"
        );
    }
    assert!(lattice.healthy().await);
    assert!(lattice.provider.try_wait().unwrap().is_none(), "the provider exited");

    // Deleting the link drops its connection: the next call has no link.
    lattice.delete_link("app", "default").await;
}
