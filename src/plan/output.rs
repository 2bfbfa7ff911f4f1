//! What a rendition is written as: the output format and encoder settings
//! that Wagtail's `Filter.run` chooses (SPEC §3.1–3.2), and the frame sizes
//! of an ICO rendition (Pillow's ICO writer).

use super::PlanError;
use crate::format::{OutputFormat, SourceFormat};
use crate::spec::{Operation, Rgb};

/// Wagtail's default JPEG quality (`WAGTAILIMAGES_JPEG_QUALITY`, since 7.3).
pub const DEFAULT_JPEG_QUALITY: u8 = 76;
/// Wagtail's default WebP quality (`WAGTAILIMAGES_WEBP_QUALITY`).
pub const DEFAULT_WEBP_QUALITY: u8 = 80;
/// Wagtail's default AVIF quality (`WAGTAILIMAGES_AVIF_QUALITY`, since 7.3).
pub const DEFAULT_AVIF_QUALITY: u8 = 61;
/// Wagtail's default HEIC quality (`WAGTAILIMAGES_HEIC_QUALITY`).
pub const DEFAULT_HEIC_QUALITY: u8 = 80;

/// Lossy at a quality, or lossless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Lossy, quality 0–100.
    Lossy(u8),
    /// Lossless.
    Lossless,
}

/// The output format with its encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Progressive JPEG at a quality 0–100; transparency is flattened onto white.
    Jpeg {
        /// Quality 0–100.
        quality: u8,
    },
    /// PNG.
    Png,
    /// Single-frame GIF.
    Gif,
    /// WebP.
    Webp(Compression),
    /// AVIF.
    Avif(Compression),
    /// ICO with the standard square frame sizes.
    Ico,
    /// HEIC (in the grammar; not encodable by renditiond).
    Heic(Compression),
    /// SVG, for SVG sources.
    Svg,
}

impl Encoding {
    /// The format written.
    pub fn format(self) -> OutputFormat {
        match self {
            Self::Jpeg { .. } => OutputFormat::Jpeg,
            Self::Png => OutputFormat::Png,
            Self::Gif => OutputFormat::Gif,
            Self::Webp(_) => OutputFormat::Webp,
            Self::Avif(_) => OutputFormat::Avif,
            Self::Ico => OutputFormat::Ico,
            Self::Heic(_) => OutputFormat::Heic,
            Self::Svg => OutputFormat::Svg,
        }
    }
}

/// What SVG originals become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SvgOutput {
    /// SVG, as in Wagtail: `format-*` is an error.
    #[default]
    Svg,
    /// SVG, or the raster format a `format-*` asks for.
    RasterOnRequest,
    /// Always raster: PNG unless a `format-*` asks for another format.
    Raster,
}

/// Chooses the encoding for `source` and the spec's filter operations.
pub fn choose(source: SourceFormat, operations: &[Operation], svg: SvgOutput) -> Result<Encoding, PlanError> {
    let mut requested = None;
    let (mut jpeg, mut webp, mut avif) = (None, None, None);
    for op in operations {
        match op {
            Operation::Format(r) => requested = Some(*r),
            Operation::JpegQuality(q) => jpeg = Some(q.get()),
            Operation::WebpQuality(q) => webp = Some(q.get()),
            Operation::AvifQuality(q) => avif = Some(q.get()),
            _ => {}
        }
    }
    if source == SourceFormat::Svg {
        match (svg, requested) {
            (SvgOutput::Svg, Some(r)) => return Err(PlanError::FormatOnSvg(r.format)),
            (SvgOutput::Svg | SvgOutput::RasterOnRequest, None) => return Ok(Encoding::Svg),
            (SvgOutput::Raster, None) => return Ok(Encoding::Png),
            (_, Some(_)) => {}
        }
    }
    let lossless = requested.is_some_and(|r| r.lossless);
    let compression = |quality: Option<u8>, default: u8| {
        if lossless {
            Compression::Lossless
        } else {
            Compression::Lossy(quality.unwrap_or(default))
        }
    };
    let format = match requested {
        Some(r) => r.format,
        None => default_conversion(source)?,
    };
    Ok(match format {
        OutputFormat::Jpeg => Encoding::Jpeg {
            quality: jpeg.unwrap_or(DEFAULT_JPEG_QUALITY),
        },
        OutputFormat::Png => Encoding::Png,
        OutputFormat::Gif => Encoding::Gif,
        OutputFormat::Webp => Encoding::Webp(compression(webp, DEFAULT_WEBP_QUALITY)),
        OutputFormat::Avif => Encoding::Avif(compression(avif, DEFAULT_AVIF_QUALITY)),
        OutputFormat::Ico => Encoding::Ico,
        OutputFormat::Heic => Encoding::Heic(compression(None, DEFAULT_HEIC_QUALITY)),
        OutputFormat::Svg => Encoding::Svg,
    })
}

