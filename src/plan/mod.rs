//! The plan: pure geometry and output choices, no pixels and no I/O.
//!
//! [`plan`] turns a source (its decoded, EXIF-oriented size, its format and
//! its focal point) and a [`FilterSpec`] into everything Wagtail would decide
//! before touching pixels: the crop rectangle in source pixels, the output
//! size, the encoding, the background colour and the focal point key. It
//! reproduces Wagtail's transform arithmetic in the same order (SPEC §2.3),
//! so the crop is the one Wagtail really applies, one-pixel float effects
//! included.

mod fill;
mod focal_point;
mod negotiate;
mod output;
mod rect;
mod rendition_name;
mod transform;

use thiserror::Error;

pub use self::focal_point::{Coordinate, FocalPoint, FocalPointError, SPEC_FOCAL_PREFIX, split_spec_focal_point};
pub use self::negotiate::{Accept, NEGOTIABLE, Negotiated};
pub use self::output::{
    Compression, DEFAULT_AVIF_QUALITY, DEFAULT_HEIC_QUALITY, DEFAULT_JPEG_QUALITY, DEFAULT_WEBP_QUALITY, Encoding,
    Output, SvgOutput, WagtailVersion, ico_frames,
};
pub use self::rect::Rect;
pub use self::rendition_name::rendition_path;
pub use self::transform::Size;
use self::transform::{Fit, ImageTransform};
use crate::format::{OutputFormat, SourceFormat};
use crate::spec::{FilterSpec, Operation, Rgb, SourceKind, SpecError};

/// What the plan needs to know about an original.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// Size after EXIF orientation (whole pixels, except for SVG).
    pub size: Size,
    /// Format detected from the bytes.
    pub format: SourceFormat,
    /// The focal point, in Wagtail's database form.
    pub focal_point: Option<FocalPoint>,
    /// Whether it is an animated GIF or WebP.
    pub animated: bool,
}

/// A rectangle of whole source pixels, right and bottom exclusive. Inside
/// the image for raster sources; for SVG sources it is Wagtail's unclamped
/// rectangle, which float effects can push a pixel outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropRect {
    /// Left edge.
    pub left: i64,
    /// Top edge.
    pub top: i64,
    /// Right edge (exclusive).
    pub right: i64,
    /// Bottom edge (exclusive).
    pub bottom: i64,
}

impl CropRect {
    /// Width in pixels.
    pub fn width(&self) -> i64 {
        self.right - self.left
    }

    /// Height in pixels.
    pub fn height(&self) -> i64 {
        self.bottom - self.top
    }

    /// `[left, top, right, bottom]`.
    pub fn to_array(self) -> [i64; 4] {
        [self.left, self.top, self.right, self.bottom]
    }
}

/// Everything decided about a rendition before any pixel is touched.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The spec after `preserve-svg` cleaning: what Wagtail names and caches by.
    pub spec: String,
    /// The region of the source to crop (clamped to the image for raster sources).
    pub crop: CropRect,
    /// Output size (whole pixels, except for SVG output).
    pub size: Size,
    /// Whether an operation set the size (Wagtail then holds it as
    /// integers, which shows in an SVG's `width` and `height`).
    pub sized_by_operation: bool,
    /// Output format and encoder settings.
    pub encoding: Encoding,
    /// Colour to flatten transparency onto, from `bgcolor`.
    pub background: Option<Rgb>,
    /// Wagtail's focal point key (`""` without `fill`).
    pub focal_point_key: String,
}

impl Plan {
    /// The output size in whole pixels (raster outputs).
    pub fn pixel_size(&self) -> Option<(u32, u32)> {
        Some((whole(self.size.width)?, whole(self.size.height)?))
    }

    /// Whether pixels are resampled (the crop differs from the output size).
    pub fn resamples(&self) -> bool {
        self.pixel_size().map(|(w, h)| (i64::from(w), i64::from(h))) != Some((self.crop.width(), self.crop.height()))
    }

