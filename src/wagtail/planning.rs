//! The geometry endpoint's use case: what a rendition will be (size, format
//! and, for a Wagtail image, its signed `/images/` URL) without reading or
//! decoding any pixels, so a page can write `<img width height src>` without
//! generating renditions while it renders.

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::images::VERSION_CHARS;
use super::{WagtailImage, WagtailSite};
use crate::format::SourceFormat;
use crate::plan::{self, FocalPoint, Output, Size, Source, SourceSize};
use crate::spec::{FilterSpec, SpecError, SpecLimits};

/// What Django's `reverse` percent-encodes in a path segment, beyond controls.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'^')
    .add(b'\\')
    .add(b'/');

/// The length of Wagtail's `original_images/` prefix, which
/// `generate_image_url` cuts from the file name whatever it is.
const ORIGINALS_PREFIX_CHARS: usize = "original_images/".len();

/// One item of a request: a Wagtail image by id, or a bare source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanItem {
    /// The filter spec.
    pub spec: String,
    /// A Wagtail image id.
    pub image_id: Option<i64>,
    /// Source width (without an image id).
    pub width: Option<f64>,
    /// Source height (without an image id).
    pub height: Option<f64>,
    /// Source focal point in Wagtail's database form (without an image id).
    pub focal_point: Option<FocalPointJson>,
    /// Source format name (without an image id; default `png`).
    pub format: Option<String>,
    /// The image's version as the site knows it (with an image id): a
    /// cached row of another version is read again.
    pub version: Option<String>,
}

/// A focal point as JSON: centre `x`, `y` and `width`, `height`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FocalPointJson {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
}

/// One item of the answer: the rendition's size and format (and URL), or why not.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PlanReply {
    /// The rendition.
    Planned {
        /// Output width (fractional only for SVG output).
        width: Value,
        /// Output height.
        height: Value,
        /// Output format name.
        format: &'static str,
        /// The signed `/images/` URL, for a Wagtail image.
        #[serde(skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    /// Why this item has no rendition.
    Failed {
        /// A short message (`Invalid filter spec: …`, `Image not found`, …).
        error: String,
    },
}

/// Plans every item, in order, each spec within `limits`; a database
/// outage fails the whole request. `source_size` tells an image's oriented
/// size from its original's file name (one ranged read of its headers).
pub async fn plan_items<F, Fut>(
    items: &[PlanItem],
    site: Option<&WagtailSite>,
    output: &Output,
    limits: &SpecLimits,
    source_size: F,
) -> Result<Vec<PlanReply>, super::DatabaseError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = SourceSize>,
{
    let mut replies = Vec::with_capacity(items.len());
    for item in items {
        if let Err(error) = limits.check(&item.spec) {
            replies.push(match error {
                SpecError::TooLong { .. } => failed("Invalid filter spec (too long)"),
                SpecError::TooManyOperations { .. } => failed("Invalid filter spec (too many operations)"),
                _ => failed(&format!("Invalid filter spec: {}", item.spec)),
            });
            continue;
        }
        let reply = match (item.image_id, site) {
            (Some(_), None) => failed("Wagtail is not configured"),
            (Some(id), Some(site)) => match site.images.find_current(id, item.version.as_deref()).await {
                Err(error) if error.is_bad_row() => {
                    tracing::warn!(%error, "unusable Wagtail image row");
                    failed("Internal error")
                }
                Err(error) => return Err(error),
                Ok(None) => failed("Image not found"),
                Ok(Some(image)) => {
                    let format = extension_format(&image.file);
                    let recorded = Size::new(f64::from(image.width), f64::from(image.height));
                    let size = match source_size(image.file.clone()).await {
                        SourceSize::Oriented(size, animated) => Some((size, animated)),
                        SourceSize::Recorded => Some((recorded, false)),
                        SourceSize::Missing => None,
                    };
                    match size {
                        Some((size, animated)) => {
                            let url = signed_url(site, id, &item.spec, &image);
                            let source = format.map(|format| Source {
                                size,
                                format,
                                focal_point: image.focal_point,
                                animated,
                            });
                            plan_one(&item.spec, source, output, Some(url))
                        }
                        None => failed("Source image file not found"),
                    }
                }
            },
            (None, _) => match (item.width, item.height) {
                (Some(w), Some(h)) => match item.format.as_deref().unwrap_or("png").parse() {
                    Ok(format) => {
                        let focal = item.focal_point.map(|f| FocalPoint::new(f.x, f.y, f.width, f.height));
                        let source = Source {
                            size: Size::new(w, h),
                            format,
                            focal_point: focal,
                            animated: false,
                        };
                        plan_one(&item.spec, Some(source), output, None)
                    }
                    Err(_) => failed("Unknown format"),
                },
                _ => failed("An item needs image_id, or width and height"),
            },
        };
        replies.push(reply);
    }
    Ok(replies)
}

fn plan_one(spec_text: &str, source: Option<Source>, output: &Output, url: Option<String>) -> PlanReply {
    let Some(source) = source else {
        return failed("Unknown format");
    };
    let invalid = || failed(&format!("Invalid filter spec: {spec_text}"));
    let Ok(spec) = FilterSpec::parse(spec_text) else {
        return invalid();
    };
    match plan::plan(&source, &spec, output) {
        Ok(plan) => PlanReply::Planned {
            width: json_number(plan.size.width),
            height: json_number(plan.size.height),
            format: plan.format().name(),
            url,
        },
        Err(_) => invalid(),
    }
}

