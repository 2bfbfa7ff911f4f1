//! The allowlist sanitizer: a new tree built from the parts of the parsed
//! one that are known SVG and known harmless.
//!
//! Rules, on top of the element and attribute lists of [`allowlist`]:
//! - `href` / `xlink:href` only to a fragment of the document (`#id`), or on
//!   `image` / `feImage` to embedded PNG, JPEG, GIF or WebP data whose bytes
//!   really are that format;
//! - every `on*` attribute dropped, in any case or namespace;
//! - animations that target `href`, an event attribute or `style` dropped;
//! - every other value passes [`css::safe_value`] (no script URL, no
//!   external `url()`); `style` attributes and elements are rewritten by
//!   [`css`];
//! - `use` references are expanded in a count, so a few kilobytes cannot
//!   stand for billions of elements.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::tree::{Attribute, Element, Namespace, Node};
use super::{SvgError, SvgLimits, allowlist, css};

/// Base64 as data URLs carry it: standard alphabet, padding optional.
const DATA_URL_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Rebuilds `root` from its harmless parts and checks what `use` expands to.
pub fn sanitize(root: Element, limits: &SvgLimits) -> Result<Element, SvgError> {
    if root.ns != Namespace::Svg || root.local != "svg" {
        return Err(SvgError::Malformed("the root element is not svg".into()));
    }
    let clean = clean_element(root).ok_or_else(|| SvgError::Malformed("the root element is not usable".into()))?;
    check_use_expansion(&clean, limits)?;
    Ok(clean)
}

fn clean_element(element: Element) -> Option<Element> {
    if element.ns != Namespace::Svg || !allowlist::element(&element.local) {
        return None;
    }
    if allowlist::ANIMATIONS.contains(&element.local.as_str()) && animates_forbidden(&element) {
        return None;
    }
    let Element {
        ns,
        local,
        attributes,
        children,
    } = element;
    let attributes = attributes
        .into_iter()
        .filter_map(|a| clean_attribute(&local, a))
        .collect();
    let children = if local == "style" {
        let text: String = children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect();
        vec![Node::Text(css::stylesheet(&text))]
    } else {
        children
            .into_iter()
            .filter_map(|n| match n {
                Node::Element(e) => clean_element(e).map(Node::Element),
                text @ Node::Text(_) => Some(text),
            })
            .collect()
    };
    Some(Element {
        ns,
        local,
        attributes,
        children,
    })
}

/// Whether an animation element would write a link, a handler or a style.
fn animates_forbidden(element: &Element) -> bool {
    let Some(target) = element.attribute(Namespace::None, "attributeName") else {
        return false;
    };
    let target = target.trim();
    let local = target
        .rsplit_once(':')
        .map_or(target, |(_, local)| local)
        .to_ascii_lowercase();
    local == "href" || local.starts_with("on") || local == "style"
}

fn clean_attribute(element: &str, attribute: Attribute) -> Option<Attribute> {
    let Attribute { ns, local, value } = attribute;
    if local.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("on")) {
        return None;
    }
    let value = match (ns, local.as_str()) {
        (Namespace::None | Namespace::Xlink, "href") => clean_href(element, &value)?,
        (Namespace::None, "style") => css::declarations(&value)?,
        (Namespace::None, name) if allowlist::attribute(name) && css::safe_value(&value) => value,
        (Namespace::Xml, name) if allowlist::xml_attribute(name) && css::safe_value(&value) => value,
        _ => return None,
    };
    Some(Attribute { ns, local, value })
}

/// A link target kept: a fragment, or embedded raster data where an image
/// is expected.
fn clean_href(element: &str, value: &str) -> Option<String> {
    let value = value.trim();
    if css::is_fragment(value) {
        return Some(value.to_owned());
    }
    (allowlist::RASTER_HREF.contains(&element) && is_raster_data_url(value)).then(|| value.to_owned())
}

