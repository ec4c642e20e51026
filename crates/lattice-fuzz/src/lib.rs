//! Fuzz targets for every reader of bytes the project does not control:
//! control-interface subjects, requests, replies and events; lattice bucket
//! values other hosts wrote; the HTTP ingress's routing of a request head;
//! `wasmcloud.toml`; artifact references; claims tokens and the claims
//! section of a wasm binary.
//!
//! Each target is a function of raw bytes that must not panic. Besides not
//! crashing, most check a property the code promises: what decodes encodes
//! back to the same value, bucket state does not depend on the order
//! entries arrive in, a request goes to the route the mode's rule picks,
//! a stripped binary carries no token.
//!
//! `cargo xtask fuzz` runs them under libFuzzer (the `libfuzzer` feature
//! and the binaries in `fuzz_targets/`); this crate's tests replay the
//! checked-in corpus in `corpus/<target>/` on the stable toolchain, so CI
//! keeps every target building and every input once found still passing.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use lattice_claims::jwt::{Account, CapabilityProvider, Claims, Cluster, Component, Operator};
use lattice_control_interface::subject::{CtlOperation, CtlSubjects};
use lattice_control_interface::{
    ClaimsEntry, ComponentAuctionAck, ComponentAuctionRequest, ComponentLimits, ConfigValues, CtlResponse,
    DeleteInterfaceLinkDefinitionRequest, Event, Host, HostInventory, HostLabel, HostLabelIdentifier, Link,
    ProviderAuctionAck, ProviderAuctionRequest, RegistryCredentialMap, ScaleComponentCommand, StartProviderCommand,
    StopHostCommand, StopProviderCommand, UpdateComponentCommand,
};
use lattice_host::fuzzing::{BucketEntry, RequestHead};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A target: its name (the binary in `fuzz_targets/`, the folder in
/// `corpus/`) and its entry point.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, for the corpus replay.
pub const TARGETS: &[Target] = &[
    ("control_message", control_message),
    ("lattice_bucket", lattice_bucket),
    ("ingress_routing", ingress_routing),
    ("project_config", project_config),
    ("artifact_reference", artifact_reference),
    ("claims_token", claims_token),
    ("wasm_claims", wasm_claims),
];

/// The lattice the control target's subjects are read in.
const LATTICE: &str = "default";

/// A NATS message on a control or event subject: the subject, a newline,
/// then the payload. A control subject's payload is read as its request
/// and as the reply a client expects; an event subject's as a CloudEvent.
/// Whatever decodes must encode back to the same value, and a parsed
/// subject must be the one its operation builds.
pub fn control_message(data: &[u8]) {
    let (subject, payload) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let subject = String::from_utf8_lossy(subject);
    let subjects = CtlSubjects::new(LATTICE);
    if subject.starts_with("wasmbus.evt.") {
        check::<Event>(payload);
        return;
    }
    let Some(op) = subjects.parse(&subject) else {
        return;
    };
    assert_eq!(
        subjects.parse(&subject_of(&subjects, &op)),
        Some(op.clone()),
        "{subject}"
    );
    match op {
        CtlOperation::HostPing => check::<CtlResponse<Host>>(payload),
        CtlOperation::HostGet(_) => check::<CtlResponse<HostInventory>>(payload),
        CtlOperation::HostStop(_) => check::<StopHostCommand>(payload),
        CtlOperation::LabelPut(_) => check::<HostLabel>(payload),
        CtlOperation::LabelDel(_) => check::<HostLabelIdentifier>(payload),
        CtlOperation::ComponentScale(_) => {
            if let Some(cmd) = decode_checked::<ScaleComponentCommand>(payload) {
                let _ = lattice_control_interface::subject::is_valid_token(cmd.component_id.as_str());
                if let Some(limits) = &cmd.component_limits {
                    ComponentLimits::from_map_with_ignored(limits);
                }
            }
        }
        CtlOperation::ComponentUpdate(_) => check::<UpdateComponentCommand>(payload),
        CtlOperation::ComponentAuction => {
            check::<ComponentAuctionRequest>(payload);
            check::<CtlResponse<ComponentAuctionAck>>(payload);
        }
        CtlOperation::ProviderStart(_) => check::<StartProviderCommand>(payload),
        CtlOperation::ProviderStop(_) => check::<StopProviderCommand>(payload),
        CtlOperation::ProviderAuction => {
            check::<ProviderAuctionRequest>(payload);
            check::<CtlResponse<ProviderAuctionAck>>(payload);
        }
        CtlOperation::LinkPut => check::<Link>(payload),
        CtlOperation::LinkDel => check::<DeleteInterfaceLinkDefinitionRequest>(payload),
        CtlOperation::LinkGet => check::<CtlResponse<Vec<Link>>>(payload),
        CtlOperation::ConfigPut(_) => check::<ConfigValues>(payload),
        CtlOperation::ConfigGet(_) => check::<CtlResponse<ConfigValues>>(payload),
        CtlOperation::ConfigDel(_) => check::<CtlResponse<()>>(payload),
        CtlOperation::ClaimsGet => check::<CtlResponse<Vec<ClaimsEntry>>>(payload),
        CtlOperation::RegistryPut => check::<RegistryCredentialMap>(payload),
        _ => {}
    }
}

/// The subject `subjects` builds for `op`.
fn subject_of(subjects: &CtlSubjects, op: &CtlOperation) -> String {
    match op {
        CtlOperation::HostPing => subjects.host_ping(),
        CtlOperation::HostGet(id) => subjects.host_get(id),
        CtlOperation::HostStop(id) => subjects.host_stop(id),
        CtlOperation::LabelPut(id) => subjects.label_put(id),
        CtlOperation::LabelDel(id) => subjects.label_del(id),
        CtlOperation::ComponentScale(id) => subjects.component_scale(id),
        CtlOperation::ComponentUpdate(id) => subjects.component_update(id),
        CtlOperation::ComponentAuction => subjects.component_auction(),
        CtlOperation::ProviderStart(id) => subjects.provider_start(id),
        CtlOperation::ProviderStop(id) => subjects.provider_stop(id),
        CtlOperation::ProviderAuction => subjects.provider_auction(),
        CtlOperation::LinkPut => subjects.link_put(),
        CtlOperation::LinkDel => subjects.link_del(),
        CtlOperation::LinkGet => subjects.link_get(),
        CtlOperation::ConfigPut(name) => subjects.config_put(name),
        CtlOperation::ConfigGet(name) => subjects.config_get(name),
        CtlOperation::ConfigDel(name) => subjects.config_del(name),
        CtlOperation::ClaimsGet => subjects.claims_get(),
        CtlOperation::RegistryPut => subjects.registry_put(),
        other => panic!("an operation the target does not know: {other:?}"),
    }
}

/// Decodes `payload` as `T`, if it is one, checking the round trip.
fn check<T>(payload: &[u8])
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    decode_checked::<T>(payload);
}

