//! Wagtail's serve-view signatures (SPEC §1.2): HMAC-SHA1 with the site's
//! `SECRET_KEY` over `"{image_id}/{filter_spec}/"` (the id as written in the
//! URL, the spec percent-decoded), padded URL-safe base64. Pure.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// The site's secret keys: the first signs, every one verifies (rotation).
#[derive(Clone)]
pub struct WagtailSigner {
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for WagtailSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WagtailSigner({} keys)", self.keys.len())
    }
}

impl WagtailSigner {
    /// A signer over `keys` (at least one).
    pub fn new(keys: Vec<Vec<u8>>) -> Self {
        Self { keys }
    }

    /// The signature Wagtail's `generate_signature` gives with the first key.
    pub fn sign(&self, image_id: &str, spec: &str) -> String {
        let key = self.keys.first().map(Vec::as_slice).unwrap_or_default();
        URL_SAFE.encode(mac(key, image_id, spec).finalize().into_bytes())
    }

    /// Whether `signature` is Wagtail's for this id and spec under any key,
    /// compared in constant time; anything but the canonical padded form fails.
    pub fn verify(&self, signature: &str, image_id: &str, spec: &str) -> bool {
        let Ok(digest) = URL_SAFE.decode(signature) else {
            return false;
        };
        if URL_SAFE.encode(&digest) != signature {
            return false;
        }
        self.keys
            .iter()
            .any(|key| mac(key, image_id, spec).verify_slice(&digest).is_ok())
    }
}

fn mac(key: &[u8], image_id: &str, spec: &str) -> HmacSha1 {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = <HmacSha1 as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(format!("{image_id}/{spec}/").as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(key: &[u8]) -> WagtailSigner {
        WagtailSigner::new(vec![key.to_vec()])
    }

    #[test]
    fn matches_wagtails_vectors() {
        // SPEC §1.2, computed with Wagtail 8.0.1.
        let cases: [(&[u8], &str, &str, &str); 9] = [
            (b"not needed", "100", "fill-800x600", "xnZOzQyUg6pkfciqcfRJRosOrGg="),
            (b"not needed", "200", "fill-800x600", "eFpOzuXQuciW9lbez3qOsNAhsyM="),
            (b"not needed", "100", "fill-800x700", "wxr1v8uwNrvBpvZFhsb6zY6lo5o="),
            (b"not needed", "1", "fill-800x600", "sHBpEKTDHyF2s2IFGvSFZaf9-Ss="),
            (b"custom", "1", "fill-800x600", "ev7jqSKigDxYvNy_loERa8b32cA="),
            (
                b"not needed",
                "42",
                "fill-300x200-c80|format-webp|webpquality-70",
                "NrhAIjGzxDPPGveuN4vkCqJVYoY=",
            ),
            (b"not needed", "01", "width-400", "Iwj1DfRI5cR8NXIcSIbXtwiDyF4="),
            (b"\x00\xffbinary", "7", "width-400", "K91ujGH3MGwz7WDGxzrecY5vH68="),
            ("clé-ünï".as_bytes(), "7", "original", "ihwceq_4ceQL8N-0MMqzR5mr8tY="),
        ];
        for (key, id, spec, expected) in cases {
            assert_eq!(signer(key).sign(id, spec), expected, "{id} {spec}");
            assert!(signer(key).verify(expected, id, spec));
        }
    }

    #[test]
    fn refuses_anything_else() {
        let s = signer(b"not needed");
        assert!(
            !s.verify("sHBpEKTDHyF2s2IFGvSFZaf9-Ss", "1", "fill-800x600"),
            "unpadded"
        );
        assert!(
            !s.verify("sHBpEKTDHyF2s2IFGvSFZaf9+Ss=", "1", "fill-800x600"),
            "standard alphabet"
        );
        assert!(
            !s.verify("sHBpEKTDHyF2s2IFGvSFZaf9-Ss=", "01", "fill-800x600"),
            "id as written"
        );
        assert!(!s.verify("", "1", "fill-800x600"));
        let rotated = WagtailSigner::new(vec![b"new key".to_vec(), b"not needed".to_vec()]);
        assert!(rotated.verify("sHBpEKTDHyF2s2IFGvSFZaf9-Ss=", "1", "fill-800x600"));
        assert_ne!(rotated.sign("1", "fill-800x600"), "sHBpEKTDHyF2s2IFGvSFZaf9-Ss=");
    }
}
