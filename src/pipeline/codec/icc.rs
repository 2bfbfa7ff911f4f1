//! Colour profiles in encoded files: libjpeg-turbo and libwebp write none,
//! so the profile is added to the container afterwards with `img-parts`
//! (APP2 `ICC_PROFILE` segments for JPEG, an `ICCP` chunk for WebP).

use img_parts::{DynImage, ImageICC};

use crate::pipeline::bitmap::Layout;

/// Whether `profile` describes pixels of `layout`: a profile of another
/// colour space (grey on colour pixels, CMYK on RGB) would misdirect
/// viewers, so it is dropped instead.
pub fn describes(profile: &[u8], layout: Layout) -> bool {
    // The data colour space signature sits at bytes 16..20 of the header.
    let space: &[u8] = match layout {
        Layout::Gray | Layout::GrayAlpha => b"GRAY",
        Layout::Rgb | Layout::Rgba => b"RGB ",
        Layout::Cmyk => b"CMYK",
    };
    profile.get(16..20) == Some(space)
}

/// Adds `icc` to an encoded JPEG or WebP; without a profile, returns it as is.
pub fn embed(encoded: Vec<u8>, icc: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let Some(profile) = icc else {
        return Ok(encoded);
    };
    let mut image = DynImage::from_bytes(encoded.into())
        .map_err(|e| e.to_string())?
        .ok_or("not a JPEG, PNG or WebP file")?;
    image.set_icc_profile(Some(profile.to_vec().into()));
    Ok(image.encoder().bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(space: &[u8; 4]) -> Vec<u8> {
        let mut p = vec![0u8; 128];
        p[16..20].copy_from_slice(space);
        p
    }

    #[test]
    fn grey_profiles_only_describe_grey_pixels() {
        assert!(describes(&profile(b"GRAY"), Layout::Gray));
        assert!(!describes(&profile(b"GRAY"), Layout::Rgb));
        assert!(describes(&profile(b"RGB "), Layout::Rgba));
        assert!(!describes(&profile(b"RGB "), Layout::GrayAlpha));
        assert!(describes(&profile(b"CMYK"), Layout::Cmyk));
        assert!(!describes(&profile(b"CMYK"), Layout::Rgb));
        assert!(!describes(&profile(b"Lab "), Layout::Rgb));
        assert!(!describes(b"short", Layout::Gray));
    }
}
