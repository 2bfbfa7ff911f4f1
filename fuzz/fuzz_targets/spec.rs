//! Filter spec text: the focal point split, the grammar, then planning for
//! fixed sources of every kind. Never a panic; a plan agrees with its
//! outline and keeps a raster crop inside the image.

#![no_main]

use libfuzzer_sys::fuzz_target;
use renditiond::format::SourceFormat;
use renditiond::plan::{self, Size, Source, SvgOutput, split_spec_focal_point};
use renditiond::spec::FilterSpec;

/// The sources each spec is planned for: a photo, a 1×1 pixel, a tall strip,
/// a drawing with fractional size.
const SOURCES: [(SourceFormat, f64, f64); 5] = [
    (SourceFormat::Jpeg, 640.0, 480.0),
    (SourceFormat::Png, 1.0, 1.0),
    (SourceFormat::Gif, 3.0, 1000.0),
    (SourceFormat::Avif, 4000.0, 3000.0),
    (SourceFormat::Svg, 123.5, 77.25),
];

const SVG_OUTPUTS: [SvgOutput; 3] = [SvgOutput::Svg, SvgOutput::RasterOnRequest, SvgOutput::Raster];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (spec_text, focal_point) = match split_spec_focal_point(text) {
        Ok(split) => split,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let spec = match FilterSpec::parse(spec_text) {
        Ok(spec) => spec,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert_eq!(spec.as_str(), spec_text);
    for ((format, width, height), animated) in SOURCES.into_iter().flat_map(|s| [(s, false), (s, true)]) {
        let source = Source {
            size: Size::new(width, height),
            format,
            focal_point,
            animated,
        };
        for svg in SVG_OUTPUTS {
            // Animated sources with animation on: outline and plan agree too.
            let output = plan::Output {
                animation: animated,
                ..svg.into()
            };
            let accept = plan::Accept::default();
            let outline = plan::outline(format, animated, &spec, focal_point.as_ref(), &output, &accept);
            let planned = plan::plan(&source, &spec, &output);
            let (outline, plan) = match (outline, planned) {
                (Ok(outline), Ok(plan)) => (outline, plan),
                (Err(e), Ok(_)) => panic!("{format:?}: outline refused ({e}) what plan accepted"),
                (_, Err(e)) => {
                    assert!(!e.to_string().is_empty());
                    continue;
                }
            };
            assert_eq!(outline.spec, plan.spec);
            assert_eq!(outline.format, plan.format());
            assert_eq!(outline.focal_point_key, plan.focal_point_key);
            assert!(plan.size.width.is_finite() && plan.size.height.is_finite(), "{plan:?}");
            if format != SourceFormat::Svg {
                let crop = plan.crop;
                assert!(crop.left >= 0 && crop.top >= 0, "{plan:?}");
                assert!(crop.right as f64 <= width && crop.bottom as f64 <= height, "{plan:?}");
                assert!(crop.width() > 0 && crop.height() > 0, "{plan:?}");
            }
            if plan.format() != renditiond::format::OutputFormat::Svg {
                let (w, h) = plan.pixel_size().expect("a raster output has a whole size");
                assert!(w >= 1 && h >= 1, "{plan:?}");
            }
            let _ = plan.resamples();
            let _ = plan.wagtail_rendition_path("original_images/photo.jpg");
        }
    }
});
