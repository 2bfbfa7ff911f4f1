//! SVG originals through the library: the hostile corpus comes out with
//! every forbidden construct gone (checked by an independent parser) and
//! still renders; the benign corpus renders the same before and after
//! sanitizing; rasterized renditions have the planned size.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use renditiond::pipeline::{self, Limits, PipelineError};
use renditiond::plan::{self, Source, SvgOutput};
use renditiond::spec::FilterSpec;
use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{self, roxmltree};
use serde_json::Value;

use crate::support::root;

/// The checker of served SVG, shared with the `svg` fuzz target.
#[path = "svg_check.rs"]
mod check;
use check::forbidden_constructs;

/// The hostile corpus's payload URLs, which nothing served may still name.
const MARKERS: [&str; 1] = ["/cb/"];

/// What the corpus manifest says of one hostile file.
pub struct Expected {
    /// Served sanitized (`true`) or refused with a 4xx.
    pub sanitized: bool,
    /// Whether its payload fires in Chromium when served raw.
    pub fires: bool,
}

/// The hostile corpus: file name → expectation, from `expected.json`.
pub fn hostile_corpus() -> BTreeMap<String, Expected> {
    let dir = hostile_dir();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).expect("manifest")).expect("json");
    let mut corpus = BTreeMap::new();
    for (name, entry) in manifest.as_object().expect("object") {
        let outcome = entry["outcome"].as_str().expect("outcome");
        assert!(matches!(outcome, "sanitized" | "rejected"), "{name}: {outcome}");
        assert!(dir.join(name).is_file(), "{name} is listed but missing");
        corpus.insert(
            name.clone(),
            Expected {
                sanitized: outcome == "sanitized",
                fires: entry["fires"].as_bool().expect("fires"),
            },
        );
    }
    let files = std::fs::read_dir(&dir).expect("corpus").count() - 1;
    assert_eq!(files, corpus.len(), "every file of the corpus is in expected.json");
    corpus
}

/// `test-images/svg-hostile`.
pub fn hostile_dir() -> PathBuf {
    root().join("test-images/svg-hostile")
}

/// Renders `spec` of an original with the library, as the service would.
fn render(bytes: &[u8], spec: &str, svg: SvgOutput) -> Result<pipeline::Rendition, String> {
    render_within(bytes, spec, svg, Limits::default()).map_err(|e| e.to_string())
}

/// [`render`] within `limits`, keeping the pipeline's error.
fn render_within(
    bytes: &[u8],
    spec: &str,
    svg: SvgOutput,
    limits: Limits,
) -> Result<pipeline::Rendition, PipelineError> {
    let probe = pipeline::probe(bytes, &limits)?;
    let source = Source {
        size: probe.oriented_size(),
        format: probe.format,
        focal_point: None,
        animated: false,
    };
    let spec = FilterSpec::parse(spec).map_err(|e| PipelineError::Resize(e.to_string()))?;
    let plan = plan::plan(&source, &spec, &svg.into()).map_err(|e| PipelineError::Resize(e.to_string()))?;
    pipeline::render(bytes, &probe, &plan, &limits)
}

/// Runs `job` on a thread with the stack of tokio's blocking pool (2 MiB),
/// where renders run; a stack overflow aborts the test binary.
fn on_a_worker_stack<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(job)
        .expect("a thread")
        .join()
        .expect("the job returns")
}

/// A red square, the innermost element of the deep documents.
const RECT: &str = r#"<rect width="5" height="5" fill="red"/>"#;

/// `inner` in `levels` nested groups.
fn nest(levels: usize, inner: &str) -> String {
    format!("{}{inner}{}", "<g>".repeat(levels), "</g>".repeat(levels))
}

/// A 20×10 SVG document with this content.
fn svg_document(content: &str) -> String {
    format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10">{content}</svg>"#)
}

/// An SVG whose elements nest `depth` deep (the root included).
fn nested_svg(depth: usize) -> String {
    svg_document(&nest(depth.saturating_sub(2), RECT))
}