/// Decodes `payload` as `T`; what decodes must encode and decode back to
/// itself.
fn decode_checked<T>(payload: &[u8]) -> Option<T>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let value: T = serde_json::from_slice(payload).ok()?;
    let written = serde_json::to_vec(&value).expect("a decoded value encodes");
    let read: T = serde_json::from_slice(&written).unwrap_or_else(|e| {
        panic!(
            "{} does not decode what it encoded ({e}): {}",
            std::any::type_name::<T>(),
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(read, value, "{} changes on a round trip", std::any::type_name::<T>());
    Some(value)
}

/// Entries of the two lattice buckets, shaped so that most are the keys and
/// values hosts write and some are anything at all.
#[derive(Debug, Arbitrary)]
struct BucketInput {
    entries: Vec<EntryInput>,
    order: Vec<u8>,
}

#[derive(Debug, Arbitrary)]
enum EntryInput {
    Component {
        id: String,
        spec: Option<SpecValue>,
    },
    Claims {
        subject: String,
        claims: Option<ClaimsValue>,
    },
    Config {
        name: String,
        values: Option<Value<BTreeMap<String, String>>>,
    },
    Other {
        key: String,
        value: Option<Vec<u8>>,
    },
}

#[derive(Debug, Arbitrary)]
enum Value<T> {
    Typed(T),
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum SpecValue {
    Spec { url: String, links: Vec<LinkInput> },
    Raw(String),
}

#[derive(Debug, Arbitrary)]
struct LinkInput {
    target: String,
    name: Option<String>,
    namespace: String,
    package: String,
    interfaces: Vec<String>,
}

#[derive(Debug, Arbitrary)]
enum ClaimsValue {
    Fields(BTreeMap<String, FieldValue>),
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum FieldValue {
    Text(String),
    Number(u64),
    List(Vec<String>),
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("fuzz input encodes")
}

/// Lattice bucket entries applied in two orders (see
/// [`lattice_host::fuzzing::lattice_buckets`]).
pub fn lattice_bucket(data: &[u8]) {
    let Ok(input) = BucketInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let entries: Vec<BucketEntry> = input
        .entries
        .into_iter()
        .map(|entry| match entry {
            EntryInput::Component { id, spec } => BucketEntry {
                config: false,
                key: format!("COMPONENT_{id}"),
                value: spec.map(|spec| match spec {
                    SpecValue::Spec { url, links } => {
                        let links: Vec<serde_json::Value> = links
                            .into_iter()
                            .map(|l| {
                                let mut link = serde_json::json!({
                                    "source_id": id,
                                    "target": l.target,
                                    "wit_namespace": l.namespace,
                                    "wit_package": l.package,
                                    "interfaces": l.interfaces,
                                });
                                if let Some(name) = l.name {
                                    link["name"] = name.into();
                                }
                                link
                            })
                            .collect();
                        json(&serde_json::json!({ "url": url, "links": links }))
                    }
                    SpecValue::Raw(text) => text.into_bytes(),
                }),
            },
            EntryInput::Claims { subject, claims } => BucketEntry {
                config: false,
                key: format!("CLAIMS_{subject}"),
                value: claims.map(|claims| match claims {
                    ClaimsValue::Fields(fields) => {
                        let object: serde_json::Map<String, serde_json::Value> = fields
                            .into_iter()
                            .map(|(key, value)| {
                                let value = match value {
                                    FieldValue::Text(text) => text.into(),
                                    FieldValue::Number(n) => n.into(),
                                    FieldValue::List(list) => list.into(),
                                };
                                (key, value)
                            })
                            .collect();
                        json(&object)
                    }
                    ClaimsValue::Raw(text) => text.into_bytes(),
                }),
            },
            EntryInput::Config { name, values } => BucketEntry {
                config: true,
                key: name,
                value: values.map(|values| match values {
                    Value::Typed(map) => json(&map),
                    Value::Raw(text) => text.into_bytes(),
                }),
            },
            EntryInput::Other { key, value } => BucketEntry {
                config: false,
                key,
                value,
            },
        })
        .collect();
    let order: Vec<usize> = if entries.is_empty() {
        Vec::new()
    } else {
        input.order.iter().map(|&i| usize::from(i) % entries.len()).collect()
    };
    lattice_host::fuzzing::lattice_buckets(&entries, &order);
}

/// An http-server provider config, links with their source config, and one
/// request head.
#[derive(Debug, Arbitrary)]
struct IngressInput {
    mode: Mode,
    provider_config: Vec<(String, String)>,
    links: Vec<LinkRoute>,
    uri: String,
    host: Option<String>,
    forwarded_host: Option<String>,
    content_length: Option<String>,
}

/// One link to the http-server: its source (one of 256 components), the
/// route its config asks for, and other config keys.
#[derive(Debug, Arbitrary)]
struct LinkRoute {
    component: u8,
    route: Option<String>,
    config: Vec<(String, String)>,
}

#[derive(Debug, Arbitrary)]
enum Mode {
    Address,
    Path,
    Host,
    Other(String),
}

/// Routes a request head through links added as the ingress adds them (see
/// [`lattice_host::fuzzing::ingress_routing`]).
pub fn ingress_routing(data: &[u8]) {
    let Ok(input) = IngressInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let (mode, key) = match input.mode {
        Mode::Address => ("address".to_owned(), "address"),
        Mode::Path => ("path".to_owned(), "path"),
        Mode::Host => ("host".to_owned(), "host"),
        Mode::Other(mode) => (mode, "path"),
    };
    let mut provider_config = vec![
        ("routing_mode".to_owned(), mode),
        ("default_address".to_owned(), "127.0.0.1:0".to_owned()),
    ];
    provider_config.extend(input.provider_config);
    let links: Vec<(String, Vec<(String, String)>)> = input
        .links
        .into_iter()
        .map(
            |LinkRoute {
                 component,
                 route,
                 mut config,
             }| {
                if let Some(route) = route {
                    config.push((key.to_owned(), route));
                }
                (format!("component-{component}"), config)
            },
        )
        .collect();
    let request = RequestHead {
        uri: input.uri,
        host: input.host.map(String::into_bytes),
        forwarded_host: input.forwarded_host.map(String::into_bytes),
        content_length: input.content_length.map(String::into_bytes),
    };
    lattice_host::fuzzing::ingress_routing(&provider_config, &links, &request);
}

/// A `wasmcloud.toml` as `wash build` reads it.
pub fn project_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = lattice_wash::build::config::ProjectConfig::parse(text, Path::new("wasmcloud.toml"));
}

/// A component or provider reference as `component.scale` and
/// `provider.start` read it (see
/// [`lattice_host::fuzzing::artifact_reference`]).
pub fn artifact_reference(data: &[u8]) {
    lattice_host::fuzzing::artifact_reference(&String::from_utf8_lossy(data));
}

/// Text (lossily UTF-8) as a claims JWT of every entity kind. Decoding
/// checks structure and signature; validation reports the signature as a
/// flag: a token that decodes must validate, with a valid signature.
pub fn claims_token(data: &[u8]) {
    let token = String::from_utf8_lossy(data);
    let decoded = Claims::<Component>::decode(&token);
    match (&decoded, lattice_claims::jwt::validate_token::<Component>(&token)) {
        (Ok(_), Ok(validation)) => assert!(validation.signature_valid, "decoded with a bad signature"),
        (Ok(_), Err(e)) => panic!("decoded but failed validation: {e}"),
        (Err(_), _) => {}
    }
    if let Ok(claims) = decoded {
        let _ = claims.check_times(1_700_000_000);
    }
    let _ = Claims::<CapabilityProvider>::decode(&token);
    let _ = Claims::<Account>::decode(&token);
    let _ = Claims::<Operator>::decode(&token);
    let _ = Claims::<Cluster>::decode(&token);
    let _ = Claims::<lattice_claims::jwt::Host>::decode(&token);
}

/// Bytes as a wasm binary whose claims are extracted, stripped and hashed:
/// stripping is idempotent and leaves a binary that parses, what cannot be
/// stripped yields no claims, and an extracted token decodes on its own.
pub fn wasm_claims(data: &[u8]) {
    let extracted = lattice_claims::wasm::extract_claims(data);
    match lattice_claims::wasm::strip_claims(data) {
        Ok(stripped) => {
            let again = lattice_claims::wasm::strip_claims(&stripped).expect("stripped output parses");
            assert_eq!(again, stripped, "stripping is not idempotent");
            let hash = lattice_claims::wasm::compute_hash(data).expect("strippable input hashes");
            assert_eq!(hash.len(), 64);
        }
        Err(_) => assert!(
            extracted.is_err(),
            "claims extracted from input that cannot be stripped"
        ),
    }
    if let Ok(Some(token)) = extracted {
        assert!(
            Claims::<Component>::decode(&token.jwt).is_ok(),
            "an extracted token does not decode on its own"
        );
    }
}
