//! `renditiond render`: one rendition of an image file.

use std::fs;
use std::path::Path;

use anyhow::Context;
use renditiond::pipeline::{self, AnimationLimits, Limits};
use renditiond::plan::{self, Output, Source};
use renditiond::spec::FilterSpec;
use serde_json::{Value, json};

use crate::cli::RenderArgs;

/// Renders `args.input` to `args.output` and returns the JSON line to print.
pub fn run(args: &RenderArgs) -> anyhow::Result<Value> {
    let spec = FilterSpec::parse(&args.spec).with_context(|| format!("Invalid filter spec: {}", args.spec))?;
    let bytes = fs::read(&args.input).with_context(|| format!("cannot read {}", args.input.display()))?;
    let limits = Limits {
        animation: args.animate.then(AnimationLimits::default),
        shrink_on_load: args.shrink_on_load,
        ..Limits::default()
    };
    let probe = pipeline::probe(&bytes, &limits).with_context(|| args.input.display().to_string())?;
    let source = Source {
        size: probe.oriented_size(),
        format: probe.format,
        focal_point: args.focal_point,
        animated: probe.animated() == Some(true),
    };
    let output = Output {
        animation: args.animate,
        ..crate::cli::svg_output(args.svg_rasterize).into()
    };
    let plan = plan::plan(&source, &spec, &output).with_context(|| format!("Invalid filter spec: {}", args.spec))?;
    let rendition =
        pipeline::render(&bytes, &probe, &plan, &limits).with_context(|| args.input.display().to_string())?;
    write_atomically(&args.output, &rendition.bytes)?;
    Ok(json!({
        "width": rendition.width,
        "height": rendition.height,
        "format": rendition.format.name(),
        "bytes": rendition.bytes.len(),
    }))
}

/// Writes through a temporary file in the same folder, so a failure never
/// leaves a partial rendition behind.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path.file_name().context("the output path names no file")?;
    let temp = path.with_file_name(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    fs::write(&temp, bytes).with_context(|| format!("cannot write {}", temp.display()))?;
    fs::rename(&temp, path).map_err(|e| {
        let _ = fs::remove_file(&temp);
        anyhow::Error::new(e).context(format!("cannot write {}", path.display()))
    })
}
