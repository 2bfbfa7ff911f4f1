//! Pixels: from the bytes of an original to the bytes of a rendition,
//! executing a [`Plan`] without deciding any geometry.
//!
//! [`probe`] reads what the plan needs from the headers alone (format,
//! EXIF-oriented size) and enforces the pixel limit before anything is
//! allocated; an SVG is parsed and sanitized there (see [`crate::svg`]).
//! [`render`] then runs the steps in order for raster originals:
//!
//! 1. **decode**: JPEGs shrink on load (DCT scaling to 1/2, 1/4 or 1/8 while
//!    staying at least twice the output size, or once with
//!    [`ShrinkOnLoad::Fast`]), other formats decode whole;
//! 2. **crop and resize** in one Lanczos3 pass, in stored orientation;
//! 3. **orient** the small result (EXIF orientation, SPEC §3.4);
//! 4. **flatten**: `bgcolor`, white under JPEG, CMYK out of non-JPEG;
//! 5. **encode**, keeping the source's ICC profile.
//!
//! An SVG original is written back as sanitized SVG with Willow's root
//! geometry, or **rasterized** at the planned size and then flattened and
//! encoded like any other.

pub mod animation;
mod bitmap;
mod budget;
pub mod codec;
mod error;
mod flatten;
mod orient;
mod rasterize;
mod resize;
mod sniff;

use std::time::{Duration, Instant};

use image::metadata::Orientation;

use self::animation::Motion;
pub use self::animation::{AnimationLimits, Plays};
pub use self::bitmap::{Bitmap, Layout};
pub use self::budget::{Deadline, memory_cost};
pub use self::codec::jpeg::ShrinkOnLoad;
use self::codec::{avif, heic, image_crate, jpeg, webp};
pub use self::error::PipelineError;
pub use self::sniff::sniff;
use crate::format::{OutputFormat, SourceFormat};
use crate::plan::{self, Encoding, Plan, Size};
use crate::svg::{Document, SvgError, SvgLimits};

/// Wagtail's `WAGTAILIMAGES_MAX_IMAGE_PIXELS` default, used for both limits.
pub const DEFAULT_MAX_PIXELS: u64 = 128_000_000;

/// Bounds on the work one rendition may cause, and how much of it decoding
/// may save.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most pixels an original may have (decompression bomb guard).
    pub max_source_pixels: u64,
    /// Most pixels a rendition may have (upscaling guard).
    pub max_output_pixels: u64,
    /// Bounds on SVG originals.
    pub svg: SvgLimits,
    /// The budget animated GIF and WebP originals are kept animated within;
    /// `None`: only their first frame is read, as in Wagtail.
    pub animation: Option<AnimationLimits>,
    /// How far JPEG originals are shrunk while decoded.
    pub shrink_on_load: ShrinkOnLoad,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_source_pixels: DEFAULT_MAX_PIXELS,
            max_output_pixels: DEFAULT_MAX_PIXELS,
            svg: SvgLimits::default(),
            animation: None,
            shrink_on_load: ShrinkOnLoad::default(),
        }
    }
}

/// What the headers of an original say (for an SVG: the sanitized document).
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Format detected from the bytes.
    pub format: SourceFormat,
    source: Probed,
}

/// What was read, by kind of original.
#[derive(Debug, Clone, PartialEq)]
enum Probed {
    Raster(Header),
    Svg(Box<Document>),
}

/// A raster original's headers.
#[derive(Debug, Clone, PartialEq)]
struct Header {
    width: u32,
    height: u32,
    orientation: Orientation,
    /// How the decoder produces pixels, before any conversion.
    pixels: PixelShape,
    jpeg: Option<jpeg::Header>,
    /// Whether it moves (always still when animation is off).
    motion: Motion,
}

impl Probe {
    /// Bytes a raster probe holds on the heap (its embedded colour profile),
    /// for weighing caches of probes.
    pub fn heap_bytes(&self) -> usize {
        match &self.source {
            Probed::Raster(header) => header.jpeg.as_ref().and_then(|j| j.icc.as_ref()).map_or(0, Vec::len),
            Probed::Svg(_) => 0,
        }
    }

