//! Engine benchmarks: planning a spec mix, rendering a 12-megapixel
//! photo-like JPEG as `codecs.md` and `anchors-bench.md` measured their peers,
//! and SVG originals (sanitized SVG renditions, and rasterizing).
//!
//! The photo is made deterministically at start-up from a test image:
//! upscaled to 4000×3000 with Lanczos3, given correlated grain so that its
//! entropy resembles a camera file, and saved as a baseline 4:2:0 JPEG at
//! quality 90 (about 3.5 MB, like `photo_12mp.jpg`).
//!
//! ```sh
//! cargo bench --bench engine
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use fast_image_resize::images::Image;
use fast_image_resize::{PixelType, ResizeOptions, Resizer};
use renditiond::format::SourceFormat;
use renditiond::pipeline::codec::jpeg;
use renditiond::pipeline::{self, Limits};
use renditiond::plan::{self, FocalPoint, Size, Source, SvgOutput};
use renditiond::spec::FilterSpec;

const SPEC_MIX: [&str; 10] = [
    "fill-300x200-c80|format-webp|webpquality-70",
    "fill-800x600",
    "width-1200",
    "max-400x400|format-jpeg|jpegquality-60",
    "min-200x200",
    "height-150|bgcolor-fff",
    "scale-50",
    "fill-200x200|height-150",
    "width-500|fill-100x100-c100",
    "original|format-avif-lossless",
];

/// A 4000×3000 JPEG with photographic texture, the same on every run.
fn photo_12mp() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/test-images/photo-baseline.jpg");
    let bytes = std::fs::read(path).expect("test image");
    let header = jpeg::read_header(&bytes).expect("jpeg header");
    let small = jpeg::decode(&bytes, &header, 1).expect("decodes");
    let src = Image::from_vec_u8(small.width(), small.height(), small.into_pixels(), PixelType::U8x3).expect("image");
    let mut big = Image::new(4000, 3000, PixelType::U8x3);
    Resizer::new()
        .resize(&src, &mut big, &ResizeOptions::new())
        .expect("upscale");
    let mut pixels = big.into_vec();
    // Grain: a xorshift noise, averaged with its neighbour for a little correlation.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut previous = 0i32;
    for px in pixels.chunks_exact_mut(3) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = ((state >> 56) as i32 - 128) / 6;
        let grain = (noise + previous) / 2;
        previous = noise;
        for c in px.iter_mut() {
            *c = (i32::from(*c) + grain).clamp(0, 255) as u8;
        }
    }
    let image = turbojpeg::Image {
        pixels: pixels.as_slice(),
        width: 4000,
        pitch: 4000 * 3,
        height: 3000,
        format: turbojpeg::PixelFormat::RGB,
    };
    turbojpeg::compress(image, 90, turbojpeg::Subsamp::Sub2x2)
        .expect("encodes")
        .to_vec()
}

fn bench_plan(c: &mut Criterion) {
    let specs: Vec<FilterSpec> = SPEC_MIX.iter().map(|s| FilterSpec::parse(s).expect("valid")).collect();
    let source = Source {
        size: Size::new(4000.0, 3000.0),
        format: SourceFormat::Jpeg,
        focal_point: Some(FocalPoint::new(1200, 900, 400, 300)),
        animated: false,
    };
    c.bench_function("plan/parse+plan 10-spec mix", |b| {
        b.iter(|| {
            for text in SPEC_MIX {
                let spec = FilterSpec::parse(black_box(text)).expect("valid");
                black_box(plan::plan(&source, &spec, &SvgOutput::Svg.into()).expect("plans"));
            }
        })
    });
    c.bench_function("plan/plan only 10-spec mix", |b| {
        b.iter(|| {
            for spec in &specs {
                black_box(plan::plan(black_box(&source), spec, &SvgOutput::Svg.into()).expect("plans"));
            }
        })
    });
}

/// Probe, plan and render, as one request does.
fn render(bytes: &[u8], spec: &FilterSpec, svg: SvgOutput, limits: &Limits) -> pipeline::Rendition {
    let probe = pipeline::probe(bytes, limits).expect("probes");
    let source = Source {
        size: probe.oriented_size(),
        format: probe.format,
        focal_point: None,
        animated: false,
    };
    let plan = plan::plan(&source, spec, &svg.into()).expect("plans");
    black_box(pipeline::render(bytes, &probe, &plan, limits).expect("renders"))
}

fn bench_render(c: &mut Criterion) {
    let photo = photo_12mp();
    let limits = Limits::default();
    let mut group = c.benchmark_group("render 12MP JPEG");
    group.sample_size(20).measurement_time(Duration::from_secs(8));
    for spec in [
        "fill-400x300",
        "fill-400x300|format-webp",
        "fill-400x300|format-avif",
        "width-1200",
    ] {
        let spec = FilterSpec::parse(spec).expect("valid");
        group.bench_function(spec.as_str(), |b| {
            b.iter(|| render(black_box(&photo), &spec, SvgOutput::Svg, &limits))
        });
    }
    group.finish();
}

fn bench_svg(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("svg");
    for (file, spec, svg) in [
        ("inkscape-export.svg", "fill-100x100", SvgOutput::Svg),
        ("illustrator-export.svg", "width-100", SvgOutput::Svg),
        ("filters.svg", "fill-300x200|format-png", SvgOutput::RasterOnRequest),
        ("text.svg", "width-400|format-webp", SvgOutput::RasterOnRequest),
    ] {
        let path = format!("{}/test-images/svg/{file}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).expect("test image");
        let spec = FilterSpec::parse(spec).expect("valid");
        group.bench_function(format!("{file} {}", spec.as_str()), |b| {
            b.iter(|| render(black_box(&bytes), &spec, svg, &limits))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_plan, bench_render, bench_svg);
criterion_main!(benches);
