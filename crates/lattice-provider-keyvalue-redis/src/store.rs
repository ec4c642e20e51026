//! `wrpc:keyvalue/{store,atomics,batch}` over Redis: each call routed to its link's
//! connection, then one Redis command — GET, SET, DEL, EXISTS, SCAN, INCRBY, MGET, MSET.
//! Every failure is the WIT `other(...)` case with a message naming what failed.

use bytes::Bytes;
use lattice_interfaces::bindings::exports::wrpc::keyvalue::store::{Error, KeyResponse};
use lattice_interfaces::bindings::exports::wrpc::keyvalue::{atomics, batch, store};
use lattice_provider_sdk::wrpc_transport_nats::NatsContext;
use lattice_provider_sdk::{Caller, DEFAULT_LINK_NAME};
use redis::aio::ConnectionManager;

use crate::KvRedisProvider;

/// A call's outcome as the interfaces return it: the outer error would fail the wRPC call
/// itself, so every failure goes in the inner one.
type Answer<T> = anyhow::Result<Result<T, Error>>;

impl KvRedisProvider {
    /// The connection of the calling component's link, or the error that says which link to
    /// put.
    fn connection(&self, cx: &NatsContext, bucket: &str) -> Result<(ConnectionManager, String), Error> {
        self.note_bucket(bucket);
        let Some(caller) = Caller::from_context(cx) else {
            return Err(Error::Other(
                "the call names no calling component (no source-id header): call through a wasmCloud host".into(),
            ));
        };
        match self.link(&caller.component_id, &caller.link_name) {
            Some(link) => Ok((link.connection, link.url)),
            None => {
                let (component, name, provider) = (&caller.component_id, &caller.link_name, &self.inner.provider_id);
                let flag = if name == DEFAULT_LINK_NAME {
                    String::new()
                } else {
                    format!(" --link-name {name}")
                };
                Err(Error::Other(format!(
                    "no key-value link from `{component}` named `{name}` to provider `{provider}`: put a link from \
                     the component to the provider (wash link put {component} {provider} wasi keyvalue --interface \
                     store{flag})"
                )))
            }
        }
    }

    /// Runs `cmd` on the caller's connection; a failure names `what` and the Redis error.
    async fn query<T: redis::FromRedisValue>(
        &self,
        cx: &NatsContext,
        bucket: &str,
        what: &str,
        cmd: redis::Cmd,
    ) -> Result<T, Error> {
        let (mut connection, url) = self.connection(cx, bucket)?;
        cmd.query_async(&mut connection).await.map_err(|e| {
            tracing::debug!(redis = url, error = %e, "{what} failed");
            Error::Other(format!("{what} failed on Redis at {url}: {e}"))
        })
    }
}

impl store::Handler<NatsContext> for KvRedisProvider {
    async fn get(&self, cx: NatsContext, bucket: String, key: String) -> Answer<Option<Bytes>> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(&key);
        Ok(self.query(&cx, &bucket, &format!("GET `{key}`"), cmd).await)
    }

    async fn set(&self, cx: NatsContext, bucket: String, key: String, value: Bytes) -> Answer<()> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(&key).arg(value.as_ref());
        Ok(self.query(&cx, &bucket, &format!("SET `{key}`"), cmd).await)
    }

    async fn delete(&self, cx: NatsContext, bucket: String, key: String) -> Answer<()> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(&key);
        Ok(self
            .query::<u64>(&cx, &bucket, &format!("DEL `{key}`"), cmd)
            .await
            .map(drop))
    }

    async fn exists(&self, cx: NatsContext, bucket: String, key: String) -> Answer<bool> {
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(&key);
        Ok(self.query(&cx, &bucket, &format!("EXISTS `{key}`"), cmd).await)
    }

    async fn list_keys(&self, cx: NatsContext, bucket: String, cursor: Option<u64>) -> Answer<KeyResponse> {
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor.unwrap_or(0));
        Ok(self
            .query::<(u64, Vec<String>)>(&cx, &bucket, "SCAN", cmd)
            .await
            .map(|(next, keys)| KeyResponse {
                keys,
                // Redis says "done" with cursor 0.
                cursor: (next != 0).then_some(next),
            }))
    }
}

impl atomics::Handler<NatsContext> for KvRedisProvider {
    async fn increment(&self, cx: NatsContext, bucket: String, key: String, delta: u64) -> Answer<u64> {
        let what = format!("INCRBY `{key}`");
        // INCRBY takes and returns signed 64-bit integers.
        let Ok(delta) = i64::try_from(delta) else {
            return Ok(Err(Error::Other(format!(
                "{what}: delta {delta} is larger than Redis allows (2^63-1)"
            ))));
        };
        let mut cmd = redis::cmd("INCRBY");
        cmd.arg(&key).arg(delta);
        Ok(self.query::<i64>(&cx, &bucket, &what, cmd).await.and_then(|value| {
            u64::try_from(value).map_err(|_| Error::Other(format!("{what}: the value is negative ({value})")))
        }))
    }
}

impl batch::Handler<NatsContext> for KvRedisProvider {
    async fn get_many(
        &self,
        cx: NatsContext,
        bucket: String,
        keys: Vec<String>,
    ) -> Answer<Vec<Option<(String, Bytes)>>> {
        // Redis refuses MGET without keys; the answer to no keys is no values. The link is
        // checked all the same, so an unlinked caller hears about it.
        if keys.is_empty() {
            return Ok(self.connection(&cx, &bucket).map(|_| Vec::new()));
        }
        let mut cmd = redis::cmd("MGET");
        cmd.arg(&keys);
        let values = self
            .query::<Vec<Option<Bytes>>>(&cx, &bucket, &format!("MGET of {} keys", keys.len()), cmd)
            .await;
        Ok(values.map(|values| {
            keys.into_iter()
                .zip(values)
                .map(|(key, value)| value.map(|value| (key, value)))
                .collect()
        }))
    }

    async fn set_many(&self, cx: NatsContext, bucket: String, key_values: Vec<(String, Bytes)>) -> Answer<()> {
        if key_values.is_empty() {
            return Ok(self.connection(&cx, &bucket).map(drop));
        }
        let mut cmd = redis::cmd("MSET");
        for (key, value) in &key_values {
            cmd.arg(key).arg(value.as_ref());
        }
        Ok(self
            .query(&cx, &bucket, &format!("MSET of {} keys", key_values.len()), cmd)
            .await)
    }

    async fn delete_many(&self, cx: NatsContext, bucket: String, keys: Vec<String>) -> Answer<()> {
        if keys.is_empty() {
            return Ok(self.connection(&cx, &bucket).map(drop));
        }
        let mut cmd = redis::cmd("DEL");
        cmd.arg(&keys);
        Ok(self
            .query::<u64>(&cx, &bucket, &format!("DEL of {} keys", keys.len()), cmd)
            .await
            .map(drop))
    }
}