    /// Whether the original is animated and animation is on; `None` when
    /// the bytes probed end before that is known (a head of a large GIF).
    pub fn animated(&self) -> Option<bool> {
        match &self.source {
            Probed::Raster(header) => match header.motion {
                Motion::Still => Some(false),
                Motion::Animated => Some(true),
                Motion::Unknown => None,
            },
            Probed::Svg(_) => Some(false),
        }
    }

    /// The size after EXIF orientation: what Wagtail's transform starts from.
    pub fn oriented_size(&self) -> Size {
        match &self.source {
            Probed::Raster(header) => {
                let (w, h) = orient::oriented_size(header.orientation, header.width, header.height);
                Size::new(f64::from(w), f64::from(h))
            }
            Probed::Svg(document) => document.size(),
        }
    }
}

/// The bytes of a decoded pixel, for the memory a decode needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PixelShape {
    /// As the decoder writes them (16-bit channels count 2).
    bytes_per_pixel: u8,
    /// Channels.
    channels: u8,
    /// Whether one is alpha (the resizer then premultiplies a copy).
    alpha: bool,
}

impl PixelShape {
    fn eight_bit(channels: u8, alpha: bool) -> Self {
        Self {
            bytes_per_pixel: channels,
            channels,
            alpha,
        }
    }
}

/// An encoded rendition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendition {
    /// The encoded bytes.
    pub bytes: Vec<u8>,
    /// Their format.
    pub format: OutputFormat,
    /// Pixel width (of the largest frame, for ICO).
    pub width: u32,
    /// Pixel height (of the largest frame, for ICO).
    pub height: u32,
    /// Where the time went.
    pub stages: Stages,
}

/// The time one render spent in each step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stages {
    /// Decoding the original (zero when its pixels were decoded already).
    pub decode: Duration,
    /// Cropping, resizing, orienting and flattening (rasterizing, for SVG).
    pub resize: Duration,
    /// Encoding.
    pub encode: Duration,
}

/// Runs `step`, adding the time it took to `total`.
fn timed<T>(total: &mut Duration, step: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let done = step();
    *total += started.elapsed();
    done
}

/// Whether originals in `format` can be decoded (TIFF cannot yet).
pub fn reads(format: SourceFormat) -> bool {
    format != SourceFormat::Tiff
}

/// Reads format, size and orientation from the headers, and refuses
/// originals over the pixel limit before any pixel is decoded.
pub fn probe(bytes: &[u8], limits: &Limits) -> Result<Probe, PipelineError> {
    probe_bytes(bytes, limits, true)
}

