//! The checker of served SVG: everything forbidden that a sanitized document
//! still holds, as read by roxmltree, a parser independent of the
//! sanitizer's. Shared by `tests/it/svg.rs` and the `svg` fuzz target
//! (`fuzz/fuzz_targets/svg.rs`), which include it by path; the including
//! module brings `roxmltree` into scope.

use super::roxmltree;

/// Everything forbidden that `text` (a served SVG) still holds, as read by
/// roxmltree, a parser independent of the sanitizer's: markup other than
/// elements and text, elements outside SVG or that run or embed documents,
/// `on*` attributes, links other than `#id` or raster data, animations of
/// links, handlers or styles, and CSS or attribute values that load or run
/// (`javascript:`, `url()` to anything but `#id`, `@import`, escapes, ...),
/// or hold one of `markers` (a corpus's payload URLs).
pub fn forbidden_constructs(text: &str, markers: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for marker in ["<!DOCTYPE", "<!ENTITY", "<?", "<!--", "<![CDATA["] {
        if text.contains(marker) {
            found.push(format!("markup {marker}"));
        }
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..roxmltree::ParsingOptions::default()
    };
    let document = match roxmltree::Document::parse_with_options(text, options) {
        Ok(d) => d,
        Err(e) => return vec![format!("does not parse: {e}")],
    };
    const SVG: &str = "http://www.w3.org/2000/svg";
    for node in document.descendants().filter(|n| n.is_element()) {
        let tag = node.tag_name();
        let name = tag.name();
        if tag.namespace() != Some(SVG) {
            found.push(format!("element {name} in namespace {:?}", tag.namespace()));
        }
        if [
            "script",
            "foreignObject",
            "iframe",
            "embed",
            "object",
            "handler",
            "listener",
            "form",
        ]
        .contains(&name)
        {
            found.push(format!("element {name}"));
        }
        let style = node.text().unwrap_or_default().to_ascii_lowercase();
        if name == "style" && (!safe_css(&style) || markers.iter().any(|m| style.contains(m))) {
            found.push(format!("style element {:?}", node.text()));
        }
        let animation = ["animate", "set", "animateTransform", "animateMotion"].contains(&name);
        for attribute in node.attributes() {
            let local = attribute.name().to_ascii_lowercase();
            let value = attribute.value();
            let compact: String = value
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .flat_map(char::to_lowercase)
                .collect();
            if local.starts_with("on") {
                found.push(format!("event attribute {local} on {name}"));
            }
            let link = value.starts_with('#') || raster_data(&compact);
            if local == "href" && (!link || compact.contains("javascript:")) {
                found.push(format!("href {value:?} on {name}"));
            }
            if animation && local == "attributename" {
                let target = compact.rsplit(':').next().unwrap_or_default();
                if target == "href" || target.starts_with("on") || target == "style" {
                    found.push(format!("{name} animates {value}"));
                }
            }
            if (local != "href" && !safe_css(&compact)) || markers.iter().any(|m| compact.contains(m)) {
                found.push(format!("attribute {local}={value:?} on {name}"));
            }
        }
    }
    found
}

/// `data:image/(png|jpeg|gif|webp)[;parameters];base64,...`.
fn raster_data(compact: &str) -> bool {
    let Some((header, _)) = compact.split_once(',') else {
        return false;
    };
    let mut parts = header.split(';');
    let media = parts.next().unwrap_or_default();
    ["png", "jpeg", "gif", "webp"]
        .map(|f| format!("data:image/{f}"))
        .contains(&media.to_owned())
        && parts.any(|p| p == "base64")
}

/// Lower-cased CSS or attribute text without loading or script constructs.
fn safe_css(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bad = [
        "@import",
        "expression(",
        "-moz-binding:",
        "behavior:",
        "javascript:",
        "\\",
    ];
    if bad.iter().any(|b| compact.contains(b)) {
        return false;
    }
    compact
        .match_indices("url(")
        .all(|(at, _)| compact[at + 4..].trim_start_matches(['"', '\'']).starts_with('#'))
}
