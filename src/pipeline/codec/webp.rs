//! WebP through libwebp: still images encoded (`webp`), lossy or lossless,
//! with the ICC profile added to the container by `img-parts`; animations
//! decoded and encoded a frame at a time through libwebp's own animation
//! API (`libwebp-sys`), which composites frames as browsers do. (Still
//! WebP decoding goes through the `image` crate, which also reads an
//! animation's first frame.)
//!
//! Every libwebp object made here is released by a guard, and every
//! pointer handed to libwebp lives as long as the object that reads it.

use std::marker::PhantomData;

use libwebp_sys as sys;
use webp::{Encoder, PixelLayout, WebPConfig};

use crate::pipeline::animation::Plays;
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
    let encoder = Encoder::new(bitmap.pixels(), layout, bitmap.width(), bitmap.height());
    let memory = encoder
        .encode_advanced(&config(compression)?)
        .map_err(|e| format!("{e:?}"))?;
    let webp = memory.to_vec();
    super::icc::embed(webp, icc)
}

/// The encoder settings for `compression`, as Pillow sets them.
fn config(compression: Compression) -> Result<WebPConfig, String> {
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
    Ok(config)
}

/// Whether the WebP in `bytes` declares an animation (the `VP8X` chunk's
/// animation flag, within its first 21 bytes).
pub fn is_animated(bytes: &[u8]) -> bool {
    bytes.len() > 20 && &bytes[12..16] == b"VP8X" && bytes[20] & 0x02 != 0
}

/// An animation's canvas, frame count and plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnimationInfo {
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// Frames in the file.
    pub frames: u32,
    /// How many times it plays.
    pub plays: Plays,
}

struct AnimDecoderGuard(*mut sys::WebPAnimDecoder);

impl Drop for AnimDecoderGuard {
    fn drop(&mut self) {
        // SAFETY: created by WebPAnimDecoderNew and deleted once, here.
        unsafe { sys::WebPAnimDecoderDelete(self.0) }
    }
}

/// The frames of an animated WebP, composited onto its canvas as RGBA.
pub struct Frames<'a> {
    decoder: AnimDecoderGuard,
    info: AnimationInfo,
    /// When the last frame ended, in milliseconds from the start.
    ended: i32,
    /// The decoder reads the file's bytes until it is dropped.
    bytes: PhantomData<&'a [u8]>,
}

impl Frames<'_> {
    /// The canvas, frame count and plays, from the file's chunks.
    pub fn info(&self) -> AnimationInfo {
        self.info
    }
}

impl Iterator for Frames<'_> {
    /// A frame and its delay in milliseconds.
    type Item = Result<(Bitmap, u32), String>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut canvas: *mut u8 = std::ptr::null_mut();
        let mut ends = 0;
        // SAFETY: the decoder is alive; on success `canvas` points to its
        // RGBA canvas of width × height × 4 bytes, valid until the next call,
        // and is copied out before that.
        unsafe {
            if sys::WebPAnimDecoderHasMoreFrames(self.decoder.0) == 0 {
                return None;
            }
            if sys::WebPAnimDecoderGetNext(self.decoder.0, &mut canvas, &mut ends) == 0 || canvas.is_null() {
                return Some(Err("cannot decode an animation frame".into()));
            }
            let (width, height) = (self.info.width, self.info.height);
            let len = width as usize * height as usize * 4;
            let pixels = std::slice::from_raw_parts(canvas, len).to_vec();
            let delay = u32::try_from(ends.saturating_sub(self.ended)).unwrap_or(0);
            self.ended = ends;
            Some(
                Bitmap::new(width, height, Layout::Rgba, pixels)
                    .ok_or_else(|| "decoded size mismatch".into())
                    .map(|b| (b, delay)),
            )
        }
    }
}

