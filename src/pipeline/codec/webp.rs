//! WebP encoding through libwebp (`webp`), lossy or lossless, with the ICC
//! profile added to the container by `img-parts`. (WebP decoding goes
//! through the `image` crate, which also reads animations' first frames.)

use webp::{Encoder, PixelLayout, WebPConfig};

use crate::pipeline::bitmap::{Bitmap, Layout};
use crate::plan::Compression;

/// libwebp's default method, as Pillow uses it: the measured sweet spot of
/// speed and size (`codecs.md`).
const METHOD: i32 = 4;

/// Encodes RGB or RGBA pixels.
pub fn encode(bitmap: &Bitmap, compression: Compression, icc: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let layout = match bitmap.layout() {
        Layout::Rgb => PixelLayout::Rgb,
        Layout::Rgba => PixelLayout::Rgba,
        other => return Err(format!("cannot encode {other:?} pixels")),
    };
    let mut config = WebPConfig::new().map_err(|()| "cannot configure libwebp".to_owned())?;
    config.method = METHOD;
    config.thread_level = 0;
    match compression {
        Compression::Lossy(q) => {
            config.lossless = 0;
            config.quality = f32::from(q);
        }
        Compression::Lossless => {
            // Pillow's lossless default: quality (effort) 80.
            config.lossless = 1;
            config.quality = 80.0;
        }
    }
    let encoder = Encoder::new(bitmap.pixels(), layout, bitmap.width(), bitmap.height());
    let memory = encoder.encode_advanced(&config).map_err(|e| format!("{e:?}"))?;
    let webp = memory.to_vec();
    super::icc::embed(webp, icc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::SourceFormat;
    use crate::pipeline::codec::image_crate;

    #[test]
    fn encodes_lossy_and_lossless_with_profile() {
        let px: Vec<u8> = (0..32 * 20 * 4)
            .map(|i| {
                if i % 4 == 3 {
                    128 + (i % 100) as u8
                } else {
                    (i % 256) as u8
                }
            })
            .collect();
        let bitmap = Bitmap::new(32, 20, Layout::Rgba, px).unwrap();
        let profile = vec![5u8; 300];
        for compression in [Compression::Lossy(80), Compression::Lossless] {
            let webp = encode(&bitmap, compression, Some(&profile)).unwrap();
            let (back, icc) = image_crate::decode(&webp, SourceFormat::Webp, 1 << 20).unwrap();
            assert_eq!((back.width(), back.height()), (32, 20));
            assert_eq!(icc.as_deref(), Some(profile.as_slice()));
            if compression == Compression::Lossless {
                assert_eq!(back.pixels(), bitmap.pixels());
            }
        }
    }

    #[test]
    fn too_large_for_webp_is_an_error() {
        let bitmap = Bitmap::new(17000, 1, Layout::Rgb, vec![0; 17000 * 3]).unwrap();
        assert!(encode(&bitmap, Compression::Lossy(80), None).is_err());
    }
}
