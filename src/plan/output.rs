//! What a rendition is written as: the output format and encoder settings
//! that Wagtail's `Filter.run` chooses (SPEC §3.1–3.2) under a site's own
//! settings and its Wagtail version's defaults, and the frame sizes of an ICO
//! rendition (Pillow's ICO writer).

use std::fmt;
use std::str::FromStr;

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

/// A Wagtail release line, `major.minor`: what decides the defaults that
/// changed between releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WagtailVersion {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl WagtailVersion {
    /// The oldest line whose defaults are known here.
    pub const OLDEST: Self = Self { major: 7, minor: 0 };
    /// The reference (SPEC: Wagtail 8.0.1).
    pub const REFERENCE: Self = Self { major: 8, minor: 0 };
    /// 7.3 lowered the default JPEG and AVIF qualities.
    const QUALITIES_LOWERED: Self = Self { major: 7, minor: 3 };

    /// Whether this line still converts AVIF and WebP to PNG by default
    /// (before 8.0).
    fn converts_avif_and_webp(self) -> bool {
        self < Self::REFERENCE
    }
}

impl Default for WagtailVersion {
    fn default() -> Self {
        Self::REFERENCE
    }
}

impl fmt::Display for WagtailVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for WagtailVersion {
    type Err = String;

    /// `7.0`, `7.4.4`, `8.0`: from 7.0 on (a patch number is ignored).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || {
            format!(
                "expected a Wagtail version from {} on, such as 8.0, got {text:?}",
                Self::OLDEST
            )
        };
        let mut parts = text.split('.');
        let number = |part: Option<&str>| -> Result<u8, String> {
            part.filter(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse().ok())
                .ok_or_else(err)
        };
        let version = Self {
            major: number(parts.next())?,
            minor: number(parts.next())?,
        };
        if let Some(patch) = parts.next() {
            number(Some(patch))?;
        }
        if parts.next().is_some() || version < Self::OLDEST {
            return Err(err());
        }
        Ok(version)
    }
}

/// A site's output settings as Wagtail reads them: what SVG originals
/// become, `WAGTAILIMAGES_FORMAT_CONVERSIONS` and the
/// `WAGTAILIMAGES_*_QUALITY` settings (each unset when the site leaves it
/// to its version's default).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// What SVG originals become.
    pub svg: SvgOutput,
    /// The site's Wagtail line.
    pub version: WagtailVersion,
    /// `WAGTAILIMAGES_FORMAT_CONVERSIONS`: source format → output format.
    pub conversions: Vec<(SourceFormat, OutputFormat)>,
    /// `WAGTAILIMAGES_JPEG_QUALITY`.
    pub jpeg_quality: Option<u8>,
    /// `WAGTAILIMAGES_WEBP_QUALITY`.
    pub webp_quality: Option<u8>,
    /// `WAGTAILIMAGES_AVIF_QUALITY`.
    pub avif_quality: Option<u8>,
    /// `WAGTAILIMAGES_HEIC_QUALITY`.
    pub heic_quality: Option<u8>,
    /// The formats renditiond may pick instead of a lossy default output,
    /// in the site's order of preference, from the client's `Accept`
    /// (empty: none, as in Wagtail).
    pub negotiation: Vec<OutputFormat>,
    /// Whether animated GIF and WebP originals stay animated, as with
    /// Wagtail's Wand backend (else only their first frame is read, as with
    /// its default Pillow backend).
    pub animation: bool,
}

impl From<SvgOutput> for Output {
    /// Wagtail 8.0's defaults, with `svg`.
    fn from(svg: SvgOutput) -> Self {
        Self { svg, ..Self::default() }
    }
}

impl Output {
    /// The JPEG quality without `jpegquality-N`.
    pub fn jpeg_quality(&self) -> u8 {
        let default = if self.version < WagtailVersion::QUALITIES_LOWERED {
            85
        } else {
            DEFAULT_JPEG_QUALITY
        };
        self.jpeg_quality.unwrap_or(default)
    }

    /// The WebP quality without `webpquality-N`.
    pub fn webp_quality(&self) -> u8 {
        self.webp_quality.unwrap_or(DEFAULT_WEBP_QUALITY)
    }

