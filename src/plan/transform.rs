//! Wagtail's `ImageTransform` and the resizing operations that drive it
//! (SPEC §2.2–2.3): every transform operation edits one accumulated
//! scale/offset, and the pixels are cropped and resized once at the end.
//!
//! The arithmetic is IEEE double in Wagtail's order, so the one-pixel float
//! effects come out as in Wagtail. Sizes are doubles too: integral for raster
//! sources, possibly fractional for SVG. Integers are exact up to 2^53.

use super::PlanError;
use super::rect::Rect;
use crate::spec::BoxSize;

/// A width and height in pixels (integral for raster images).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size {
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

impl Size {
    /// A size from its sides.
    pub const fn new(width: f64, height: f64) -> Self {
        Self { width, height }
    }
}

/// The accumulated crop and resize of every transform operation so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageTransform {
    /// The output size so far.
    pub size: Size,
    scale: (f64, f64),
    offset: (f64, f64),
    fractional: bool,
    sized: bool,
}

impl ImageTransform {
    /// The identity transform of an image of `size`; `fractional` allows
    /// non-integer sizes (SVG sources).
    pub fn new(size: Size, fractional: bool) -> Result<Self, PlanError> {
        check_size(size, fractional)?;
        Ok(Self {
            size,
            scale: (1.0, 1.0),
            offset: (0.0, 0.0),
            fractional,
            sized: false,
        })
    }

    /// Stretches the transform so that the output becomes `size`.
    pub fn resize(&self, size: Size) -> Result<Self, PlanError> {
        check_size(size, self.fractional)?;
        Ok(Self {
            size,
            scale: (
                self.scale.0 * size.width / self.size.width,
                self.scale.1 * size.height / self.size.height,
            ),
            sized: true,
            ..*self
        })
    }

    /// Crops to `rect`, given in the current output coordinates.
    pub fn crop(&self, rect: &Rect) -> Result<Self, PlanError> {
        let size = Size::new(rect.width(), rect.height());
        check_size(size, self.fractional)?;
        Ok(Self {
            size,
            offset: (
                self.offset.0 - rect.left / self.scale.0,
                self.offset.1 - rect.top / self.scale.1,
            ),
            sized: true,
            ..*self
        })
    }

    /// Whether an operation cropped or resized: Wagtail then holds the
    /// size as integers (it matters for how an SVG writes it).
    pub fn sized_by_operation(&self) -> bool {
        self.sized
    }

    /// The region of the source image the output comes from (`get_rect`).
    pub fn source_rect(&self) -> Rect {
        Rect::new(
            -self.offset.0,
            -self.offset.1,
            -self.offset.0 + self.size.width / self.scale.0,
            -self.offset.1 + self.size.height / self.scale.1,
        )
    }
}

/// Wagtail's `_check_size`: both sides at least 1, integral unless allowed.
fn check_size(size: Size, fractional: bool) -> Result<(), PlanError> {
    let Size { width, height } = size;
    if !(width.is_finite() && height.is_finite()) {
        return Err(PlanError::OutputTooLarge { width, height });
    }
    if !fractional && (width.fract() != 0.0 || height.fract() != 0.0) {
        return Err(PlanError::Degenerate("image size must be whole pixels"));
    }
    if width < 1.0 || height < 1.0 {
        return Err(PlanError::Degenerate("image width and height must be at least 1"));
    }
    Ok(())
}

/// Python's `int()` of a positive double: truncation, failing on infinity.
fn trunc(value: f64) -> Result<f64, PlanError> {
    if value.is_finite() {
        Ok(value.trunc())
    } else {
        Err(PlanError::OutputTooLarge {
            width: value,
            height: value,
        })
    }
}

/// Sizes of zero become one pixel, as in every resizing operation.
fn at_least_one(width: f64, height: f64) -> Size {
    Size::new(
        if width > 0.0 { width } else { 1.0 },
        if height > 0.0 { height } else { 1.0 },
    )
}

/// How `max` and `min` relate the image to their box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// `max-WxH`: fit inside the box.
    Inside,
    /// `min-WxH`: cover the box.
    Cover,
}