/// [`probe`] of `bytes`, the whole original or its first bytes.
fn probe_bytes(bytes: &[u8], limits: &Limits, whole: bool) -> Result<Probe, PipelineError> {
    let format = sniff(bytes).ok_or(PipelineError::UnknownFormat)?;
    let undecodable = |e: String| PipelineError::undecodable(format, e);
    let header = match format {
        SourceFormat::Svg => {
            let document = Document::parse(bytes, &svg_limits(limits))?;
            return Ok(Probe {
                format,
                source: Probed::Svg(Box::new(document)),
            });
        }
        SourceFormat::Jpeg => {
            let header = jpeg::read_header(bytes).map_err(undecodable)?;
            Header {
                width: header.width,
                height: header.height,
                orientation: header.orientation,
                pixels: PixelShape::eight_bit(header.layout.channels() as u8, false),
                jpeg: Some(header),
                motion: Motion::Still,
            }
        }
        SourceFormat::Avif => {
            let header = avif::read_header(bytes, limits.max_source_pixels).map_err(undecodable)?;
            Header {
                width: header.width,
                height: header.height,
                orientation: Orientation::NoTransforms,
                // YUV planes at up to 16 bits, then converted to 8-bit RGBA.
                pixels: PixelShape {
                    bytes_per_pixel: 6,
                    channels: 4,
                    alpha: true,
                },
                jpeg: None,
                motion: Motion::Still,
            }
        }
        SourceFormat::Png | SourceFormat::Gif | SourceFormat::Bmp | SourceFormat::Ico | SourceFormat::Webp => {
            let header = image_crate::read_header(bytes, format).map_err(undecodable)?;
            Header {
                width: header.width,
                height: header.height,
                orientation: header.orientation,
                pixels: PixelShape {
                    bytes_per_pixel: header.bytes_per_pixel,
                    channels: header.channels,
                    alpha: header.alpha,
                },
                jpeg: None,
                motion: match limits.animation {
                    Some(_) => animation::motion(bytes, format, whole),
                    None => Motion::Still,
                },
            }
        }
        SourceFormat::Heic => {
            let header = heic::read_header(bytes).map_err(undecodable)?;
            Header {
                width: header.width,
                height: header.height,
                // libheif applies the file's own rotation and mirroring.
                orientation: Orientation::NoTransforms,
                // HEVC planes at up to 16 bits, then libheif's RGB(A).
                pixels: PixelShape {
                    bytes_per_pixel: 10,
                    channels: if header.alpha { 4 } else { 3 },
                    alpha: header.alpha,
                },
                jpeg: None,
                motion: Motion::Still,
            }
        }
        SourceFormat::Tiff => {
            return Err(PipelineError::UnsupportedSource(format));
        }
    };
    let pixels = u64::from(header.width) * u64::from(header.height);
    if pixels > limits.max_source_pixels || pixels == 0 {
        return Err(PipelineError::SourceTooLarge {
            width: header.width,
            height: header.height,
            limit: limits.max_source_pixels,
        });
    }
    Ok(Probe {
        format,
        source: Probed::Raster(header),
    })
}