    /// The output format.
    pub fn format(&self) -> OutputFormat {
        self.encoding.format()
    }

    /// Wagtail's storage path for this rendition of `original_filename`.
    pub fn wagtail_rendition_path(&self, original_filename: &str) -> Option<String> {
        rendition_path(original_filename, &self.spec, &self.focal_point_key, self.format())
    }
}

/// Why no plan can be made for this spec and source.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The spec itself is invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// `format-*` asks to rasterise an SVG (Wagtail: 400).
    #[error("format-{0} is not supported for SVG images; add preserve-svg to keep them as SVG")]
    FormatOnSvg(OutputFormat),
    /// `bgcolor` on an SVG (Wagtail crashes).
    #[error("bgcolor is not supported for SVG images; add preserve-svg to skip it")]
    BackgroundOnSvg,
    /// The source format has no default output format (Wagtail crashes).
    #[error("{0} images need a format-* operation to choose an output format")]
    NoOutputFormat(SourceFormat),
    /// Wagtail's arithmetic breaks down for this spec on this image (Wagtail crashes).
    #[error("the spec cannot be applied to this image: {0}")]
    Degenerate(&'static str),
    /// The output would be larger than any image can be.
    #[error("the output size {width}x{height} is too large")]
    OutputTooLarge {
        /// Requested width.
        width: f64,
        /// Requested height.
        height: f64,
    },
}

/// What the original of an image says its size is, once EXIF-oriented.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SourceSize {
    /// Its headers give this size, orientation applied, and whether it is
    /// animated (an animated GIF or WebP, with animation on).
    Oriented(Size, bool),
    /// There is no such file.
    Missing,
    /// Its headers do not tell (SVG), or it could not be read: the size
    /// Wagtail recorded is used.
    Recorded,
}

/// What a rendition will be, known from the source format alone, before any
/// pixel is read: enough to name and identify it in caches.
#[derive(Debug, Clone, PartialEq)]
pub struct Outline {
    /// The spec as cleaned for this kind of source (Wagtail's stored spec).
    pub spec: String,
    /// The output format.
    pub format: OutputFormat,
    /// The output format with its encoder settings.
    pub encoding: Encoding,
    /// Wagtail's focal point key (`""` without `fill`).
    pub focal_point_key: String,
    /// Whether the encoding was negotiated from `Accept` (another client
    /// may get another one).
    pub varies: bool,
    /// Whether the rendition keeps the original's animation.
    pub animated: bool,
}

/// Outlines the rendition of a `format` source (`animated` or not) with
/// `focal` described by `spec`, for a client that sent `accept`; every
/// error it reports, [`plan`] reports too. A rendition that keeps an
/// animation is not negotiated (the formats negotiated hold none).
pub fn outline(
    format: SourceFormat,
    animated: bool,
    spec: &FilterSpec,
    focal: Option<&FocalPoint>,
    output: &Output,
    accept: &Accept,
) -> Result<Outline, PlanError> {
    let kind = if format == SourceFormat::Svg {
        SourceKind::Svg
    } else {
        SourceKind::Raster
    };
    let clean = spec.clean(kind)?;
    let default = output::choose(format, animated, &clean.operations, output)?;
    let animated = animated && output.animation && default.animates();
    let Negotiated { encoding, varies } = if animated {
        Negotiated {
            encoding: default,
            varies: false,
        }
    } else {
        negotiate::negotiate(default, &clean.operations, accept, output)
    };
    Ok(Outline {
        focal_point_key: focal_point::vary_key(&clean.operations, focal),
        spec: clean.text,
        format: encoding.format(),
        encoding,
        varies,
        animated,
    })
}

