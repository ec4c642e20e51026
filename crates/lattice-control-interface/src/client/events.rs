//! The typed lattice event stream returned by [`Client::events`](super::Client::events).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{SelectAll, Stream, StreamExt};

use super::Client;
use crate::error::Error;
use crate::events::{Event, EventType};
use crate::subject;

/// Lattice events as they arrive, decoded. Ends when the NATS connection closes.
///
/// An event that does not decode yields an [`Error`] of kind
/// [`Decode`](crate::ErrorKind::Decode) naming its subject; the stream goes on.
pub struct EventStream {
    subscriptions: SelectAll<async_nats::Subscriber>,
}

impl fmt::Debug for EventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("subscriptions", &self.subscriptions.len())
            .finish()
    }
}

impl Stream for EventStream {
    type Item = Result<Event, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.subscriptions.poll_next_unpin(cx).map(|message| {
            message.map(|message| {
                serde_json::from_slice::<Event>(&message.payload)
                    .map_err(|e| Error::decode_event(message.subject.as_str(), e))
            })
        })
    }
}

impl Client {
    /// Subscribes to this lattice's events: all of them with `None`, or only
    /// the given types (filtered by the server, one subscription per type).
    ///
    /// The subscriptions are registered with the server before this returns,
    /// so no event published afterwards is missed.
    ///
    /// # Errors
    ///
    /// [`Transport`](crate::ErrorKind::Transport) if subscribing fails, or
    /// [`Timeout`](crate::ErrorKind::Timeout) if the server does not confirm
    /// the subscriptions within the client's timeout.
    pub async fn events(&self, filter: Option<&[EventType]>) -> Result<EventStream, Error> {
        let subjects: Vec<String> = match filter {
            None => vec![subject::all_events(self.lattice())],
            Some(types) => types.iter().map(|ty| self.event_subject(ty.as_str())).collect(),
        };
        let mut subscriptions = SelectAll::new();
        for subject in &subjects {
            let subscriber = self
                .nats()
                .subscribe(subject.clone())
                .await
                .map_err(|e| Error::transport(subject, "subscribe", e))?;
            subscriptions.push(subscriber);
        }
        let first = subjects.first().map_or("", String::as_str);
        self.sync_with_server(first).await?;
        Ok(EventStream { subscriptions })
    }
}
