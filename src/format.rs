//! Image format vocabulary shared by every layer: what a source is, what a
//! rendition is written as, and how each is named, typed and suffixed.
//!
//! Names follow Willow's `format_name` so that specs, plans and file names read
//! exactly like Wagtail's (SPEC §3.1, §4.3).

use std::fmt;
use std::str::FromStr;

/// The format of an original, as detected from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    /// JPEG (baseline, progressive, greyscale or CMYK).
    Jpeg,
    /// PNG (any colour type and bit depth).
    Png,
    /// GIF; only the first frame is used, as Wagtail's Pillow backend does.
    Gif,
    /// WebP (lossy, lossless or animated; the first frame of an animation).
    Webp,
    /// AVIF (AV1 still image).
    Avif,
    /// Windows bitmap.
    Bmp,
    /// Windows icon.
    Ico,
    /// HEIC/HEIF: recognised so it can be refused clearly; not decoded.
    Heic,
    /// TIFF: recognised so it can be refused clearly; not decoded.
    Tiff,
    /// SVG (XML whose root element is `svg`).
    Svg,
}

impl SourceFormat {
    /// All source formats, for help texts and exhaustive tests.
    pub const ALL: [SourceFormat; 10] = [
        Self::Jpeg,
        Self::Png,
        Self::Gif,
        Self::Webp,
        Self::Avif,
        Self::Bmp,
        Self::Ico,
        Self::Heic,
        Self::Tiff,
        Self::Svg,
    ];

    /// Willow's name for the format (`jpeg`, `png`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::Webp => "webp",
            Self::Avif => "avif",
            Self::Bmp => "bmp",
            Self::Ico => "ico",
            Self::Heic => "heic",
            Self::Tiff => "tiff",
            Self::Svg => "svg",
        }
    }
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SourceFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .or(match s {
                "jpg" => Some(Self::Jpeg),
                "heif" => Some(Self::Heic),
                "tif" => Some(Self::Tiff),
                _ => None,
            })
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// The format a rendition is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// JPEG, progressive.
    Jpeg,
    /// PNG.
    Png,
    /// GIF (single frame, adaptive palette).
    Gif,
    /// WebP, lossy or lossless.
    Webp,
    /// AVIF, lossy or lossless.
    Avif,
    /// Windows icon holding the standard square sizes.
    Ico,
    /// HEIC: part of Wagtail's grammar, but no encoder ships with renditiond.
    Heic,
    /// SVG, for SVG sources.
    Svg,
}

impl OutputFormat {
    /// The formats `format-F` accepts, in Wagtail's order (SPEC §2.2).
    pub const REQUESTABLE: [OutputFormat; 7] = [
        Self::Jpeg,
        Self::Png,
        Self::Gif,
        Self::Webp,
        Self::Avif,
        Self::Ico,
        Self::Heic,
    ];

    /// Willow's name for the format, as written in `format-F`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::Webp => "webp",
            Self::Avif => "avif",
            Self::Ico => "ico",
            Self::Heic => "heic",
            Self::Svg => "svg",
        }
    }

    /// File extension of a rendition in this format, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            other => other.name(),
        }
    }

    /// MIME type served for a rendition in this format.
    pub fn mime_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Avif => "image/avif",
            Self::Ico => "image/x-icon",
            Self::Heic => "image/heic",
            Self::Svg => "image/svg+xml",
        }
    }

    /// The requestable format called `name`, if any (`jpg`, `svg`, `bmp` are not).
    pub fn requestable(name: &str) -> Option<Self> {
        Self::REQUESTABLE.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that renditiond does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown image format \"{0}\"")]
pub struct UnknownFormat(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_format_names_round_trip() {
        for f in SourceFormat::ALL {
            assert_eq!(f.name().parse::<SourceFormat>(), Ok(f));
        }
        assert_eq!("jpg".parse::<SourceFormat>(), Ok(SourceFormat::Jpeg));
        assert!("jpe".parse::<SourceFormat>().is_err());
    }

    #[test]
    fn requestable_formats_follow_wagtail() {
        for name in ["jpeg", "png", "gif", "webp", "avif", "ico", "heic"] {
            assert_eq!(OutputFormat::requestable(name).map(|f| f.name()), Some(name));
        }
        for name in ["jpg", "svg", "bmp", "tiff", "JPEG", ""] {
            assert_eq!(OutputFormat::requestable(name), None, "{name}");
        }
    }

    #[test]
    fn extensions_match_wagtail() {
        assert_eq!(OutputFormat::Jpeg.extension(), "jpg");
        assert_eq!(OutputFormat::Webp.extension(), "webp");
        assert_eq!(OutputFormat::Ico.mime_type(), "image/x-icon");
    }
}
