//! Integration tests of the wascap public API: token wire format, key types, embedding and malformed input.

mod embed;
mod jwt_format;
mod key_types;
mod malformed;
mod nested;
mod support;
mod upstream;
