//! Certificates for TLS tests: a private CA and a server certificate for
//! 127.0.0.1 and localhost that it signed, written as PEM files, so a test
//! can start `nats-server` with TLS and show that a client trusts it only
//! when given the CA.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// PEM files of a private CA and of a server certificate it signed.
#[derive(Debug, Clone)]
pub struct PrivateCa {
    /// The CA's certificate: what a client must trust.
    pub ca_file: PathBuf,
    /// The server's certificate, for 127.0.0.1 and localhost.
    pub cert_file: PathBuf,
    /// The server's private key.
    pub key_file: PathBuf,
}

impl PrivateCa {
    /// Makes a fresh CA and server certificate and writes them into `dir`
    /// as `ca.pem`, `server.pem` and `server-key.pem`.
    ///
    /// # Panics
    ///
    /// When generating or writing them fails.
    pub fn create(dir: &Path) -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("a CA needs no names");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let ca_key = KeyPair::generate().expect("generating the CA key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("self-signing the CA");
        let issuer = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().expect("generating the server key");
        let server_cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("valid names")
            .signed_by(&server_key, &issuer)
            .expect("signing the server certificate");
        let ca = Self {
            ca_file: dir.join("ca.pem"),
            cert_file: dir.join("server.pem"),
            key_file: dir.join("server-key.pem"),
        };
        std::fs::write(&ca.ca_file, ca_cert.pem()).expect("writing ca.pem");
        std::fs::write(&ca.cert_file, server_cert.pem()).expect("writing server.pem");
        std::fs::write(&ca.key_file, server_key.serialize_pem()).expect("writing server-key.pem");
        ca
    }
}
