//! Colour model for the output (SPEC §3.3): `bgcolor` flattens transparency
//! onto its colour, JPEG flattens what is left onto white, and CMYK leaves
//! the CMYK model unless the output is JPEG (which keeps it, as Pillow does):
//! through the embedded profile to sRGB with LittleCMS and the perceptual
//! intent, exactly as Pillow converts it, or with Pillow's naive formula
//! when there is no usable profile.

use lcms2::{ColorSpaceSignature, Intent, PixelFormat, Profile, Transform};

use super::bitmap::{Bitmap, Layout};
use crate::format::OutputFormat;
use crate::spec::Rgb;

/// White, the background JPEG output flattens onto.
const WHITE: Rgb = Rgb([255, 255, 255]);

/// Brings `bitmap`, described by the profile `icc`, into the colour model
/// the output needs.
pub fn flatten(bitmap: Bitmap, icc: Option<&[u8]>, background: Option<Rgb>, format: OutputFormat) -> Bitmap {
    if bitmap.layout() == Layout::Cmyk {
        return if format == OutputFormat::Jpeg {
            bitmap
        } else {
            icc.and_then(|profile| cmyk_to_srgb(&bitmap, profile))
                .unwrap_or_else(|| cmyk_to_rgb(&bitmap))
        };
    }
    let background = background.or((format == OutputFormat::Jpeg).then_some(WHITE));
    match background {
        Some(colour) if bitmap.layout().has_alpha() => composite(&bitmap, colour),
        _ => bitmap,
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

/// CMYK through a CMYK profile to sRGB, or `None` if the profile cannot do it.
fn cmyk_to_srgb(bitmap: &Bitmap, icc: &[u8]) -> Option<Bitmap> {
    let profile = Profile::new_icc(icc).ok()?;
    if profile.color_space() != ColorSpaceSignature::CmykData {
        return None;
    }
    let srgb = Profile::new_srgb();
    let transform = Transform::<[u8; 4], [u8; 3]>::new(
        &profile,
        PixelFormat::CMYK_8,
        &srgb,
        PixelFormat::RGB_8,
        Intent::Perceptual,
    )
    .ok()?;
    // JPEG stores Adobe CMYK inverted; profiles expect ink amounts.
    let ink: Vec<u8> = bitmap.pixels().iter().map(|v| 255 - v).collect();
    let (pixels, _) = ink.as_chunks::<4>();
    let mut rgb = vec![[0u8; 3]; pixels.len()];
    transform.transform_pixels(pixels, &mut rgb);
    Bitmap::new(bitmap.width(), bitmap.height(), Layout::Rgb, rgb.into_flattened())
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
        let white = Some(Rgb([255, 255, 255]));
        let out = flatten(rgba(&[255, 0, 0, 128, 0, 0, 255, 255]), None, white, OutputFormat::Png);
        assert_eq!(out.layout(), Layout::Rgb);
        assert_eq!(out.pixels(), &[255, 127, 127, 0, 0, 255]);
    }

    #[test]
    fn jpeg_flattens_onto_white_and_png_keeps_alpha() {
        let half = rgba(&[0, 0, 0, 0]);
        assert_eq!(
            flatten(half.clone(), None, None, OutputFormat::Jpeg).pixels(),
            &[255, 255, 255]
        );
        assert_eq!(
            flatten(half.clone(), None, None, OutputFormat::Png).layout(),
            Layout::Rgba
        );
        let grey = Bitmap::new(1, 1, Layout::GrayAlpha, vec![0, 255]).unwrap();
        assert_eq!(flatten(grey, None, None, OutputFormat::Jpeg).pixels(), &[0, 0, 0]);
    }

    #[test]
    fn cmyk_stays_for_jpeg_only() {
        // Stored inverted: 255 = no ink, so this is pure cyan.
        let cmyk = Bitmap::new(1, 1, Layout::Cmyk, vec![0, 255, 255, 255]).unwrap();
        assert_eq!(
            flatten(cmyk.clone(), None, None, OutputFormat::Jpeg).layout(),
            Layout::Cmyk
        );
        let rgb = flatten(cmyk.clone(), None, None, OutputFormat::Png);
        assert_eq!(rgb.pixels(), &[0, 255, 255]);
        // A profile that is not CMYK falls back to the formula.
        let not_cmyk = Profile::new_srgb().icc().unwrap();
        assert_eq!(
            flatten(cmyk, Some(&not_cmyk), None, OutputFormat::Png).pixels(),
            &[0, 255, 255]
        );
    }

    #[test]
    fn cmyk_with_a_profile_goes_through_it() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/test-images/profiles/fogra39-test.icc");
        let press = std::fs::read(path).expect("test profile");
        // Stored inverted: paper (no ink), full black, and a mid-tone.
        let cmyk = Bitmap::new(
            3,
            1,
            Layout::Cmyk,
            vec![255, 255, 255, 255, 0, 0, 0, 0, 128, 160, 200, 230],
        )
        .unwrap();
        let managed = flatten(cmyk.clone(), Some(&press), None, OutputFormat::Png);
        let naive = flatten(cmyk, None, None, OutputFormat::Png);
        let px = managed.pixels();
        assert!(px[..3].iter().all(|&v| v >= 235), "paper is near white: {:?}", &px[..3]);
        assert!(
            px[3..6].iter().all(|&v| v <= 40),
            "full ink is near black: {:?}",
            &px[3..6]
        );
        assert_ne!(&px[6..9], &naive.pixels()[6..9], "the profile changes the mid-tone");
    }
}
