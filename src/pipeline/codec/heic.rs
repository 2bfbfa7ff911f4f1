//! HEIC through libheif (`libheif-rs`, libheif built from source with the
//! HEVC codecs found at build time: libde265 decodes, x265 encodes). The
//! primary image is decoded with the file's own rotation, mirroring and
//! cropping applied, as Pillow's HEIF plugin does, to 8-bit RGB(A) with its
//! ICC profile; HEIC is written lossy at a quality or lossless (4:4:4),
//! with the profile.

use libheif_rs::{
    Channel, ColorProfile, ColorProfileRaw, ColorSpace, CompressionFormat, EncoderParameterValue, EncoderQuality,
    HeifContext, Image, LibHeif, RgbChroma, color_profile_types,
};

use crate::pipeline::bitmap::{Bitmap, Layout};
use crate::plan::Compression;

/// x265's preset: renditions are encoded while a client waits.
const PRESET: &str = "fast";

/// What the container says before decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Width, after the file's own transformations.
    pub width: u32,
    /// Height, after the file's own transformations.
    pub height: u32,
    /// Whether the image has alpha.
    pub alpha: bool,
}

/// A context over `bytes`, decoding on the calling thread.
fn context(bytes: &[u8]) -> Result<HeifContext<'_>, String> {
    let mut context = HeifContext::read_from_bytes(bytes).map_err(|e| e.to_string())?;
    context.set_max_decoding_threads(0);
    Ok(context)
}

/// Reads the primary image's size without decoding it.
pub fn read_header(bytes: &[u8]) -> Result<Header, String> {
    let context = context(bytes)?;
    let handle = context.primary_image_handle().map_err(|e| e.to_string())?;
    Ok(Header {
        width: handle.width(),
        height: handle.height(),
        alpha: handle.has_alpha_channel(),
    })
}

/// Decodes the primary image to 8-bit RGB or RGBA, with its ICC profile,
/// after checking its size against `max_pixels`.
pub fn decode(bytes: &[u8], max_pixels: u64) -> Result<(Bitmap, Option<Vec<u8>>), String> {
    let context = context(bytes)?;
    let handle = context.primary_image_handle().map_err(|e| e.to_string())?;
    let (w, h) = (handle.width(), handle.height());
    if u64::from(w) * u64::from(h) > max_pixels {
        return Err(format!("{w}x{h} pixels is over the limit of {max_pixels}"));
    }
    let (layout, chroma) = if handle.has_alpha_channel() {
        (Layout::Rgba, RgbChroma::Rgba)
    } else {
        (Layout::Rgb, RgbChroma::Rgb)
    };
    let image = LibHeif::new()
        .decode(&handle, ColorSpace::Rgb(chroma), None)
        .map_err(|e| e.to_string())?;
    let plane = image.planes().interleaved.ok_or("no interleaved plane")?;
    let (width, height) = (plane.width, plane.height);
    let row = width as usize * layout.channels();
    if plane.stride < row || plane.data.len() < plane.stride * (height as usize).saturating_sub(1) + row {
        return Err("decoded plane smaller than its size".into());
    }
    let mut pixels = Vec::with_capacity(row * height as usize);
    for line in plane.data.chunks(plane.stride).take(height as usize) {
        pixels.extend_from_slice(&line[..row]);
    }
    let icc = handle
        .color_profile_raw()
        .filter(|p| [color_profile_types::PROF, color_profile_types::R_ICC].contains(&p.profile_type()))
        .map(|p| p.data);
    let bitmap = Bitmap::new(width, height, layout, pixels).ok_or("decoded size mismatch")?;
    Ok((bitmap, icc))
}

/// Whether this build can write HEIC (libheif found an HEVC encoder).
pub fn can_encode() -> bool {
    LibHeif::new().encoder_for_format(CompressionFormat::Hevc).is_ok()
}

