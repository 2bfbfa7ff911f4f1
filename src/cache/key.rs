//! Rendition identity: which bytes a request stands for, the same on every
//! instance.
//!
//! A [`RenditionKey`] is a SHA-256 over the original's storage key, its
//! version as the store reports it, the spec as Wagtail cleans it, the focal
//! point, the encoding (output format and encoder settings), the
//! [`Rendering`] settings that differ from their defaults and
//! [`ENCODER_VERSION`]. Its hex digest is the
//! strong `ETag`; its [`name`](RenditionKey::name) is the content-addressed,
//! readable key of the rendition in the shared store:
//! `<stem>.<hash16>.<spec with | as .>.<ext>`.

use sha2::{Digest, Sha256};

use crate::pipeline::{AnimationLimits, ShrinkOnLoad};
use crate::plan::{Encoding, FocalPoint};
use crate::store::{SourceVersion, StorageKey};

/// Changes whenever an encoder or its settings change the bytes produced for
/// the same input, so that old renditions are never served as new ones.
pub const ENCODER_VERSION: &str = "renditiond/2";

/// The longest stem and spec kept in rendition names, in characters.
const MAX_NAME_PART: usize = 60;

/// What changes a rendition's pixels beyond its spec, focal point and
/// encoding. Each is hashed only when it differs from its default, so that
/// every other identity stays what it was.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rendering<'a> {
    /// The animation budget, when the rendition keeps an animation.
    pub animation: Option<&'a AnimationLimits>,
    /// How far a JPEG original is shrunk while decoded.
    pub shrink_on_load: ShrinkOnLoad,
}

/// The identity of one rendition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RenditionKey {
    digest: [u8; 32],
    name: String,
}

impl RenditionKey {
    /// The key of the rendition of `original` at `version`, for the cleaned
    /// `spec`, `focal` point and `encoding` (format and encoder settings),
    /// made with the `rendering` settings.
    pub fn new(
        original: &StorageKey,
        version: &SourceVersion,
        revision: &str,
        spec: &str,
        focal: Option<&FocalPoint>,
        encoding: Encoding,
        rendering: Rendering,
    ) -> Self {
        let focal = focal.map(ToString::to_string).unwrap_or_default();
        let (format, encoder) = (encoding.format(), encoding.identity());
        let mut hasher = Sha256::new();
        let animated = rendering
            .animation
            .map(|budget| format!("animated {} {}", budget.max_frames, budget.max_pixels));
        let shrink = (rendering.shrink_on_load != ShrinkOnLoad::default())
            .then(|| format!("shrink-on-load {}", rendering.shrink_on_load.name()));
        let fields = [
            ENCODER_VERSION,
            original.as_str(),
            version.as_str(),
            revision,
            spec,
            &focal,
            &encoder,
        ];
        for field in fields.into_iter().chain(animated.as_deref()).chain(shrink.as_deref()) {
            // Length prefixes keep fields from running into each other.
            hasher.update((field.len() as u64).to_le_bytes());
            hasher.update(field.as_bytes());
        }
        let digest: [u8; 32] = hasher.finalize().into();
        let name = format!(
            "{}.{}.{}.{}",
            readable(original.stem()),
            hex::encode(&digest[..8]),
            readable(&spec.replace('|', ".")),
            format.extension()
        );
        Self { digest, name }
    }

    /// The rendition's key in the shared store (and last URL segment behind
    /// the CDN).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The strong entity tag, quotes included.
    pub fn etag(&self) -> String {
        format!("\"{}\"", hex::encode(&self.digest[..16]))
    }
}

