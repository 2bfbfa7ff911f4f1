//! Animated GIF and WebP originals kept animated (`RENDITIOND_ANIMATION`):
//! every frame, composited onto the canvas, goes through the same crop,
//! resize, orientation and flattening as a still image, keeping its delay
//! and the number of plays, and is encoded as it comes (GIF or WebP), so
//! no more than one frame is held decoded.
//!
//! An animation over the frame or pixel budget is rendered from its first
//! frame, as if the setting were off.

use super::codec::{gif, webp};
use super::{Deadline, Header, PipelineError, Rendition, Stages, bitmap::Bitmap, flatten, orient, resize, timed};
use crate::format::SourceFormat;
use crate::plan::{Encoding, Plan};

/// Default of `RENDITIOND_ANIMATION_MAX_FRAMES`.
pub const DEFAULT_MAX_FRAMES: u32 = 1000;
/// Default of `RENDITIOND_ANIMATION_MAX_PIXELS`: frames × pixels, the way
/// Wagtail counts an animation against its 128-megapixel upload limit.
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// The budget an animation is kept animated within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnimationLimits {
    /// Most frames.
    pub max_frames: u32,
    /// Most frames × pixels (of the canvas or the rendition, whichever is larger).
    pub max_pixels: u64,
}

impl Default for AnimationLimits {
    fn default() -> Self {
        Self {
            max_frames: DEFAULT_MAX_FRAMES,
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// How many times an animation plays, as browsers count: a GIF without a
/// loop extension plays once, one with `NETSCAPE2.0` count `n` plays `n + 1`
/// times, and a WebP with loop count `n` plays `n` times (0: forever).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plays {
    /// Loops forever.
    Forever,
    /// Plays this many times.
    Times(u32),
}

/// Whether an original moves, from the bytes read of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Motion {
    /// One frame (or animation is off).
    Still,
    /// More than one frame.
    Animated,
    /// The bytes end before the second frame or the end of the file: read more.
    Unknown,
}

/// Whether the `format` original in `bytes` (all of it when `whole`) is
/// animated: a GIF with a second frame, a WebP declaring an animation.
pub(super) fn motion(bytes: &[u8], format: SourceFormat, whole: bool) -> Motion {
    match format {
        SourceFormat::Gif => {
            let scan = gif::scan(bytes, 1);
            if scan.frames > 1 {
                Motion::Animated
            } else if scan.complete || whole {
                Motion::Still
            } else {
                Motion::Unknown
            }
        }
        SourceFormat::Webp if webp::is_animated(bytes) => Motion::Animated,
        _ => Motion::Still,
    }
}

/// Frames as they are decoded, with their delays in milliseconds.
type FrameSource<'a> = Box<dyn Iterator<Item = Result<(Bitmap, u32), String>> + 'a>;

/// The writer of the planned encoding.
enum Writer {
    Gif(gif::Writer),
    Webp(webp::AnimationWriter),
}

impl Writer {
    fn add(&mut self, frame: Bitmap, delay: u32) -> Result<(), String> {
        match self {
            Self::Gif(writer) => writer.add(frame, delay),
            Self::Webp(writer) => writer.add(&frame, delay),
        }
    }

