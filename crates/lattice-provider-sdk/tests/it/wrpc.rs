//! wRPC between providers started in-process: what a component's call looks like to a
//! provider's export (`Caller`), and what a provider's call looks like to a component
//! (`client_for`: `source-id` and `target-id` headers, "nothing answers" at once).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use lattice_interfaces::bindings::exports::wasmcloud::messaging::handler;
use lattice_interfaces::bindings::wasmcloud::messaging::handler::handle_message;
use lattice_interfaces::bindings::wasmcloud::messaging::types::BrokerMessage;
use lattice_provider_sdk::wrpc_transport_nats::NatsContext;
use lattice_provider_sdk::{Caller, ComponentClient, Provider, ProviderBuilder, ProviderHandle, TARGET_ID};
use lattice_test_support::nats::NatsServer;

use crate::support::{LATTICE, WAIT, host_data};

struct Quiet;
impl Provider for Quiet {}

/// A call as the served end saw it: the caller, the `target-id` header, the subject.
type Seen = (Option<Caller>, Option<String>, String);

/// Serves `wasmcloud:messaging/handler`, remembering each call's headers.
#[derive(Clone, Default)]
struct Recorder {
    calls: Arc<Mutex<Vec<Seen>>>,
}

impl handler::Handler<NatsContext> for Recorder {
    async fn handle_message(&self, cx: NatsContext, msg: BrokerMessage) -> anyhow::Result<Result<(), String>> {
        let target = cx
            .headers
            .as_ref()
            .and_then(|h| h.get(TARGET_ID))
            .map(|v| v.as_str().to_owned());
        self.calls
            .lock()
            .unwrap()
            .push((Caller::from_context(&cx), target, msg.subject.clone()));
        if msg.subject == "fail" {
            Ok(Err("asked to fail".into()))
        } else {
            Ok(Ok(()))
        }
    }
}

async fn start(nats: &NatsServer, id: &str) -> ProviderHandle {
    let mut data = host_data(&nats.url());
    data.provider_key = id.into();
    ProviderBuilder::new(id)
        .host_data(data)
        .logging(false)
        .signals(false)
        .parent_watch(false)
        .start(Quiet)
        .await
        .unwrap()
}

fn message(subject: &str) -> BrokerMessage {
    BrokerMessage {
        subject: subject.into(),
        body: Bytes::from_static(b"hi"),
        reply_to: None,
    }
}

#[tokio::test]
async fn a_providers_call_names_caller_and_callee() {
    let nats = NatsServer::start();
    let served = start(&nats, "served").await;
    let recorder = Recorder::default();
    served.serve(
        handler::serve_interface(served.wrpc_server(), recorder.clone())
            .await
            .unwrap(),
    );
    let caller = start(&nats, "caller").await;
    let client = caller.client_for("served").await.unwrap();
    assert_eq!(client.target(), "served");

    let result = tokio::time::timeout(WAIT, handle_message(&client, None, &message("a")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result, Ok(()));
    let result = handle_message(&client, None, &message("fail")).await.unwrap();
    assert_eq!(result, Err("asked to fail".to_owned()));
    let calls = recorder.calls.lock().unwrap().clone();
    let expected_caller = Some(Caller {
        component_id: "caller".into(),
        link_name: "default".into(),
    });
    assert_eq!(
        calls,
        [
            (expected_caller.clone(), Some("served".to_owned()), "a".to_owned()),
            (expected_caller, Some("served".to_owned()), "fail".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_call_to_a_component_that_does_not_run_fails_at_once() {
    let nats = NatsServer::start();
    let caller = start(&nats, "caller").await;
    let nats_client = async_nats::connect(nats.url()).await.unwrap();
    let client = ComponentClient::new(&nats_client, LATTICE, "caller", "nobody", WAIT)
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let err = handle_message(&client, None, &message("a")).await.unwrap_err();
    // No responders come back from the server straight away, long before the timeout.
    assert!(started.elapsed() < WAIT, "took {:?}", started.elapsed());
    assert!(!format!("{err:#}").is_empty());
    drop(caller);
}
