//! GitHub webhook signatures: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
//! Usable on its own, without a client or a runtime.

use hmac::{Hmac, Mac};
use nectr_domain::webhook::SignatureVerifier;
use sha2::Sha256;

/// True when `header` is `sha256=` followed by the hex HMAC-SHA256 of `body` under `secret`. The
/// comparison takes constant time; an empty secret never verifies.
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> bool {
    if secret.is_empty() {
        return false;
    }
    let Some(hex) = header.trim().strip_prefix("sha256=") else { return false };
    let Some(expected) = decode_hex(hex) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The `X-Hub-Signature-256` value for a body, as GitHub computes it (for tests and tools).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256={hex}")
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(text.get(index..index + 2)?, 16).ok())
        .collect()
}

/// [`verify_signature`] behind the domain's `SignatureVerifier` port.
#[derive(Clone, Copy, Debug, Default)]
pub struct GitHubSignature;

impl SignatureVerifier for GitHubSignature {
    fn verify(&self, secret: &[u8], body: &[u8], signature: &str) -> bool {
        verify_signature(secret, body, signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented test vector.
    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const HEADER: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn githubs_documented_test_vector_verifies() {
        assert!(verify_signature(SECRET, BODY, HEADER));
        assert_eq!(sign(SECRET, BODY), HEADER);
    }

    #[test]
    fn anything_else_does_not() {
        assert!(!verify_signature(b"another secret", BODY, HEADER));
        assert!(!verify_signature(SECRET, b"Hello, World?", HEADER));
        assert!(!verify_signature(SECRET, BODY, &HEADER.replace("sha256=", "sha1=")));
        assert!(!verify_signature(SECRET, BODY, &HEADER[..HEADER.len() - 2]));
        assert!(!verify_signature(
            SECRET,
            BODY,
            "sha256=zz07107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1"
        ));
        assert!(!verify_signature(b"", BODY, &sign(b"", BODY)), "an empty secret never verifies");
    }
}
