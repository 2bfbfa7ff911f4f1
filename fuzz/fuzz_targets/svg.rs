//! The SVG parser and sanitizer with small limits: what comes out must be
//! well-formed XML holding nothing that runs or loads (checked by
//! roxmltree, a parser independent of the sanitizer's, with the rules of
//! `tests/it/svg_check.rs`), must read back as the same document, and its
//! renditions for a few plans must not panic and pass the same check.

#![no_main]

use libfuzzer_sys::fuzz_target;
use renditiond::format::SourceFormat;
use renditiond::plan::{self, Source, SvgOutput};
use renditiond::spec::FilterSpec;
use renditiond::svg::{Document, SvgLimits};

/// The checker of `tests/it/svg.rs`, which reads `super::roxmltree`.
#[path = "../../tests/it/svg_check.rs"]
mod check;
use roxmltree;

fn limits() -> SvgLimits {
    SvgLimits {
        max_bytes: 64 * 1024,
        max_elements: 2_000,
        max_depth: 32,
        ..SvgLimits::default()
    }
}

const SPECS: [&str; 5] = [
    "original",
    "fill-100x100-c50",
    "width-37",
    "scale-50|preserve-svg",
    "max-10x400",
];

/// Panics with every forbidden construct of `text`.
fn assert_harmless(text: &str, what: &str) {
    let found = check::forbidden_constructs(text, &[]);
    assert!(found.is_empty(), "{what}: {found:?}\n{text}");
}

fuzz_target!(|data: &[u8]| {
    let document = match Document::parse(data, &limits()) {
        Ok(document) => document,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let text = document.to_text();
    assert_harmless(&text, "sanitized");
    // The sanitized document is a fixed point of the sanitizer.
    match Document::parse(text.as_bytes(), &SvgLimits::default()) {
        Ok(again) => assert_eq!(again.to_text(), text, "sanitizing twice changed the document"),
        Err(e) => panic!("the sanitized document is refused: {e}\n{text}"),
    }
    let source = Source {
        size: document.size(),
        format: SourceFormat::Svg,
        focal_point: None,
        animated: false,
    };
    for spec in SPECS {
        let spec = FilterSpec::parse(spec).expect("a valid spec");
        if let Ok(plan) = plan::plan(&source, &spec, &SvgOutput::Svg.into()) {
            assert_harmless(&document.rendition(&plan), spec.as_str());
        }
    }
});
