//! Damaged originals: thousands of deterministic mutations of the test
//! images, SVG drawings included (bit flips, overwritten runs, truncations,
//! spliced headers) go through `probe`, `plan` and `render` (SVGs rasterized
//! where the spec asks for a format). Every one must end in a rendition or a
//! typed error; a panic fails the test.

use renditiond::pipeline::{self, Limits};
use renditiond::plan::{self, Source, SvgOutput};
use renditiond::spec::FilterSpec;

use crate::support::{raster_images, root};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(original: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = original.to_vec();
    match rng.below(4) {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(bytes.len());
                bytes[at] ^= 1 << rng.below(8);
            }
        }
        1 => {
            // Headers are where decoders trust numbers: hit the first kilobyte.
            let at = rng.below(bytes.len().min(1024));
            let len = (1 + rng.below(16)).min(bytes.len() - at);
            for b in &mut bytes[at..at + len] {
                *b = rng.next() as u8;
            }
        }
        2 => bytes.truncate(rng.below(bytes.len())),
        _ => {
            let at = rng.below(bytes.len());
            let tail = bytes.split_off(at);
            bytes.extend_from_slice(&original[..original.len().min(64)]);
            bytes.extend_from_slice(&tail);
        }
    }
    bytes
}

/// Probes, plans and renders `bytes`; any failure as its message.
fn render(
    bytes: &[u8],
    spec: &FilterSpec,
    output: &plan::Output,
    limits: &Limits,
) -> Result<pipeline::Rendition, String> {
    let probe = pipeline::probe(bytes, limits).map_err(|e| e.to_string())?;
    let source = Source {
        size: probe.oriented_size(),
        format: probe.format,
        focal_point: None,
        animated: probe.animated() == Some(true),
    };
    let plan = plan::plan(&source, spec, output).map_err(|e| e.to_string())?;
    pipeline::render(bytes, &probe, &plan, limits).map_err(|e| e.to_string())
}

#[test]
fn damaged_originals_never_panic() {
    let specs: Vec<FilterSpec> = [
        "fill-64x48",
        "width-50|format-png",
        "max-40x40|format-webp",
        "scale-10|format-avif",
    ]
    .iter()
    .map(|s| FilterSpec::parse(s).expect("valid"))
    .collect();
    // Small limits keep damaged headers that claim huge sizes cheap.
    let limits = Limits {
        max_source_pixels: 4_000_000,
        max_output_pixels: 4_000_000,
        ..Limits::default()
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut rendered, mut refused) = (0, 0);
    let drawings = std::fs::read_dir(root().join("test-images/svg"))
        .expect("SVG test images")
        .map(|e| e.expect("entry").path());
    for path in raster_images().into_iter().chain(drawings) {
        let original = std::fs::read(&path).expect("test image");
        for round in 0..40 {
            let bytes = mutate(&original, &mut rng);
            let spec = &specs[round % specs.len()];
            let outcome = render(&bytes, spec, &SvgOutput::RasterOnRequest.into(), &limits);
            match outcome {
                Ok(_) => rendered += 1,
                Err(message) => {
                    assert!(!message.is_empty());
                    refused += 1;
                }
            }
        }
    }
    assert!(rendered > 0 && refused > 0, "rendered {rendered}, refused {refused}");
}

/// An animation of `frames` 64×48 frames, as GIF and as WebP.
fn animations(frames: u8) -> [Vec<u8>; 2] {
    use renditiond::pipeline::codec::{gif, webp};
    use renditiond::pipeline::{Bitmap, Layout, Plays};
    let mut as_gif = gif::Writer::new(64, 48, Plays::Times(3)).expect("gif");
    let mut as_webp = webp::AnimationWriter::new(64, 48, plan::Compression::Lossy(80), Plays::Forever).expect("webp");
    for i in 0..frames {
        let px = (0..64 * 48 * 4u32)
            .map(|p| {
                if p % 4 == 3 {
                    255 - i * 20
                } else {
                    (p / 7) as u8 ^ (i * 50)
                }
            })
            .collect();
        let frame = Bitmap::new(64, 48, Layout::Rgba, px).expect("frame");
        as_webp.add(&frame, 40 + u32::from(i) * 10).expect("webp frame");
        as_gif.add(frame, 40).expect("gif frame");
    }
    [as_gif.finish().expect("gif"), as_webp.finish().expect("webp")]
}

#[test]
fn damaged_animations_never_panic() {
    let specs: Vec<FilterSpec> = ["width-40", "fill-30x30|format-webp", "max-20x20|format-gif"]
        .iter()
        .map(|s| FilterSpec::parse(s).expect("valid"))
        .collect();
    let limits = Limits {
        animation: Some(pipeline::AnimationLimits::default()),
        ..Limits::default()
    };
    let output = plan::Output {
        animation: true,
        ..plan::Output::default()
    };
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut animated, mut refused) = (0, 0);
    for original in animations(6) {
        for round in 0..300 {
            let bytes = mutate(&original, &mut rng);
            let spec = &specs[round % specs.len()];
            let outcome = render(&bytes, spec, &output, &limits);
            match outcome {
                Ok(rendition) if rendition.bytes.len() > 1000 => animated += 1,
                Ok(_) => {}
                Err(message) => {
                    assert!(!message.is_empty());
                    refused += 1;
                }
            }
        }
    }
    assert!(animated > 0 && refused > 0, "animated {animated}, refused {refused}");
}
