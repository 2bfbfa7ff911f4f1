//! The command-line interface: its stable JSON forms, exit statuses, and
//! what it does with bad input.

use std::path::Path;

use serde_json::json;

use crate::support::{json_line, render, renditiond, root, scratch};

#[test]
fn plan_prints_the_stable_form() {
    let out = renditiond(&[
        "plan",
        "--size",
        "1000x1000",
        "--focal-point",
        "500,500,100,100",
        "fill-200x200-c25",
    ]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"{"crop":[112,112,889,889],"size":[200,200],"format":"png","focal_point_key":"0bbe3b2f"}"#
    );
    let jpeg = json_line(&renditiond(&[
        "plan",
        "--size",
        "640x480",
        "--source-format",
        "jpeg",
        "width-400",
    ]));
    assert_eq!(
        jpeg,
        json!({"crop": [0, 0, 640, 480], "size": [400, 300], "format": "jpeg", "focal_point_key": ""})
    );
}

#[test]
fn plan_refuses_invalid_specs_with_json_and_status_2() {
    for spec in [
        "fill-0x0",
        "scale-nan",
        "bad-filter-spec",
        "jpegquality-101",
        "",
        "width-100|",
    ] {
        let out = renditiond(&["plan", "--size", "640x480", "--", spec]);
        assert_eq!(out.status.code(), Some(2), "{spec:?}");
        let error = json_line(&out)["error"].as_str().map(str::to_owned).unwrap_or_default();
        assert!(error.starts_with("Invalid filter spec: "), "{spec:?}: {error}");
    }
    let svg = renditiond(&[
        "plan",
        "--size",
        "100x100",
        "--source-format",
        "svg",
        "fill-50x50|format-png",
    ]);
    assert_eq!(svg.status.code(), Some(2));
    let rasterized = renditiond(&[
        "plan",
        "--size",
        "100.5x50",
        "--source-format",
        "svg",
        "--svg-rasterize",
        "original|format-png",
    ]);
    assert_eq!(rasterized.status.code(), Some(0));
    assert_eq!(json_line(&rasterized)["size"], serde_json::json!([101, 50]));
    let bad_size = renditiond(&["plan", "--size", "640", "width-100"]);
    assert_eq!(bad_size.status.code(), Some(2));
    assert!(
        json_line(&bad_size)["error"]
            .as_str()
            .unwrap_or_default()
            .contains("size")
    );
}

