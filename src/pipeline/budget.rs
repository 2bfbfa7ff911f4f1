//! What one render may spend: a deadline checked between the pipeline's
//! steps, and an upper bound on the memory it allocates, computed from the
//! headers and the plan before anything is decoded.

use std::time::{Duration, Instant};

use super::error::PipelineError;
use super::{AnimationLimits, Header, Limits, Probe, Probed};
use crate::format::{OutputFormat, SourceFormat};
use crate::plan::{Compression, Encoding, Plan};

/// Memory every render may use whatever its size: codec state, tables, the
/// encoder's own buffers.
const FIXED_BYTES: u64 = 4 << 20;

/// How much memory an SVG document takes per byte of its text, at most,
/// while it is parsed, sanitized and written again.
const SVG_BYTES_PER_BYTE: u64 = 32;

/// When a render has to stop. Checked cooperatively between steps, so a
/// render past its deadline ends at the next check with
/// [`PipelineError::TimedOut`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// No deadline: the render runs to its end.
    pub fn none() -> Self {
        Self(None)
    }

    /// A deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Self {
        Self(Instant::now().checked_add(timeout))
    }

    /// Whether the deadline has passed.
    pub fn passed(&self) -> bool {
        self.0.is_some_and(|at| Instant::now() >= at)
    }

    /// `Err(TimedOut)` once the deadline has passed.
    pub fn check(&self) -> Result<(), PipelineError> {
        if self.passed() {
            Err(PipelineError::TimedOut)
        } else {
            Ok(())
        }
    }
}

/// The most memory, in bytes, that rendering `plan` from an original of
/// `original_bytes` bytes may allocate, the original's own bytes included.
///
/// `probe` is what the original's headers said, when they were read, and
/// `plan` the rendition planned from them; without them (headers beyond the
/// bytes read so far) the bound comes from the pixel limit alone. An SVG is
/// bounded by its size and, when it becomes a raster `output`, by what the
/// rasterizer may allocate (`limits.svg.max_raster_bytes`).
pub fn memory_cost(
    format: SourceFormat,
    original_bytes: u64,
    probe: Option<&Probe>,
    plan: Option<&Plan>,
    output: OutputFormat,
    limits: &Limits,
) -> u64 {
    let max_pixels = limits.max_source_pixels;
    if format == SourceFormat::Svg {
        let document = original_bytes.saturating_mul(SVG_BYTES_PER_BYTE);
        let raster = if output == OutputFormat::Svg {
            0
        } else {
            limits.svg.max_raster_bytes
        };
        return FIXED_BYTES.saturating_add(document).saturating_add(raster);
    }
    let output_pixels = plan
        .and_then(Plan::pixel_size)
        .map(|(w, h)| u64::from(w) * u64::from(h))
        .unwrap_or(max_pixels);
    let encoder = match output {
        // libaom keeps several frames of YUV and its analysis state.
        OutputFormat::Avif => 24,
        _ => 8,
    };
    // Resized, oriented and flattened copies, four bytes a pixel at most,
    // and what the encoder holds.
    let after_decode = output_pixels.saturating_mul(3 * 4 + encoder);
    if let (Some(Probed::Raster(header)), Some(plan)) = (probe.map(|p| &p.source), plan)
        && let Some(budget) = super::animation_budget(header, plan, limits)
    {
        return FIXED_BYTES
            .saturating_add(original_bytes)
            .saturating_add(animation_bytes(header, plan, output_pixels, budget));
    }
    let decoded = match (probe.map(|p| &p.source), plan) {
        (Some(Probed::Raster(header)), Some(plan)) => decoded_bytes(header, plan, limits),
        // Headers not read yet: the largest original the pixel limit allows,
        // decoded at 16 bits per channel and converted to 8.
        _ => max_pixels.saturating_mul(12),
    };
    FIXED_BYTES
        .saturating_add(original_bytes)
        .saturating_add(decoded)
        .saturating_add(after_decode)
}

/// The decoded pixels of a raster original for `plan`: shrunk on load for
/// JPEG, whole otherwise; for wider pixels the 8-bit copy they are converted
/// to, and for pixels with alpha the premultiplied copy the resizer makes.
fn decoded_bytes(header: &Header, plan: &Plan, limits: &Limits) -> u64 {
    let shrink = super::shrink_for(header, plan, limits).max(1);
    let (w, h) = (header.width.div_ceil(shrink), header.height.div_ceil(shrink));
    let shape = header.pixels;
    let (decoded, channels) = (u64::from(shape.bytes_per_pixel), u64::from(shape.channels));
    let converted = if decoded > channels { channels } else { 0 };
    let premultiplied = if shape.alpha { channels } else { 0 };
    (u64::from(w) * u64::from(h)).saturating_mul(decoded + converted + premultiplied)
}

/// What an animation kept animated holds while it is rendered a frame at a
/// time: the decoder's canvas, the frame taken from it and the resizer's
/// premultiplied copy; the resized frame and its copies, and the encoder's
/// canvases; and the encoded frames, at most as many as the budget lets
/// through, at up to 2 bytes a pixel (4 for lossless WebP).
fn animation_bytes(header: &Header, plan: &Plan, output_pixels: u64, budget: &AnimationLimits) -> u64 {
    let canvas = u64::from(header.width) * u64::from(header.height);
    let frames = u64::from(budget.max_frames).min(budget.max_pixels / canvas.max(output_pixels).max(1));
    let encoded = match plan.encoding {
        Encoding::Webp(Compression::Lossless) => 4,
        _ => 2,
    };
    canvas
        .saturating_mul(3 * 4)
        .saturating_add(output_pixels.saturating_mul(3 * 4 + 4 * 4))
        .saturating_add(frames.saturating_mul(output_pixels).saturating_mul(encoded))
}