    fn finish(self) -> Result<Vec<u8>, String> {
        match self {
            Self::Gif(writer) => writer.finish(),
            Self::Webp(writer) => writer.finish(),
        }
    }
}

/// Renders every frame of the animated original in `bytes` for `plan`, at
/// `size` (oriented); `None` when the animation is over `budget`.
pub(super) fn render(
    bytes: &[u8],
    format: SourceFormat,
    header: &Header,
    plan: &Plan,
    size: (u32, u32),
    budget: &AnimationLimits,
    deadline: &Deadline,
) -> Result<Option<Rendition>, PipelineError> {
    let undecodable = |e: String| PipelineError::undecodable(format, e);
    let canvas = u64::from(header.width) * u64::from(header.height);
    let mut stages = Stages::default();
    let (frames, plays, source): (u32, Plays, FrameSource<'_>) = timed(&mut stages.decode, || match format {
        SourceFormat::Gif => {
            let scan = gif::scan(bytes, budget.max_frames);
            let frames = gif::frames(bytes, canvas)?;
            Ok((scan.frames, scan.plays, Box::new(frames) as FrameSource<'_>))
        }
        _ => {
            let frames = webp::frames(bytes, canvas)?;
            let info = frames.info();
            Ok((info.frames, info.plays, Box::new(frames) as FrameSource<'_>))
        }
    })
    .map_err(undecodable)?;
    let largest = canvas.max(u64::from(size.0) * u64::from(size.1));
    if frames > budget.max_frames || u64::from(frames).saturating_mul(largest) > budget.max_pixels {
        return Ok(None);
    }
    let output = plan.format();
    let failed = |e: String| PipelineError::encode(output, e);
    let mut writer = match plan.encoding {
        Encoding::Gif => Writer::Gif(gif::Writer::new(size.0, size.1, plays).map_err(failed)?),
        Encoding::Webp(compression) => {
            Writer::Webp(webp::AnimationWriter::new(size.0, size.1, compression, plays).map_err(failed)?)
        }
        _ => return Err(PipelineError::UnsupportedOutput(output)),
    };
    let (region, (stored_w, stored_h)) = super::stored_geometry(header, plan, size.0, size.1);
    let mut source = source.take(frames as usize);
    loop {
        deadline.check()?;
        let Some(frame) = timed(&mut stages.decode, || source.next()) else {
            break;
        };
        let (frame, delay) = frame.map_err(undecodable)?;
        if (frame.width(), frame.height()) != (header.width, header.height) {
            return Err(undecodable("a frame differs in size from the canvas".into()));
        }
        let flat = timed(&mut stages.resize, || {
            let resized = resize::crop_resize(&frame, region, stored_w, stored_h)?;
            let oriented = orient::apply(header.orientation, resized);
            Ok::<_, PipelineError>(flatten::flatten(oriented, None, plan.background, output))
        })?;
        timed(&mut stages.encode, || writer.add(flat, delay)).map_err(failed)?;
    }
    deadline.check()?;
    let bytes = timed(&mut stages.encode, || writer.finish()).map_err(failed)?;
    Ok(Some(Rendition {
        bytes,
        format: output,
        width: size.0,
        height: size.1,
        stages,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{self, Layout, Limits};
    use crate::plan::{self, Output, Source};
    use crate::spec::FilterSpec;

    /// A GIF of `frames` 40×30 frames.
    fn animation(frames: u8) -> Vec<u8> {
        let mut writer = gif::Writer::new(40, 30, Plays::Times(2)).unwrap();
        for i in 0..frames {
            let px = [i * 30, 90, 200, 255].repeat(40 * 30);
            writer.add(Bitmap::new(40, 30, Layout::Rgba, px).unwrap(), 70).unwrap();
        }
        writer.finish().unwrap()
    }

    fn render(bytes: &[u8], spec: &str, budget: Option<AnimationLimits>) -> (Rendition, u64) {
        let limits = Limits {
            animation: budget,
            ..Limits::default()
        };
        let probe = pipeline::probe(bytes, &limits).unwrap();
        let source = Source {
            size: probe.oriented_size(),
            format: probe.format,
            focal_point: None,
            animated: probe.animated() == Some(true),
        };
        let output = Output {
            animation: budget.is_some(),
            ..Output::default()
        };
        let plan = plan::plan(&source, &FilterSpec::parse(spec).unwrap(), &output).unwrap();
        let cost = pipeline::memory_cost(
            probe.format,
            bytes.len() as u64,
            Some(&probe),
            Some(&plan),
            plan.format(),
            &limits,
        );
        (pipeline::render(bytes, &probe, &plan, &limits).unwrap(), cost)
    }

    #[test]
    fn motion_is_told_from_the_second_frame_or_the_animation_flag() {
        let moving = animation(3);
        assert_eq!(motion(&moving, SourceFormat::Gif, true), Motion::Animated);
        assert_eq!(motion(&animation(1), SourceFormat::Gif, true), Motion::Still);
        // A head that ends inside the first frame tells nothing yet.
        assert_eq!(motion(&moving[..100], SourceFormat::Gif, false), Motion::Unknown);
        assert_eq!(motion(&moving[..100], SourceFormat::Gif, true), Motion::Still);
        assert_eq!(motion(&moving, SourceFormat::Png, true), Motion::Still);
    }

    #[test]
    fn every_frame_within_the_budget_else_the_first() {
        let moving = animation(5);
        let (kept, cost) = render(&moving, "width-20", Some(AnimationLimits::default()));
        assert_eq!((kept.format.name(), kept.width, kept.height), ("gif", 20, 15));
        let scan = gif::scan(&kept.bytes, 100);
        assert_eq!((scan.frames, scan.plays), (5, Plays::Times(2)));
        assert!(cost > 20 * 15 * 4 * 5, "the encoded frames are reserved: {cost}");
        for budget in [
            AnimationLimits {
                max_frames: 4,
                ..AnimationLimits::default()
            },
            AnimationLimits {
                max_pixels: 40 * 30 * 4,
                ..AnimationLimits::default()
            },
        ] {
            let (first, _) = render(&moving, "width-20", Some(budget));
            assert_eq!((first.format.name(), gif::scan(&first.bytes, 100).frames), ("gif", 1));
        }
        // Off, as in Wagtail: the first frame, as PNG.
        let (still, _) = render(&moving, "width-20", None);
        assert_eq!(still.format.name(), "png");
        let (webp, _) = render(&moving, "width-20|format-webp", Some(AnimationLimits::default()));
        assert_eq!(webp::frames(&webp.bytes, 1 << 20).unwrap().info().frames, 5);
    }
}
