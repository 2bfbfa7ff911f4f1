//! What may appear in a served SVG: SVG elements and attributes that draw,
//! and nothing that runs, loads or navigates. Anything not named here is
//! dropped, so an element or attribute a future browser learns to execute
//! is dropped too.

/// SVG elements kept (in the SVG namespace only). Absent on purpose:
/// `script`, `foreignObject`, `handler`, `listener`, `iframe`, `a`-like
/// HTML, `cursor`, `color-profile` and the SVG font elements (they load
/// external resources), `discard`, `animateColor`, `tref`.
const ELEMENTS: &[&str] = &[
    "a",
    "animate",
    "animateMotion",
    "animateTransform",
    "circle",
    "clipPath",
    "defs",
    "desc",
    "ellipse",
    "feBlend",
    "feColorMatrix",
    "feComponentTransfer",
    "feComposite",
    "feConvolveMatrix",
    "feDiffuseLighting",
    "feDisplacementMap",
    "feDistantLight",
    "feDropShadow",
    "feFlood",
    "feFuncA",
    "feFuncB",
    "feFuncG",
    "feFuncR",
    "feGaussianBlur",
    "feImage",
    "feMerge",
    "feMergeNode",
    "feMorphology",
    "feOffset",
    "fePointLight",
    "feSpecularLighting",
    "feSpotLight",
    "feTile",
    "feTurbulence",
    "filter",
    "g",
    "image",
    "line",
    "linearGradient",
    "marker",
    "mask",
    "metadata",
    "mpath",
    "path",
    "pattern",
    "polygon",
    "polyline",
    "radialGradient",
    "rect",
    "set",
    "stop",
    "style",
    "svg",
    "switch",
    "symbol",
    "text",
    "textPath",
    "title",
    "tspan",
    "use",
    "view",
];

/// Elements that animate another attribute (their `attributeName` is checked).
pub const ANIMATIONS: &[&str] = &["animate", "animateMotion", "animateTransform", "set"];

/// Elements whose `href` may hold embedded raster data, not only `#id`.
pub const RASTER_HREF: &[&str] = &["image", "feImage"];

