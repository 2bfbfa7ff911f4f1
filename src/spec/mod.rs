//! Wagtail filter specs: the grammar and nothing else (SPEC §2.1–2.2).
//!
//! A spec such as `fill-300x200-c80|format-webp|webpquality-70` is parsed once
//! into typed [`Operation`]s. Parsing follows Wagtail exactly, odd number forms
//! included (`width-1_000`, `scale-1e2`), and refuses up front the specs that
//! crash Wagtail later (`fill-0x0`, `scale-nan`, `scale-inf`).
//!
//! `preserve-svg` is not an operation: it asks for rasterising operations to
//! be dropped when the source is an SVG. Which parts survive depends on the
//! source, so a [`FilterSpec`] is [`clean`](FilterSpec::clean)ed for a
//! [`SourceKind`] before it is used, as Wagtail's `clean_filter_for_svg` does.
//! Errors that do not depend on the source are reported by
//! [`FilterSpec::parse`] already.

mod error;
mod number;
mod parse;

use std::fmt;

pub use self::error::SpecError;
use crate::format::OutputFormat;

/// The marker that asks for SVG sources to stay SVG.
const PRESERVE_SVG: &str = "preserve-svg";

/// Operation name prefixes kept for an SVG source under `preserve-svg`
/// (Wagtail's `to_svg_safe_spec` matches prefixes, not names).
const SVG_SAFE_PREFIXES: [&str; 7] = ["max", "min", "width", "height", "scale", "fill", "original"];

/// One operation of a filter spec.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// `original`: no change.
    Original,
    /// `fill-WxH[-cN]`: crop to the aspect ratio around the focal point, then downscale.
    Fill(Fill),
    /// `max-WxH`: fit inside the box, never upscaling.
    Max(BoxSize),
    /// `min-WxH`: cover the box, never upscaling.
    Min(BoxSize),
    /// `width-N`: reduce to at most N pixels wide.
    Width(u64),
    /// `height-N`: reduce to at most N pixels high.
    Height(u64),
    /// `scale-P`: scale by P percent (may upscale).
    Scale(f64),
    /// `jpegquality-Q`.
    JpegQuality(Quality),
    /// `webpquality-Q`.
    WebpQuality(Quality),
    /// `avifquality-Q`.
    AvifQuality(Quality),
    /// `format-F[-option…]`.
    Format(FormatRequest),
    /// `bgcolor-RGB` / `bgcolor-RRGGBB`: flatten transparency onto a colour.
    BackgroundColor(Rgb),
}

/// Arguments of `fill`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fill {
    /// Requested width, at least 1.
    pub width: u64,
    /// Requested height, at least 1.
    pub height: u64,
    /// How far to zoom towards the focal point, 0.0 to 1.0 (`-cN` is N/100, capped).
    pub closeness: f64,
}

/// A `WxH` box for `max` and `min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoxSize {
    /// Box width (may be 0).
    pub width: u64,
    /// Box height (may be 0).
    pub height: u64,
}

/// An encoder quality from 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quality(u8);

impl Quality {
    /// The quality, if `value` is at most 100.
    pub fn new(value: u8) -> Option<Self> {
        (value <= 100).then_some(Self(value))
    }

    /// The quality as a number from 0 to 100.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// The arguments of `format-F[-option…]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatRequest {
    /// The requested output format.
    pub format: OutputFormat,
    /// Whether one of the options is `lossless` (meaningful for webp, avif, heic).
    pub lossless: bool,
}

/// An opaque RGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub [u8; 3]);

/// The default of [`SpecLimits::max_bytes`]: twice the 255 characters of
/// Wagtail's own `filter_spec` column, so every spec Wagtail can store fits,
/// with room for a `|focal-X-Y-W-H` suffix.
pub const DEFAULT_MAX_SPEC_BYTES: usize = 512;
/// The default of [`SpecLimits::max_operations`]: Wagtail has twelve
/// operations and `preserve-svg`; its tags write a handful per spec.
pub const DEFAULT_MAX_SPEC_OPERATIONS: usize = 16;

