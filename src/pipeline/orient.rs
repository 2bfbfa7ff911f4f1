//! EXIF orientation (SPEC §3.4). Geometry is planned on the oriented image,
//! but pixels are decoded as stored; rather than rotating the whole decoded
//! original, the planned crop is mapped back into stored coordinates, the
//! region is resized there, and only the small result is rotated.

use image::metadata::Orientation;

use super::bitmap::Bitmap;

/// Whether the orientation swaps width and height.
pub fn transposes(o: Orientation) -> bool {
    matches!(o.to_exif(), 5..=8)
}

/// The size after orientation of a `width`×`height` stored image.
pub fn oriented_size(o: Orientation, width: u32, height: u32) -> (u32, u32) {
    if transposes(o) {
        (height, width)
    } else {
        (width, height)
    }
}

/// Maps `[left, top, right, bottom]`, given on the oriented image, onto the
/// stored image of size `width`×`height`.
pub fn stored_rect(o: Orientation, [l, t, r, b]: [f64; 4], width: f64, height: f64) -> [f64; 4] {
    let (w, h) = (width, height);
    match o.to_exif() {
        2 => [w - r, t, w - l, b],
        3 => [w - r, h - b, w - l, h - t],
        4 => [l, h - b, r, h - t],
        5 => [t, l, b, r],
        6 => [t, h - r, b, h - l],
        7 => [w - b, h - r, w - t, h - l],
        8 => [w - b, l, w - t, r],
        _ => [l, t, r, b],
    }
}

/// Applies the orientation to stored pixels.
pub fn apply(o: Orientation, bitmap: Bitmap) -> Bitmap {
    let code = o.to_exif();
    if !(2..=8).contains(&code) {
        return bitmap;
    }
    let (w, h) = (bitmap.width() as usize, bitmap.height() as usize);
    let (ow, oh) = if transposes(o) { (h, w) } else { (w, h) };
    let n = bitmap.layout().channels();
    let src = bitmap.pixels();
    let mut out = vec![0u8; src.len()];
    for y in 0..oh {
        for x in 0..ow {
            let (sx, sy) = match code {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (y, h - 1 - x),
                7 => (w - 1 - y, h - 1 - x),
                _ => (w - 1 - y, x), // 8
            };
            let from = (sy * w + sx) * n;
            let to = (y * ow + x) * n;
            out[to..to + n].copy_from_slice(&src[from..from + n]);
        }
    }
    Bitmap::new(ow as u32, oh as u32, bitmap.layout(), out).unwrap_or(bitmap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::bitmap::Layout;

    /// A 3×2 grey image whose pixel values are 10·y + x.
    fn sample() -> Bitmap {
        Bitmap::new(3, 2, Layout::Gray, vec![0, 1, 2, 10, 11, 12]).unwrap()
    }

    fn all() -> impl Iterator<Item = Orientation> {
        (1..=8).filter_map(Orientation::from_exif)
    }

    #[test]
    fn rotations_match_exif_meaning() {
        let rows: [(u8, (u32, u32), &[u8]); 8] = [
            (1, (3, 2), &[0, 1, 2, 10, 11, 12]),
            (2, (3, 2), &[2, 1, 0, 12, 11, 10]),
            (3, (3, 2), &[12, 11, 10, 2, 1, 0]),
            (4, (3, 2), &[10, 11, 12, 0, 1, 2]),
            (5, (2, 3), &[0, 10, 1, 11, 2, 12]),
            (6, (2, 3), &[10, 0, 11, 1, 12, 2]),
            (7, (2, 3), &[12, 2, 11, 1, 10, 0]),
            (8, (2, 3), &[2, 12, 1, 11, 0, 10]),
        ];
        for (code, size, pixels) in rows {
            let o = Orientation::from_exif(code).unwrap();
            let out = apply(o, sample());
            assert_eq!((out.width(), out.height()), size, "orientation {code}");
            assert_eq!(out.pixels(), pixels, "orientation {code}");
        }
    }

    #[test]
    fn stored_rect_selects_the_same_pixels() {
        // Cropping the oriented image must equal orienting the cropped stored region.
        let stored = sample();
        for o in all() {
            let oriented = apply(o, stored.clone());
            let (ow, oh) = (oriented.width() as usize, oriented.height() as usize);
            for (l, t, r, b) in [(0, 0, 1, 1), (1, 0, 2, 2), (0, 1, ow, oh), (0, 0, ow, oh)] {
                let rect = stored_rect(o, [l as f64, t as f64, r as f64, b as f64], 3.0, 2.0);
                let [sl, st, sr, sb] = rect.map(|v| v as usize);
                let mut region = Vec::new();
                for y in st..sb {
                    region.extend_from_slice(&stored.pixels()[y * 3 + sl..y * 3 + sr]);
                }
                let region = Bitmap::new((sr - sl) as u32, (sb - st) as u32, Layout::Gray, region).unwrap();
                let mut expected = Vec::new();
                for y in t..b {
                    expected.extend_from_slice(&oriented.pixels()[y * ow + l..y * ow + r]);
                }
                assert_eq!(apply(o, region).pixels(), expected.as_slice(), "{o:?} {l},{t},{r},{b}");
            }
        }
    }
}
