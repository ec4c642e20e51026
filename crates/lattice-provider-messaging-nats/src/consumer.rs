//! `wasmcloud:messaging/consumer@0.2.0` served to linked components: `publish` and `request`,
//! each over the calling component's connection (its link's own, else the lattice's).

use std::sync::PoisonError;
use std::time::Duration;

use async_nats::RequestErrorKind;
use bytes::Bytes;
use lattice_interfaces::bindings::exports::wasmcloud::messaging::consumer::Handler;
use lattice_interfaces::bindings::wasmcloud::messaging::types::BrokerMessage;
use lattice_provider_sdk::Caller;
use lattice_provider_sdk::wrpc_transport_nats::NatsContext;

use crate::NatsMessagingProvider;

/// The timeout of a request that asks for none (`timeout-ms` 0).
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl NatsMessagingProvider {
    /// The connection the calling component publishes on.
    fn connection(&self, cx: &NatsContext) -> Result<async_nats::Client, String> {
        let own = Caller::from_context(cx).and_then(|caller| {
            self.inner
                .targets
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&(caller.component_id, caller.link_name))
                .cloned()
                .flatten()
        });
        match own {
            Some(client) => Ok(client),
            None => self
                .inner
                .handle
                .get()
                .map(|handle| handle.nats().clone())
                .ok_or_else(|| "the provider is not connected to a lattice yet".to_owned()),
        }
    }
}

impl Handler<NatsContext> for NatsMessagingProvider {
    async fn publish(&self, cx: NatsContext, msg: BrokerMessage) -> anyhow::Result<Result<(), String>> {
        let client = match self.connection(&cx) {
            Ok(client) => client,
            Err(err) => return Ok(Err(err)),
        };
        let subject = msg.subject.clone();
        let published = match msg.reply_to {
            Some(reply) => client.publish_with_reply(msg.subject, reply, msg.body).await,
            None => client.publish(msg.subject, msg.body).await,
        };
        if let Err(err) = published {
            return Ok(Err(format!("cannot publish to `{subject}`: {err}")));
        }
        // Errors surface here rather than never, and a request that follows cannot overtake.
        Ok(client
            .flush()
            .await
            .map_err(|e| format!("cannot publish to `{subject}`: {e}")))
    }

    async fn request(
        &self,
        cx: NatsContext,
        subject: String,
        body: Bytes,
        timeout_ms: u32,
    ) -> anyhow::Result<Result<BrokerMessage, String>> {
        let client = match self.connection(&cx) {
            Ok(client) => client,
            Err(err) => return Ok(Err(err)),
        };
        let timeout = match timeout_ms {
            0 => DEFAULT_REQUEST_TIMEOUT,
            ms => Duration::from_millis(ms.into()),
        };
        let request = async_nats::Request::new().payload(body).timeout(Some(timeout));
        Ok(match client.send_request(subject.clone(), request).await {
            Ok(reply) => Ok(BrokerMessage {
                subject: reply.subject.to_string(),
                body: reply.payload,
                reply_to: reply.reply.map(|r| r.to_string()),
            }),
            Err(err) => Err(match err.kind() {
                RequestErrorKind::TimedOut => {
                    format!("request to {subject} timed out after {} ms", timeout.as_millis())
                }
                RequestErrorKind::NoResponders => format!("request to {subject}: nothing answers on that subject"),
                _ => format!("request to {subject} failed: {err}"),
            }),
        })
    }
}