/// Wagtail 8's default conversions: bmp → png, heic → jpeg, still gif → png
/// (GIFs are never animated to Wagtail's Pillow backend); others keep their format.
fn default_conversion(source: SourceFormat) -> Result<OutputFormat, PlanError> {
    match source {
        SourceFormat::Jpeg | SourceFormat::Heic => Ok(OutputFormat::Jpeg),
        SourceFormat::Png | SourceFormat::Bmp | SourceFormat::Gif => Ok(OutputFormat::Png),
        SourceFormat::Webp => Ok(OutputFormat::Webp),
        SourceFormat::Avif => Ok(OutputFormat::Avif),
        SourceFormat::Ico => Ok(OutputFormat::Ico),
        SourceFormat::Svg => Ok(OutputFormat::Svg),
        SourceFormat::Tiff => Err(PlanError::NoOutputFormat(source)),
    }
}

/// The colour transparency is flattened onto: the first `bgcolor` (after
/// it the image has no alpha, so later ones do nothing).
pub fn background(operations: &[Operation]) -> Option<Rgb> {
    operations.iter().find_map(|op| match op {
        Operation::BackgroundColor(c) => Some(*c),
        _ => None,
    })
}

/// The frames of an ICO rendition of a `width`×`height` image, smallest
/// first, as Pillow writes them: the image itself when a side is under 16,
/// else each of 16…256 px squares that fits, holding a thumbnail that keeps
/// the aspect ratio.
pub fn ico_frames(width: u32, height: u32) -> Result<Vec<(u32, u32)>, PlanError> {
    let boxes: Vec<(u32, u32)> = if width.min(height) < 16 {
        vec![(width, height)]
    } else {
        [16, 24, 32, 48, 64, 128, 256].map(|d| (d, d)).to_vec()
    };
    let frames: Vec<(u32, u32)> = boxes
        .into_iter()
        .filter(|&(bw, bh)| bw <= width.min(256) && bh <= height.min(256))
        .map(|b| thumbnail_size((width, height), b))
        .collect();
    if frames.is_empty() {
        return Err(PlanError::Degenerate("the image is too large for every ICO frame size"));
    }
    Ok(frames)
}