    /// The AVIF quality without `avifquality-N`.
    pub fn avif_quality(&self) -> u8 {
        let default = if self.version < WagtailVersion::QUALITIES_LOWERED {
            80
        } else {
            DEFAULT_AVIF_QUALITY
        };
        self.avif_quality.unwrap_or(default)
    }

    /// The HEIC quality without `heicquality-N`.
    pub fn heic_quality(&self) -> u8 {
        self.heic_quality.unwrap_or(DEFAULT_HEIC_QUALITY)
    }

    /// The format a `source` original becomes without `format-*`: the
    /// version's default conversions, then the site's own. An animated GIF
    /// (to Wagtail, only with animation on) stays GIF.
    fn converted(&self, source: SourceFormat, animated: bool) -> Result<OutputFormat, PlanError> {
        if let Some((_, to)) = self.conversions.iter().find(|(from, _)| *from == source) {
            return Ok(*to);
        }
        match source {
            SourceFormat::Gif if animated && self.animation => Ok(OutputFormat::Gif),
            SourceFormat::Webp | SourceFormat::Avif if self.version.converts_avif_and_webp() => Ok(OutputFormat::Png),
            _ => default_conversion(source),
        }
    }
}

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
    /// What tells this encoding from every other (`jpeg q76`, `webp
    /// lossless`): part of a rendition's identity.
    pub fn identity(self) -> String {
        let compression = |c: Compression| match c {
            Compression::Lossy(q) => format!("q{q}"),
            Compression::Lossless => "lossless".to_owned(),
        };
        match self {
            Self::Jpeg { quality } => format!("jpeg q{quality}"),
            Self::Webp(c) => format!("webp {}", compression(c)),
            Self::Avif(c) => format!("avif {}", compression(c)),
            Self::Heic(c) => format!("heic {}", compression(c)),
            other => other.format().name().to_owned(),
        }
    }

    /// Whether the format can hold an animation (GIF and WebP).
    pub fn animates(self) -> bool {
        matches!(self, Self::Gif | Self::Webp(_))
    }

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

/// Chooses the encoding for a `source` original (`animated` or not) and
/// the spec's filter operations.
pub fn choose(
    source: SourceFormat,
    animated: bool,
    operations: &[Operation],
    output: &Output,
) -> Result<Encoding, PlanError> {
    let requested = operations.iter().rev().find_map(|op| match op {
        Operation::Format(r) => Some(*r),
        _ => None,
    });
    if source == SourceFormat::Svg {
        match (output.svg, requested) {
            (SvgOutput::Svg, Some(r)) => return Err(PlanError::FormatOnSvg(r.format)),
            (SvgOutput::Svg | SvgOutput::RasterOnRequest, None) => return Ok(Encoding::Svg),
            (SvgOutput::Raster, None) => return Ok(Encoding::Png),
            (_, Some(_)) => {}
        }
    }
    let format = match requested {
        Some(r) => r.format,
        None => output.converted(source, animated)?,
    };
    let lossless = requested.is_some_and(|r| r.lossless);
    Ok(encoding(format, operations, lossless, output))
}

/// `format`, lossy at the spec's quality option for it or the site's
/// quality: what Accept negotiation picks.
pub fn lossy(format: OutputFormat, operations: &[Operation], output: &Output) -> Encoding {
    encoding(format, operations, false, output)
}

