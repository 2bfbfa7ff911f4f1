//! `fill-WxH[-cN]` (Wagtail's `FillOperation.run`, SPEC §2.4): the largest
//! crop of the target aspect ratio, zoomed towards the focal point by the
//! closeness, positioned so the focal point keeps its relative place, moved to
//! cover the focal point and to stay inside the image, rounded outwards, and
//! downscaled only when it is wider than the target.

use super::PlanError;
use super::rect::Rect;
use super::transform::{ImageTransform, Size};
use crate::spec::Fill;

/// Python's two-argument `min`: the first unless the second is smaller.
fn py_min(a: f64, b: f64) -> f64 {
    if b < a { b } else { a }
}

/// Python's two-argument `max`: the first unless the second is larger.
fn py_max(a: f64, b: f64) -> f64 {
    if b > a { b } else { a }
}

/// Python's float division, which raises on a zero divisor.
fn divide(numerator: f64, denominator: f64) -> Result<f64, PlanError> {
    if denominator == 0.0 {
        Err(PlanError::Degenerate("division by zero while placing the fill crop"))
    } else {
        Ok(numerator / denominator)
    }
}

/// Applies `fill` to the transform; `focal` is the focal point rectangle in
/// original-image coordinates, used as is whatever came before (SPEC §2.3).
pub fn fill(t: ImageTransform, op: Fill, focal: Option<&Rect>) -> Result<ImageTransform, PlanError> {
    let (image_width, image_height) = (t.size.width, t.size.height);
    let (target_width, target_height) = (op.width as f64, op.height as f64);

    let aspect = target_width / target_height;
    let max_scale = py_min(image_width, image_height * aspect);
    let max_width = max_scale;
    let max_height = max_scale / aspect;
    let mut crop_width = max_width;
    let mut crop_height = max_height;

    if let Some(fp) = focal {
        let min_scale = py_max(fp.width(), fp.height() * aspect);
        let min_width = min_scale;
        let min_height = min_scale / aspect;
        // The focal point may be larger than the largest crop (Wagtail tests
        // `not min >= max`, which also lets NaN through).
        if min_scale.partial_cmp(&max_scale).is_none_or(|o| o.is_lt()) {
            // The closeness at which the crop would reach the target size.
            let max_closeness = py_max(
                1.0 - divide(target_width - min_width, max_width - min_width)?,
                1.0 - divide(target_height - min_height, max_height - min_height)?,
            );
            let closeness = py_min(op.closeness, max_closeness);
            if (0.0..=1.0).contains(&closeness) {
                crop_width = max_width + (min_width - max_width) * closeness;
                crop_height = max_height + (min_height - max_height) * closeness;
            }
        }
    }

    let (fp_x, fp_y) = match focal {
        Some(fp) => fp.centroid(),
        None => (image_width / 2.0, image_height / 2.0),
    };
    let fp_u = fp_x / image_width;
    let fp_v = fp_y / image_height;
    let crop_x = fp_x - (fp_u - 0.5) * crop_width;
    let crop_y = fp_y - (fp_v - 0.5) * crop_height;

    let mut rect = Rect::from_point(crop_x, crop_y, crop_width, crop_height);
    if let Some(fp) = focal {
        rect = rect.move_to_cover(fp);
    }
    rect = rect.move_to_clamp(&Rect::new(0.0, 0.0, image_width, image_height));

    let cropped = t.crop(&rect.round_outwards())?;
    // Only the width is compared: the output can be a pixel off the target.
    if target_width / cropped.size.width < 1.0 {
        cropped.resize(Size::new(target_width, target_height))
    } else {
        Ok(cropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(size: (f64, f64), spec: (u64, u64, f64), focal: Option<(f64, f64, f64, f64)>) -> ([f64; 4], [f64; 2]) {
        let t = ImageTransform::new(Size::new(size.0, size.1), false).unwrap();
        let op = Fill {
            width: spec.0,
            height: spec.1,
            closeness: spec.2,
        };
        let fp = focal.map(|(x, y, w, h)| Rect::from_point(x, y, w, h));
        let out = fill(t, op, fp.as_ref()).unwrap();
        let r = out.source_rect().round_outwards();
        ([r.left, r.top, r.right, r.bottom], [out.size.width, out.size.height])
    }

    // Rows from SPEC §2.4 and Wagtail's TestFillOperation.
    #[test]
    fn fill_matches_wagtail() {
        let rows = [
            (
                (1000.0, 1000.0),
                (800, 600, 0.0),
                None,
                [0.0, 125.0, 1000.0, 875.0],
                [800.0, 600.0],
            ),
            (
                (539.0, 720.0),
                (200, 200, 0.0),
                None,
                [0.0, 90.0, 539.0, 630.0],
                [200.0, 200.0],
            ),
            (
                (100.0, 100.0),
                (1000, 800, 0.0),
                None,
                [0.0, 10.0, 100.0, 90.0],
                [100.0, 80.0],
            ),
            (
                (100.0, 101.0),
                (100, 100, 0.0),
                None,
                [0.0, 0.0, 100.0, 101.0],
                [100.0, 101.0],
            ),
            (
                (1000.0, 1000.0),
                (80, 60, 1.0),
                Some((1000.0, 500.0, 0.0, 0.0)),
                [920.0, 470.0, 1000.0, 530.0],
                [80.0, 60.0],
            ),
            (
                (1000.0, 1000.0),
                (80, 60, 0.0),
                Some((1000.0, 500.0, 0.0, 0.0)),
                [0.0, 125.0, 1000.0, 875.0],
                [80.0, 60.0],
            ),
            (
                (2000.0, 1000.0),
                (50, 50, 1.0),
                Some((1000.0, 500.0, 100.0, 20.0)),
                [950.0, 450.0, 1050.0, 550.0],
                [50.0, 50.0],
            ),
            (
                (1500.0, 1500.0),
                (1500, 1500, 1.0),
                Some((750.0, 750.0, 1500.0, 1500.0)),
                [0.0, 0.0, 1500.0, 1500.0],
                [1500.0, 1500.0],
            ),
            (
                (1000.0, 1000.0),
                (200, 200, 0.25),
                Some((500.0, 500.0, 100.0, 100.0)),
                [112.0, 112.0, 889.0, 889.0],
                [200.0, 200.0],
            ),
            (
                (2000.0, 1000.0),
                (300, 100, 0.5),
                None,
                [0.0, 166.0, 2000.0, 835.0],
                [300.0, 100.0],
            ),
        ];
        for (size, spec, focal, crop, out) in rows {
            assert_eq!(run(size, spec, focal), (crop, out), "{size:?} {spec:?} {focal:?}");
        }
    }
}