/// Wagtail's `generate_image_url`, `/images/<signature>/<id>/<spec>/<file
/// name>`, with the row's version before the file name
/// (`<version>~<file name>`): the unsigned last segment then changes with
/// the file and focal point, and names the row it was planned from.
fn signed_url(site: &WagtailSite, id: i64, spec: &str, image: &WagtailImage) -> String {
    let id = id.to_string();
    let signature = site.signer.sign(&id, spec);
    let name: String = image.file.chars().skip(ORIGINALS_PREFIX_CHARS).collect();
    format!(
        "/images/{signature}/{id}/{}/{}~{}",
        utf8_percent_encode(spec, SEGMENT),
        image.version(),
        utf8_percent_encode(&name, SEGMENT)
    )
}

/// The version a serve-view file name segment names (`<version>~…`), if any.
pub fn named_version(filename: &str) -> Option<&str> {
    let (version, _) = filename.split_once('~')?;
    let hex = version.len() == VERSION_CHARS && version.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    hex.then_some(version)
}

/// The format Wagtail assumes from a file name's extension.
fn extension_format(file: &str) -> Option<SourceFormat> {
    let (_, extension) = file.rsplit_once('.')?;
    extension.to_ascii_lowercase().parse().ok()
}

/// A size as JSON: an integer when it is whole, else a float.
pub fn json_number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9e15 {
        Value::from(value as i64)
    } else {
        Value::from(value)
    }
}

fn failed(message: &str) -> PlanReply {
    PlanReply::Failed {
        error: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bare(spec: &str, width: f64, height: f64, format: &str) -> PlanItem {
        PlanItem {
            spec: spec.to_owned(),
            image_id: None,
            width: Some(width),
            height: Some(height),
            focal_point: None,
            format: Some(format.to_owned()),
            version: None,
        }
    }

    fn run(items: &[PlanItem]) -> Vec<PlanReply> {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let unread = |_| async { SourceSize::Recorded };
        runtime
            .block_on(plan_items(
                items,
                None,
                &Output::default(),
                &SpecLimits::default(),
                unread,
            ))
            .expect("no database involved")
    }

    #[test]
    fn plans_bare_sources_without_pixels() {
        let replies = run(&[
            bare("fill-300x200|format-webp", 640.0, 480.0, "jpeg"),
            bare("width-100", 300.0, 150.0, "svg"),
            bare("original", 100.5, 50.25, "svg"),
            bare("bad-spec", 640.0, 480.0, "png"),
            bare("width-10", 640.0, 480.0, "psd"),
        ]);
        let json = serde_json::to_value(&replies).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!([
                {"width": 300, "height": 200, "format": "webp"},
                {"width": 100, "height": 50, "format": "svg"},
                {"width": 100.5, "height": 50.25, "format": "svg"},
                {"error": "Invalid filter spec: bad-spec"},
                {"error": "Unknown format"},
            ])
        );
        let replies = run(&[
            bare(&"|format-webp".repeat(4500), 640.0, 480.0, "jpeg"),
            bare(&["format-webp"; 17].join("|"), 640.0, 480.0, "jpeg"),
            bare("width-10/x", 640.0, 480.0, "jpeg"),
            bare("width-10|format-webp-a%2Fb", 640.0, 480.0, "jpeg"),
        ]);
        assert_eq!(
            serde_json::to_value(&replies).expect("serialises"),
            serde_json::json!([
                {"error": "Invalid filter spec (too long)"},
                {"error": "Invalid filter spec (too many operations)"},
                {"error": "Invalid filter spec: width-10/x"},
                {"error": "Invalid filter spec: width-10|format-webp-a%2Fb"},
            ])
        );
        let by_id = PlanItem {
            image_id: Some(1),
            ..bare("width-10", 1.0, 1.0, "png")
        };
        assert_eq!(run(&[by_id]), vec![failed("Wagtail is not configured")]);
    }

    #[test]
    fn urls_are_wagtails() {
        let site_signer = super::super::WagtailSigner::new(vec![b"not needed".to_vec()]);
        let signature = site_signer.sign("1", "fill-800x600");
        assert_eq!(signature, "sHBpEKTDHyF2s2IFGvSFZaf9-Ss=");
        assert_eq!(extension_format("original_images/a.JPG"), Some(SourceFormat::Jpeg));
        assert_eq!(extension_format("original_images/noext"), None);
        assert_eq!(utf8_percent_encode("a|b.c-1", SEGMENT).to_string(), "a%7Cb.c-1");
    }

    #[test]
    fn file_names_may_name_a_version() {
        assert_eq!(named_version("0123456789ab~photo.jpg"), Some("0123456789ab"));
        for name in [
            "photo.jpg",
            "0123456789ab-photo.jpg",
            "0123456789AB~x",
            "0123456789a~x",
            "~x",
            "",
        ] {
            assert_eq!(named_version(name), None, "{name}");
        }
        let image = WagtailImage {
            file: "original_images/photo.jpg".into(),
            width: 10,
            height: 10,
            focal_point: Some(FocalPoint::new(5, 6, 2, 3)),
            file_hash: "abc".into(),
        };
        // sha256("original_images/photo.jpg\nabc\n5,6,2,3"), as the adapter computes it.
        assert_eq!(image.version(), "7eabf26d2209");
        let moved = WagtailImage {
            focal_point: None,
            ..image.clone()
        };
        assert_ne!(moved.version(), image.version());
    }
}
