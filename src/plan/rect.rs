//! Wagtail's `Rect` (`wagtail/images/rect.py`): a float rectangle with the
//! exact arithmetic order of the original, which the one-pixel effects of
//! SPEC §2.3 depend on.

/// A rectangle in (possibly fractional) pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub left: f64,
    /// Top edge.
    pub top: f64,
    /// Right edge (exclusive).
    pub right: f64,
    /// Bottom edge (exclusive).
    pub bottom: f64,
}

impl Rect {
    /// A rectangle from its edges.
    pub const fn new(left: f64, top: f64, right: f64, bottom: f64) -> Self {
        Self {
            left,
            top,
            right,
            bottom,
        }
    }

    /// A rectangle of the given size centred on `(x, y)`.
    pub fn from_point(x: f64, y: f64, width: f64, height: f64) -> Self {
        Self::new(x - width / 2.0, y - height / 2.0, x + width / 2.0, y + height / 2.0)
    }

    /// Width (`right - left`).
    pub fn width(&self) -> f64 {
        self.right - self.left
    }

    /// Height (`bottom - top`).
    pub fn height(&self) -> f64 {
        self.bottom - self.top
    }

    /// Centre point.
    pub fn centroid(&self) -> (f64, f64) {
        ((self.left + self.right) / 2.0, (self.top + self.bottom) / 2.0)
    }

    /// Rounded outwards: left and top down, right and bottom up.
    pub fn round_outwards(&self) -> Self {
        Self::new(
            self.left.floor(),
            self.top.floor(),
            self.right.ceil(),
            self.bottom.ceil(),
        )
    }

    /// Translated (never resized) to lie inside `bounds`, checking left, top,
    /// right, bottom in that order.
    pub fn move_to_clamp(&self, bounds: &Rect) -> Self {
        let mut r = *self;
        if r.left < bounds.left {
            r.right -= r.left - bounds.left;
            r.left = bounds.left;
        }
        if r.top < bounds.top {
            r.bottom -= r.top - bounds.top;
            r.top = bounds.top;
        }
        if r.right > bounds.right {
            r.left -= r.right - bounds.right;
            r.right = bounds.right;
        }
        if r.bottom > bounds.bottom {
            r.top -= r.bottom - bounds.bottom;
            r.bottom = bounds.bottom;
        }
        r
    }

    /// Translated (never resized) to contain `inner`, checking left, top,
    /// right, bottom in that order, so later checks win when `inner` is larger.
    pub fn move_to_cover(&self, inner: &Rect) -> Self {
        let mut r = *self;
        if r.left > inner.left {
            r.right -= r.left - inner.left;
            r.left = inner.left;
        }
        if r.top > inner.top {
            r.bottom -= r.top - inner.top;
            r.top = inner.top;
        }
        if r.right < inner.right {
            r.left += inner.right - r.right;
            r.right = inner.right;
        }
        if r.bottom < inner.bottom {
            r.top += inner.bottom - r.bottom;
            r.bottom = inner.bottom;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_outwards() {
        let r = Rect::new(1.5, 2.0, 3.000_000_1, 4.9).round_outwards();
        assert_eq!(r, Rect::new(1.0, 2.0, 4.0, 5.0));
    }

    #[test]
    fn clamp_moves_without_resizing() {
        let bounds = Rect::new(0.0, 0.0, 100.0, 100.0);
        assert_eq!(
            Rect::new(-10.0, 5.0, 20.0, 25.0).move_to_clamp(&bounds),
            Rect::new(0.0, 5.0, 30.0, 25.0)
        );
        assert_eq!(
            Rect::new(90.0, 95.0, 110.0, 105.0).move_to_clamp(&bounds),
            Rect::new(80.0, 90.0, 100.0, 100.0)
        );
        let inside = Rect::new(10.0, 10.0, 20.0, 20.0);
        assert_eq!(inside.move_to_clamp(&bounds), inside);
    }

    #[test]
    fn cover_prefers_right_and_bottom_when_too_small() {
        let small = Rect::new(0.0, 0.0, 10.0, 10.0);
        let big = Rect::new(-5.0, -5.0, 20.0, 20.0);
        assert_eq!(small.move_to_cover(&big), Rect::new(10.0, 10.0, 20.0, 20.0));
        let target = Rect::new(40.0, 40.0, 45.0, 45.0);
        assert_eq!(small.move_to_cover(&target), Rect::new(35.0, 35.0, 45.0, 45.0));
    }

    #[test]
    fn from_point_is_centred() {
        let r = Rect::from_point(5.0, 5.0, 11.0, 7.0);
        assert_eq!(r, Rect::new(-0.5, 1.5, 10.5, 8.5));
        assert_eq!(r.centroid(), (5.0, 5.0));
        assert_eq!((r.width(), r.height()), (11.0, 7.0));
    }
}
