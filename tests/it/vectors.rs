//! Every case of the Wagtail vector files (`tests/data/`, computed with
//! Wagtail 8.0.1) against the library: parsing, cleaning, geometry, output
//! format, focal point keys and rendition names. All mismatches are listed
//! together, each with its case.

use std::path::Path;

use renditiond::format::SourceFormat;
use renditiond::pipeline::{self, Limits};
use renditiond::plan::{self, Coordinate, FocalPoint, Size, Source, SvgOutput};
use renditiond::spec::{FilterSpec, Operation, SourceKind};
use serde_json::{Value, json};

/// Fields the test reads; any other field makes it fail, so that nothing a
/// vector asserts is silently ignored.
const KNOWN_FIELDS: [&str; 23] = [
    // identity and comments
    "source",
    "wagtail_test",
    "note",
    "error_class",
    // inputs
    "input_size",
    "focal_point",
    "spec",
    "input_format",
    "original_filename",
    "svg_view_box",
    // expectations checked here
    "expected_error",
    "expected_crop",
    "expected_size",
    "expected_width",
    "expected_focal_point_key",
    "expected_clean_spec",
    "expected_parse",
    "expected_format",
    "expected_rendition_name",
    "resample",
    // intermediate values Wagtail computed; `expected_crop` is what it applies
    "unclamped_crop",
    "fill_op_crop",
    // the SVG root's width/height/viewBox after Willow's crop and resize,
    // checked on a document built as the generator built it
    "expected_svg_attrs",
];

fn load(name: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn coordinate(v: &Value) -> Coordinate {
    match v.as_u64() {
        Some(i) => Coordinate::int(u32::try_from(i).expect("focal point fits u32")),
        None => Coordinate::float(v.as_f64().expect("focal point coordinate is a number")),
    }
}

fn focal_point(v: &Value) -> Option<FocalPoint> {
    let fp = v.get("focal_point").filter(|fp| !fp.is_null())?;
    Some(FocalPoint {
        x: coordinate(&fp["x"]),
        y: coordinate(&fp["y"]),
        width: coordinate(&fp["width"]),
        height: coordinate(&fp["height"]),
    })
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// The problems with one vector (empty when it passes).
fn check(v: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(obj) = v.as_object() {
        for key in obj.keys().filter(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
            problems.push(format!("unknown field {key}"));
        }
    }
    let spec_text = v["spec"].as_str().unwrap_or_default();
    let format: SourceFormat = v
        .get("input_format")
        .and_then(Value::as_str)
        .unwrap_or("png")
        .parse()
        .expect("known input format");
    let kind = if format == SourceFormat::Svg {
        SourceKind::Svg
    } else {
        SourceKind::Raster
    };
    let size = numbers(&v["input_size"]);
    let source = Source {
        size: Size::new(size[0], size[1]),
        format,
        focal_point: focal_point(v),
        animated: false,
    };
    let spec = FilterSpec::parse(spec_text);
    let planned = spec
        .as_ref()
        .map_err(|e| e.to_string())
        .and_then(|s| plan::plan(&source, s, &SvgOutput::Svg.into()).map_err(|e| e.to_string()));

    let expects_error = v["expected_error"].as_bool().unwrap_or(false);
    if expects_error {
        if let Ok(p) = &planned {
            problems.push(format!("expected an error, planned {p:?}"));
        }
        return problems;
    }
    if let Some(clean) = v.get("expected_clean_spec").and_then(Value::as_str) {
        match spec.as_ref().map(|s| s.clean(kind)) {
            Ok(Ok(c)) if c.text == clean => {}
            other => problems.push(format!("clean spec {other:?} != {clean:?}")),
        }
    }
    if let Some(expected) = v.get("expected_parse") {
        problems.extend(check_parse(spec_text, expected));
        return problems; // parse-only vectors: the size is arbitrary
    }
    let plan = match planned {
        Ok(p) => p,
        Err(e) => {
            problems.push(format!("unexpected error: {e}"));
            return problems;
        }
    };
    let original = v["original_filename"].as_str().unwrap_or_default();
    let crop: Vec<f64> = plan.crop.to_array().iter().map(|&c| c as f64).collect();
    let observed = [
        ("expected_crop", json!(crop)),
        ("expected_size", json!([plan.size.width, plan.size.height])),
        ("expected_width", json!(plan.size.width)),
        ("resample", json!(plan.resamples())),
        ("expected_focal_point_key", json!(plan.focal_point_key)),
        ("expected_format", json!(plan.format().name())),
        ("expected_rendition_name", json!(plan.wagtail_rendition_path(original))),
    ];
    for (field, got) in observed {
        let Some(expected) = v.get(field).filter(|e| !e.is_null()) else {
            continue;
        };
        if !same(&got, expected) {
            problems.push(format!("{field}: got {got}, Wagtail {expected}"));
        }
    }
    if let Some(expected) = v.get("expected_svg_attrs") {
        match svg_root_attributes(v, spec_text) {
            Ok(got) if &got == expected => {}
            Ok(got) => problems.push(format!("expected_svg_attrs: got {got}, Wagtail {expected}")),
            Err(e) => problems.push(format!("expected_svg_attrs: {e}")),
        }
    }
    problems
}

/// Renders the vector's SVG (written as the generator wrote it) and reads
/// the root's `width`, `height` and `viewBox` back.
fn svg_root_attributes(v: &Value, spec: &str) -> Result<Value, String> {
    let size = numbers(&v["input_size"]);
    let view_box = v["svg_view_box"]
        .as_str()
        .map_or_else(|| format!("0 0 {} {}", size[0], size[1]), str::to_owned);
    let text = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="{view_box}"><rect x="0" y="0" width="10" height="10"/></svg>"#,
        size[0], size[1]
    );
    let limits = Limits::default();
    let probe = pipeline::probe(text.as_bytes(), &limits).map_err(|e| e.to_string())?;
    let source = Source {
        size: probe.oriented_size(),
        format: probe.format,
        focal_point: focal_point(v),
        animated: false,
    };
    let spec = FilterSpec::parse(spec).map_err(|e| e.to_string())?;
    let plan = plan::plan(&source, &spec, &SvgOutput::Svg.into()).map_err(|e| e.to_string())?;
    let rendition = pipeline::render(text.as_bytes(), &probe, &plan, &limits).map_err(|e| e.to_string())?;
    let output = String::from_utf8(rendition.bytes).map_err(|e| e.to_string())?;
    let root = &output[..output.find('>').unwrap_or(output.len())];
    let attribute = |name: &str| {
        let start = root.find(&format!(" {name}=\"")).map(|at| at + name.len() + 3)?;
        root[start..].split('"').next().map(str::to_owned)
    };
    Ok(json!({"width": attribute("width"), "height": attribute("height"), "viewBox": attribute("viewBox")}))
}

/// JSON equality with numbers compared as numbers (`100` equals `100.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        _ => a == b,
    }
}

