//! AVIF through libavif with libaom (`libavif-sys`): decoding the first
//! image, and encoding lossy (4:2:0) or lossless (4:4:4, identity matrix),
//! with the ICC profile carried both ways.
//!
//! It calls libavif's C API directly; every pointer it
//! hands to libavif lives as long as the call, and every libavif object is
//! released by a guard.

use libavif_sys as sys;

use crate::pipeline::bitmap::{Bitmap, Layout};
use crate::plan::Compression;

/// libaom speed: 9 is measured 8× faster than 6 for a few percent of bytes
/// (`codecs.md`), and renditions are encoded while a client waits.
const SPEED: i32 = 9;

/// The largest pixel count libavif accepts as a limit.
const LIBAVIF_MAX_PIXELS: u32 = 16384 * 16384;

/// What the AVIF container says before decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

struct DecoderGuard(*mut sys::avifDecoder);

impl Drop for DecoderGuard {
    fn drop(&mut self) {
        // SAFETY: created by avifDecoderCreate and destroyed once, here.
        unsafe { sys::avifDecoderDestroy(self.0) }
    }
}

struct ImageGuard(*mut sys::avifImage);

impl Drop for ImageGuard {
    fn drop(&mut self) {
        // SAFETY: created by avifImageCreate and destroyed once, here.
        unsafe { sys::avifImageDestroy(self.0) }
    }
}

struct EncoderGuard(*mut sys::avifEncoder);

impl Drop for EncoderGuard {
    fn drop(&mut self) {
        // SAFETY: created by avifEncoderCreate and destroyed once, here.
        unsafe { sys::avifEncoderDestroy(self.0) }
    }
}

fn check(result: sys::avifResult) -> Result<(), String> {
    if result == sys::AVIF_RESULT_OK {
        return Ok(());
    }
    // SAFETY: avifResultToString returns a static NUL-terminated string.
    let message = unsafe { std::ffi::CStr::from_ptr(sys::avifResultToString(result)) };
    Err(message.to_string_lossy().into_owned())
}

/// A decoder over `bytes` with its container parsed; `bytes` must outlive it.
fn parsed(bytes: &[u8], max_pixels: u64) -> Result<DecoderGuard, String> {
    // SAFETY: the decoder is checked for null before use and owned by the guard;
    // libavif reads `bytes` only while the guard lives, which the callers ensure.
    unsafe {
        let decoder = sys::avifDecoderCreate();
        if decoder.is_null() {
            return Err("out of memory".into());
        }
        let guard = DecoderGuard(decoder);
        (*decoder).maxThreads = 1;
        // libavif refuses limits above its own default (16384 × 16384).
        (*decoder).imageSizeLimit = u32::try_from(max_pixels).map_or(LIBAVIF_MAX_PIXELS, |m| m.min(LIBAVIF_MAX_PIXELS));
        (*decoder).imageCountLimit = 1;
        (*decoder).ignoreExif = 1;
        (*decoder).ignoreXMP = 1;
        check(sys::avifDecoderSetIOMemory(decoder, bytes.as_ptr(), bytes.len()))?;
        check(sys::avifDecoderParse(decoder))?;
        Ok(guard)
    }
}

/// Reads the size without decoding pixels.
pub fn read_header(bytes: &[u8], max_pixels: u64) -> Result<Header, String> {
    let decoder = parsed(bytes, max_pixels)?;
    // SAFETY: after a successful parse `image` points to the first image's header.
    let (width, height) = unsafe { ((*(*decoder.0).image).width, (*(*decoder.0).image).height) };
    Ok(Header { width, height })
}

/// Decodes the first image to 8-bit RGB or RGBA, with its ICC profile.
pub fn decode(bytes: &[u8], max_pixels: u64) -> Result<(Bitmap, Option<Vec<u8>>), String> {
    let decoder = parsed(bytes, max_pixels)?;
    // SAFETY: `image` is valid after parse and after NextImage succeeded; the RGB
    // view points into `pixels`, sized exactly rowBytes * height, alive for the call.
    unsafe {
        check(sys::avifDecoderNextImage(decoder.0))?;
        let image = (*decoder.0).image;
        let alpha = !(*image).alphaPlane.is_null();
        let layout = if alpha { Layout::Rgba } else { Layout::Rgb };
        let (width, height) = ((*image).width, (*image).height);
        let row_bytes = width * layout.channels() as u32;
        let mut pixels = vec![0u8; row_bytes as usize * height as usize];
        let mut rgb = rgb_view(image, alpha, row_bytes, pixels.as_mut_ptr());
        check(sys::avifImageYUVToRGB(image, &mut rgb))?;
        let icc = &(*image).icc;
        let profile =
            (!icc.data.is_null() && icc.size > 0).then(|| std::slice::from_raw_parts(icc.data, icc.size).to_vec());
        let bitmap = Bitmap::new(width, height, layout, pixels).ok_or("decoded size mismatch")?;
        Ok((bitmap, profile))
    }
}