/// Bounds on the text of a spec, checked before anything else is done with
/// it (Wagtail CVE-2026-54260: crafted specs causing expensive processing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecLimits {
    /// Most bytes of the spec text (a trailing focal point included).
    pub max_bytes: usize,
    /// Most `|`-separated parts (`preserve-svg` and a focal point included;
    /// a repeated operation counts each time).
    pub max_operations: usize,
}

impl Default for SpecLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_SPEC_BYTES,
            max_operations: DEFAULT_MAX_SPEC_OPERATIONS,
        }
    }
}

impl SpecLimits {
    /// Checks the length of `text` first, then, in one scan of at most
    /// `max_bytes` bytes and without allocating, its number of parts and
    /// that it holds no `/`.
    pub fn check(&self, text: &str) -> Result<(), SpecError> {
        if text.len() > self.max_bytes {
            return Err(SpecError::TooLong { limit: self.max_bytes });
        }
        let mut parts = 1usize;
        for byte in text.bytes() {
            match byte {
                b'|' => parts = parts.saturating_add(1),
                b'/' => return Err(SpecError::Slash),
                _ => {}
            }
        }
        if parts > self.max_operations {
            return Err(SpecError::TooManyOperations {
                limit: self.max_operations,
            });
        }
        Ok(())
    }
}

/// What kind of source a spec is cleaned for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A pixel image.
    Raster,
    /// An SVG document.
    Svg,
}

/// A parsed filter spec, as requested.
#[derive(Debug, Clone)]
pub struct FilterSpec {
    text: String,
    preserve_svg: bool,
    parts: Vec<Part>,
}

/// One `|`-separated part other than `preserve-svg`.
#[derive(Debug, Clone)]
struct Part {
    text: String,
    operation: Result<Operation, SpecError>,
}

impl Part {
    fn is_svg_safe(&self) -> bool {
        SVG_SAFE_PREFIXES.iter().any(|p| self.text.starts_with(p))
    }
}

/// A filter spec cleaned for one kind of source: the text Wagtail stores and
/// names renditions by, and the operations to run.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanSpec {
    /// The spec as Wagtail uses it after `preserve-svg` cleaning.
    pub text: String,
    /// The operations, in spec order.
    pub operations: Vec<Operation>,
}

impl FilterSpec {
    /// Parses a spec, failing on every error that does not depend on the source.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        if text.is_empty() {
            return Err(SpecError::Empty);
        }
        let pieces: Vec<&str> = text.split('|').collect();
        let preserve_svg = pieces.contains(&PRESERVE_SVG);
        let parts: Vec<Part> = pieces
            .into_iter()
            .filter(|p| *p != PRESERVE_SVG)
            .map(|p| Part {
                text: p.to_owned(),
                operation: parse::operation(p),
            })
            .collect();
        if parts.is_empty() {
            return Err(SpecError::OnlyPreserveSvg);
        }
        // Without preserve-svg every part is used whatever the source; with it,
        // the SVG-safe parts are used for both kinds of source.
        let fatal = parts
            .iter()
            .filter(|p| !preserve_svg || p.is_svg_safe())
            .find_map(|p| p.operation.as_ref().err());
        if let Some(err) = fatal {
            return Err(err.clone());
        }
        Ok(Self {
            text: text.to_owned(),
            preserve_svg,
            parts,
        })
    }

    /// The spec as requested.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The spec as Wagtail's `clean_filter_for_svg` leaves it for a source of
    /// this kind, with its operations.
    pub fn clean(&self, kind: SourceKind) -> Result<CleanSpec, SpecError> {
        if !self.preserve_svg {
            return collect(&self.parts, self.text.clone());
        }
        let kept: Vec<Part> = match kind {
            SourceKind::Raster => self.parts.clone(),
            SourceKind::Svg => self.parts.iter().filter(|p| p.is_svg_safe()).cloned().collect(),
        };
        if kept.is_empty() {
            return Ok(CleanSpec {
                text: "original".to_owned(),
                operations: vec![Operation::Original],
            });
        }
        let text = kept.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join("|");
        collect(&kept, text)
    }
}

fn collect(parts: &[Part], text: String) -> Result<CleanSpec, SpecError> {
    let operations = parts
        .iter()
        .map(|p| p.operation.clone())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CleanSpec { text, operations })
}

