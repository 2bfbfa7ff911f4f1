//! Resource bombs in SVG originals, generated rather than committed (some
//! are megabytes): each is sanitized and rasterized through the library as
//! the service would, and must end quickly, refused as too costly (413)
//! with a reason that names the limit, or drawn.
//!
//! The time bounds are coarse guards against the hangs these documents
//! used to cause (no answer within 30 s, or the whole process aborting on
//! a 40 GB allocation), not benchmarks: a slow CI machine passes them.

use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use renditiond::pipeline::{self, Limits, PipelineError};
use renditiond::plan::{self, Source, SvgOutput};
use renditiond::spec::FilterSpec;

/// How long sanitizing and rasterizing one bomb may take, at most: these
/// documents used to take more than 30 s (or abort the process); the
/// slowest now takes about 1 s in the test profile on a loaded machine.
const BOUND: Duration = Duration::from_secs(5);

/// One bomb at a time, so that their times are their own.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const SVG_OPEN: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400">"#;

/// Where a bomb ended.
#[derive(Debug)]
enum Outcome {
    /// Refused when sanitized (`probe`).
    RefusedSanitizing(PipelineError),
    /// Sanitized, refused when rasterized (`render`).
    RefusedDrawing(PipelineError),
    /// Sanitized and drawn.
    Drawn(Duration),
}

/// Sanitizes and rasterizes `text` (`original|format-png`) on a thread of
/// its own, failing the test when that takes longer than [`BOUND`] (the
/// thread is left behind; the test binary ends it when it exits).
fn run(name: &str, text: String) -> Outcome {
    run_within(name, text, BOUND)
}

/// [`run`] with another bound.
fn run_within(name: &str, text: String, bound: Duration) -> Outcome {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (send, receive) = mpsc::channel();
    let start = Instant::now();
    std::thread::spawn(move || {
        let limits = Limits::default();
        let outcome = match pipeline::probe(text.as_bytes(), &limits) {
            Err(e) => Outcome::RefusedSanitizing(e),
            Ok(probe) => {
                let source = Source {
                    size: probe.oriented_size(),
                    format: probe.format,
                    focal_point: None,
                    animated: false,
                };
                let spec = FilterSpec::parse("original|format-png").expect("spec");
                let plan = plan::plan(&source, &spec, &SvgOutput::RasterOnRequest.into()).expect("plan");
                match pipeline::render(text.as_bytes(), &probe, &plan, &limits) {
                    Err(e) => Outcome::RefusedDrawing(e),
                    Ok(_) => Outcome::Drawn(start.elapsed()),
                }
            }
        };
        let _ = send.send(outcome);
    });
    match receive.recv_timeout(bound) {
        Ok(outcome) => outcome,
        Err(_) => panic!("{name}: no outcome within {bound:?}"),
    }
}

/// Asserts `outcome` is a refusal as too costly whose message names `reason`.
fn assert_too_costly(name: &str, outcome: &Outcome, reason: &str) {
    let error = match outcome {
        Outcome::RefusedSanitizing(e) | Outcome::RefusedDrawing(e) => e,
        Outcome::Drawn(t) => panic!("{name}: drawn in {t:?}, expected a refusal ({reason})"),
    };
    match error {
        PipelineError::Svg(svg) => assert!(svg.is_too_large(), "{name}: {error} is not a size refusal (413)"),
        other => panic!("{name}: {other}, expected an SVG refusal"),
    }
    assert!(
        error.to_string().contains(reason),
        "{name}: {error} does not say {reason:?}"
    );
}

