//! Animated GIF: frames counted without decoding them (`gif`), decoded
//! composited onto the canvas as browsers show them (`image`), and written
//! one at a time, each with its own palette (`gif`).

use std::io::Cursor;

use gif::{DecodeOptions, DisposalMethod, Encoder, Frame, Repeat};
use image::codecs::gif::GifDecoder;
use image::{AnimationDecoder, ImageDecoder};

use crate::pipeline::animation::Plays;
use crate::pipeline::bitmap::{Bitmap, Layout};

/// What a walk over a GIF's blocks found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Frames found, at most one more than the cap the walk was given.
    pub frames: u32,
    /// How many times the animation plays.
    pub plays: Plays,
    /// Whether the walk reached the trailer (or the cap): `false` when the
    /// bytes end or break before it, as a head read of a large file does.
    pub complete: bool,
}

/// Counts the frames of the GIF in `bytes` up to `cap + 1`, reading block
/// headers only: no pixel is decoded.
pub fn scan(bytes: &[u8], cap: u32) -> Scan {
    let mut options = DecodeOptions::new();
    options.skip_frame_decoding(true);
    let mut found = Scan {
        frames: 0,
        plays: Plays::Times(1),
        complete: false,
    };
    let Ok(mut decoder) = options.read_info(bytes) else {
        return found;
    };
    loop {
        match decoder.read_next_frame() {
            Ok(Some(_)) if found.frames <= cap => {
                found.frames += 1;
                if found.frames > cap {
                    found.complete = true;
                    break;
                }
            }
            Ok(None) => {
                found.complete = true;
                break;
            }
            Ok(Some(_)) | Err(_) => break,
        }
    }
    found.plays = match decoder.repeat() {
        Repeat::Infinite => Plays::Forever,
        // NETSCAPE2.0's count is of repeats after the first play; without
        // the extension the animation plays once.
        Repeat::Finite(repeats) => Plays::Times(u32::from(repeats) + 1),
    };
    found
}

/// The frames of the GIF in `bytes`, each composited onto the full canvas
/// as RGBA, with its delay in milliseconds.
pub fn frames(bytes: &[u8], canvas: u64) -> Result<impl Iterator<Item = Result<(Bitmap, u32), String>> + '_, String> {
    let mut decoder = GifDecoder::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let mut limits = image::Limits::default();
    // The canvas, the frame composited onto it, the one kept for disposal
    // to the previous frame and the frame handed out, RGBA; and LZW state.
    limits.max_alloc = Some(canvas.saturating_mul(4 * 4).saturating_add(1 << 20));
    decoder.set_limits(limits).map_err(|e| e.to_string())?;
    Ok(decoder.into_frames().map(|frame| {
        let frame = frame.map_err(|e| e.to_string())?;
        let (numerator, denominator) = frame.delay().numer_denom_ms();
        let delay = numerator.checked_div(denominator).unwrap_or(0);
        let canvas = frame.into_buffer();
        let (width, height) = canvas.dimensions();
        let bitmap = Bitmap::new(width, height, Layout::Rgba, canvas.into_raw()).ok_or("decoded size mismatch")?;
        Ok((bitmap, delay))
    }))
}

/// An animated GIF written a frame at a time.
pub struct Writer {
    encoder: Encoder<Vec<u8>>,
    width: u16,
    height: u16,
}

impl Writer {
    /// A `width`×`height` animation that plays `plays` times.
    pub fn new(width: u32, height: u32, plays: Plays) -> Result<Self, String> {
        let side = |v: u32| u16::try_from(v).map_err(|_| format!("GIF sides are at most 65535 pixels, not {v}"));
        let (width, height) = (side(width)?, side(height)?);
        let mut encoder = Encoder::new(Vec::new(), width, height, &[]).map_err(|e| e.to_string())?;
        let repeat = match plays {
            Plays::Forever => Some(Repeat::Infinite),
            Plays::Times(0 | 1) => None,
            Plays::Times(n) => Some(Repeat::Finite(u16::try_from(n - 1).unwrap_or(u16::MAX))),
        };
        if let Some(repeat) = repeat {
            encoder.set_repeat(repeat).map_err(|e| e.to_string())?;
        }
        Ok(Self { encoder, width, height })
    }