/// `data:image/(png|jpeg|gif|webp)[;...];base64,...` whose bytes are that format.
fn is_raster_data_url(value: &str) -> bool {
    let Some((header, payload)) = value.split_once(',') else {
        return false;
    };
    let header = header.to_ascii_lowercase();
    let Some(media) = header.strip_prefix("data:") else {
        return false;
    };
    let mut parts = media.split(';').map(str::trim);
    let mime = parts.next().unwrap_or_default();
    if !parts.any(|p| p == "base64") {
        return false;
    }
    let compact: String = payload.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let Ok(bytes) = DATA_URL_BASE64.decode(compact) else {
        return false;
    };
    match mime {
        "image/png" => infer::image::is_png(&bytes),
        "image/jpeg" | "image/jpg" => infer::image::is_jpeg(&bytes),
        "image/gif" => infer::image::is_gif(&bytes),
        "image/webp" => infer::image::is_webp(&bytes),
        _ => false,
    }
}

/// Counts the elements the document stands for once every `use` is
/// expanded, refusing reference cycles, totals beyond the element limit,
/// and expansions deeper than twice the depth limit (what resvg then nests).
fn check_use_expansion(root: &Element, limits: &SvgLimits) -> Result<(), SvgError> {
    let mut ids = HashMap::new();
    index_ids(root, &mut ids);
    let mut counter = Expansion {
        ids,
        counts: HashMap::new(),
        limits,
    };
    let (total, _) = counter.count(root, 0)?;
    if total > limits.max_elements {
        return Err(SvgError::TooManyElements {
            limit: limits.max_elements,
        });
    }
    Ok(())
}

fn index_ids<'a>(element: &'a Element, ids: &mut HashMap<&'a str, &'a Element>) {
    if let Some(id) = element.attribute(Namespace::None, "id") {
        ids.entry(id).or_insert(element);
    }
    for child in element.elements() {
        index_ids(child, ids);
    }
}

struct Expansion<'a, 'l> {
    ids: HashMap<&'a str, &'a Element>,
    /// Expanded size and height (levels, itself included) per element (by
    /// address); `None` while being counted.
    counts: HashMap<*const Element, Option<(usize, usize)>>,
    limits: &'l SvgLimits,
}