/// Unprefixed attributes kept, on any kept element. Absent on purpose:
/// every `on*` event handler, `target`, `xml:base`-like URL bases, and
/// `href` (checked on its own).
const ATTRIBUTES: &[&str] = &[
    "accumulate",
    "additive",
    "alignment-baseline",
    "amplitude",
    "attributeName",
    "attributeType",
    "azimuth",
    "baseFrequency",
    "baseProfile",
    "baseline-shift",
    "begin",
    "bias",
    "by",
    "calcMode",
    "class",
    "clip",
    "clip-path",
    "clip-rule",
    "clipPathUnits",
    "color",
    "color-interpolation",
    "color-interpolation-filters",
    "color-rendering",
    "cx",
    "cy",
    "d",
    "diffuseConstant",
    "direction",
    "display",
    "divisor",
    "dominant-baseline",
    "dur",
    "dx",
    "dy",
    "edgeMode",
    "elevation",
    "enable-background",
    "end",
    "exponent",
    "fill",
    "fill-opacity",
    "fill-rule",
    "filter",
    "filterUnits",
    "flood-color",
    "flood-opacity",
    "font",
    "font-family",
    "font-feature-settings",
    "font-kerning",
    "font-size",
    "font-size-adjust",
    "font-stretch",
    "font-style",
    "font-variant",
    "font-weight",
    "fr",
    "from",
    "fx",
    "fy",
    "gradientTransform",
    "gradientUnits",
    "height",
    "id",
    "image-rendering",
    "in",
    "in2",
    "intercept",
    "isolation",
    "k",
    "k1",
    "k2",
    "k3",
    "k4",
    "kernelMatrix",
    "kernelUnitLength",
    "keyPoints",
    "keySplines",
    "keyTimes",
    "lang",
    "lengthAdjust",
    "letter-spacing",
    "lighting-color",
    "limitingConeAngle",
    "marker",
    "marker-end",
    "marker-mid",
    "marker-start",
    "markerHeight",
    "markerUnits",
    "markerWidth",
    "mask",
    "mask-type",
    "maskContentUnits",
    "maskUnits",
    "max",
    "method",
    "min",
    "mix-blend-mode",
    "mode",
    "numOctaves",
    "offset",
    "opacity",
    "operator",
    "order",
    "orient",
    "origin",
    "overflow",
    "paint-order",
    "path",
    "pathLength",
    "patternContentUnits",
    "patternTransform",
    "patternUnits",
    "points",
    "pointsAtX",
    "pointsAtY",
    "pointsAtZ",
    "preserveAlpha",
    "preserveAspectRatio",
    "primitiveUnits",
    "r",
    "radius",
    "refX",
    "refY",
    "repeatCount",
    "repeatDur",
    "requiredExtensions",
    "requiredFeatures",
    "restart",
    "result",
    "rotate",
    "rx",
    "ry",
    "scale",
    "seed",
    "shape-rendering",
    "side",
    "slope",
    "spacing",
    "specularConstant",
    "specularExponent",
    "spreadMethod",
    "startOffset",
    "stdDeviation",
    "stitchTiles",
    "stop-color",
    "stop-opacity",
    "stroke",
    "stroke-dasharray",
    "stroke-dashoffset",
    "stroke-linecap",
    "stroke-linejoin",
    "stroke-miterlimit",
    "stroke-opacity",
    "stroke-width",
    "style",
    "surfaceScale",
    "systemLanguage",
    "tableValues",
    "targetX",
    "targetY",
    "text-anchor",
    "text-decoration",
    "text-rendering",
    "textLength",
    "to",
    "transform",
    "transform-box",
    "transform-origin",
    "type",
    "unicode-bidi",
    "values",
    "vector-effect",
    "version",
    "viewBox",
    "visibility",
    "width",
    "word-spacing",
    "writing-mode",
    "x",
    "x1",
    "x2",
    "xChannelSelector",
    "y",
    "y1",
    "y2",
    "yChannelSelector",
    "z",
    "zoomAndPan",
];

/// `xml:` attributes kept.
const XML_ATTRIBUTES: &[&str] = &["space", "lang"];

/// CSS properties a `style` attribute or rule may set beyond the
/// presentation attributes above.
const CSS_ONLY_PROPERTIES: &[&str] = &["font-variant-ligatures", "line-height", "text-transform", "white-space"];

/// Whether the SVG element `local` is kept.
pub fn element(local: &str) -> bool {
    ELEMENTS.binary_search(&local).is_ok()
}

/// Whether the unprefixed attribute `local` is kept.
pub fn attribute(local: &str) -> bool {
    ATTRIBUTES.binary_search(&local).is_ok()
}

/// Whether the `xml:` attribute `local` is kept.
pub fn xml_attribute(local: &str) -> bool {
    XML_ATTRIBUTES.contains(&local)
}

/// Whether a CSS declaration may set `property`.
pub fn css_property(property: &str) -> bool {
    (attribute(property) && property != "style") || CSS_ONLY_PROPERTIES.contains(&property)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_for_binary_search() {
        assert!(ELEMENTS.is_sorted(), "ELEMENTS");
        assert!(ATTRIBUTES.is_sorted(), "ATTRIBUTES");
    }

    #[test]
    fn nothing_that_runs_or_loads_is_listed() {
        for name in [
            "script",
            "foreignObject",
            "handler",
            "listener",
            "iframe",
            "cursor",
            "color-profile",
        ] {
            assert!(!element(name), "{name}");
        }
        assert!(!ATTRIBUTES.iter().any(|a| a.to_ascii_lowercase().starts_with("on")));
        assert!(!attribute("href") && !attribute("target") && !attribute("src"));
        assert!(css_property("fill") && css_property("stroke-width") && css_property("white-space"));
        assert!(!css_property("behavior") && !css_property("-moz-binding") && !css_property("background-image"));
    }
}
