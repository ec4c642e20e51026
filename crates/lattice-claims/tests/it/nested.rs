//! Claims sections inside nested core modules and components are stripped and re-encoded.

use expect_test::expect;
use lattice_claims::wasm::{
    SECTION_JWT, SECTION_LEGACY_JWT, compute_hash, embed_claims, extract_claims_at, strip_claims,
};
use wasm_encoder::Encode as _;

use crate::support::{NOW, account, custom_sections, fixed_claims, layout, small_module, wat, with_custom};

const CORE_MODULE_SECTION: u8 = 1;
const COMPONENT_SECTION: u8 = 4;

/// A component of the given sections (each already encoded with id and length).
fn component(sections: &[Vec<u8>]) -> Vec<u8> {
    let mut out = wasm_encoder::Component::HEADER.to_vec();
    for s in sections {
        out.extend_from_slice(s);
    }
    out
}

/// Encodes `inner` as a section with `id`.
fn section(id: u8, inner: &[u8]) -> Vec<u8> {
    let mut out = vec![id];
    inner.encode(&mut out);
    out
}

fn custom(name: &str, data: &[u8]) -> Vec<u8> {
    with_custom(Vec::new(), name, data)
}

fn empty_module() -> Vec<u8> {
    wat("(module (func (export \"g\")))")
}

/// A component nesting a module and a component (which nests another module), with claims
/// sections at every level when `with_claims` is set.
fn nested(with_claims: bool) -> Vec<u8> {
    let mut m1 = small_module();
    if with_claims {
        m1 = with_custom(m1, SECTION_LEGACY_JWT, b"legacy");
    }
    m1 = with_custom(m1, "keep-m1", b"1");
    if with_claims {
        m1 = with_custom(m1, SECTION_JWT, b"inner token");
    }
    let mut m2 = empty_module();
    if with_claims {
        m2 = with_custom(m2, SECTION_JWT, b"deep token");
    }
    let mut inner_sections = vec![section(CORE_MODULE_SECTION, &m2)];
    if with_claims {
        inner_sections.push(custom(SECTION_LEGACY_JWT, b"component token"));
    }
    inner_sections.push(custom("keep-inner", b"2"));
    let inner = component(&inner_sections);
    component(&[
        section(CORE_MODULE_SECTION, &m1),
        section(COMPONENT_SECTION, &inner),
        custom("keep-outer", b"3"),
    ])
}

#[test]
fn claims_are_stripped_at_every_depth() {
    let dirty = nested(true);
    let clean = nested(false);
    expect![[r#"
        version Component
        nested
          version Module
          section 1 (5 bytes)
          section 3 (2 bytes)
          section 5 (3 bytes)
          section 7 (10 bytes)
          section 10 (6 bytes)
          section 11 (11 bytes)
          custom "jwt" (6 bytes)
          custom "keep-m1" (1 bytes)
          custom "wasmcloud_jwt" (11 bytes)
        nested
          version Component
          nested
            version Module
            section 1 (4 bytes)
            section 3 (2 bytes)
            section 7 (5 bytes)
            section 10 (4 bytes)
            custom "wasmcloud_jwt" (10 bytes)
          custom "jwt" (15 bytes)
          custom "keep-inner" (1 bytes)
        custom "keep-outer" (1 bytes)
    "#]]
    .assert_eq(&layout(&dirty));
    let stripped = strip_claims(&dirty).unwrap();
    assert_eq!(stripped, clean);
    expect![[r#"
        version Component
        nested
          version Module
          section 1 (5 bytes)
          section 3 (2 bytes)
          section 5 (3 bytes)
          section 7 (10 bytes)
          section 10 (6 bytes)
          section 11 (11 bytes)
          custom "keep-m1" (1 bytes)
        nested
          version Component
          nested
            version Module
            section 1 (4 bytes)
            section 3 (2 bytes)
            section 7 (5 bytes)
            section 10 (4 bytes)
          custom "keep-inner" (1 bytes)
        custom "keep-outer" (1 bytes)
    "#]]
    .assert_eq(&layout(&stripped));
    for name in [SECTION_JWT, SECTION_LEGACY_JWT] {
        assert!(custom_sections(&stripped, name).is_empty(), "{name}");
    }
    for name in ["keep-m1", "keep-inner", "keep-outer"] {
        assert_eq!(custom_sections(&stripped, name).len(), 1, "{name}");
    }
    wasmparser::Validator::new().validate_all(&stripped).unwrap();
}

#[test]
fn nested_claims_do_not_change_the_hash() {
    assert_eq!(
        compute_hash(&nested(true)).unwrap(),
        compute_hash(&nested(false)).unwrap()
    );
    assert_eq!(strip_claims(&nested(false)).unwrap(), nested(false));
}

#[test]
fn only_top_level_tokens_are_extracted() {
    // Every token in `nested(true)` sits in a nested module or component.
    assert_eq!(extract_claims_at(&nested(true), NOW).unwrap(), None);
}

#[test]
fn signing_a_nested_component_strips_inner_claims() {
    let signed = embed_claims(&nested(true), &fixed_claims(), &account()).unwrap();
    assert!(signed.starts_with(&nested(false)));
    assert_eq!(custom_sections(&signed, SECTION_JWT).len(), 1);
    assert!(custom_sections(&signed, SECTION_LEGACY_JWT).is_empty());
    let token = extract_claims_at(&signed, NOW).unwrap().unwrap();
    assert_eq!(
        token.claims.metadata.unwrap().module_hash,
        compute_hash(&nested(false)).unwrap()
    );
}

#[test]
fn component_text_with_annotations() {
    // The same shape written as text: `@custom` annotations inside a nested core module.
    let dirty = wat(r#"(component
        (core module
            (@custom "wasmcloud_jwt" "x")
            (@custom "jwt" "y")
            (@custom "keep" "z")
            (func (export "f")))
        (component (core module (@custom "jwt" "deep"))))"#);
    let clean = wat(r#"(component
        (core module
            (@custom "keep" "z")
            (func (export "f")))
        (component (core module)))"#);
    assert_eq!(strip_claims(&dirty).unwrap(), clean);
}