impl<'a> Expansion<'a, '_> {
    /// The expanded size and height of `element` at `depth` below the root.
    fn count(&mut self, element: &'a Element, depth: usize) -> Result<(usize, usize), SvgError> {
        let key: *const Element = element;
        let limit = self.limits.max_depth;
        let too_deep = move |height: usize| depth.saturating_add(height) > limit.saturating_mul(2).saturating_add(1);
        match self.counts.get(&key) {
            // Counted before, perhaps higher up: its height still counts here.
            Some(Some((_, height))) if too_deep(*height) => return Err(SvgError::TooDeep { limit }),
            Some(Some(counted)) => return Ok(*counted),
            Some(None) => return Err(SvgError::Malformed("a use element refers to itself".into())),
            None => {}
        }
        if too_deep(1) {
            return Err(SvgError::TooDeep { limit });
        }
        self.counts.insert(key, None);
        let (mut total, mut below) = (1usize, 0usize);
        for child in element.elements() {
            let (n, height) = self.count(child, depth + 1)?;
            total = total.saturating_add(n);
            below = below.max(height);
        }
        if element.local == "use" {
            let href = element
                .attribute(Namespace::None, "href")
                .or_else(|| element.attribute(Namespace::Xlink, "href"));
            if let Some(target) = href.and_then(|h| h.strip_prefix('#')).and_then(|id| self.ids.get(id)) {
                let (n, height) = self.count(target, depth + 1)?;
                total = total.saturating_add(n);
                below = below.max(height);
            }
        }
        if total > self.limits.max_elements {
            return Err(SvgError::TooManyElements {
                limit: self.limits.max_elements,
            });
        }
        let counted = (total, below + 1);
        self.counts.insert(key, Some(counted));
        Ok(counted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::svg::tree;

    fn clean(text: &str) -> Result<Element, SvgError> {
        let limits = SvgLimits::default();
        sanitize(tree::parse(text, &limits)?, &limits)
    }

    fn names(element: &Element) -> Vec<String> {
        let mut out = vec![element.local.clone()];
        out.extend(element.attributes.iter().map(|a| format!("@{}", a.local)));
        for child in element.elements() {
            out.extend(names(child));
        }
        out
    }

    const PNG_1X1: &str =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==";

    #[test]
    fn keeps_drawing_and_drops_script() {
        let out = clean(concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink" onload="a()" width="10">"#,
            r#"<script>b()</script><g OnClick="c()" fill="red"><rect width="5" height="5"/></g>"#,
            r#"<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">d</div></foreignObject>"#,
            r##"<a href="javascript:e()"><text>t</text></a><use x:href="#g1"/><use href="other.svg#g"/>"##,
            r#"<handler type="application/ecmascript">f()</handler></svg>"#,
        ))
        .unwrap();
        assert_eq!(
            names(&out),
            [
                "svg", "@width", "g", "@fill", "rect", "@width", "@height", "a", "text", "use", "@href", "use"
            ]
        );
    }

    #[test]
    fn links_stay_inside_the_document_or_carry_raster_data() {
        let png = format!("data:image/png;base64,{PNG_1X1}");
        let svg_data = "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=";
        let lying_png = "data:image/png;base64,PHN2Zz48L3N2Zz4=";
        let cases = [
            ("image", "#a", true),
            ("image", png.as_str(), true),
            ("feImage", png.as_str(), true),
            ("use", png.as_str(), false),
            ("image", svg_data, false),
            ("image", lying_png, false),
            ("image", "data:text/html,<script>x()</script>", false),
            ("a", " #top ", true),
            ("a", "https://example.invalid/", false),
            ("pattern", "java\tscript:x()", false),
            ("textPath", "#p(x)", false),
        ];
        for (element, href, kept) in cases {
            assert_eq!(clean_href(element, href).is_some(), kept, "{element} {href}");
        }
    }

    #[test]
    fn animations_may_not_write_links_handlers_or_styles() {
        let out = clean(concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg"><a>"#,
            r#"<animate attributeName="href" values="javascript:x()"/>"#,
            r#"<set attributeName="xl:href" to="javascript:x()"/>"#,
            r#"<set attributeName="onclick" to="x()"/><animate attributeName="style" to="x"/>"#,
            r#"<set attributeName="fill" to="url(/cb/x)"/>"#,
            r#"<animate attributeName="opacity" from="0" to="1" dur="1s"/></a></svg>"#,
        ))
        .unwrap();
        assert_eq!(
            names(&out),
            [
                "svg",
                "a",
                "set",
                "@attributeName",
                "animate",
                "@attributeName",
                "@from",
                "@to",
                "@dur"
            ]
        );
    }

    #[test]
    fn styles_are_rewritten() {
        let out = clean(concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(/cb/x); .a{fill:red}</style>"#,
            r#"<rect style="fill:url(/cb/y);stroke:blue" fill="url(/cb/z)" stroke="url(#g)"/></svg>"#,
        ))
        .unwrap();
        let style = out.elements().next().unwrap();
        assert_eq!(style.children, vec![Node::Text("*.a{fill:red}\n".into())]);
        let rect = out.elements().nth(1).unwrap();
        assert_eq!(rect.attribute(Namespace::None, "style"), Some("stroke:blue"));
        assert_eq!(rect.attribute(Namespace::None, "fill"), None);
        assert_eq!(rect.attribute(Namespace::None, "stroke"), Some("url(#g)"));
    }

    #[test]
    fn use_expansion_is_counted() {
        let mut text = String::from(r#"<svg xmlns="http://www.w3.org/2000/svg"><g id="l0"><rect/></g>"#);
        for level in 1..8 {
            text.push_str(&format!("<g id=\"l{level}\">"));
            for _ in 0..10 {
                text.push_str(&format!("<use href=\"#l{}\"/>", level - 1));
            }
            text.push_str("</g>");
        }
        text.push_str("</svg>");
        assert!(matches!(clean(&text), Err(SvgError::TooManyElements { .. })));
        let cycle = r##"<svg xmlns="http://www.w3.org/2000/svg"><g id="a"><use href="#a"/></g></svg>"##;
        assert!(matches!(clean(cycle), Err(SvgError::Malformed(_))));
        assert!(clean(r#"<html><svg/></html>"#).is_err());
    }
}