/// Pillow's `Image.thumbnail` size: fit into `bound`, keeping the aspect ratio.
fn thumbnail_size((width, height): (u32, u32), (x, y): (u32, u32)) -> (u32, u32) {
    if x >= width && y >= height {
        return (width, height);
    }
    let aspect = f64::from(width) / f64::from(height);
    let (xf, yf) = (f64::from(x), f64::from(y));
    // Python's min(floor, ceil, key=…): floor unless ceil is strictly closer.
    let round_aspect = |n: f64, key: &dyn Fn(f64) -> f64| {
        let (lo, hi) = (n.floor(), n.ceil());
        let best = if key(hi) < key(lo) { hi } else { lo };
        best.max(1.0) as u32
    };
    if xf / yf >= aspect {
        (round_aspect(yf * aspect, &|n| (aspect - n / yf).abs()), y)
    } else {
        let x_ratio = |n: f64| {
            if n == 0.0 { 0.0 } else { (aspect - xf / n).abs() }
        };
        (x, round_aspect(xf / aspect, &x_ratio))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{FilterSpec, SourceKind};

    fn encoding(source: SourceFormat, spec: &str) -> Result<Encoding, PlanError> {
        let kind = if source == SourceFormat::Svg {
            SourceKind::Svg
        } else {
            SourceKind::Raster
        };
        let clean = FilterSpec::parse(spec).unwrap().clean(kind).unwrap();
        choose(source, &clean.operations, SvgOutput::Svg)
    }

    #[test]
    fn formats_follow_wagtail_8() {
        use SourceFormat::*;
        let rows = [
            (Jpeg, "width-100", OutputFormat::Jpeg),
            (Png, "width-100", OutputFormat::Png),
            (Gif, "width-100", OutputFormat::Png),
            (Webp, "width-100", OutputFormat::Webp),
            (Bmp, "width-100", OutputFormat::Png),
            (Avif, "width-100", OutputFormat::Avif),
            (Heic, "width-100", OutputFormat::Jpeg),
            (Ico, "width-100", OutputFormat::Ico),
            (Gif, "width-100|format-gif", OutputFormat::Gif),
            (Png, "format-webp|format-jpeg", OutputFormat::Jpeg),
            (Svg, "width-100", OutputFormat::Svg),
            (Svg, "width-100|format-png|preserve-svg", OutputFormat::Svg),
        ];
        for (source, spec, expected) in rows {
            assert_eq!(encoding(source, spec).unwrap().format(), expected, "{source} {spec}");
        }
        assert!(matches!(
            encoding(Tiff, "width-100"),
            Err(PlanError::NoOutputFormat(Tiff))
        ));
        assert_eq!(encoding(Tiff, "format-png").unwrap(), Encoding::Png);
        assert!(matches!(
            encoding(Svg, "fill-50x50|format-png"),
            Err(PlanError::FormatOnSvg(_))
        ));
    }

    #[test]
    fn svg_rasterizes_only_when_configured() {
        let ops = |spec: &str| {
            FilterSpec::parse(spec)
                .unwrap()
                .clean(SourceKind::Svg)
                .unwrap()
                .operations
        };
        let svg = SourceFormat::Svg;
        let on_request = SvgOutput::RasterOnRequest;
        assert_eq!(choose(svg, &ops("width-10"), on_request), Ok(Encoding::Svg));
        assert_eq!(
            choose(svg, &ops("width-10|format-webp|webpquality-50"), on_request),
            Ok(Encoding::Webp(Compression::Lossy(50)))
        );
        assert_eq!(choose(svg, &ops("width-10"), SvgOutput::Raster), Ok(Encoding::Png));
        assert_eq!(
            choose(svg, &ops("width-10|format-jpeg"), SvgOutput::Raster),
            Ok(Encoding::Jpeg { quality: 76 })
        );
        // preserve-svg drops format-* for SVG sources, so it stays SVG on request.
        assert_eq!(
            choose(svg, &ops("width-10|format-png|preserve-svg"), on_request),
            Ok(Encoding::Svg)
        );
    }

    #[test]
    fn qualities_and_lossless() {
        use SourceFormat::*;
        let rows = [
            (Jpeg, "width-400", Encoding::Jpeg { quality: 76 }),
            (Png, "jpegquality-40|format-jpeg", Encoding::Jpeg { quality: 40 }),
            (Jpeg, "jpegquality-40|jpegquality-0", Encoding::Jpeg { quality: 0 }),
            (Png, "format-webp", Encoding::Webp(Compression::Lossy(80))),
            (
                Png,
                "webpquality-70|format-webp",
                Encoding::Webp(Compression::Lossy(70)),
            ),
            (
                Png,
                "webpquality-70|format-webp-lossless",
                Encoding::Webp(Compression::Lossless),
            ),
            (Png, "format-avif", Encoding::Avif(Compression::Lossy(61))),
            (
                Png,
                "avifquality-40|format-avif",
                Encoding::Avif(Compression::Lossy(40)),
            ),
            (Png, "format-avif-lossless", Encoding::Avif(Compression::Lossless)),
            (Png, "format-heic", Encoding::Heic(Compression::Lossy(80))),
            (Webp, "webpquality-10", Encoding::Webp(Compression::Lossy(10))),
        ];
        for (source, spec, expected) in rows {
            assert_eq!(encoding(source, spec).unwrap(), expected, "{source} {spec}");
        }
    }

    #[test]
    fn first_background_wins() {
        let clean = FilterSpec::parse("bgcolor-f00|bgcolor-00f")
            .unwrap()
            .clean(SourceKind::Raster)
            .unwrap();
        assert_eq!(background(&clean.operations), Some(Rgb([255, 0, 0])));
    }

    #[test]
    fn ico_frames_match_pillow() {
        assert_eq!(ico_frames(64, 48).unwrap().last(), Some(&(48, 36)));
        assert_eq!(ico_frames(100, 75).unwrap().last(), Some(&(64, 48)));
        assert_eq!(ico_frames(400, 300).unwrap().last(), Some(&(256, 192)));
        assert_eq!(ico_frames(400, 300).unwrap().first(), Some(&(16, 12)));
        assert_eq!(ico_frames(10, 5).unwrap(), vec![(10, 5)]);
        assert_eq!(ico_frames(16, 16).unwrap(), vec![(16, 16)]);
        assert!(ico_frames(1000, 10).is_err());
    }
}