/// Compares the attributes Wagtail's operation object would have.
fn check_parse(spec: &str, expected: &Value) -> Vec<String> {
    let op = match FilterSpec::parse(spec).and_then(|s| s.clean(SourceKind::Raster)) {
        Ok(clean) => clean.operations.into_iter().next(),
        Err(e) => return vec![format!("parse error {e}")],
    };
    let got: Vec<(&str, f64)> = match op {
        Some(Operation::Fill(f)) => vec![
            ("width", f.width as f64),
            ("height", f.height as f64),
            ("crop_closeness", f.closeness),
        ],
        Some(Operation::Max(b) | Operation::Min(b)) => {
            vec![("width", b.width as f64), ("height", b.height as f64)]
        }
        Some(Operation::Width(n) | Operation::Height(n)) => vec![("size", n as f64)],
        Some(Operation::Scale(p)) => vec![("percent", p)],
        other => return vec![format!("unexpected operation {other:?}")],
    };
    let method = spec.split('-').next().unwrap_or_default();
    let mut problems = Vec::new();
    for (attr, value) in expected.as_object().into_iter().flatten() {
        if attr == "method" {
            if value.as_str() != Some(method) {
                problems.push(format!("method {method} != {value}"));
            }
            continue;
        }
        match got.iter().find(|(name, _)| name == attr) {
            Some((_, v)) if Some(*v) == value.as_f64() => {}
            other => problems.push(format!("{attr}: {other:?} != {value}")),
        }
    }
    problems
}

fn run_file(name: &str) {
    let vectors = load(name);
    assert!(vectors.len() > 100, "{name} holds only {} vectors", vectors.len());
    let failures: Vec<String> = vectors
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let problems = check(v);
            (!problems.is_empty()).then(|| {
                format!(
                    "#{i} {:?} {} fp={}: {}",
                    v["spec"].as_str().unwrap_or_default(),
                    v["input_size"],
                    v["focal_point"],
                    problems.join("; ")
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors in {name} fail:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}

#[test]
fn wagtail_test_suite_vectors() {
    run_file("wagtail-vectors.json");
}

#[test]
fn wagtail_generated_vectors() {
    run_file("wagtail-generated-vectors.json");
}