/// `text` cut to [`MAX_NAME_PART`] characters, anything but ASCII letters,
/// digits, `-`, `_`, `.` and `,` replaced by `_`, so names need no escaping.
fn readable(text: &str) -> String {
    text.chars()
        .take(MAX_NAME_PART)
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' | ',' => c,
            _ => '_',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Compression;

    fn key(original: &str, version: &str, spec: &str, focal: Option<FocalPoint>, encoding: Encoding) -> RenditionKey {
        let original = StorageKey::new(original).expect("valid key");
        RenditionKey::new(
            &original,
            &SourceVersion::from_etag(version),
            "",
            spec,
            focal.as_ref(),
            encoding,
            Rendering::default(),
        )
    }

    #[test]
    fn name_is_readable_and_content_addressed() {
        let k = key(
            "photos/cat.jpg",
            "etag:abc",
            "fill-300x200-c80|format-webp",
            None,
            Encoding::Webp(Compression::Lossy(80)),
        );
        let parts: Vec<&str> = k.name().split('.').collect();
        assert_eq!(parts[0], "cat");
        assert_eq!(parts[1].len(), 16);
        assert!(parts[1].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(&parts[2..], ["fill-300x200-c80", "format-webp", "webp"]);
        assert_eq!(k.etag().len(), 34);
    }

    #[test]
    fn names_need_no_escaping() {
        let k = key("a/Ünïcode name?.png", "v", "width-١٠٠", None, Encoding::Png);
        assert!(
            k.name()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.,".contains(&b)),
            "{}",
            k.name()
        );
    }

    #[test]
    fn every_input_changes_the_identity() {
        let base = key("a.jpg", "v1", "width-100", None, Encoding::Jpeg { quality: 76 });
        let fp = Some(FocalPoint::new(1, 2, 3, 4));
        let others = [
            key("b.jpg", "v1", "width-100", None, Encoding::Jpeg { quality: 76 }),
            key("a.jpg", "v2", "width-100", None, Encoding::Jpeg { quality: 76 }),
            key("a.jpg", "v1", "width-101", None, Encoding::Jpeg { quality: 76 }),
            key("a.jpg", "v1", "width-100", fp, Encoding::Jpeg { quality: 76 }),
            key("a.jpg", "v1", "width-100", None, Encoding::Webp(Compression::Lossy(80))),
            key("a.jpg", "v1", "width-100", None, Encoding::Jpeg { quality: 85 }),
            // Fields cannot run into each other.
            key("a.jpg", "v1width-100", "", None, Encoding::Jpeg { quality: 76 }),
        ];
        for other in &others {
            assert_ne!(base.etag(), other.etag());
        }
        assert_eq!(
            base,
            key("a.jpg", "v1", "width-100", None, Encoding::Jpeg { quality: 76 })
        );
    }

    #[test]
    fn identities_stay_what_they_were() {
        // A rendition's identity is its name in the shared store: renditions
        // made before a change that leaves their bytes alone keep theirs.
        let k = key("a.jpg", "v1", "width-100", None, Encoding::Jpeg { quality: 76 });
        assert_eq!(k.etag(), "\"569bb921e7a6b32b4d8f010f578917fc\"");
    }

    #[test]
    fn an_animation_and_its_budget_are_part_of_the_identity() {
        let animated = |animation: Option<&AnimationLimits>| {
            let original = StorageKey::new("a.gif").expect("valid key");
            let version = SourceVersion::from_etag("v1");
            let rendering = Rendering {
                animation,
                ..Rendering::default()
            };
            RenditionKey::new(&original, &version, "", "width-100", None, Encoding::Gif, rendering)
        };
        let budget = AnimationLimits::default();
        let smaller = AnimationLimits {
            max_frames: 10,
            ..budget
        };
        let keys = [animated(None), animated(Some(&budget)), animated(Some(&smaller))];
        assert_ne!(keys[0].etag(), keys[1].etag());
        assert_ne!(keys[1].etag(), keys[2].etag());
        assert_eq!(keys[0], key("a.gif", "v1", "width-100", None, Encoding::Gif));
    }

    #[test]
    fn a_shrink_on_load_other_than_the_default_is_part_of_the_identity() {
        let shrunk = |shrink_on_load| {
            let original = StorageKey::new("a.jpg").expect("valid key");
            let version = SourceVersion::from_etag("v1");
            let rendering = Rendering {
                shrink_on_load,
                ..Rendering::default()
            };
            let encoding = Encoding::Jpeg { quality: 76 };
            RenditionKey::new(&original, &version, "", "width-100", None, encoding, rendering)
        };
        let keys = [ShrinkOnLoad::Quality, ShrinkOnLoad::Fast, ShrinkOnLoad::Off].map(shrunk);
        assert_eq!(keys[0].etag(), "\"569bb921e7a6b32b4d8f010f578917fc\"");
        assert_ne!(keys[0].etag(), keys[1].etag());
        assert_ne!(keys[0].etag(), keys[2].etag());
        assert_ne!(keys[1].etag(), keys[2].etag());
    }
}
