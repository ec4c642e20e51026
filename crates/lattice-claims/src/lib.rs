//! Claims for WebAssembly components: Ed25519 (nkeys) JWTs, embedded in a `wasmcloud_jwt` custom section.
//!
//! Wire-compatible with wasmCloud v1's `wascap` 0.16: tokens and signed binaries produced by
//! either can be read by the other. Bytes in, claims out: this crate does no I/O and knows
//! nothing of runtimes or networks.
//!
//! - [`jwt`] encodes, decodes and validates tokens for every entity kind (components,
//!   providers, accounts, operators, clusters, hosts), checking the key type of the issuer
//!   and subject.
//! - [`wasm`] strips, hashes, embeds and extracts the token of a module or component.
//!
//! Every failure is an [`Error`] whose [`ErrorKind`] says what went wrong; malformed input
//! never panics.
//!
//! ```
//! use nkeys::KeyPair;
//! use lattice_claims::wasm::{SignOptions, extract_claims, sign_component};
//!
//! // The smallest core module: just the header.
//! let module = b"\0asm\x01\0\0\0";
//! let account = KeyPair::new_account();
//! let subject = KeyPair::new_module();
//! let opts = SignOptions { name: Some("hello".into()), ..SignOptions::default() };
//! let signed = sign_component(module, &account, &subject, &opts)?;
//!
//! let token = extract_claims(&signed)?.expect("signed");
//! assert_eq!(token.claims.subject, subject.public_key());
//! assert_eq!(token.claims.metadata.unwrap().name.as_deref(), Some("hello"));
//! # Ok::<(), lattice_claims::Error>(())
//! ```

mod error;
pub mod jwt;
mod time;
pub mod wasm;

pub use error::{Error, ErrorKind, KeyRole};

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
