//! Every raster test image × every spec of the matrix through the CLI:
//! `render` succeeds, its reported size is the size `plan` promises, and the
//! written file decodes to that size in that format.

use std::path::Path;

use renditiond::pipeline::{self, Limits, codec};
use renditiond::plan::ico_frames;
use serde_json::Value;

use crate::support::{json_line, raster_images, render, render_specs, renditiond, scratch};

/// Decodes a rendition with an independent decoder (the `image` crate; AVIF
/// through libavif, HEIC through libheif) and returns its format name and size.
fn decode(bytes: &[u8]) -> Result<(&'static str, u32, u32), String> {
    if bytes.get(4..12) == Some(b"ftypavif") {
        let (bitmap, _) = codec::avif::decode(bytes, u64::MAX)?;
        return Ok(("avif", bitmap.width(), bitmap.height()));
    }
    if bytes.get(4..12) == Some(b"ftypheic") {
        let (bitmap, _) = codec::heic::decode(bytes, u64::MAX)?;
        return Ok(("heic", bitmap.width(), bitmap.height()));
    }
    let format = image::guess_format(bytes).map_err(|e| e.to_string())?;
    let name = match format {
        image::ImageFormat::Jpeg => "jpeg",
        image::ImageFormat::Png => "png",
        image::ImageFormat::Gif => "gif",
        image::ImageFormat::WebP => "webp",
        image::ImageFormat::Ico => "ico",
        other => return Err(format!("unexpected format {other:?}")),
    };
    let img = image::load_from_memory_with_format(bytes, format).map_err(|e| e.to_string())?;
    Ok((name, img.width(), img.height()))
}

fn check(image: &Path, spec: &str, out: &Path) -> Result<(), String> {
    let bytes = std::fs::read(image).map_err(|e| e.to_string())?;
    let probe = pipeline::probe(&bytes, &Limits::default()).map_err(|e| e.to_string())?;
    let size = probe.oriented_size();
    let size_arg = format!("{}x{}", size.width, size.height);
    let plan = json_line(&renditiond(&[
        "plan",
        "--size",
        &size_arg,
        "--source-format",
        probe.format.name(),
        "--",
        spec,
    ]));
    let rendered = render(image, spec, out, None);
    if !rendered.status.success() {
        return Err(format!("render failed: {}", String::from_utf8_lossy(&rendered.stderr)));
    }
    let summary = json_line(&rendered);
    let as_u32 = |v: &Value| {
        v.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(format!("not a size: {v}"))
    };
    let (mut w, mut h) = (as_u32(&plan["size"][0])?, as_u32(&plan["size"][1])?);
    if plan["format"] == "ico" {
        (w, h) = *ico_frames(w, h)
            .map_err(|e| e.to_string())?
            .last()
            .ok_or("no ICO frame")?;
    }
    let reported = (as_u32(&summary["width"])?, as_u32(&summary["height"])?);
    if reported != (w, h) || summary["format"] != plan["format"] {
        return Err(format!("render says {summary}, plan says {plan}"));
    }
    let written = std::fs::read(out).map_err(|e| e.to_string())?;
    if summary["bytes"].as_u64() != Some(written.len() as u64) {
        return Err(format!(
            "render says {} bytes, wrote {}",
            summary["bytes"],
            written.len()
        ));
    }
    let (format, dw, dh) = decode(&written)?;
    if (format, dw, dh) != (plan["format"].as_str().unwrap_or_default(), w, h) {
        return Err(format!("decodes as {format} {dw}x{dh}, plan says {plan}"));
    }
    Ok(())
}

#[test]
fn every_image_renders_every_spec_at_the_planned_size() {
    let images = raster_images();
    let specs = render_specs();
    assert!(specs.len() >= 20, "the matrix has only {} specs", specs.len());
    let dir = scratch("matrix");
    let cases: Vec<(usize, &Path, &str)> = images
        .iter()
        .flat_map(|i| specs.iter().map(move |s| (i, s)))
        .enumerate()
        .map(|(n, (i, s))| (n, i.as_path(), s.as_str()))
        .collect();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(cases.len().div_ceil(workers))
            .map(|chunk| {
                let dir = &dir;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|(n, image, spec)| {
                            let out = dir.join(format!("out-{n}"));
                            check(image, spec, &out)
                                .err()
                                .map(|e| format!("{} {spec:?}: {e}", image.display()))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|_| vec!["a worker panicked".to_owned()]))
            .collect()
    });
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} of {} renditions fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A rendition made from pixels decoded for another spec at the same
/// shrink-on-load factor has the bytes of one made from the original; made
/// from a larger decode (shrunk less), it has the same size and format.
#[test]
fn renditions_from_decoded_pixels_match_renditions_from_the_original() {
    use renditiond::pipeline::Deadline;
    use renditiond::plan::{self, Source};
    use renditiond::spec::FilterSpec;

    let specs = [
        "width-100",
        "width-400",
        "width-1000",
        "fill-50x50-c100",
        "width-160|format-webp",
        "max-3000x3000",
        "width-100|format-jpeg",
        "fill-0x0",
    ];
    for name in ["photo-baseline.jpg", "orientation-6.jpg", "alpha.png", "svg/benign.svg"] {
        let bytes = std::fs::read(crate::support::root().join("test-images").join(name)).expect("image");
        let limits = Limits::default();
        let probe = pipeline::probe(&bytes, &limits).expect("probe");
        let source = Source {
            size: probe.oriented_size(),
            format: probe.format,
            focal_point: None,
            animated: false,
        };
        let plans: Vec<plan::Plan> = specs
            .iter()
            .filter_map(|s| plan::plan(&source, &FilterSpec::parse(s).ok()?, &plan::Output::default()).ok())
            .collect();
        assert!(plans.len() >= 5, "{name}");
        for plan in &plans {
            let alone = pipeline::render(&bytes, &probe, plan, &limits).expect("render");
            let Some(shrink) = pipeline::shrink(&probe, plan, &limits).expect("shrink") else {
                assert_eq!(name, "svg/benign.svg");
                continue;
            };
            let mut factor = shrink;
            loop {
                let decoded = pipeline::decode_original(&bytes, &probe, factor, &limits).expect("decode");
                let made = pipeline::render_decoded(&decoded, &probe, plan, &limits, &Deadline::none())
                    .expect("render from the decoded pixels");
                let what = format!("{name} {} from 1/{factor}", plan.spec);
                assert_eq!(
                    (made.format, made.width, made.height),
                    (alone.format, alone.width, alone.height),
                    "{what}"
                );
                if factor == shrink {
                    assert!(made.bytes == alone.bytes, "{what}: other bytes");
                }
                if factor == 1 {
                    break;
                }
                factor /= 2;
            }
            if probe.format == renditiond::format::SourceFormat::Jpeg && shrink < 8 {
                // Pixels shrunk more than the plan allows are refused.
                let small = pipeline::decode_original(&bytes, &probe, shrink * 2, &limits).expect("decode");
                assert!(pipeline::render_decoded(&small, &probe, plan, &limits, &Deadline::none()).is_err());
            }
        }
    }
}