impl fmt::Display for FilterSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for FilterSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(spec: &str, kind: SourceKind) -> Result<String, SpecError> {
        FilterSpec::parse(spec)?.clean(kind).map(|c| c.text)
    }

    #[test]
    fn splits_on_every_pipe() {
        let spec = FilterSpec::parse("fill-300x200-c80|format-webp|webpquality-70").unwrap();
        let ops = spec.clean(SourceKind::Raster).unwrap().operations;
        assert_eq!(ops.len(), 3);
        assert!(matches!(
            ops[0],
            Operation::Fill(Fill {
                width: 300,
                height: 200,
                ..
            })
        ));
        assert!(matches!(ops[1], Operation::Format(_)));
        for bad in ["", "width-100|", "|width-100", "width-100||height-5"] {
            assert!(FilterSpec::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn limits_bound_length_parts_and_slashes() {
        let limits = SpecLimits::default();
        let at_limit = format!("width-{}", "1".repeat(DEFAULT_MAX_SPEC_BYTES - 6));
        assert_eq!(limits.check(&at_limit), Ok(()));
        assert_eq!(
            limits.check(&format!("{at_limit}1")),
            Err(SpecError::TooLong { limit: 512 })
        );
        let sixteen = vec!["format-webp"; 16].join("|");
        assert_eq!(limits.check(&sixteen), Ok(()));
        assert_eq!(
            limits.check(&format!("{sixteen}|original")),
            Err(SpecError::TooManyOperations { limit: 16 })
        );
        for slashed in ["fill-300x200|format-webp-lossless/dir", "/", "width-100/"] {
            assert_eq!(limits.check(slashed), Err(SpecError::Slash), "{slashed}");
        }
        // What a crafted spec of the advisory looks like: refused at once.
        let huge = "|format-webp".repeat(4500);
        let started = std::time::Instant::now();
        assert!(limits.check(&huge).is_err_and(|e| e.is_too_large()));
        assert!(started.elapsed() < std::time::Duration::from_millis(1));
        let many = "|o".repeat(200);
        assert!(limits.check(&many).is_err_and(|e| e.is_too_large()));
        assert!(!SpecError::Slash.is_too_large());
    }

    #[test]
    fn preserve_svg_cleaning_follows_wagtail() {
        use SourceKind::*;
        let rows = [
            ("original|preserve-svg", Svg, "original"),
            ("fill-400x400|bgcolor-000|preserve-svg", Svg, "fill-400x400"),
            (
                "fill-400x400|bgcolor-000|preserve-svg",
                Raster,
                "fill-400x400|bgcolor-000",
            ),
            ("format-webp|webpquality-50|preserve-svg", Svg, "original"),
            (
                "width-300|height-200|format-webp|max-100x100|jpegquality-80|preserve-svg",
                Svg,
                "width-300|height-200|max-100x100",
            ),
            ("preserve-svg|width-300", Raster, "width-300"),
            ("width-300", Svg, "width-300"),
            ("width-300|format-png", Svg, "width-300|format-png"),
        ];
        for (spec, kind, expected) in rows {
            assert_eq!(clean(spec, kind).as_deref(), Ok(expected), "{spec} for {kind:?}");
        }
        assert_eq!(clean("preserve-svg", Raster), Err(SpecError::OnlyPreserveSvg));
        assert_eq!(clean("preserve-svg|preserve-svg", Svg), Err(SpecError::OnlyPreserveSvg));
    }

    #[test]
    fn errors_dropped_for_svg_are_kept_for_raster() {
        // Wagtail drops unsafe parts before parsing them, so a broken one only
        // matters when the source is not an SVG.
        let spec = FilterSpec::parse("width-100|format-foo|preserve-svg").unwrap();
        assert_eq!(spec.clean(SourceKind::Svg).unwrap().text, "width-100");
        assert!(spec.clean(SourceKind::Raster).is_err());
        // A broken part that would be kept either way fails at once.
        assert!(FilterSpec::parse("width-abc|preserve-svg").is_err());
        assert!(FilterSpec::parse("widthx-1|preserve-svg").is_err());
    }
}
