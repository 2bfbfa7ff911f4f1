//! probe, plan and render on small inputs with tight limits: the first byte
//! picks a spec from a fixed list and a shrink-on-load rule, the second what an SVG becomes, whether
//! there is a focal point and whether animations are kept; the rest is the
//! original. Never a panic;
//! a rendition is of the planned format (by its bytes too) and size.

#![no_main]

use libfuzzer_sys::fuzz_target;
use renditiond::format::{OutputFormat, SourceFormat};
use renditiond::pipeline::{self, AnimationLimits, Limits, ShrinkOnLoad};
use renditiond::plan::{self, FocalPoint, Output, Source, SvgOutput};
use renditiond::spec::FilterSpec;
use renditiond::svg::SvgLimits;

/// Tight limits: small originals and renditions, short animations.
fn limits(animation: bool, shrink_on_load: ShrinkOnLoad) -> Limits {
    Limits {
        shrink_on_load,
        animation: animation.then_some(AnimationLimits {
            max_frames: 16,
            max_pixels: 1 << 20,
        }),
        max_source_pixels: 1_000_000,
        max_output_pixels: 1_000_000,
        svg: SvgLimits {
            max_bytes: 32 * 1024,
            max_elements: 500,
            max_depth: 16,
            ..SvgLimits::default()
        },
    }
}

/// Small outputs of every operation and encoder (from tests/data/render-specs.txt).
const SPECS: [&str; 25] = [
    "original",
    "width-100",
    "height-80",
    "max-120x120",
    "min-150x150",
    "scale-50",
    "scale-150",
    "scale-33.3|format-png",
    "fill-100x100",
    "fill-200x120-c50",
    "fill-80x200-c100",
    "fill-300x200|format-png",
    "fill-200x200|height-150",
    "width-500|fill-100x100-c100",
    "width-200|format-jpeg|jpegquality-40",
    "width-64|format-webp",
    "width-64|format-webp-lossless",
    "width-32|format-avif",
    "width-32|format-avif-lossless",
    "width-64|format-gif",
    "width-32|format-heic",
    "max-64x64|format-ico",
    "fill-150x150|bgcolor-ff0000|format-png",
    "width-120|bgcolor-0f0",
    "fill-160x90|format-jpeg",
];

const SVG_OUTPUTS: [SvgOutput; 3] = [SvgOutput::Svg, SvgOutput::RasterOnRequest, SvgOutput::Raster];

/// The format sniffed from a rendition's bytes.
fn sniffed_as(format: OutputFormat) -> Option<SourceFormat> {
    Some(match format {
        OutputFormat::Jpeg => SourceFormat::Jpeg,
        OutputFormat::Png => SourceFormat::Png,
        OutputFormat::Gif => SourceFormat::Gif,
        OutputFormat::Webp => SourceFormat::Webp,
        OutputFormat::Avif => SourceFormat::Avif,
        OutputFormat::Ico => SourceFormat::Ico,
        OutputFormat::Svg => SourceFormat::Svg,
        OutputFormat::Heic => SourceFormat::Heic,
    })
}

fuzz_target!(|data: &[u8]| {
    let [pick, options, bytes @ ..] = data else {
        return;
    };
    let spec = FilterSpec::parse(SPECS[usize::from(*pick) % SPECS.len()]).expect("a valid spec");
    let svg = SVG_OUTPUTS[usize::from(options & 3) % SVG_OUTPUTS.len()];
    let animation = options & 8 != 0;
    let rule = ShrinkOnLoad::ALL[usize::from(*pick) / SPECS.len() % ShrinkOnLoad::ALL.len()];
    let limits = limits(animation, rule);
    let Ok(probe) = pipeline::probe(bytes, &limits) else {
        return;
    };
    let size = probe.oriented_size();
    // A focal point somewhere in (or past) the image, from the option bits.
    let focal_point = (options & 4 != 0).then(|| {
        let at = |side: f64, bits: u8| (side * f64::from(bits) / 4.0) as u32;
        FocalPoint::new(
            at(size.width, options >> 6),
            at(size.height, (options >> 4) & 3),
            10,
            10,
        )
    });
    let source = Source {
        size,
        format: probe.format,
        focal_point,
        animated: probe.animated() == Some(true),
    };
    let output = Output {
        animation,
        ..svg.into()
    };
    let Ok(plan) = plan::plan(&source, &spec, &output) else {
        return;
    };
    let Ok(rendition) = pipeline::render(bytes, &probe, &plan, &limits) else {
        return;
    };
    let format = plan.format();
    assert_eq!(rendition.format, format);
    assert!(!rendition.bytes.is_empty());
    assert_eq!(pipeline::sniff(&rendition.bytes), sniffed_as(format), "{format:?}");
    if format != OutputFormat::Svg && format != OutputFormat::Ico {
        assert_eq!(Some((rendition.width, rendition.height)), plan.pixel_size(), "{plan:?}");
    }
});
