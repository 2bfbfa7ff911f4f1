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
//!   stand for billions of elements;
//! - embedded rasters over the pixel limit (by their header) are refused,
//!   filters with too many primitives are refused, and costly primitive
//!   parameters are bounded ([`filters`]);
//! - style sheets are bounded in bytes, rules and selector parts, read in
//!   linear time, and written as `style` elements small enough that a
//!   renderer reads them in linear time too ([`css`]); the rules × elements
//!   a renderer will match are bounded.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::css::CssBudget;
use super::tree::{Attribute, Element, Namespace, Node};
use super::{SvgError, SvgLimits, allowlist, css, embedded, filters, geometry};

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
    let mut cleaner = Cleaner {
        limits,
        extent: geometry::intrinsic(&root).map_or(0.0, |i| i.extent()),
        css: CssBudget::new(limits),
    };
    let clean = cleaner
        .element(root)?
        .ok_or_else(|| SvgError::Malformed("the root element is not usable".into()))?;
    check_use_expansion(&clean, limits)?;
    let matches = (cleaner.css.rules() as u64).saturating_mul(count_elements(&clean));
    if matches > limits.max_css_matches {
        return Err(SvgError::TooCostly(format!(
            "{} style rules on {} elements are more than the limit of {} rule matches",
            cleaner.css.rules(),
            count_elements(&clean),
            limits.max_css_matches
        )));
    }
    Ok(clean)
}

fn count_elements(element: &Element) -> u64 {
    1 + element.elements().map(count_elements).sum::<u64>()
}

/// The sanitizer's state over one document.
struct Cleaner<'l> {
    limits: &'l SvgLimits,
    /// The larger side of the root's user space, to bound filter parameters.
    extent: f64,
    css: CssBudget,
}

impl Cleaner<'_> {
    /// The element cleaned, `None` when it is dropped whole.
    fn element(&mut self, element: Element) -> Result<Option<Element>, SvgError> {
        if element.ns != Namespace::Svg || !allowlist::element(&element.local) {
            return Ok(None);
        }
        if allowlist::ANIMATIONS.contains(&element.local.as_str()) && animates_forbidden(&element) {
            return Ok(None);
        }
        let Element {
            ns,
            local,
            attributes,
            children,
        } = element;
        let mut kept = Vec::with_capacity(attributes.len());
        for attribute in attributes {
            if let Some(a) = self.attribute(&local, attribute)? {
                kept.push(a);
            }
        }
        if filters::is_primitive(&local) {
            filters::bound_primitive(&local, &mut kept, self.extent);
        }
        let mut clean = Vec::with_capacity(children.len());
        for child in children {
            match child {
                Node::Element(e) if e.ns == Namespace::Svg && e.local == "style" => self.style(e, &mut clean)?,
                Node::Element(e) => clean.extend(self.element(e)?.map(Node::Element)),
                text @ Node::Text(_) => clean.push(text),
            }
        }
        if local == "filter" {
            let primitives = clean
                .iter()
                .filter(|n| matches!(n, Node::Element(e) if filters::is_primitive(&e.local)))
                .count();
            if primitives > self.limits.max_filter_primitives {
                return Err(SvgError::TooCostly(format!(
                    "a filter has more than the limit of {} primitives",
                    self.limits.max_filter_primitives
                )));
            }
        }
        Ok(Some(Element {
            ns,
            local,
            attributes: kept,
            children: clean,
        }))
    }

    /// A `style` element, rewritten as one or more `style` elements of
    /// short sheets (the first keeps the attributes, the others all but
    /// `id`).
    fn style(&mut self, element: Element, out: &mut Vec<Node>) -> Result<(), SvgError> {
        let text: String = element
            .children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect();
        let mut attributes = Vec::new();
        for attribute in element.attributes {
            if let Some(a) = self.attribute("style", attribute)? {
                attributes.push(a);
            }
        }
        let mut chunks = css::stylesheet(&text, &mut self.css)?;
        if chunks.is_empty() {
            chunks.push(String::new());
        }
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut style = Element::new(Namespace::Svg, "style");
            style.attributes = if i == 0 {
                attributes.clone()
            } else {
                attributes.iter().filter(|a| a.local != "id").cloned().collect()
            };
            style.children.push(Node::Text(chunk));
            out.push(Node::Element(style));
        }
        Ok(())
    }

    fn attribute(&self, element: &str, attribute: Attribute) -> Result<Option<Attribute>, SvgError> {
        let Attribute { ns, local, value } = attribute;
        if local.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("on")) {
            return Ok(None);
        }
        let value = match (ns, local.as_str()) {
            (Namespace::None | Namespace::Xlink, "href") => clean_href(element, &value, self.limits)?,
            (Namespace::None, "style") => css::declarations(&value),
            (Namespace::None, name) if allowlist::attribute(name) && css::safe_value(&value) => Some(value),
            (Namespace::Xml, name) if allowlist::xml_attribute(name) && css::safe_value(&value) => Some(value),
            _ => None,
        };
        Ok(value.map(|value| Attribute { ns, local, value }))
    }
}

