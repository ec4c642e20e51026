//! Named config and claims: `config.put`, `config.get`, `config.del`,
//! `claims.get`. Config lives in `CONFIGDATA`; each host's bucket watch
//! pushes changes into the components that use the config.

use lattice_control_interface::events::data::ConfigChanged;
use lattice_control_interface::{
    CONFIG_NOT_FOUND, ClaimsEntry, ComponentClaims, ConfigName, ConfigValues, CtlResponse, LatticeEvent, ProviderClaims,
};

use super::{CtlError, decode, done};
use crate::events::Events;
use crate::store::{LatticeStore, StoredClaims};

fn check_name(name: &ConfigName) -> Result<(), CtlError> {
    if name.is_secret() {
        return Err(CtlError::SecretConfigName(name.clone()));
    }
    Ok(())
}

/// `config.put.{name}`: the payload must be a JSON object of strings.
pub(super) async fn put(
    store: &LatticeStore,
    events: &Events,
    name: &ConfigName,
    payload: &[u8],
) -> Result<CtlResponse<()>, CtlError> {
    check_name(name)?;
    let values: ConfigValues = decode(payload, "put config")?;
    store.put_config(name, &values).await?;
    events
        .publish(LatticeEvent::ConfigSet(ConfigChanged {
            config_name: name.clone(),
        }))
        .await;
    Ok(done("successfully put config"))
}

/// `config.get.{name}`.
pub(super) async fn get(store: &LatticeStore, name: &ConfigName) -> Result<CtlResponse<ConfigValues>, CtlError> {
    Ok(match store.config(name).await? {
        Some(values) => CtlResponse::ok(values),
        None => CtlResponse {
            success: true,
            message: CONFIG_NOT_FOUND.to_owned(),
            response: None,
        },
    })
}

/// `config.del.{name}`.
pub(super) async fn delete(
    store: &LatticeStore,
    events: &Events,
    name: &ConfigName,
) -> Result<CtlResponse<()>, CtlError> {
    store.delete_config(name).await?;
    events
        .publish(LatticeEvent::ConfigDeleted(ConfigChanged {
            config_name: name.clone(),
        }))
        .await;
    Ok(done("successfully deleted config"))
}

/// `claims.get`: every stored claims entry as a string map.
pub(super) async fn claims(store: &LatticeStore) -> Result<CtlResponse<Vec<ClaimsEntry>>, CtlError> {
    let stored = store.all_claims().await?;
    Ok(CtlResponse::ok(stored.into_iter().map(claims_entry).collect()))
}

/// Providers' subjects are `V…` keys; everything else is a component.
fn claims_entry(stored: StoredClaims) -> ClaimsEntry {
    let revision = stored.revision.parse().ok();
    let none_if_empty = |s: String| (!s.is_empty()).then_some(s);
    if stored.subject.starts_with('V') {
        ClaimsEntry::from(ProviderClaims {
            subject: stored.subject,
            issuer: stored.issuer,
            name: none_if_empty(stored.name),
            revision,
            version: none_if_empty(stored.version),
            config_schema: stored.config_schema,
        })
    } else {
        ClaimsEntry::from(ComponentClaims {
            subject: stored.subject,
            issuer: stored.issuer,
            name: none_if_empty(stored.name),
            call_alias: stored.call_alias.and_then(none_if_empty),
            revision,
            version: none_if_empty(stored.version),
            tags: stored.tags,
        })
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn stored_component_claims_become_string_maps() {
        let stored = StoredClaims {
            call_alias: Some(String::new()),
            issuer: "AISSUER".into(),
            name: "hello".into(),
            revision: "2".into(),
            subject: "MSUBJECT".into(),
            tags: vec!["a".into(), "b".into()],
            version: "0.1.0".into(),
            config_schema: None,
        };
        expect![[r#"{"call_alias":"","iss":"AISSUER","issuer":"AISSUER","name":"hello","rev":"2","revision":"2","sub":"MSUBJECT","subject":"MSUBJECT","tags":"a,b","version":"0.1.0"}"#]]
            .assert_eq(&serde_json::to_string(&claims_entry(stored)).unwrap());
    }

    #[test]
    fn secret_names_are_refused() {
        assert!(check_name(&ConfigName::new("SECRET_db")).is_err());
        assert!(check_name(&ConfigName::new("db")).is_ok());
    }
}
