//! URL signatures of the `/r/` route: pure sign and verify, shared by the
//! server and `renditiond sign`.
//!
//! A signature is the unpadded base64url encoding of HMAC-SHA256 keyed with a
//! signing key over the UTF-8 of `"{spec}/{key}"`, spec and key as they are
//! after percent-decoding. Several keys may verify (rotation); the first one
//! signs. Comparison is constant-time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use sha2::Sha256;
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

/// The signature segment accepted in place of a signature when unsigned URLs
/// are allowed (development only).
pub const UNSIGNED: &str = "unsigned";

/// Characters escaped in a spec segment (as Django escapes URL segments);
/// a key's segments are escaped the same way, its `/` kept.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// The signature matches none of the keys.
    #[error("invalid signature")]
    Invalid,
}

/// The signing keys of a server: the first signs, all verify.
#[derive(Clone)]
pub struct Signer {
    keys: Vec<Vec<u8>>,
    allow_unsigned: bool,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("keys", &self.keys.len())
            .field("allow_unsigned", &self.allow_unsigned)
            .finish()
    }
}

impl Signer {
    /// A signer for `keys` (at least one); `allow_unsigned` also accepts the
    /// literal [`UNSIGNED`] as a signature.
    pub fn new(keys: Vec<Vec<u8>>, allow_unsigned: bool) -> Self {
        Self { keys, allow_unsigned }
    }

    /// The signature of `spec` and `key` with the first key.
    pub fn sign(&self, spec: &str, key: &str) -> String {
        let Some(first) = self.keys.first() else {
            return String::new();
        };
        URL_SAFE_NO_PAD.encode(mac(first, spec, key).finalize().into_bytes())
    }

    /// The signed path `/r/{signature}/{spec}/{key}`, percent-encoded.
    pub fn signed_path(&self, spec: &str, key: &str) -> String {
        let key_segments: Vec<String> = key
            .split('/')
            .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
            .collect();
        format!(
            "/r/{}/{}/{}",
            self.sign(spec, key),
            utf8_percent_encode(spec, SEGMENT),
            key_segments.join("/")
        )
    }

    /// Checks `signature` against every key.
    pub fn verify(&self, signature: &str, spec: &str, key: &str) -> Result<(), SignatureError> {
        if self.allow_unsigned && signature == UNSIGNED {
            return Ok(());
        }
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(signature) else {
            return Err(SignatureError::Invalid);
        };
        let valid = self
            .keys
            .iter()
            .any(|secret| mac(secret, spec, key).verify_slice(&bytes).is_ok());
        if valid { Ok(()) } else { Err(SignatureError::Invalid) }
    }
}

fn mac(secret: &[u8], spec: &str, key: &str) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(spec.as_bytes());
    mac.update(b"/");
    mac.update(key.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(keys: &[&str]) -> Signer {
        Signer::new(keys.iter().map(|k| k.as_bytes().to_vec()).collect(), false)
    }

    #[test]
    fn signature_is_unpadded_base64url_hmac_sha256() {
        // python3 -c 'import hmac,hashlib,base64; print(base64.urlsafe_b64encode(hmac.new(b"secret",
        //   b"fill-300x200|format-webp/photos/cat.jpg", hashlib.sha256).digest()).rstrip(b"=").decode())'
        let sig = signer(&["secret"]).sign("fill-300x200|format-webp", "photos/cat.jpg");
        assert_eq!(sig, "1yvfF82Cy5Jo2HYSoAgHzllkNKhVulbsueMuXIC8xqU");
        assert_eq!(sig.len(), 43);
    }

    #[test]
    fn every_key_verifies_the_first_signs() {
        let old = signer(&["old"]);
        let rotated = signer(&["new", "old"]);
        let sig = old.sign("width-100", "a.jpg");
        assert_eq!(rotated.verify(&sig, "width-100", "a.jpg"), Ok(()));
        assert_eq!(
            rotated.sign("width-100", "a.jpg"),
            signer(&["new"]).sign("width-100", "a.jpg")
        );
        assert_eq!(
            old.verify(&rotated.sign("width-100", "a.jpg"), "width-100", "a.jpg"),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn tampering_is_refused() {
        let s = signer(&["k"]);
        let sig = s.sign("width-100", "a.jpg");
        for (sig, spec, key) in [
            (sig.as_str(), "width-101", "a.jpg"),
            (sig.as_str(), "width-100", "b.jpg"),
            (sig.as_str(), "width-100/a.jpg", ""),
            (&sig[1..], "width-100", "a.jpg"),
            ("", "width-100", "a.jpg"),
            ("not base64!", "width-100", "a.jpg"),
            (UNSIGNED, "width-100", "a.jpg"),
        ] {
            assert_eq!(
                s.verify(sig, spec, key),
                Err(SignatureError::Invalid),
                "{sig} {spec} {key}"
            );
        }
    }

    #[test]
    fn signed_paths_are_escaped() {
        let s = signer(&["k"]);
        let path = s.signed_path("fill-1x1|format-webp", "dir/été #1.jpg");
        let sig = s.sign("fill-1x1|format-webp", "dir/été #1.jpg");
        assert_eq!(
            path,
            format!("/r/{sig}/fill-1x1%7Cformat-webp/dir/%C3%A9t%C3%A9%20%231.jpg")
        );
    }

    #[test]
    fn unsigned_only_when_allowed() {
        let s = Signer::new(vec![b"k".to_vec()], true);
        assert_eq!(s.verify(UNSIGNED, "width-100", "a.jpg"), Ok(()));
        assert_eq!(s.verify("bogus", "width-100", "a.jpg"), Err(SignatureError::Invalid));
    }
}