    /// Adds a whole-canvas frame shown for `delay` milliseconds (GIF keeps
    /// hundredths of a second), NeuQuant-reduced to its own palette.
    pub fn add(&mut self, frame: Bitmap, delay: u32) -> Result<(), String> {
        if (frame.width(), frame.height()) != (u32::from(self.width), u32::from(self.height)) {
            return Err("a frame differs in size from the animation".into());
        }
        let mut rgba = frame.into_layout(Layout::Rgba).into_pixels();
        let mut frame = Frame::from_rgba_speed(self.width, self.height, &mut rgba, 10);
        frame.delay = u16::try_from(delay.saturating_add(5) / 10).unwrap_or(u16::MAX);
        // Each frame is the whole picture: cleared first, so pixels
        // transparent here do not show the frame before.
        frame.dispose = DisposalMethod::Background;
        self.encoder.write_frame(&frame).map_err(|e| e.to_string())
    }

    /// The file.
    pub fn finish(self) -> Result<Vec<u8>, String> {
        self.encoder.into_inner().map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(value: u8, alpha: u8) -> Bitmap {
        let px = [value, 255 - value, value / 2, alpha].repeat(6 * 4);
        Bitmap::new(6, 4, Layout::Rgba, px).unwrap()
    }

    fn animation(plays: Plays, frames: &[(u8, u32)]) -> Vec<u8> {
        let mut writer = Writer::new(6, 4, plays).unwrap();
        for &(value, delay) in frames {
            writer.add(solid(value, 255), delay).unwrap();
        }
        writer.finish().unwrap()
    }

    #[test]
    fn frames_delays_and_plays_round_trip() {
        for plays in [Plays::Forever, Plays::Times(1), Plays::Times(2), Plays::Times(9)] {
            let gif = animation(plays, &[(0, 100), (120, 40), (250, 1000)]);
            let scan = scan(&gif, 100);
            assert_eq!(
                scan,
                Scan {
                    frames: 3,
                    plays,
                    complete: true
                }
            );
            let decoded: Vec<(Bitmap, u32)> = frames(&gif, 1 << 20).unwrap().map(Result::unwrap).collect();
            let delays: Vec<u32> = decoded.iter().map(|f| f.1).collect();
            assert_eq!(delays, [100, 40, 1000]);
            let middle = decoded[1].0.pixels();
            assert!(
                middle[..3].iter().zip([120, 135, 60]).all(|(&a, b)| a.abs_diff(b) <= 2),
                "{middle:?}"
            );
        }
    }

    #[test]
    fn scan_stops_at_the_cap_and_tells_a_cut_file() {
        let gif = animation(Plays::Forever, &[(0, 10), (50, 10), (100, 10), (150, 10)]);
        assert_eq!(scan(&gif, 1).frames, 2);
        assert!(scan(&gif, 1).complete);
        let cut = scan(&gif[..gif.len() - 30], 100);
        assert!(!cut.complete && cut.frames < 4, "{cut:?}");
        assert_eq!(
            scan(b"GIF89a", 10),
            Scan {
                frames: 0,
                plays: Plays::Times(1),
                complete: false
            }
        );
    }

    #[test]
    fn transparent_pixels_stay_transparent_in_every_frame() {
        let mut writer = Writer::new(6, 4, Plays::Forever).unwrap();
        writer.add(solid(200, 255), 50).unwrap();
        writer.add(solid(10, 0), 50).unwrap();
        let gif = writer.finish().unwrap();
        let last = frames(&gif, 1 << 20).unwrap().last().unwrap().unwrap().0;
        assert!(
            last.pixels().chunks_exact(4).all(|px| px[3] == 0),
            "the first frame shows through"
        );
        assert!(Writer::new(70000, 1, Plays::Forever).is_err());
        let mut writer = Writer::new(6, 4, Plays::Forever).unwrap();
        assert!(
            writer
                .add(Bitmap::new(1, 1, Layout::Rgba, vec![0; 4]).unwrap(), 10)
                .is_err()
        );
    }
}