/// What the first bytes of an original tell (a ranged read of its head,
/// `whole` when that is all of it): the probe of a raster original whose
/// headers they hold, `None` when the headers lie beyond them or the
/// original is an SVG (which is probed whole). An original over the pixel
/// limit is refused here already.
pub fn probe_head(head: &[u8], whole: bool, limits: &Limits) -> Result<Option<Probe>, PipelineError> {
    if sniff(head) == Some(SourceFormat::Svg) {
        return Ok(None);
    }
    match probe_bytes(head, limits, whole) {
        Ok(probe) => Ok(Some(probe)),
        Err(PipelineError::Undecodable { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The SVG limits with embedded rasters held to the limit of raster originals.
fn svg_limits(limits: &Limits) -> SvgLimits {
    SvgLimits {
        max_image_pixels: limits.max_source_pixels,
        ..limits.svg
    }
}

/// Renders `plan` from the original `bytes` that `probe` describes.
pub fn render(bytes: &[u8], probe: &Probe, plan: &Plan, limits: &Limits) -> Result<Rendition, PipelineError> {
    render_until(bytes, probe, plan, limits, &Deadline::none())
}

/// [`render`], stopping with [`PipelineError::TimedOut`] at the first check
/// after `deadline`.
pub fn render_until(
    bytes: &[u8],
    probe: &Probe,
    plan: &Plan,
    limits: &Limits,
    deadline: &Deadline,
) -> Result<Rendition, PipelineError> {
    deadline.check()?;
    let (width, height) = pixel_size(probe, plan, limits)?;
    let header = match &probe.source {
        Probed::Raster(header) => header,
        Probed::Svg(document) => return render_vector(document, plan, (width, height), limits, deadline),
    };
    if let Some(budget) = animation_budget(header, plan, limits)
        && let Some(rendition) =
            animation::render(bytes, probe.format, header, plan, (width, height), budget, deadline)?
    {
        return Ok(rendition);
    }
    let mut stages = Stages::default();
    let decoded = timed(&mut stages.decode, || {
        decode(bytes, probe.format, header, shrink_for(header, plan, limits), limits)
    })?;
    deadline.check()?;
    let resized = timed(&mut stages.resize, || {
        crop_resize(&decoded, header, plan, (width, height))
    })?;
    // The decoded pixels are the largest buffer: gone before encoding.
    let Decoded { icc, .. } = decoded;
    finish(resized, header, plan, icc.as_deref(), deadline, stages)
}

/// The shrink-on-load factor `plan` needs of the raster original `probe`
/// describes (1 but for JPEG), once the rendition is known to be one
/// renditiond can make; `None` for an SVG original, which is not decoded,
/// and for an animation kept animated, which is decoded a frame at a time.
pub fn shrink(probe: &Probe, plan: &Plan, limits: &Limits) -> Result<Option<u32>, PipelineError> {
    pixel_size(probe, plan, limits)?;
    Ok(match &probe.source {
        Probed::Raster(header) if animation_budget(header, plan, limits).is_none() => {
            Some(shrink_for(header, plan, limits))
        }
        Probed::Raster(_) | Probed::Svg(_) => None,
    })
}

/// The animation budget, when the original is animated, animation is on
/// and the plan's format can hold an animation.
fn animation_budget<'a>(header: &Header, plan: &Plan, limits: &'a Limits) -> Option<&'a AnimationLimits> {
    let budget = limits.animation.as_ref()?;
    (header.motion == Motion::Animated && plan.encoding.animates()).then_some(budget)
}

/// Decodes the raster original `probe` describes, shrunk on load by
/// `shrink` (from [`shrink`]), for [`render_decoded`] to use with every
/// plan of that factor.
pub fn decode_original(bytes: &[u8], probe: &Probe, shrink: u32, limits: &Limits) -> Result<Decoded, PipelineError> {
    match &probe.source {
        Probed::Raster(header) => decode(bytes, probe.format, header, shrink, limits),
        Probed::Svg(_) => Err(PipelineError::UnsupportedSource(probe.format)),
    }
}

/// Renders `plan` from pixels [`decode_original`] made of the original
/// `probe` describes, at the factor the plan needs or a smaller one. At the
/// factor [`shrink`] gives, the pixels are the same as [`render_until`]'s
/// from the original's bytes.
pub fn render_decoded(
    decoded: &Decoded,
    probe: &Probe,
    plan: &Plan,
    limits: &Limits,
    deadline: &Deadline,
) -> Result<Rendition, PipelineError> {
    deadline.check()?;
    let size = pixel_size(probe, plan, limits)?;
    let Probed::Raster(header) = &probe.source else {
        return Err(PipelineError::UnsupportedSource(probe.format));
    };
    // Pixels shrunk less than the plan allows serve it too (resized more).
    let needs = shrink_for(header, plan, limits);
    if decoded.shrink > needs {
        return Err(PipelineError::Resize(format!(
            "pixels shrunk 1/{} on load for a plan that needs 1/{needs}",
            decoded.shrink
        )));
    }
    let mut stages = Stages::default();
    let resized = timed(&mut stages.resize, || crop_resize(decoded, header, plan, size))?;
    finish(resized, header, plan, decoded.icc.as_deref(), deadline, stages)
}

/// The rendition's pixel size, once it is known to be one renditiond can
/// make within `limits`.
fn pixel_size(probe: &Probe, plan: &Plan, limits: &Limits) -> Result<(u32, u32), PipelineError> {
    let format = plan.format();
    if let (Probed::Svg(_), Encoding::Svg) = (&probe.source, plan.encoding) {
        return Ok((plan.size.width.ceil() as u32, plan.size.height.ceil() as u32));
    }
    let (width, height) = plan.pixel_size().ok_or(PipelineError::UnsupportedOutput(format))?;
    if u64::from(width) * u64::from(height) > limits.max_output_pixels {
        return Err(PipelineError::OutputTooLarge {
            width,
            height,
            limit: limits.max_output_pixels,
        });
    }
    if format == OutputFormat::Svg || (format == OutputFormat::Heic && !heic::can_encode()) {
        return Err(PipelineError::UnsupportedOutput(format));
    }
    Ok((width, height))
}

/// An SVG original's rendition: sanitized SVG, or rasterized.
fn render_vector(
    document: &Document,
    plan: &Plan,
    (width, height): (u32, u32),
    limits: &Limits,
    deadline: &Deadline,
) -> Result<Rendition, PipelineError> {
    let format = plan.format();
    if plan.encoding == Encoding::Svg {
        return Ok(Rendition {
            bytes: document.rendition(plan).into_bytes(),
            format,
            width,
            height,
            stages: Stages::default(),
        });
    }
    let mut stages = Stages::default();
    let started = Instant::now();
    let pixels = rasterize::rasterize(&document.rendition(plan), width, height, &svg_limits(limits), &|| {
        deadline.passed()
    })
    .map_err(|e| match e {
        rasterize::RasterError::TooCostly(reason) => PipelineError::Svg(SvgError::TooCostly(reason)),
        rasterize::RasterError::Stopped => PipelineError::TimedOut,
        rasterize::RasterError::Failed(reason) => PipelineError::undecodable(SourceFormat::Svg, reason),
    })?;
    let flat = flatten::flatten(pixels, None, plan.background, format);
    stages.resize = started.elapsed();
    let mut rendition = timed(&mut stages.encode, || encode(flat, plan.encoding, None))?;
    rendition.stages = stages;
    Ok(rendition)
}

/// The plan's crop of decoded pixels, resized to its output size (still in
/// stored orientation).
fn crop_resize(
    decoded: &Decoded,
    header: &Header,
    plan: &Plan,
    (width, height): (u32, u32),
) -> Result<Bitmap, PipelineError> {
    let (region, (stored_w, stored_h)) = stored_geometry(header, plan, width, height);
    // Decoded pixel i covers stored pixels i*shrink .. (i+1)*shrink.
    let scaled = region.map(|v| v / f64::from(decoded.shrink));
    resize::crop_resize(&decoded.bitmap, scaled, stored_w, stored_h)
}

/// Orients, flattens and encodes resized pixels.
fn finish(
    resized: Bitmap,
    header: &Header,
    plan: &Plan,
    icc: Option<&[u8]>,
    deadline: &Deadline,
    mut stages: Stages,
) -> Result<Rendition, PipelineError> {
    deadline.check()?;
    let flat = timed(&mut stages.resize, || {
        let oriented = orient::apply(header.orientation, resized);
        flatten::flatten(oriented, icc, plan.background, plan.format())
    });
    deadline.check()?;
    let mut rendition = timed(&mut stages.encode, || encode(flat, plan.encoding, icc))?;
    rendition.stages = stages;
    // A render that ended past its deadline took longer than it may, however
    // fast its stages were before it: the answer does not depend on which
    // stage the deadline fell in.
    deadline.check()?;
    Ok(rendition)
}

/// The stored region of `header`'s pixels that `plan` crops, and the
/// output size in stored orientation.
fn stored_geometry(header: &Header, plan: &Plan, width: u32, height: u32) -> ([f64; 4], (u32, u32)) {
    let crop = plan.crop.to_array().map(|c| c as f64);
    let region = orient::stored_rect(
        header.orientation,
        crop,
        f64::from(header.width),
        f64::from(header.height),
    );
    (region, orient::oriented_size(header.orientation, width, height))
}

/// The shrink-on-load denominator a JPEG original is decoded with for `plan`
/// under `limits` (1 for other formats).
fn shrink_for(header: &Header, plan: &Plan, limits: &Limits) -> u32 {
    match (&header.jpeg, plan.pixel_size()) {
        (Some(_), Some((width, height))) => {
            let (region, output) = stored_geometry(header, plan, width, height);
            let region = (region[2] - region[0], region[3] - region[1]);
            jpeg::shrink_denominator(region, output, limits.shrink_on_load)
        }
        _ => 1,
    }
}

/// Decoded pixels, their colour profile, and how much they were shrunk on load.
#[derive(Debug)]
pub struct Decoded {
    bitmap: Bitmap,
    icc: Option<Vec<u8>>,
    shrink: u32,
}

impl Decoded {
    /// Bytes these pixels and their profile hold, for weighing caches.
    pub fn heap_bytes(&self) -> usize {
        self.bitmap.pixels().len() + self.icc.as_ref().map_or(0, Vec::len)
    }
}

/// Decodes, shrinking JPEGs on load by `shrink` (from [`shrink_for`]).
fn decode(
    bytes: &[u8],
    format: SourceFormat,
    header: &Header,
    shrink: u32,
    limits: &Limits,
) -> Result<Decoded, PipelineError> {
    let undecodable = |e: String| PipelineError::undecodable(format, e);
    let whole = |(bitmap, icc)| Decoded { bitmap, icc, shrink: 1 };
    match (&header.jpeg, format) {
        (Some(header), _) => {
            let bitmap = jpeg::decode(bytes, header, shrink).map_err(undecodable)?;
            Ok(Decoded {
                bitmap,
                icc: header.icc.clone(),
                shrink,
            })
        }
        (None, SourceFormat::Avif) => avif::decode(bytes, limits.max_source_pixels)
            .map(whole)
            .map_err(undecodable),
        (None, SourceFormat::Heic) => heic::decode(bytes, limits.max_source_pixels)
            .map(whole)
            .map_err(undecodable),
        (None, _) => image_crate::decode(bytes, format, limits.max_source_pixels)
            .map(whole)
            .map_err(undecodable),
    }
}

/// Encodes flattened pixels as the plan asks.
fn encode(bitmap: Bitmap, encoding: Encoding, icc: Option<&[u8]>) -> Result<Rendition, PipelineError> {
    let format = encoding.format();
    let bitmap = match encoding {
        Encoding::Webp(_) | Encoding::Avif(_) | Encoding::Heic(_) => to_rgb_or_rgba(bitmap),
        Encoding::Jpeg { .. } if bitmap.layout().has_alpha() => bitmap.into_layout(Layout::Rgb),
        _ => bitmap,
    };
    let icc = icc.filter(|profile| codec::icc::describes(profile, bitmap.layout()));
    let (mut width, mut height) = (bitmap.width(), bitmap.height());
    let failed = |e: String| PipelineError::encode(format, e);
    let bytes = match encoding {
        Encoding::Jpeg { quality } => jpeg::encode(&bitmap, quality, icc).map_err(failed)?,
        Encoding::Png => image_crate::encode_png(&bitmap, icc).map_err(failed)?,
        Encoding::Gif => image_crate::encode_gif(&bitmap).map_err(failed)?,
        Encoding::Webp(compression) => webp::encode(&bitmap, compression, icc).map_err(failed)?,
        Encoding::Avif(compression) => avif::encode(&bitmap, compression, icc).map_err(failed)?,
        Encoding::Ico => {
            let sizes = plan::ico_frames(width, height).map_err(|e| failed(e.to_string()))?;
            let full = [0.0, 0.0, f64::from(width), f64::from(height)];
            let frames = sizes
                .iter()
                .map(|&(w, h)| resize::crop_resize(&bitmap, full, w, h))
                .collect::<Result<Vec<_>, _>>()?;
            (width, height) = sizes.last().copied().unwrap_or((width, height));
            image_crate::encode_ico(&frames).map_err(failed)?
        }
        Encoding::Heic(compression) => heic::encode(&bitmap, compression, icc).map_err(failed)?,
        Encoding::Svg => return Err(PipelineError::UnsupportedOutput(format)),
    };
    Ok(Rendition {
        bytes,
        format,
        width,
        height,
        stages: Stages::default(),
    })
}

/// Grey becomes RGB(A), for encoders that only take colour.
fn to_rgb_or_rgba(bitmap: Bitmap) -> Bitmap {
    match bitmap.layout() {
        Layout::Gray => bitmap.into_layout(Layout::Rgb),
        Layout::GrayAlpha => bitmap.into_layout(Layout::Rgba),
        Layout::Rgb | Layout::Rgba | Layout::Cmyk => bitmap,
    }
}
