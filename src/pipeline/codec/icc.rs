//! Colour profiles in encoded files: libjpeg-turbo and libwebp write none,
//! so the profile is added to the container afterwards with `img-parts`
//! (APP2 `ICC_PROFILE` segments for JPEG, an `ICCP` chunk for WebP).

use img_parts::{DynImage, ImageICC};

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