#[test]
fn render_refuses_bad_originals_in_one_line_and_writes_nothing() {
    let dir = scratch("invalid");
    let invalid = root().join("test-images/invalid");
    let mut seen = 0;
    for entry in std::fs::read_dir(&invalid).expect("invalid images exist") {
        let path = entry.expect("readable").path();
        let out = dir.join("out.png");
        let result = render(&path, "width-100", &out, None);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{}: {stderr}", path.display());
        assert_eq!(stderr.trim_end().lines().count(), 1, "{}: {stderr}", path.display());
        assert!(result.stdout.is_empty());
        assert!(!out.exists(), "{} left an output behind", path.display());
        seen += 1;
    }
    assert!(seen >= 5);
    let missing = renditiond(&["render", "/nonexistent/x.jpg", "width-100", "-o", "/tmp/never.jpg"]);
    assert_eq!(missing.status.code(), Some(2));
    let image = root().join("test-images/photo-baseline.jpg");
    let bad_spec = render(&image, "fill-0x0", Path::new("/tmp/never.jpg"), None);
    assert_eq!(bad_spec.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_spec.stderr).contains("Invalid filter spec: fill-0x0"));
    let no_dir = render(&image, "width-10", Path::new("/nonexistent/dir/x.jpg"), None);
    assert_eq!(no_dir.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Renders `spec` from `image` and decodes the result to RGB.
fn render_rgb(image: &Path, spec: &str, focal: Option<&str>, out: &Path) -> image::RgbImage {
    let result = render(image, spec, out, focal);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    image::open(out).expect("rendition decodes").to_rgb8()
}

#[test]
fn every_exif_orientation_renders_the_same_upright_picture() {
    // The eight files store one 240x160 picture in the eight EXIF orientations.
    let dir = scratch("orientation");
    let images = root().join("test-images");
    for spec in [
        "original|format-png",
        "fill-100x50-c50|format-png",
        "width-500|fill-120x120-c100|format-png",
    ] {
        let reference = render_rgb(
            &images.join("orientation-1.jpg"),
            spec,
            Some("60,40,20,20"),
            &dir.join("1.png"),
        );
        for n in 2..=8 {
            let out = dir.join(format!("{n}.png"));
            let got = render_rgb(
                &images.join(format!("orientation-{n}.jpg")),
                spec,
                Some("60,40,20,20"),
                &out,
            );
            assert_eq!(got.dimensions(), reference.dimensions(), "orientation {n}, {spec}");
            let diff: u64 = got
                .iter()
                .zip(reference.iter())
                .map(|(a, b)| u64::from(a.abs_diff(*b)))
                .sum();
            let mean = diff as f64 / got.len() as f64;
            assert!(
                mean < 4.0,
                "orientation {n}, {spec}: mean difference {mean:.2} per sample"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn icc_profiles_are_kept() {
    use image::ImageDecoder;
    let dir = scratch("icc");
    let source = root().join("test-images/photo-icc.jpg");
    let original = {
        let bytes = std::fs::read(&source).expect("test image");
        let mut decoder = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(bytes)).expect("jpeg");
        decoder
            .icc_profile()
            .expect("readable")
            .expect("the test image has a profile")
    };
    for (spec, format) in [
        ("width-100", image::ImageFormat::Jpeg),
        ("width-100|format-png", image::ImageFormat::Png),
        ("width-100|format-webp", image::ImageFormat::WebP),
    ] {
        let out = dir.join("out");
        let result = render(&source, spec, &out, None);
        assert!(result.status.success());
        let reader =
            image::ImageReader::with_format(std::io::BufReader::new(std::fs::File::open(&out).expect("out")), format);
        let mut decoder = reader.into_decoder().expect("decodes");
        assert_eq!(
            decoder.icc_profile().expect("readable").as_ref(),
            Some(&original),
            "{spec}"
        );
    }
    let avif_out = dir.join("out.avif");
    let result = render(&source, "width-100|format-avif", &avif_out, None);
    assert!(result.status.success());
    let bytes = std::fs::read(&avif_out).expect("out");
    let (_, icc) = renditiond::pipeline::codec::avif::decode(&bytes, u64::MAX).expect("avif decodes");
    assert_eq!(icc.as_ref(), Some(&original));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn render_rasterizes_svg_only_when_asked() {
    let dir = scratch("svg-cli");
    let input = root().join("test-images/svg/benign.svg");
    let output = dir.join("out.png");
    let args = |extra: &[&str]| {
        let mut args = vec![
            "render",
            input.to_str().expect("UTF-8 path"),
            "width-60|format-png",
            "-o",
        ];
        args.push(output.to_str().expect("UTF-8 path"));
        args.extend_from_slice(extra);
        renditiond(&args)
    };
    let refused = args(&[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(!output.exists());
    let done = args(&["--svg-rasterize"]);
    assert_eq!(done.status.code(), Some(0), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(json_line(&done)["format"], "png");
    let image = image::open(&output).expect("a PNG");
    assert_eq!((image.width(), image.height()), (60, 30));
}

#[test]
fn shrink_on_load_trades_a_little_sharpness_for_less_decoding() {
    // 600×400 to width-100: `off` decodes it whole, `quality` at 1/2, `fast` at 1/4.
    let dir = scratch("shrink-on-load");
    let image = root().join("test-images/photo-baseline.jpg");
    let rendered = |rule: &str| {
        let out = dir.join(format!("{rule}.png"));
        let (image, out_path) = (image.to_str().expect("UTF-8"), out.to_str().expect("UTF-8"));
        let args = [
            "render",
            image,
            "width-100|format-png",
            "-o",
            out_path,
            "--shrink-on-load",
            rule,
        ];
        let result = renditiond(&args);
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        image::open(&out).expect("a PNG").to_rgb8()
    };
    let [off, quality, fast] = ["off", "quality", "fast"].map(rendered);
    for rendition in [&off, &quality, &fast] {
        assert_eq!(rendition.dimensions(), (100, 66));
    }
    // Mean absolute difference from the whole decode, in levels.
    let from_whole = |rendition: &image::RgbImage| {
        let sum: u64 = rendition
            .as_raw()
            .iter()
            .zip(off.as_raw())
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum();
        sum as f64 / off.as_raw().len() as f64
    };
    let (quality, fast) = (from_whole(&quality), from_whole(&fast));
    assert!(
        0.0 < quality && quality < fast && fast < 2.0,
        "quality {quality}, fast {fast}"
    );
    let refused = renditiond(&[
        "render",
        "x.jpg",
        "width-10",
        "-o",
        "y.jpg",
        "--shrink-on-load",
        "faster",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