/// The animation in `bytes`, refused when its canvas has more than
/// `max_pixels` pixels; frames are decoded as they are taken.
pub fn frames(bytes: &[u8], max_pixels: u64) -> Result<Frames<'_>, String> {
    let data = sys::WebPData {
        bytes: bytes.as_ptr(),
        size: bytes.len(),
    };
    // SAFETY: options are initialised by libwebp before use; `data` points
    // into `bytes`, which the returned `Frames` borrows for as long as the
    // decoder lives; the decoder is checked for null and owned by its guard.
    unsafe {
        let mut options = std::mem::MaybeUninit::<sys::WebPAnimDecoderOptions>::zeroed();
        if sys::WebPAnimDecoderOptionsInit(options.as_mut_ptr()) == 0 {
            return Err("cannot configure libwebp".into());
        }
        let mut options = options.assume_init();
        options.color_mode = sys::WEBP_CSP_MODE::MODE_RGBA;
        options.use_threads = 0;
        let decoder = sys::WebPAnimDecoderNew(&data, &options);
        if decoder.is_null() {
            return Err("not a valid WebP animation".into());
        }
        let decoder = AnimDecoderGuard(decoder);
        let mut info = sys::WebPAnimInfo::default();
        if sys::WebPAnimDecoderGetInfo(decoder.0, &mut info) == 0 {
            return Err("cannot read the animation's header".into());
        }
        if u64::from(info.canvas_width) * u64::from(info.canvas_height) > max_pixels {
            return Err(format!(
                "a {}x{} canvas is over the limit of {max_pixels} pixels",
                info.canvas_width, info.canvas_height
            ));
        }
        let plays = match info.loop_count {
            0 => Plays::Forever,
            n => Plays::Times(n),
        };
        Ok(Frames {
            decoder,
            info: AnimationInfo {
                width: info.canvas_width,
                height: info.canvas_height,
                frames: info.frame_count,
                plays,
            },
            ended: 0,
            bytes: PhantomData,
        })
    }
}

struct AnimEncoderGuard(*mut sys::WebPAnimEncoder);

impl Drop for AnimEncoderGuard {
    fn drop(&mut self) {
        // SAFETY: created by WebPAnimEncoderNewInternal and deleted once, here.
        unsafe { sys::WebPAnimEncoderDelete(self.0) }
    }
}

struct PictureGuard(sys::WebPPicture);

impl Drop for PictureGuard {
    fn drop(&mut self) {
        // SAFETY: initialised by WebPPictureInitInternal; freeing an empty
        // picture is allowed, and it is freed once, here.
        unsafe { sys::WebPPictureFree(&mut self.0) }
    }
}

/// An animated WebP written a frame at a time.
pub struct AnimationWriter {
    encoder: AnimEncoderGuard,
    config: WebPConfig,
    width: u32,
    height: u32,
    /// When the next frame starts, in milliseconds.
    starts: i32,
}

impl AnimationWriter {
    /// A `width`×`height` animation that plays `plays` times.
    pub fn new(width: u32, height: u32, compression: Compression, plays: Plays) -> Result<Self, String> {
        let config = config(compression)?;
        let side = |v: u32| {
            i32::try_from(v)
                .ok()
                .filter(|&v| v <= 16383)
                .ok_or(format!("WebP sides are at most 16383 pixels, not {v}"))
        };
        let (w, h) = (side(width)?, side(height)?);
        // SAFETY: options are initialised by libwebp before use; the encoder
        // is checked for null and owned by its guard.
        unsafe {
            let mut options = std::mem::MaybeUninit::<sys::WebPAnimEncoderOptions>::zeroed();
            if sys::WebPAnimEncoderOptionsInitInternal(options.as_mut_ptr(), sys::WEBP_MUX_ABI_VERSION as i32) == 0 {
                return Err("cannot configure libwebp".into());
            }
            let mut options = options.assume_init();
            options.anim_params.loop_count = match plays {
                Plays::Forever => 0,
                Plays::Times(n) => i32::try_from(n.clamp(1, 65535)).unwrap_or(1),
            };
            // A transparent background, as the frames are composited onto.
            options.anim_params.bgcolor = 0;
            let encoder = sys::WebPAnimEncoderNewInternal(w, h, &options, sys::WEBP_MUX_ABI_VERSION as i32);
            if encoder.is_null() {
                return Err("cannot start a WebP animation".into());
            }
            Ok(Self {
                encoder: AnimEncoderGuard(encoder),
                config,
                width,
                height,
                starts: 0,
            })
        }
    }