/// Plans the rendition of `source` described by `spec` under the site's
/// `output` settings.
pub fn plan(source: &Source, spec: &FilterSpec, output: &Output) -> Result<Plan, PlanError> {
    let is_svg = source.format == SourceFormat::Svg;
    let kind = if is_svg { SourceKind::Svg } else { SourceKind::Raster };
    let clean = spec.clean(kind)?;
    let focal = source.focal_point.as_ref().map(FocalPoint::rect);

    let mut t = ImageTransform::new(source.size, is_svg)?;
    for op in &clean.operations {
        t = match *op {
            Operation::Fill(f) => fill::fill(t, f, focal.as_ref())?,
            Operation::Max(b) => transform::fit(t, b, Fit::Inside)?,
            Operation::Min(b) => transform::fit(t, b, Fit::Cover)?,
            Operation::Width(n) => transform::width(t, n)?,
            Operation::Height(n) => transform::height(t, n)?,
            Operation::Scale(p) => transform::scale(t, p)?,
            _ => t,
        };
    }
    let rect = t.source_rect().round_outwards();
    let crop = if is_svg {
        to_crop(&rect)?
    } else {
        clamp_crop(&rect, source.size)?
    };
    let encoding = output::choose(source.format, source.animated, &clean.operations, output)?;
    let background = output::background(&clean.operations);
    let size = if encoding == Encoding::Svg {
        if background.is_some() {
            return Err(PlanError::BackgroundOnSvg);
        }
        t.size
    } else {
        // A rasterized SVG gets the nearest whole size.
        let pixels = Size::new(t.size.width.round().max(1.0), t.size.height.round().max(1.0));
        if whole(pixels.width).is_none() || whole(pixels.height).is_none() {
            return Err(PlanError::OutputTooLarge {
                width: t.size.width,
                height: t.size.height,
            });
        }
        pixels
    };
    let focal_point_key = focal_point::vary_key(&clean.operations, source.focal_point.as_ref());
    Ok(Plan {
        spec: clean.text,
        crop,
        size,
        sized_by_operation: t.sized_by_operation(),
        encoding,
        background,
        focal_point_key,
    })
}

/// Willow's Pillow crop: refuse a rectangle outside the image, else clamp it.
fn clamp_crop(rect: &Rect, size: Size) -> Result<CropRect, PlanError> {
    let (w, h) = (size.width, size.height);
    if rect.left >= rect.right
        || rect.left >= w
        || rect.right <= 0.0
        || rect.top >= rect.bottom
        || rect.top >= h
        || rect.bottom <= 0.0
    {
        return Err(PlanError::Degenerate("the crop lies outside the image"));
    }
    to_crop(&Rect::new(
        rect.left.max(0.0),
        rect.top.max(0.0),
        rect.right.min(w),
        rect.bottom.min(h),
    ))
}

fn to_crop(rect: &Rect) -> Result<CropRect, PlanError> {
    let side = |v: f64| {
        // Whole already (rounded outwards); beyond ±2^53 it is no real image.
        (v.abs() < 9e15).then_some(v as i64).ok_or(PlanError::OutputTooLarge {
            width: rect.width(),
            height: rect.height(),
        })
    };
    Ok(CropRect {
        left: side(rect.left)?,
        top: side(rect.top)?,
        right: side(rect.right)?,
        bottom: side(rect.bottom)?,
    })
}