/// `max-WxH` and `min-WxH` (Wagtail's `MinMaxOperation`), never enlarging.
pub fn fit(t: ImageTransform, b: BoxSize, fit: Fit) -> Result<ImageTransform, PlanError> {
    let (iw, ih) = (t.size.width, t.size.height);
    let (bw, bh) = (b.width as f64, b.height as f64);
    let horz = bw / iw;
    let vert = bh / ih;
    let (unchanged, by_width) = match fit {
        Fit::Inside => (iw <= bw && ih <= bh, horz < vert),
        Fit::Cover => (iw <= bw || ih <= bh, horz > vert),
    };
    if unchanged {
        return Ok(t);
    }
    let (w, h) = if by_width {
        (bw, trunc(ih * horz)?)
    } else {
        (trunc(iw * vert)?, bh)
    };
    t.resize(at_least_one(w, h))
}

/// `width-N`: at most N wide.
pub fn width(t: ImageTransform, n: u64) -> Result<ImageTransform, PlanError> {
    let (iw, ih) = (t.size.width, t.size.height);
    let n = n as f64;
    if iw <= n {
        return Ok(t);
    }
    let s = n / iw;
    t.resize(at_least_one(n, trunc(ih * s)?))
}

/// `height-N`: at most N high.
pub fn height(t: ImageTransform, n: u64) -> Result<ImageTransform, PlanError> {
    let (iw, ih) = (t.size.width, t.size.height);
    let n = n as f64;
    if ih <= n {
        return Ok(t);
    }
    let s = n / ih;
    t.resize(at_least_one(trunc(iw * s)?, n))
}

/// `scale-P`: P percent, enlarging too.
pub fn scale(t: ImageTransform, percent: f64) -> Result<ImageTransform, PlanError> {
    let s = percent / 100.0;
    let w = trunc(t.size.width * s)?;
    let h = trunc(t.size.height * s)?;
    t.resize(at_least_one(w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(w: f64, h: f64) -> ImageTransform {
        ImageTransform::new(Size::new(w, h), false).unwrap()
    }

    fn bx(width: u64, height: u64) -> BoxSize {
        BoxSize { width, height }
    }

    #[test]
    fn resizing_operations_match_wagtail_tests() {
        let rows: [(ImageTransform, (f64, f64)); 10] = [
            (
                fit(start(1000.0, 1000.0), bx(800, 600), Fit::Cover).unwrap(),
                (800.0, 800.0),
            ),
            (
                fit(start(1000.0, 1000.0), bx(800, 600), Fit::Inside).unwrap(),
                (600.0, 600.0),
            ),
            (
                fit(start(1000.0, 1.0), bx(400, 400), Fit::Inside).unwrap(),
                (400.0, 1.0),
            ),
            (scale(start(1000.0, 500.0), 83.0322).unwrap(), (830.0, 415.0)),
            (
                fit(start(640.0, 480.0), bx(120, 120), Fit::Cover).unwrap(),
                (160.0, 120.0),
            ),
            (
                fit(start(640.0, 480.0), bx(100, 100), Fit::Inside).unwrap(),
                (100.0, 75.0),
            ),
            (scale(start(640.0, 480.0), 150.0).unwrap(), (960.0, 720.0)),
            (fit(start(640.0, 480.0), bx(0, 0), Fit::Inside).unwrap(), (1.0, 1.0)),
            (width(start(640.0, 480.0), 0).unwrap(), (1.0, 1.0)),
            (height(start(640.0, 480.0), 5000).unwrap(), (640.0, 480.0)),
        ];
        for (i, (t, (w, h))) in rows.iter().enumerate() {
            assert_eq!((t.size.width, t.size.height), (*w, *h), "row {i}");
        }
    }

    #[test]
    fn crop_then_resize_maps_back_to_the_source() {
        // 776 px wide crop resized to 200: right edge is 776.0000000000001 (SPEC §2.3).
        let t = start(1000.0, 1000.0)
            .crop(&Rect::new(112.0, 112.0, 888.0, 888.0))
            .unwrap()
            .resize(Size::new(200.0, 200.0))
            .unwrap();
        let r = t.source_rect().round_outwards();
        assert_eq!((r.left, r.top, r.right, r.bottom), (112.0, 112.0, 889.0, 889.0));
    }

    #[test]
    fn sizes_below_one_or_infinite_are_refused() {
        assert!(ImageTransform::new(Size::new(0.0, 5.0), false).is_err());
        assert!(ImageTransform::new(Size::new(0.5, 5.0), true).is_err());
        assert!(ImageTransform::new(Size::new(2.5, 5.0), false).is_err());
        assert!(ImageTransform::new(Size::new(2.5, 5.0), true).is_ok());
        assert!(scale(start(4000.0, 3000.0), 1e308).is_err());
    }
}