    /// Adds a whole-canvas RGB or RGBA frame shown for `delay` milliseconds.
    pub fn add(&mut self, frame: &Bitmap, delay: u32) -> Result<(), String> {
        if (frame.width(), frame.height()) != (self.width, self.height) {
            return Err("a frame differs in size from the animation".into());
        }
        let stride = i32::try_from(frame.stride()).map_err(|_| "a frame row is too long".to_owned())?;
        // SAFETY: the picture is initialised by libwebp and freed by its
        // guard; the import copies the frame's pixels, which outlive the call.
        unsafe {
            let mut picture = std::mem::MaybeUninit::<sys::WebPPicture>::zeroed();
            if sys::WebPPictureInitInternal(picture.as_mut_ptr(), sys::WEBP_ENCODER_ABI_VERSION as i32) == 0 {
                return Err("cannot configure libwebp".into());
            }
            let mut picture = PictureGuard(picture.assume_init());
            picture.0.use_argb = 1;
            (picture.0.width, picture.0.height) = (self.width as i32, self.height as i32);
            let imported = match frame.layout() {
                Layout::Rgb => sys::WebPPictureImportRGB(&mut picture.0, frame.pixels().as_ptr(), stride),
                Layout::Rgba => sys::WebPPictureImportRGBA(&mut picture.0, frame.pixels().as_ptr(), stride),
                other => return Err(format!("cannot encode {other:?} pixels")),
            };
            if imported == 0 {
                return Err("out of memory".into());
            }
            if sys::WebPAnimEncoderAdd(self.encoder.0, &mut picture.0, self.starts, &self.config) == 0 {
                return Err(self.error());
            }
        }
        self.starts = self.starts.saturating_add(i32::try_from(delay).unwrap_or(i32::MAX));
        Ok(())
    }

    /// The file.
    pub fn finish(self) -> Result<Vec<u8>, String> {
        // SAFETY: the encoder is alive; a null frame marks the end; on success
        // `data` holds a buffer libwebp allocated, copied and then freed here.
        unsafe {
            if sys::WebPAnimEncoderAdd(self.encoder.0, std::ptr::null_mut(), self.starts, std::ptr::null()) == 0 {
                return Err(self.error());
            }
            let mut data = sys::WebPData::default();
            if sys::WebPAnimEncoderAssemble(self.encoder.0, &mut data) == 0 {
                return Err(self.error());
            }
            let bytes = std::slice::from_raw_parts(data.bytes, data.size).to_vec();
            sys::WebPDataClear(&mut data);
            Ok(bytes)
        }
    }

    /// libwebp's message for the last failure.
    fn error(&self) -> String {
        // SAFETY: the encoder is alive; the message is a NUL-terminated
        // string it owns, copied at once.
        unsafe {
            let message = sys::WebPAnimEncoderGetError(self.encoder.0);
            if message.is_null() {
                "cannot encode the animation".into()
            } else {
                std::ffi::CStr::from_ptr(message).to_string_lossy().into_owned()
            }
        }
    }
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
    fn animations_round_trip_frames_delays_and_plays() {
        let frame = |v: u8| Bitmap::new(8, 6, Layout::Rgba, [v, 255 - v, 40, 255].repeat(48)).unwrap();
        for (compression, plays) in [
            (Compression::Lossy(90), Plays::Forever),
            (Compression::Lossless, Plays::Times(3)),
        ] {
            let mut writer = AnimationWriter::new(8, 6, compression, plays).unwrap();
            for (v, delay) in [(0, 100), (120, 40), (250, 1000)] {
                writer.add(&frame(v), delay).unwrap();
            }
            let webp = writer.finish().unwrap();
            assert!(is_animated(&webp));
            let frames = frames(&webp, 1 << 20).unwrap();
            let info = frames.info();
            assert_eq!((info.width, info.height, info.frames, info.plays), (8, 6, 3, plays));
            let decoded: Vec<(Bitmap, u32)> = frames.map(Result::unwrap).collect();
            assert_eq!(decoded.iter().map(|f| f.1).collect::<Vec<_>>(), [100, 40, 1000]);
            assert!(
                decoded[1].0.pixels()[..3]
                    .iter()
                    .zip([120, 135, 40])
                    .all(|(&a, b)| a.abs_diff(b) <= 3)
            );
            assert!(self::frames(&webp, 47).is_err(), "canvas over the pixel limit");
        }
        let still = encode(&frame(9).into_layout(Layout::Rgb), Compression::Lossy(80), None).unwrap();
        assert!(!is_animated(&still));
        assert!(frames(b"RIFF\0\0\0\0WEBPVP8X", 1 << 20).is_err());
        let mut writer = AnimationWriter::new(8, 6, Compression::Lossy(80), Plays::Forever).unwrap();
        assert!(
            writer
                .add(&Bitmap::new(1, 1, Layout::Rgb, vec![0; 3]).unwrap(), 10)
                .is_err()
        );
        assert!(AnimationWriter::new(20000, 1, Compression::Lossy(80), Plays::Forever).is_err());
    }

    #[test]
    fn too_large_for_webp_is_an_error() {
        let bitmap = Bitmap::new(17000, 1, Layout::Rgb, vec![0; 17000 * 3]).unwrap();
        assert!(encode(&bitmap, Compression::Lossy(80), None).is_err());
    }
}
