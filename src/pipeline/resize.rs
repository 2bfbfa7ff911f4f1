//! Crop and resize in one pass: Lanczos3 with `fast_image_resize` (SIMD),
//! alpha premultiplied during the convolution so edges get no dark fringes.
//! A crop that needs no resampling is a plain copy, as in Pillow.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::PipelineError;
use super::bitmap::{Bitmap, Layout};

/// The part of `src` inside `region` (`[left, top, right, bottom]`,
/// fractions allowed), resampled to `width`×`height`.
pub fn crop_resize(src: &Bitmap, region: [f64; 4], width: u32, height: u32) -> Result<Bitmap, PipelineError> {
    let (sw, sh) = (f64::from(src.width()), f64::from(src.height()));
    let [l, t, r, b] = [
        region[0].max(0.0),
        region[1].max(0.0),
        region[2].min(sw),
        region[3].min(sh),
    ];
    let whole = [l, t, r, b].iter().all(|v| v.fract() == 0.0);
    if whole && (r - l, b - t) == (f64::from(width), f64::from(height)) {
        return Ok(copy_region(
            src,
            l as usize,
            t as usize,
            width as usize,
            height as usize,
        ));
    }
    let pixel_type = match src.layout() {
        Layout::Gray => PixelType::U8,
        Layout::GrayAlpha => PixelType::U8x2,
        Layout::Rgb => PixelType::U8x3,
        Layout::Rgba | Layout::Cmyk => PixelType::U8x4,
    };
    let failed = |e: &dyn std::fmt::Display| PipelineError::Resize(e.to_string());
    let source = ImageRef::new(src.width(), src.height(), src.pixels(), pixel_type).map_err(|e| failed(&e))?;
    let mut target = Image::new(width, height, pixel_type);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(l, t, r - l, b - t)
        .use_alpha(src.layout().has_alpha());
    Resizer::new()
        .resize(&source, &mut target, &options)
        .map_err(|e| failed(&e))?;
    Bitmap::new(width, height, src.layout(), target.into_vec())
        .ok_or_else(|| PipelineError::Resize("the resizer returned a buffer of the wrong size".into()))
}

/// Copies a whole-pixel region without resampling.
fn copy_region(src: &Bitmap, left: usize, top: usize, width: usize, height: usize) -> Bitmap {
    if (left, top, width, height) == (0, 0, src.width() as usize, src.height() as usize) {
        return src.clone();
    }
    let n = src.layout().channels();
    let stride = src.stride();
    let mut out = Vec::with_capacity(width * height * n);
    for row in src.pixels().chunks_exact(stride).skip(top).take(height) {
        out.extend_from_slice(&row[left * n..(left + width) * n]);
    }
    Bitmap::new(width as u32, height as u32, src.layout(), out).unwrap_or_else(|| src.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32, layout: Layout) -> Bitmap {
        let n = layout.channels();
        let mut px = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let v = ((x * 255) / w.max(1)) as u8;
                for c in 0..n {
                    px.push(if layout.has_alpha() && c == n - 1 {
                        255
                    } else {
                        v ^ (y as u8 & 1)
                    });
                }
            }
        }
        Bitmap::new(w, h, layout, px).unwrap()
    }

    #[test]
    fn whole_pixel_crop_is_a_copy() {
        let src = gradient(10, 4, Layout::Rgb);
        let out = crop_resize(&src, [2.0, 1.0, 5.0, 3.0], 3, 2).unwrap();
        let expected = [
            &src.pixels()[(10 + 2) * 3..(10 + 5) * 3],
            &src.pixels()[(20 + 2) * 3..(20 + 5) * 3],
        ]
        .concat();
        assert_eq!(out.pixels(), expected.as_slice());
    }

    #[test]
    fn resamples_every_layout() {
        for layout in [Layout::Gray, Layout::GrayAlpha, Layout::Rgb, Layout::Rgba, Layout::Cmyk] {
            let out = crop_resize(&gradient(40, 30, layout), [0.0, 0.0, 40.0, 30.0], 8, 6).unwrap();
            assert_eq!((out.width(), out.height(), out.layout()), (8, 6, layout));
        }
    }

    #[test]
    fn transparent_pixels_do_not_darken_edges() {
        // Left half opaque white, right half fully transparent black.
        let mut px = Vec::new();
        for _ in 0..4 {
            for x in 0..8 {
                px.extend_from_slice(if x < 4 { &[255, 255, 255, 255] } else { &[0, 0, 0, 0] });
            }
        }
        let src = Bitmap::new(8, 4, Layout::Rgba, px).unwrap();
        let out = crop_resize(&src, [0.0, 0.0, 8.0, 4.0], 4, 2).unwrap();
        for p in out.pixels().chunks_exact(4).filter(|p| p[3] > 0) {
            assert!(p[0] >= 250, "premultiplied resize keeps colour: {p:?}");
        }
    }
}