/// `format` with the spec's quality options (the last of each kind), else
/// the site's qualities.
fn encoding(format: OutputFormat, operations: &[Operation], lossless: bool, output: &Output) -> Encoding {
    let (mut jpeg, mut webp, mut avif) = (None, None, None);
    for op in operations {
        match op {
            Operation::JpegQuality(q) => jpeg = Some(q.get()),
            Operation::WebpQuality(q) => webp = Some(q.get()),
            Operation::AvifQuality(q) => avif = Some(q.get()),
            _ => {}
        }
    }
    let compression = |quality: Option<u8>, default: u8| {
        if lossless {
            Compression::Lossless
        } else {
            Compression::Lossy(quality.unwrap_or(default))
        }
    };
    match format {
        OutputFormat::Jpeg => Encoding::Jpeg {
            quality: jpeg.unwrap_or(output.jpeg_quality()),
        },
        OutputFormat::Png => Encoding::Png,
        OutputFormat::Gif => Encoding::Gif,
        OutputFormat::Webp => Encoding::Webp(compression(webp, output.webp_quality())),
        OutputFormat::Avif => Encoding::Avif(compression(avif, output.avif_quality())),
        OutputFormat::Ico => Encoding::Ico,
        OutputFormat::Heic => Encoding::Heic(compression(None, output.heic_quality())),
        OutputFormat::Svg => Encoding::Svg,
    }
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
        choose(source, false, &clean.operations, &Output::default())
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
        let on_request = &Output::from(SvgOutput::RasterOnRequest);
        let raster = &Output::from(SvgOutput::Raster);
        assert_eq!(choose(svg, false, &ops("width-10"), on_request), Ok(Encoding::Svg));
        assert_eq!(
            choose(svg, false, &ops("width-10|format-webp|webpquality-50"), on_request),
            Ok(Encoding::Webp(Compression::Lossy(50)))
        );
        assert_eq!(choose(svg, false, &ops("width-10"), raster), Ok(Encoding::Png));
        assert_eq!(
            choose(svg, false, &ops("width-10|format-jpeg"), raster),
            Ok(Encoding::Jpeg { quality: 76 })
        );
        // preserve-svg drops format-* for SVG sources, so it stays SVG on request.
        assert_eq!(
            choose(svg, false, &ops("width-10|format-png|preserve-svg"), on_request),
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
    fn a_sites_settings_and_its_versions_defaults() {
        use SourceFormat::*;
        let chosen = |output: &Output, source, spec: &str| {
            let clean = FilterSpec::parse(spec).unwrap().clean(SourceKind::Raster).unwrap();
            choose(source, false, &clean.operations, output).unwrap()
        };
        let lts: Output = Output {
            version: "7.0".parse().unwrap(),
            ..Output::default()
        };
        assert_eq!(chosen(&lts, Webp, "width-10"), Encoding::Png);
        assert_eq!(chosen(&lts, Avif, "width-10"), Encoding::Png);
        assert_eq!(chosen(&lts, Jpeg, "width-10"), Encoding::Jpeg { quality: 85 });
        assert_eq!(chosen(&lts, Png, "format-avif"), Encoding::Avif(Compression::Lossy(80)));
        assert_eq!(
            chosen(&lts, Webp, "format-webp"),
            Encoding::Webp(Compression::Lossy(80))
        );
        let late_7 = Output {
            version: "7.4.4".parse().unwrap(),
            ..Output::default()
        };
        assert_eq!(chosen(&late_7, Jpeg, "width-10"), Encoding::Jpeg { quality: 76 });
        assert_eq!(chosen(&late_7, Webp, "width-10"), Encoding::Png);
        let site = Output {
            conversions: vec![
                (Webp, OutputFormat::Avif),
                (Gif, OutputFormat::Gif),
                (Png, OutputFormat::Jpeg),
            ],
            jpeg_quality: Some(60),
            avif_quality: Some(50),
            ..Output::default()
        };
        assert_eq!(chosen(&site, Webp, "width-10"), Encoding::Avif(Compression::Lossy(50)));
        assert_eq!(chosen(&site, Gif, "width-10"), Encoding::Gif);
        assert_eq!(chosen(&site, Png, "width-10"), Encoding::Jpeg { quality: 60 });
        assert_eq!(
            chosen(&site, Png, "width-10|format-png"),
            Encoding::Png,
            "format-* wins"
        );
        assert_eq!(chosen(&site, Jpeg, "jpegquality-20"), Encoding::Jpeg { quality: 20 });
        for bad in ["6.3", "7", "7.x", "8.0.1.2", "", "1000.0"] {
            assert!(bad.parse::<WagtailVersion>().is_err(), "{bad}");
        }
        assert_eq!("8.1".parse::<WagtailVersion>().unwrap().to_string(), "8.1");
        assert_eq!(Encoding::Jpeg { quality: 76 }.identity(), "jpeg q76");
        assert_eq!(Encoding::Webp(Compression::Lossless).identity(), "webp lossless");
        assert_eq!(Encoding::Png.identity(), "png");
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