/// An SVG drawing groups nested `levels` deep through `hops` chained `use`s
/// (defined before they are drawn): written at most `levels + 3` deep, it
/// expands to `(hops + 1) × (levels + 1)` levels below the root.
fn use_chain_svg(hops: usize, levels: usize) -> String {
    let use_of = |i: usize| format!(r##"<use href="#h{i}"/>"##);
    let mut defs = format!(r#"<g id="h0">{}</g>"#, nest(levels - 1, RECT));
    for i in 1..hops {
        defs.push_str(&format!(r#"<g id="h{i}">{}</g>"#, nest(levels - 1, &use_of(i - 1))));
    }
    svg_document(&format!("<defs>{defs}</defs>{}", nest(levels, &use_of(hops - 1))))
}

#[test]
fn the_deepest_allowed_svg_survives_a_worker_stack() {
    use renditiond::format::OutputFormat;
    use renditiond::svg::{MAX_SVG_DEPTH, SvgError, SvgLimits};
    let limits = Limits {
        svg: SvgLimits {
            max_depth: MAX_SVG_DEPTH,
            ..SvgLimits::default()
        },
        ..Limits::default()
    };
    // Written as deep as allowed, and expanded through `use` to nearly twice that.
    let deepest = [nested_svg(MAX_SVG_DEPTH), use_chain_svg(1, MAX_SVG_DEPTH - 3)];
    for (n, text) in deepest.into_iter().enumerate() {
        let outcome = on_a_worker_stack(move || {
            let bytes = text.as_bytes();
            let svg = render_within(bytes, "width-10", SvgOutput::Svg, limits).map(|r| (r.format, r.width));
            let png = render_within(bytes, "width-10|format-png", SvgOutput::RasterOnRequest, limits)
                .map(|r| (r.format, r.width));
            (svg, png)
        });
        let (svg, png) = outcome;
        assert_eq!(svg, Ok((OutputFormat::Svg, 10)), "document {n}");
        // resvg may refuse the `use` expansion with its own node limit (a
        // 422), but never overflows the stack.
        match (n, png) {
            (_, Ok(png)) => assert_eq!(png, (OutputFormat::Png, 10), "document {n}"),
            (1, Err(PipelineError::Undecodable { .. })) => {}
            (_, Err(e)) => panic!("document {n}: {e}"),
        }
    }
    // Deeper is refused, written out or through `use` (where every link was
    // already counted once, and deeper than twice the limit once expanded).
    for text in [nested_svg(MAX_SVG_DEPTH + 1), use_chain_svg(2, MAX_SVG_DEPTH - 3)] {
        let refused = on_a_worker_stack(move || render_within(text.as_bytes(), "width-10", SvgOutput::Svg, limits));
        assert!(
            matches!(refused, Err(PipelineError::Svg(SvgError::TooDeep { .. }))),
            "{refused:?}"
        );
    }
}

/// Renders an SVG text with resvg (no resources, system fonts) at `size`.
fn raster(text: &str, size: Option<(u32, u32)>) -> Result<Pixmap, String> {
    let mut options = usvg::Options::default();
    options.fontdb_mut().load_system_fonts();
    let tree = usvg::Tree::from_str(text, &options).map_err(|e| e.to_string())?;
    let natural = tree.size().to_int_size();
    let (w, h) = size.unwrap_or((natural.width(), natural.height()));
    let mut pixmap = Pixmap::new(w, h).ok_or("empty size")?;
    let scale = Transform::from_scale(w as f32 / tree.size().width(), h as f32 / tree.size().height());
    resvg::render(&tree, scale, &mut pixmap.as_mut());
    Ok(pixmap)
}

/// Peak signal-to-noise ratio of two same-sized RGBA rasters (infinite when equal).
fn psnr(a: &Pixmap, b: &Pixmap) -> f64 {
    let squared: f64 = a
        .data()
        .iter()
        .zip(b.data())
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    let mse = squared / a.data().len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn hostile_svgs_are_sanitized_or_refused() {
    let corpus = hostile_corpus();
    assert!(corpus.len() >= 40, "the corpus has {} files", corpus.len());
    let mut problems = Vec::new();
    for (name, expected) in &corpus {
        let bytes = read(&hostile_dir().join(name));
        match (render(&bytes, "original", SvgOutput::Svg), expected.sanitized) {
            (Ok(rendition), true) => {
                let text = String::from_utf8(rendition.bytes).expect("UTF-8 output");
                for construct in forbidden_constructs(&text, &MARKERS) {
                    problems.push(format!("{name}: {construct}"));
                }
                if text.contains("PWNED") || text.contains("root:") {
                    problems.push(format!("{name}: payload text survived"));
                }
                if let Err(e) = raster(&text, None) {
                    problems.push(format!("{name}: resvg cannot render the output: {e}"));
                }
            }
            (Ok(_), false) => problems.push(format!("{name}: served, expected a refusal")),
            (Err(e), true) => problems.push(format!("{name}: refused ({e}), expected to be served")),
            (Err(_), false) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_sees_what_the_sanitizer_removes() {
    // The same check on the unsanitized corpus must find something in
    // nearly every file, or it proves nothing.
    let corpus = hostile_corpus();
    let flagged = corpus
        .keys()
        .filter(|name| {
            let text = String::from_utf8_lossy(&read(&hostile_dir().join(name))).into_owned();
            !forbidden_constructs(&text, &MARKERS).is_empty() || text.contains("/cb/")
        })
        .count();
    assert!(
        flagged * 10 >= corpus.len() * 9,
        "only {flagged} of {} flagged",
        corpus.len()
    );
}

#[test]
fn refusals_say_why() {
    let cases = [
        ("dtd-billion-laughs.svg", "refused SVG"),
        ("dtd-external-entity-file.svg", "external entities"),
        ("utf7-script.svg", "encoding is not supported"),
        ("nesting-5000-deep.svg", "deeper than the limit"),
        ("use-expansion-bomb.svg", "elements"),
    ];
    for (name, reason) in cases {
        let bytes = read(&hostile_dir().join(name));
        let error = pipeline::probe(&bytes, &Limits::default()).expect_err(name);
        assert!(matches!(error, PipelineError::Svg(_)), "{name}: {error}");
        assert!(error.to_string().contains(reason), "{name}: {error}");
    }
}

#[test]
fn benign_svgs_render_the_same_after_sanitizing() {
    let dir = root().join("test-images/svg");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("benign corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{} benign files", names.len());
    let limits = Limits::default();
    let mut problems = Vec::new();
    for path in names {
        let original = String::from_utf8(read(&path)).expect("benign files are UTF-8");
        let document = renditiond::svg::Document::parse(original.as_bytes(), &limits.svg).expect("benign parses");
        let sanitized = document.to_text();
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let before = raster(&original, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let after = raster(&sanitized, Some((before.width(), before.height()))).expect("sanitized renders");
        let painted = before.data().chunks(4).filter(|p| p[3] != 0).count();
        assert!(painted > 0, "{name} draws nothing; the comparison would prove nothing");
        let db = psnr(&before, &after);
        if db < 45.0 {
            problems.push(format!("{name}: PSNR {db:.1} dB"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn rasterized_svgs_have_the_planned_size_and_format() {
    let bytes = read(&root().join("test-images/svg/benign.svg"));
    for (spec, format, size) in [
        ("fill-100x100|format-png", "png", (100, 100)),
        ("width-150|format-webp", "webp", (150, 75)),
        ("max-60x60|format-jpeg|bgcolor-000", "jpeg", (60, 30)),
        ("scale-50|format-avif", "avif", (150, 75)),
    ] {
        let rendition = render(&bytes, spec, SvgOutput::RasterOnRequest).expect(spec);
        assert_eq!(rendition.format.name(), format, "{spec}");
        assert_eq!((rendition.width, rendition.height), size, "{spec}");
        let decoded = image::load_from_memory(&rendition.bytes);
        if format != "avif" {
            let decoded = decoded.expect(spec);
            assert_eq!((decoded.width(), decoded.height()), size, "{spec}");
        }
    }
    let always = render(&bytes, "width-30", SvgOutput::Raster).expect("always");
    assert_eq!((always.format.name(), always.width, always.height), ("png", 30, 15));
    let refused = render(&bytes, "width-30|format-png", SvgOutput::Svg).expect_err("Wagtail's 400");
    assert!(refused.contains("format-png is not supported for SVG"), "{refused}");
    let svg = render(&bytes, "width-30", SvgOutput::RasterOnRequest).expect("stays SVG");
    assert_eq!(svg.format.name(), "svg");
}

/// Inputs the `svg` fuzz target found, sanitized, checked and sanitized again.
#[test]
fn fuzz_findings_sanitize_to_well_formed_svg() {
    let dir = root().join("tests/data/fuzz");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("findings") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "svg") {
            continue;
        }
        seen += 1;
        let bytes = std::fs::read(&path).expect("finding");
        let Ok(document) = renditiond::svg::Document::parse(&bytes, &renditiond::svg::SvgLimits::default()) else {
            continue;
        };
        let text = document.to_text();
        let found = forbidden_constructs(&text, &[]);
        assert!(found.is_empty(), "{}: {found:?}\n{text}", path.display());
        // As the fuzz target checks: the output is a fixed point.
        let again = renditiond::svg::Document::parse(text.as_bytes(), &renditiond::svg::SvgLimits::default())
            .unwrap_or_else(|e| panic!("{}: the sanitized document is refused: {e}", path.display()));
        assert_eq!(again.to_text(), text, "{}: sanitizing twice changed it", path.display());
    }
    assert!(seen > 0, "no findings in {}", dir.display());
}