/// An 8-bit RGB(A) view of `pixels` for converting to or from `image`.
///
/// # Safety
/// `image` must be a valid libavif image and `pixels` must hold
/// `row_bytes * height` bytes for as long as the view is used.
unsafe fn rgb_view(image: *const sys::avifImage, alpha: bool, row_bytes: u32, pixels: *mut u8) -> sys::avifRGBImage {
    let mut rgb = sys::avifRGBImage::default();
    // SAFETY: the caller guarantees `image` is valid.
    unsafe { sys::avifRGBImageSetDefaults(&mut rgb, image) };
    rgb.depth = 8;
    rgb.format = if alpha {
        sys::AVIF_RGB_FORMAT_RGBA
    } else {
        sys::AVIF_RGB_FORMAT_RGB
    };
    rgb.maxThreads = 1;
    rgb.rowBytes = row_bytes;
    rgb.pixels = pixels;
    rgb
}

/// Encodes RGB or RGBA pixels.
pub fn encode(bitmap: &Bitmap, compression: Compression, icc: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let alpha = match bitmap.layout() {
        Layout::Rgb => false,
        Layout::Rgba => true,
        other => return Err(format!("cannot encode {other:?} pixels")),
    };
    let (yuv, quality) = match compression {
        Compression::Lossy(q) => (sys::AVIF_PIXEL_FORMAT_YUV420, i32::from(q)),
        Compression::Lossless => (sys::AVIF_PIXEL_FORMAT_YUV444, 100),
    };
    // SAFETY: objects are null-checked and owned by guards; the RGB view borrows
    // the bitmap's pixels for the duration of the conversion only; the output
    // buffer is copied and then freed by libavif.
    unsafe {
        let image = sys::avifImageCreate(bitmap.width(), bitmap.height(), 8, yuv);
        if image.is_null() {
            return Err("out of memory".into());
        }
        let image = ImageGuard(image);
        if compression == Compression::Lossless {
            (*image.0).matrixCoefficients = sys::AVIF_MATRIX_COEFFICIENTS_IDENTITY as _;
        }
        if let Some(profile) = icc {
            check(sys::avifImageSetProfileICC(image.0, profile.as_ptr(), profile.len()))?;
        }
        let rgb = rgb_view(
            image.0,
            alpha,
            bitmap.stride() as u32,
            bitmap.pixels().as_ptr().cast_mut(),
        );
        check(sys::avifImageRGBToYUV(image.0, &rgb))?;

        let encoder = sys::avifEncoderCreate();
        if encoder.is_null() {
            return Err("out of memory".into());
        }
        let encoder = EncoderGuard(encoder);
        (*encoder.0).maxThreads = 1;
        (*encoder.0).speed = SPEED;
        (*encoder.0).quality = quality;
        (*encoder.0).qualityAlpha = quality;
        let mut output = sys::avifRWData::default();
        let written = check(sys::avifEncoderWrite(encoder.0, image.0, &mut output));
        let bytes = if written.is_ok() && !output.data.is_null() {
            std::slice::from_raw_parts(output.data, output.size).to_vec()
        } else {
            Vec::new()
        };
        sys::avifRWDataFree(&mut output);
        written.map(|()| bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(layout: Layout) -> Bitmap {
        let n = layout.channels();
        let px = (0..40 * 30)
            .flat_map(|i| {
                let v = (i % 200) as u8;
                [v, 255 - v, v / 2, 200][..n].to_vec()
            })
            .collect();
        Bitmap::new(40, 30, layout, px).unwrap()
    }

    #[test]
    fn lossy_round_trip_keeps_size_alpha_and_profile() {
        let profile = vec![3u8; 600];
        let avif = encode(&sample(Layout::Rgba), Compression::Lossy(61), Some(&profile)).unwrap();
        assert_eq!(read_header(&avif, 1 << 20).unwrap(), Header { width: 40, height: 30 });
        let (back, icc) = decode(&avif, 1 << 20).unwrap();
        assert_eq!((back.width(), back.height(), back.layout()), (40, 30, Layout::Rgba));
        assert_eq!(icc, Some(profile));
    }

    #[test]
    fn lossless_is_exact() {
        let src = sample(Layout::Rgb);
        let avif = encode(&src, Compression::Lossless, None).unwrap();
        let (back, icc) = decode(&avif, 1 << 20).unwrap();
        assert_eq!(back, src);
        assert_eq!(icc, None);
    }

    #[test]
    fn limits_and_garbage() {
        let avif = encode(&sample(Layout::Rgb), Compression::Lossy(50), None).unwrap();
        assert!(decode(&avif, 100).is_err(), "1200 pixels over a limit of 100");
        assert!(decode(&avif, u64::MAX).is_ok(), "no limit means libavif's own");
        assert!(decode(&avif[..avif.len() / 2], 1 << 20).is_err());
        assert!(read_header(b"\0\0\0\x1cftypavif garbage", 1 << 20).is_err());
        assert!(encode(&sample(Layout::Gray), Compression::Lossless, None).is_err());
    }
}
