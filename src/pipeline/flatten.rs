//! Colour model for the output (SPEC §3.3): `bgcolor` flattens transparency
//! onto its colour, JPEG flattens what is left onto white, and CMYK leaves
//! the CMYK model unless the output is JPEG (which keeps it, as Pillow does).

use super::bitmap::{Bitmap, Layout};
use crate::format::OutputFormat;
use crate::spec::Rgb;

/// White, the background JPEG output flattens onto.
const WHITE: Rgb = Rgb([255, 255, 255]);

/// Brings `bitmap` into the colour model the output needs. Returns the
/// bitmap and whether the source's colour profile still describes it.
pub fn flatten(bitmap: Bitmap, background: Option<Rgb>, format: OutputFormat) -> (Bitmap, bool) {
    if bitmap.layout() == Layout::Cmyk {
        return if format == OutputFormat::Jpeg {
            (bitmap, true)
        } else {
            // The CMYK profile does not describe RGB pixels: drop it.
            (cmyk_to_rgb(&bitmap), false)
        };
    }
    let background = background.or((format == OutputFormat::Jpeg).then_some(WHITE));
    match background {
        Some(colour) if bitmap.layout().has_alpha() => (composite(&bitmap, colour), true),
        _ => (bitmap, true),
    }
}

/// Alpha-composites over an opaque colour; the result has no alpha.
fn composite(bitmap: &Bitmap, Rgb(bg): Rgb) -> Bitmap {
    let grey = bitmap.layout() == Layout::GrayAlpha;
    let blend =
        |c: u8, a: u8, b: u8| ((u32::from(c) * u32::from(a) + u32::from(b) * (255 - u32::from(a)) + 127) / 255) as u8;
    let n = bitmap.layout().channels();
    let mut out = Vec::with_capacity(bitmap.pixels().len() / n * 3);
    for px in bitmap.pixels().chunks_exact(n) {
        let a = px[n - 1];
        let rgb = if grey { [px[0]; 3] } else { [px[0], px[1], px[2]] };
        out.extend_from_slice(&[
            blend(rgb[0], a, bg[0]),
            blend(rgb[1], a, bg[1]),
            blend(rgb[2], a, bg[2]),
        ]);
    }
    Bitmap::new(bitmap.width(), bitmap.height(), Layout::Rgb, out).unwrap_or_else(|| bitmap.clone())
}

/// Naive CMYK to RGB (Pillow's formula) for JPEG's stored, Adobe-inverted CMYK.
fn cmyk_to_rgb(bitmap: &Bitmap) -> Bitmap {
    let mut out = Vec::with_capacity(bitmap.pixels().len() / 4 * 3);
    for px in bitmap.pixels().chunks_exact(4) {
        // Stored inverted: the stored value is 255 - ink.
        let k = u32::from(px[3]);
        for &c in &px[..3] {
            out.push(((u32::from(c) * k + 127) / 255) as u8);
        }
    }
    Bitmap::new(bitmap.width(), bitmap.height(), Layout::Rgb, out).unwrap_or_else(|| bitmap.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgba(px: &[u8]) -> Bitmap {
        Bitmap::new((px.len() / 4) as u32, 1, Layout::Rgba, px.to_vec()).unwrap()
    }

    #[test]
    fn background_colour_flattens_alpha() {
        let (out, keeps_profile) = flatten(
            rgba(&[255, 0, 0, 128, 0, 0, 255, 255]),
            Some(Rgb([255, 255, 255])),
            OutputFormat::Png,
        );
        assert_eq!(out.layout(), Layout::Rgb);
        assert_eq!(out.pixels(), &[255, 127, 127, 0, 0, 255]);
        assert!(keeps_profile);
    }

    #[test]
    fn jpeg_flattens_onto_white_and_png_keeps_alpha() {
        let half = rgba(&[0, 0, 0, 0]);
        assert_eq!(
            flatten(half.clone(), None, OutputFormat::Jpeg).0.pixels(),
            &[255, 255, 255]
        );
        assert_eq!(flatten(half.clone(), None, OutputFormat::Png).0.layout(), Layout::Rgba);
        let grey = Bitmap::new(1, 1, Layout::GrayAlpha, vec![0, 255]).unwrap();
        assert_eq!(flatten(grey, None, OutputFormat::Jpeg).0.pixels(), &[0, 0, 0]);
    }

    #[test]
    fn cmyk_stays_for_jpeg_only() {
        // Stored inverted: 255 = no ink, so this is pure cyan.
        let cmyk = Bitmap::new(1, 1, Layout::Cmyk, vec![0, 255, 255, 255]).unwrap();
        assert_eq!(flatten(cmyk.clone(), None, OutputFormat::Jpeg).0.layout(), Layout::Cmyk);
        let (rgb, keeps_profile) = flatten(cmyk, None, OutputFormat::Png);
        assert_eq!(rgb.pixels(), &[0, 255, 255]);
        assert!(!keeps_profile);
    }
}