/// Whether an animation element would write a link, a handler or a style,
/// or names its target with white space or a control character inside (no
/// attribute has such a name, and a lenient reader might drop them).
fn animates_forbidden(element: &Element) -> bool {
    let Some(target) = element.attribute(Namespace::None, "attributeName") else {
        return false;
    };
    let target = target.trim();
    if target.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return true;
    }
    let local = target
        .rsplit_once(':')
        .map_or(target, |(_, local)| local)
        .to_ascii_lowercase();
    local == "href" || local.starts_with("on") || local == "style"
}

/// A link target kept: a fragment, or embedded raster data where an image
/// is expected; an error when that raster declares more pixels than allowed.
fn clean_href(element: &str, value: &str, limits: &SvgLimits) -> Result<Option<String>, SvgError> {
    let value = value.trim();
    if css::is_fragment(value) {
        return Ok(Some(value.to_owned()));
    }
    if !allowlist::RASTER_HREF.contains(&element) {
        return Ok(None);
    }
    let Some((width, height)) = raster_data_url(value) else {
        return Ok(None);
    };
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_image_pixels {
        return Err(SvgError::TooCostly(format!(
            "an embedded image of {width}x{height} pixels is over the limit of {} pixels",
            limits.max_image_pixels
        )));
    }
    Ok((pixels > 0).then(|| value.to_owned()))
}

/// The declared size of `data:image/(png|jpeg|gif|webp)[;name=value...];base64,...`
/// whose bytes are that format. Parameters are plain `name=value` tokens.
fn raster_data_url(value: &str) -> Option<(u32, u32)> {
    let (header, payload) = value.split_once(',')?;
    let header = header.to_ascii_lowercase();
    let media = header.strip_prefix("data:")?;
    let mut parts = media.split(';').map(str::trim);
    let mime = parts.next().unwrap_or_default();
    let parameters: Vec<&str> = parts.collect();
    let token = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b));
    let plain = |p: &&str| {
        p.split_once('=')
            .is_some_and(|(name, value)| token(name) && token(value))
    };
    match parameters.split_last() {
        Some((&"base64", others)) if others.iter().all(plain) => {}
        _ => return None,
    }
    let compact: String = payload.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = DATA_URL_BASE64.decode(compact).ok()?;
    let format = match mime {
        "image/png" => infer::image::is_png(&bytes),
        "image/jpeg" | "image/jpg" => infer::image::is_jpeg(&bytes),
        "image/gif" => infer::image::is_gif(&bytes),
        "image/webp" => infer::image::is_webp(&bytes),
        _ => false,
    };
    format.then(|| embedded::raster_dimensions(&bytes)).flatten()
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
        let named = format!("data:image/png;charset=utf-8;name=a.png;base64,{PNG_1X1}");
        let junk = format!("data:image/png;x/JaVaScRiPt:y;base64,{PNG_1X1}");
        let late = format!("data:image/png;base64;x=y,{PNG_1X1}");
        let cases = [
            ("image", "#a", true),
            ("image", png.as_str(), true),
            ("image", named.as_str(), true),
            ("image", junk.as_str(), false),
            ("image", late.as_str(), false),
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
            assert_eq!(
                clean_href(element, href, &SvgLimits::default())
                    .expect("within limits")
                    .is_some(),
                kept,
                "{element} {href}"
            );
        }
    }

    #[test]
    fn animations_may_not_write_links_handlers_or_styles() {
        let out = clean(concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg"><a>"#,
            r#"<animate attributeName="href" values="javascript:x()"/>"#,
            r#"<set attributeName="xl:href" to="javascript:x()"/>"#,
            r#"<set attributeName="onclick" to="x()"/><animate attributeName="style" to="x"/>"#,
            r#"<set attributeName="o&#9;nload" to="x()"/>"#,
            "<set attributeName=\"on\u{85}load\" to=\"x()\"/>",
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
