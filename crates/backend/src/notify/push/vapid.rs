//! VAPID (RFC 8292): the server's P-256 key pair, made on first start and kept in the
//! data dir (`vapid-private.key`, owner-only), and the `Authorization: vapid t=…, k=…`
//! header that identifies the server to a push service: an ES256 JWT whose audience is
//! the push service's origin.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;

/// How long a VAPID token is valid (push services accept at most 24 h).
const TOKEN_HOURS: i64 = 12;

/// The server's VAPID key pair.
pub struct Vapid {
    key: SigningKey,
    public: String,
}

impl Vapid {
    /// Loads the key from `data_dir`, making it on first start.
    pub fn load_or_create(data_dir: &Path) -> std::io::Result<Self> {
        let path = data_dir.join("vapid-private.key");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let bytes = URL_SAFE_NO_PAD
                .decode(text.trim())
                .map_err(|e| invalid(&path, &e.to_string()))?;
            let key = SigningKey::from_slice(&bytes).map_err(|e| invalid(&path, &e.to_string()))?;
            return Ok(Self::from_key(key));
        }
        let key = loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
            // Almost every 32-byte string is a valid scalar; try again on the rare one.
            if let Ok(key) = SigningKey::from_slice(&bytes) {
                break key;
            }
        };
        super::super::write_private(&path, URL_SAFE_NO_PAD.encode(key.to_bytes()).as_bytes())?;
        tracing::info!(path = %path.display(), "made the Web Push (VAPID) key pair");
        Ok(Self::from_key(key))
    }

    fn from_key(key: SigningKey) -> Self {
        let point = key.verifying_key().as_affine().to_encoded_point(false);
        let public = URL_SAFE_NO_PAD.encode(point.as_bytes());
        Self { key, public }
    }

    /// The public key, base64url of the uncompressed point (the browser's
    /// `applicationServerKey`).
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header for a push to `endpoint`, or why not.
    pub fn authorization(&self, endpoint: &str, contact: &str) -> Result<String, String> {
        let uri: ureq::http::Uri = endpoint.parse().map_err(|e| format!("bad endpoint: {e}"))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err("endpoint has no scheme or host".into());
        };
        let audience = format!("{scheme}://{authority}");
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let exp = chrono::Utc::now().timestamp() + TOKEN_HOURS * 3600;
        let claims = serde_json::json!({"aud": audience, "exp": exp, "sub": contact});
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        let jwt = format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        );
        Ok(format!("vapid t={jwt}, k={}", self.public))
    }
}

fn invalid(path: &Path, why: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "{} is not a VAPID private key ({why}); move it away to make a new one",
            path.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;

    #[test]
    fn the_key_is_kept_and_the_token_verifies_with_it() {
        let dir = tempfile::tempdir().expect("dir");
        let first = Vapid::load_or_create(dir.path()).expect("made");
        let again = Vapid::load_or_create(dir.path()).expect("loaded");
        assert_eq!(first.public_key(), again.public_key());
        let header = first
            .authorization("https://push.example:8443/send/abc", "mailto:a@b.c")
            .expect("header");
        let (t, k) = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .expect("shape");
        assert_eq!(k, first.public_key());
        let parts: Vec<&str> = t.split('.').collect();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        assert_eq!(claims["aud"], "https://push.example:8443");
        assert_eq!(claims["sub"], "mailto:a@b.c");
        let key =
            VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(k).expect("k")).expect("key");
        let sig =
            Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).expect("sig")).expect("sig");
        key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .expect("verifies");
    }
}
