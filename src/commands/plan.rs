//! `renditiond plan`: the geometry and output choices for a spec, as JSON.

use renditiond::plan::{self, Size, Source};
use renditiond::spec::FilterSpec;
use serde_json::{Value, json};

use crate::cli::PlanArgs;

/// Plans `args.spec` and returns the JSON line to print, or the error message.
pub fn run(args: &PlanArgs) -> Result<Value, String> {
    let size = parse_size(&args.size)?;
    let spec = FilterSpec::parse(&args.spec).map_err(|e| format!("Invalid filter spec: {} ({e})", args.spec))?;
    let source = Source {
        size,
        format: args.source_format,
        focal_point: args.focal_point,
        animated: false,
    };
    let plan = plan::plan(&source, &spec, &crate::cli::svg_output(args.svg_rasterize).into())
        .map_err(|e| format!("Invalid filter spec: {} ({e})", args.spec))?;
    Ok(json!({
        "crop": plan.crop.to_array(),
        "size": [number(plan.size.width), number(plan.size.height)],
        "format": plan.format().name(),
        "focal_point_key": plan.focal_point_key,
    }))
}

/// `WxH`, each side a positive number (fractions only matter for SVG).
fn parse_size(text: &str) -> Result<Size, String> {
    let err = || format!("invalid size \"{text}\": expected WxH");
    let (w, h) = text.split_once('x').ok_or_else(err)?;
    let side = |s: &str| {
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .ok_or_else(err)
    };
    Ok(Size::new(side(w)?, side(h)?))
}

/// Whole numbers print without a fraction.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("640x480"), Ok(Size::new(640.0, 480.0)));
        assert_eq!(parse_size("100.5x50.25"), Ok(Size::new(100.5, 50.25)));
        for bad in ["640", "0x480", "x", "640x-1", "nanx1", "640X480"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(number(3.0), json!(3));
        assert_eq!(number(3.5), json!(3.5));
    }
}