/// Encodes RGB or RGBA pixels, embedding `icc`.
pub fn encode(bitmap: &Bitmap, compression: Compression, icc: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let failed = |e: libheif_rs::HeifError| e.to_string();
    let chroma = match bitmap.layout() {
        Layout::Rgb => RgbChroma::Rgb,
        Layout::Rgba => RgbChroma::Rgba,
        other => return Err(format!("cannot encode {other:?} pixels")),
    };
    let (width, height) = (bitmap.width(), bitmap.height());
    let mut image = Image::new(width, height, ColorSpace::Rgb(chroma)).map_err(failed)?;
    image
        .create_plane(Channel::Interleaved, width, height, 8)
        .map_err(failed)?;
    {
        let mut planes = image.planes_mut();
        let plane = planes.interleaved.as_mut().ok_or("no interleaved plane")?;
        let row = bitmap.stride();
        for (to, from) in plane
            .data
            .chunks_mut(plane.stride)
            .zip(bitmap.pixels().chunks_exact(row))
        {
            to.get_mut(..row).ok_or("plane rows too short")?.copy_from_slice(from);
        }
    }
    if let Some(profile) = icc {
        let profile = ColorProfileRaw::new(color_profile_types::PROF, profile.to_vec());
        image.set_color_profile_raw(&profile).map_err(failed)?;
    }
    let library = LibHeif::new();
    let mut encoder = library
        .encoder_for_format(CompressionFormat::Hevc)
        .map_err(|_| "this build has no HEVC encoder".to_owned())?;
    let string = |v: &str| EncoderParameterValue::String(v.to_owned());
    encoder.set_parameter_value("preset", string(PRESET)).map_err(failed)?;
    // One thread: the service runs as many renders as it has workers.
    encoder
        .set_parameter_value("x265:pools", string("none"))
        .map_err(failed)?;
    encoder
        .set_parameter_value("x265:frame-threads", string("1"))
        .map_err(failed)?;
    match compression {
        Compression::Lossy(q) => encoder.set_quality(EncoderQuality::Lossy(q)),
        Compression::Lossless => {
            // Pillow's lossless HEIC: 4:4:4.
            encoder.set_parameter_value("chroma", string("444")).map_err(failed)?;
            encoder.set_quality(EncoderQuality::LossLess)
        }
    }
    .map_err(failed)?;
    let mut context = HeifContext::new().map_err(failed)?;
    context.encode_image(&image, &mut encoder, None).map_err(failed)?;
    context.write_to_bytes().map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(layout: Layout) -> Bitmap {
        let n = layout.channels();
        let px = (0..64 * 48 * n)
            .map(|i| {
                if n == 4 && i % 4 == 3 {
                    200
                } else {
                    ((i / n) % 64 * 4) as u8
                }
            })
            .collect();
        Bitmap::new(64, 48, layout, px).unwrap()
    }

    #[test]
    fn round_trips_size_alpha_profile_and_pixels() {
        assert!(can_encode(), "built without an HEVC encoder");
        let photo = include_bytes!("../../../test-images/photo-icc.jpg");
        let profile = super::super::jpeg::read_header(photo).unwrap().icc.unwrap();
        for (layout, compression) in [
            (Layout::Rgb, Compression::Lossy(80)),
            (Layout::Rgba, Compression::Lossy(60)),
            (Layout::Rgb, Compression::Lossless),
        ] {
            let heic = encode(&sample(layout), compression, Some(&profile)).unwrap();
            let header = read_header(&heic).unwrap();
            assert_eq!(
                (header.width, header.height, header.alpha),
                (64, 48, layout == Layout::Rgba)
            );
            let (back, icc) = decode(&heic, 1 << 20).unwrap();
            assert_eq!((back.width(), back.height(), back.layout()), (64, 48, layout));
            assert_eq!(icc.as_ref(), Some(&profile));
            let close = back
                .pixels()
                .iter()
                .zip(sample(layout).pixels())
                .all(|(&a, &b)| a.abs_diff(b) <= 12);
            assert!(close, "{layout:?} {compression:?}");
            assert!(decode(&heic, 100).is_err(), "over the pixel limit");
            assert!(decode(&heic[..heic.len() / 2], 1 << 20).is_err());
        }
        assert!(read_header(b"\0\0\0\x18ftypheic").is_err());
        // The head of a large file holds the header: its `meta` comes first.
        let noise: Vec<u8> = (0..600 * 400 * 3u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let large = encode(
            &Bitmap::new(600, 400, Layout::Rgb, noise).unwrap(),
            Compression::Lossy(95),
            None,
        )
        .unwrap();
        assert!(large.len() > 70_000, "{}", large.len());
        assert_eq!(
            read_header(&large[..65_536]).map(|h| (h.width, h.height)),
            Ok((600, 400))
        );
        assert!(
            encode(
                &Bitmap::new(1, 1, Layout::Gray, vec![0]).unwrap(),
                Compression::Lossy(80),
                None
            )
            .is_err()
        );
    }
}
