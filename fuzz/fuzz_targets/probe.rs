//! `pipeline::probe` on any bytes, with tight limits: a typed error or a
//! probe within the limits, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use renditiond::format::SourceFormat;
use renditiond::pipeline::{self, AnimationLimits, Limits};
use renditiond::svg::SvgLimits;

/// Tight limits: small originals and renditions.
fn limits() -> Limits {
    Limits {
        max_source_pixels: 1 << 20,
        max_output_pixels: 1 << 20,
        svg: SvgLimits {
            max_bytes: 64 * 1024,
            max_elements: 2_000,
            max_depth: 32,
            ..SvgLimits::default()
        },
        animation: Some(AnimationLimits {
            max_frames: 64,
            max_pixels: 1 << 22,
        }),
        ..Limits::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let sniffed = pipeline::sniff(data);
    match pipeline::probe(data, &limits()) {
        Ok(probe) => {
            assert_eq!(Some(probe.format), sniffed);
            assert!(pipeline::reads(probe.format));
            let size = probe.oriented_size();
            assert!(size.width.is_finite() && size.height.is_finite(), "{size:?}");
            if probe.format != SourceFormat::Svg {
                assert!(size.width >= 1.0 && size.height >= 1.0, "{size:?}");
                assert!(
                    size.width * size.height <= limits().max_source_pixels as f64,
                    "{size:?}"
                );
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
