//! Filter primitives whose cost grows with a parameter, bounded where the
//! sanitizer writes them: the result stays what a browser draws (or as
//! near as the eye can tell), the cost does not follow the attacker's
//! number.
//!
//! - `feTurbulence numOctaves` at most [`MAX_OCTAVES`]: each further
//!   octave adds less than 1/1000 of the amplitude;
//! - `feMorphology radius` and the `stdDeviation` of `feGaussianBlur` and
//!   `feDropShadow` at most the document's extent (beyond it the window
//!   already covers the whole drawing);
//! - `feConvolveMatrix` of an `order` over [`MAX_KERNEL_ORDER`] (or a
//!   kernel longer than that order allows) loses `order` and
//!   `kernelMatrix`, which makes it the pass-through that Filter Effects
//!   prescribes for a kernel that does not match its order.
//!
//! What a primitive costs at the size it is drawn is the rasterizer's
//! budget (`pipeline::rasterize`); these bounds keep the served SVG cheap
//! for browsers too.

use super::tree::{Attribute, Namespace};

/// The most `feTurbulence` octaves kept.
pub const MAX_OCTAVES: f64 = 10.0;
/// The largest `feConvolveMatrix` order kept (an order of N costs N² per pixel).
pub const MAX_KERNEL_ORDER: f64 = 9.0;

/// Elements under `filter` that are not primitives of their own.
const PRIMITIVE_CHILDREN: [&str; 8] = [
    "feDistantLight",
    "fePointLight",
    "feSpotLight",
    "feFuncA",
    "feFuncB",
    "feFuncG",
    "feFuncR",
    "feMergeNode",
];

/// Whether the SVG element `local` is a filter primitive.
pub fn is_primitive(local: &str) -> bool {
    local.starts_with("fe") && !PRIMITIVE_CHILDREN.contains(&local)
}

/// Bounds the costly parameters of the primitive `local` in place;
/// `extent` is the larger side of the document's user space.
pub fn bound_primitive(local: &str, attributes: &mut Vec<Attribute>, extent: f64) {
    let extent = if extent.is_finite() && extent > 0.0 {
        extent
    } else {
        300.0
    };
    match local {
        "feTurbulence" => clamp_numbers(attributes, "numOctaves", MAX_OCTAVES),
        "feMorphology" => clamp_numbers(attributes, "radius", extent),
        "feGaussianBlur" | "feDropShadow" => clamp_numbers(attributes, "stdDeviation", extent),
        "feConvolveMatrix" => {
            let order = value(attributes, "order").map(numbers);
            let kernel = value(attributes, "kernelMatrix").map(numbers);
            let order_ok = match &order {
                None => true,
                Some(None) => false,
                Some(Some(sides)) => sides.iter().all(|&n| n <= MAX_KERNEL_ORDER),
            };
            let kernel_ok = match &kernel {
                None => true,
                Some(None) => false,
                Some(Some(values)) => values.len() as f64 <= MAX_KERNEL_ORDER * MAX_KERNEL_ORDER,
            };
            if !(order_ok && kernel_ok) {
                attributes
                    .retain(|a| !(a.ns == Namespace::None && matches!(a.local.as_str(), "order" | "kernelMatrix")));
            }
        }
        _ => {}
    }
}

fn value<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|a| a.ns == Namespace::None && a.local == name)
        .map(|a| a.value.as_str())
}

/// A list of SVG numbers (white space or commas between), `None` if any
/// is not a finite number.
fn numbers(text: &str) -> Option<Vec<f64>> {
    text.split(|c: char| c.is_ascii_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect()
}

/// Clamps every number of the attribute `name` to at most `max`; a value
/// that is not a list of numbers is dropped (the default then applies).
fn clamp_numbers(attributes: &mut Vec<Attribute>, name: &str, max: f64) {
    let Some(index) = attributes
        .iter()
        .position(|a| a.ns == Namespace::None && a.local == name)
    else {
        return;
    };
    match numbers(&attributes[index].value) {
        Some(values) if values.iter().all(|&v| v <= max) => {}
        Some(values) => {
            attributes[index].value = values
                .iter()
                .map(|v| v.min(max).to_string())
                .collect::<Vec<_>>()
                .join(" ");
        }
        None => {
            attributes.remove(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Vec<Attribute> {
        pairs
            .iter()
            .map(|(k, v)| Attribute {
                ns: Namespace::None,
                local: (*k).to_owned(),
                value: (*v).to_owned(),
            })
            .collect()
    }

    fn bounded(local: &str, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut a = attrs(pairs);
        bound_primitive(local, &mut a, 400.0);
        a.into_iter().map(|a| (a.local, a.value)).collect()
    }

    #[test]
    fn bounds_costly_parameters() {
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            bounded("feTurbulence", &[("numOctaves", "4000000000"), ("seed", "2")]),
            [pair("numOctaves", "10"), pair("seed", "2")]
        );
        assert_eq!(
            bounded("feTurbulence", &[("numOctaves", "3")]),
            [pair("numOctaves", "3")]
        );
        assert_eq!(bounded("feTurbulence", &[("numOctaves", "many")]), []);
        assert_eq!(
            bounded("feMorphology", &[("radius", "100000 2")]),
            [pair("radius", "400 2")]
        );
        assert_eq!(
            bounded("feGaussianBlur", &[("stdDeviation", "1e9")]),
            [pair("stdDeviation", "400")]
        );
        assert_eq!(
            bounded("feDropShadow", &[("stdDeviation", "3,4")]),
            [pair("stdDeviation", "3,4")]
        );
        let kernel = vec!["1"; 10_000].join(" ");
        assert_eq!(
            bounded(
                "feConvolveMatrix",
                &[("order", "100"), ("kernelMatrix", &kernel), ("divisor", "2")]
            ),
            [pair("divisor", "2")]
        );
        assert_eq!(bounded("feConvolveMatrix", &[("kernelMatrix", &kernel)]), []);
        assert_eq!(
            bounded(
                "feConvolveMatrix",
                &[("order", "3"), ("kernelMatrix", "0 1 0 1 -4 1 0 1 0")]
            )
            .len(),
            2
        );
        assert!(is_primitive("feBlend") && !is_primitive("feFuncA") && !is_primitive("filter"));
    }
}