/// `value` as a whole number of pixels, if it is one that fits in a `u32`.
fn whole(value: f64) -> Option<u32> {
    (value.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&value)).then_some(value as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raster(w: f64, h: f64, focal: Option<FocalPoint>, spec: &str) -> Result<Plan, PlanError> {
        let source = Source {
            size: Size::new(w, h),
            format: SourceFormat::Png,
            focal_point: focal,
            animated: false,
        };
        plan(&source, &FilterSpec::parse(spec)?, &Output::default())
    }

    #[test]
    fn chained_operations_use_the_original_focal_point() {
        // SPEC §2.3, consequence 3.
        let fp = Some(FocalPoint::new(900, 500, 50, 50));
        let chained = raster(1000.0, 1000.0, fp, "width-500|fill-100x100-c100").unwrap();
        assert_eq!(chained.crop.to_array(), [800, 800, 1000, 1000]);
        let alone = raster(1000.0, 1000.0, fp, "fill-100x100-c100").unwrap();
        assert_eq!(alone.crop.to_array(), [825, 450, 925, 550]);
    }

    #[test]
    fn crops_are_clamped_like_willow() {
        // SPEC §2.3, consequence 2: raw 0,90,540,631.
        let p = raster(539.0, 720.0, None, "fill-200x200|height-150").unwrap();
        assert_eq!(p.crop.to_array(), [0, 90, 539, 631]);
        assert_eq!(p.pixel_size(), Some((150, 150)));
        assert!(p.resamples());
    }

    #[test]
    fn plan_carries_output_choices() {
        let p = raster(640.0, 480.0, None, "fill-300x200|bgcolor-fff|format-jpeg").unwrap();
        assert_eq!(p.encoding, Encoding::Jpeg { quality: 76 });
        assert_eq!(p.background, Some(Rgb([255, 255, 255])));
        assert_eq!(p.focal_point_key, "2e16d0ba");
        assert_eq!(p.format(), OutputFormat::Jpeg);
        assert_eq!(
            p.wagtail_rendition_path("original_images/cat.png").as_deref(),
            Some("images/cat.2e16d0ba.fill-300x200.bgcolor-fff.format-jpeg.jpg")
        );
        let same = raster(640.0, 480.0, None, "original").unwrap();
        assert!(!same.resamples());
    }

    #[test]
    fn refuses_what_wagtail_crashes_on() {
        assert!(matches!(
            raster(640.0, 480.0, None, "scale-1e300"),
            Err(PlanError::OutputTooLarge { .. })
        ));
        assert!(matches!(
            raster(640.0, 480.0, None, "fill-0x0"),
            Err(PlanError::Spec(_))
        ));
        let svg = Source {
            size: Size::new(100.0, 100.0),
            format: SourceFormat::Svg,
            focal_point: None,
            animated: false,
        };
        let spec = FilterSpec::parse("fill-50x50|bgcolor-fff").unwrap();
        assert_eq!(plan(&svg, &spec, &Output::default()), Err(PlanError::BackgroundOnSvg));
    }

    #[test]
    fn svg_sizes_may_be_fractional() {
        let svg = Source {
            size: Size::new(100.5, 50.25),
            format: SourceFormat::Svg,
            focal_point: None,
            animated: false,
        };
        let p = plan(&svg, &FilterSpec::parse("original").unwrap(), &Output::default()).unwrap();
        assert_eq!(p.crop.to_array(), [0, 0, 101, 51]);
        assert_eq!(p.size, Size::new(100.5, 50.25));
        assert!(!p.sized_by_operation);
        assert_eq!(p.pixel_size(), None);
        assert_eq!(p.encoding, Encoding::Svg);
    }

    #[test]
    fn rasterized_svgs_get_whole_sizes_and_may_flatten() {
        let svg = Source {
            size: Size::new(100.5, 50.25),
            format: SourceFormat::Svg,
            focal_point: None,
            animated: false,
        };
        let spec = FilterSpec::parse("original|format-jpeg|bgcolor-000").unwrap();
        let p = plan(&svg, &spec, &Output::from(SvgOutput::RasterOnRequest)).unwrap();
        assert_eq!(p.pixel_size(), Some((101, 50)));
        assert_eq!(p.background, Some(Rgb([0, 0, 0])));
        assert_eq!(p.format(), OutputFormat::Jpeg);
        let resized = plan(
            &svg,
            &FilterSpec::parse("width-50").unwrap(),
            &Output::from(SvgOutput::Raster),
        )
        .unwrap();
        assert!(resized.sized_by_operation);
        assert_eq!(
            (resized.pixel_size(), resized.format()),
            (Some((50, 25)), OutputFormat::Png)
        );
    }
}