fn assert_drawn(name: &str, outcome: &Outcome) {
    assert!(
        matches!(outcome, Outcome::Drawn(_)),
        "{name}: {outcome:?}, expected a drawing"
    );
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A well-formed PNG declaring `width`×`height` RGBA pixels, whose data
/// stream is empty: a few dozen bytes.
pub fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        png.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        png.extend(&body);
        png.extend(crc32(&body).to_be_bytes());
    };
    let mut header = width.to_be_bytes().to_vec();
    header.extend(height.to_be_bytes());
    header.extend([8, 6, 0, 0, 0]);
    chunk(b"IHDR", &header);
    chunk(
        b"IDAT",
        &[0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(b"IEND", &[]);
    png
}

/// An SVG drawing one embedded PNG that declares `side`×`side` pixels.
pub fn embedded_png(side: u32) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image width="10" height="10" href="data:image/png;base64,{}"/></svg>"#,
        base64(&png_declaring(side, side))
    )
}

/// A 400×400 rectangle drawn through the filter `primitives`.
pub fn filtered(primitives: &str) -> String {
    format!(
        r##"{SVG_OPEN}<filter id="f">{primitives}</filter><rect width="400" height="400" fill="teal" filter="url(#f)"/></svg>"##
    )
}

/// `count` feConvolveMatrix chained in one filter.
pub fn chained_convolutions(count: usize) -> String {
    filtered(&r#"<feConvolveMatrix order="3" kernelMatrix="0 1 0 1 -4 1 0 1 0"/>"#.repeat(count))
}

/// `count` overlapping 200×200 rectangles, each blurred.
pub fn blurred_shapes(count: usize) -> String {
    let mut text = format!(r#"{SVG_OPEN}<filter id="b"><feGaussianBlur stdDeviation="4"/></filter>"#);
    for i in 0..count {
        text.push_str(&format!(
            r##"<rect x="{}" y="{}" width="200" height="200" filter="url(#b)"/>"##,
            i % 200,
            (i / 200) % 200
        ));
    }
    text.push_str("</svg>");
    text
}

/// `depth` nested groups, each masked (or clipped) by a 400×400 shape.
pub fn nested(attribute: &str, depth: usize) -> String {
    let (element, content) = match attribute {
        "mask" => ("mask", r#"<rect width="400" height="400" fill="white"/>"#),
        _ => ("clipPath", r#"<rect width="400" height="400"/>"#),
    };
    let mut text = format!(r#"{SVG_OPEN}<defs><{element} id="r">{content}</{element}></defs>"#);
    text.push_str(&format!(r##"<g {attribute}="url(#r)">"##).repeat(depth));
    text.push_str(r#"<rect width="400" height="400" fill="teal"/>"#);
    text.push_str(&"</g>".repeat(depth));
    text.push_str("</svg>");
    text
}

/// A style sheet of `rules` class rules, and 20 elements.
pub fn many_rules(rules: usize) -> String {
    let sheet: String = (0..rules)
        .map(|i| format!(".c{i}{{fill:#0a{:04x}}}\n", i % 0x1_0000))
        .collect();
    let shapes: String = (0..20)
        .map(|i| format!(r#"<rect class="c{i}" x="{i}" width="10" height="10"/>"#))
        .collect();
    format!("{SVG_OPEN}<style>{sheet}</style>{shapes}</svg>")
}

/// One selector of `classes` classes.
pub fn long_selector(classes: usize) -> String {
    let selector: String = (0..classes).map(|i| format!(".c{i}")).collect();
    format!(r#"{SVG_OPEN}<style>{selector}{{fill:red}}</style><rect class="c0" width="10" height="10"/></svg>"#)
}

/// A style sheet as large as allowed in rules, each setting several
/// properties: what the sanitizer writes of it must not make resvg's CSS
/// parser quadratic.
pub fn large_allowed_sheet() -> String {
    let sheet: String = (0..3_900)
        .map(|i| {
            format!(
                ".c{i}{{fill:#{:06x};stroke:#{:06x};stroke-width:2;opacity:0.9;fill-opacity:0.8;stroke-opacity:0.7;stroke-dasharray:4 2}}\n",
                i * 7,
                i * 13
            )
        })
        .collect();
    let shapes: String = (0..100)
        .map(|i| {
            format!(
                r#"<rect class="c{i}" x="{}" y="{}" width="30" height="30"/>"#,
                (i % 10) * 40,
                (i / 10) * 40
            )
        })
        .collect();
    format!("{SVG_OPEN}<style>{sheet}</style>{shapes}</svg>")
}

/// `bindings` namespace declarations on the root and `elements` elements
/// in all, within the default byte and element limits.
pub fn namespace_bindings(bindings: usize, elements: usize) -> String {
    let mut text = String::from(r#"<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400""#);
    for i in 0..bindings {
        text.push_str(&format!(r#" xmlns:a{i}="u:{i}""#));
    }
    text.push('>');
    text.push_str(&r#"<rect width="1" height="1"/>"#.repeat(elements - 1));
    text.push_str("</svg>");
    text
}

#[test]
fn an_embedded_png_over_the_pixel_limit_is_refused_from_its_header() {
    let text = embedded_png(100_000);
    assert!(text.len() < 300, "{} bytes", text.len());
    assert_too_costly(
        "png 100000²",
        &run("png 100000²", text),
        "embedded image of 100000x100000",
    );
    let outcome = run("png 16384²", embedded_png(16_384));
    assert_too_costly("png 16384²", &outcome, "embedded image of 16384x16384");
}

#[test]
fn turbulence_octaves_are_bounded() {
    let text = filtered(r#"<feTurbulence baseFrequency="0.05" numOctaves="4000000000"/>"#);
    assert_drawn("numOctaves 4e9", &run("numOctaves 4e9", text));
}

#[test]
fn a_huge_morphology_radius_is_refused() {
    let text = filtered(r#"<feMorphology operator="dilate" radius="100000"/>"#);
    assert_too_costly("radius 1e5", &run("radius 1e5", text), "pixel operations");
    let modest = filtered(r#"<feMorphology operator="erode" radius="2"/>"#);
    assert_drawn("radius 2", &run("radius 2", modest));
}

#[test]
fn chained_convolutions_are_refused() {
    let outcome = run("300 convolutions", chained_convolutions(300));
    assert_too_costly("300 convolutions", &outcome, "primitives");
    assert_drawn("3 convolutions", &run("3 convolutions", chained_convolutions(3)));
}

#[test]
fn twenty_thousand_blurred_shapes_are_refused() {
    let outcome = run("20000 blurs", blurred_shapes(20_000));
    assert_too_costly("20000 blurs", &outcome, "MiB");
    assert_drawn("20 blurs", &run("20 blurs", blurred_shapes(20)));
}

#[test]
fn deeply_nested_masks_and_clips_are_refused() {
    for attribute in ["mask", "clip-path"] {
        let name = format!("200 nested {attribute}");
        assert_too_costly(&name, &run(&name, nested(attribute, 200)), "nest deeper than the limit");
        let name = format!("4 nested {attribute}");
        assert_drawn(&name, &run(&name, nested(attribute, 4)));
    }
}

#[test]
fn style_sheets_beyond_their_limits_are_refused() {
    assert_too_costly("20000 rules", &run("20000 rules", many_rules(20_000)), "rules");
    let outcome = run("150000 classes", long_selector(150_000));
    assert_too_costly("150000 classes", &outcome, "style sheets are larger");
    assert_too_costly("10000 classes", &run("10000 classes", long_selector(10_000)), "parts");
    assert_drawn("200 rules", &run("200 rules", many_rules(200)));
}

#[test]
fn a_large_allowed_style_sheet_stays_linear() {
    let text = large_allowed_sheet();
    assert!(text.len() > 300_000, "{} bytes", text.len());
    assert_drawn("3900 rules", &run("3900 rules", text));
}

#[test]
fn many_namespace_bindings_resolve_in_linear_time() {
    let text = namespace_bindings(300_000, 100_000);
    assert!(text.len() < Limits::default().svg.max_bytes, "{} bytes", text.len());
    // 9 MB to parse, sanitize and draw: about 3 s in the test profile on a
    // loaded machine; the quadratic lookup took more than 30 s in release.
    let outcome = run_within("300000 bindings", text, Duration::from_secs(15));
    assert_drawn("300000 bindings", &outcome);
}
