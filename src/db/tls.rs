//! TLS to PostgreSQL for the connections of our own (`direct`), with the
//! rules libpq and sqlx give `sslmode` (API.md §8.10): `disable` never,
//! `prefer` when the server offers it, `require` always but without
//! checking the certificate, `verify-ca` a certificate that chains to
//! `sslrootcert` (else to the webpki roots), `verify-full` that and the
//! host's name. sqlx reads the same two parameters from the URL for the
//! pool, the listener and the CLI, so every connection follows one rule.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore};
use sea_orm::{DbErr, RuntimeErr};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::database::{SslMode as Mode, url_param};

/// The URL's `sslmode`; an unknown one is an error that names it.
fn mode(url: &str) -> Result<Mode, DbErr> {
    Mode::of(url).ok_or_else(|| {
        config_error(
            "sslmode must be disable, prefer, require, verify-ca or verify-full".to_owned(),
        )
    })
}

/// tokio-postgres's own mode (it knows no verify-*: those require TLS and
/// the connector checks the certificate) and the connector for `url`.
pub fn connector(url: &str) -> Result<(SslMode, MakeRustlsConnect), DbErr> {
    let mode = mode(url)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(e.to_string()))?;
    let chain = match mode {
        Mode::Disable | Mode::Prefer | Mode::Require => None,
        Mode::VerifyCa | Mode::VerifyFull => {
            let roots = Arc::new(roots(url_param(url, "sslrootcert"))?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| config_error(e.to_string()))?;
            Some(webpki)
        }
    };
    let verifier = Verifier {
        chain,
        check_name: mode == Mode::VerifyFull,
        provider,
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let ssl_mode = match mode {
        Mode::Disable => SslMode::Disable,
        Mode::Prefer => SslMode::Prefer,
        _ => SslMode::Require,
    };
    Ok((ssl_mode, MakeRustlsConnect::new(config)))
}

/// The certificates of `sslrootcert` (PEM), or the webpki roots without it.
fn roots(file: Option<&str>) -> Result<RootCertStore, DbErr> {
    let Some(file) = file else {
        return Ok(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
    };
    let pem = std::fs::read(file).map_err(|e| config_error(format!("sslrootcert {file}: {e}")))?;
    let mut store = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| config_error(format!("sslrootcert {file}: {e}")))?;
        store
            .add(cert)
            .map_err(|e| config_error(format!("sslrootcert {file}: {e}")))?;
    }
    if store.is_empty() {
        return Err(config_error(format!("sslrootcert {file}: no certificate")));
    }
    Ok(store)
}

fn config_error(message: String) -> DbErr {
    DbErr::Conn(RuntimeErr::Internal(format!("PostgreSQL TLS: {message}")))
}

/// The certificate check `sslmode` asks for. Without `chain` (`require`,
/// `prefer`) the certificate is not checked, as libpq does without a root
/// certificate; with it (`verify-*`) it must chain to the roots, and with
/// `check_name` (`verify-full`) also name the host. The handshake's
/// signatures are verified in every mode, so the session key belongs to
/// whoever holds the certificate presented.
#[derive(Debug)]
struct Verifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            checked => checked,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_as_libpq_reads_them() {
        assert_eq!(mode("postgres://h/db").unwrap(), Mode::Prefer);
        assert_eq!(
            mode("postgres://h/db?sslmode=disable").unwrap(),
            Mode::Disable
        );
        assert_eq!(
            mode("postgres://h/db?a=b&sslmode=verify-full").unwrap(),
            Mode::VerifyFull
        );
        assert!(mode("postgres://h/db?sslmode=allow-anything").is_err());
    }

    #[test]
    fn a_root_file_without_certificates_is_an_error() {
        let dir = std::env::temp_dir().join(format!("authql-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("empty.pem");
        std::fs::write(&file, "not a certificate").unwrap();
        let url = format!(
            "postgres://h/db?sslmode=verify-ca&sslrootcert={}",
            file.display()
        );
        assert!(connector(&url).is_err());
        std::fs::remove_dir_all(dir).ok();
    }
}
