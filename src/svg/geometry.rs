//! SVG geometry as Willow reads and rewrites it (SPEC §2.6): the intrinsic
//! size from the root's `width`, `height` and `viewBox`, and the root
//! attributes of a rendition after Wagtail's crop and resize.
//!
//! Numbers are written as Python writes them, because Wagtail's output is
//! what a Wagtail site compares against: a size an operation set is a
//! Python `int` (`100`), one read from the document a `float` (`100.0`),
//! and view boxes are always floats (`75.0 0.0 150.0 150.0`).

use super::SvgError;
use super::tree::{Element, Namespace};
use crate::plan::{CropRect, Size};

/// Willow's assumptions for relative units.
const DPI: f64 = 96.0;
const FONT_SIZE_PX: f64 = 16.0;

/// The size Willow gives an SVG with no usable `width`, `height` or `viewBox`.
const DEFAULT_SIZE: Size = Size::new(300.0, 150.0);

/// A `viewBox`: `min-x min-y width height`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewBox {
    min_x: f64,
    min_y: f64,
    width: f64,
    height: f64,
}

/// `preserveAspectRatio`: alignment per axis (or none), meet or slice.
#[derive(Debug, Clone, Copy, PartialEq)]
struct AspectRatio {
    /// `None` for `none`, else the x and y alignment: 0 min, 1 mid, 2 max.
    align: Option<(u8, u8)>,
    slice: bool,
}

/// What Willow reads from an SVG's root.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Intrinsic {
    /// The size in CSS pixels, fractional where the document says so.
    pub size: Size,
    /// Whether Willow holds the size as integers (only the 300×150 default).
    whole: bool,
    view_box: ViewBox,
    aspect: AspectRatio,
}

impl Intrinsic {
    /// The larger side of the document, in CSS pixels or user units,
    /// whichever is larger: how far any window of a drawing needs to reach.
    pub fn extent(&self) -> f64 {
        [
            self.size.width,
            self.size.height,
            self.view_box.width,
            self.view_box.height,
        ]
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
    }
}

/// Reads the intrinsic geometry of the root element.
pub fn intrinsic(root: &Element) -> Result<Intrinsic, SvgError> {
    let attribute = |name| root.attribute(Namespace::None, name).filter(|v| !v.is_empty());
    let view_box = attribute("viewBox").map(parse_view_box).transpose()?;
    let aspect = parse_aspect_ratio(attribute("preserveAspectRatio").unwrap_or(""))?;
    let mut width = attribute("width").map(parse_length).transpose()?;
    let mut height = attribute("height").map(parse_length).transpose()?;
    // One missing or relative side falls back to the other.
    let percent = |l: &Option<Length>| l.is_some_and(|l| l.unit == Some("%"));
    if width.is_none() {
        width = height;
    } else if height.is_none() {
        height = width;
    } else if percent(&width) {
        width = height;
    } else if percent(&height) {
        height = width;
    }
    let (size, whole) = match (width, height) {
        (Some(w), Some(h)) if !(percent(&width) && percent(&height)) => (Size::new(w.to_px(), h.to_px()), false),
        _ => match view_box {
            Some(vb) => (Size::new(vb.width, vb.height), false),
            None => (DEFAULT_SIZE, true),
        },
    };
    if !(size.width.is_finite() && size.height.is_finite()) {
        return Err(invalid("the width or height is out of range"));
    }
    Ok(Intrinsic {
        size,
        whole,
        view_box: view_box.unwrap_or(ViewBox {
            min_x: 0.0,
            min_y: 0.0,
            width: size.width,
            height: size.height,
        }),
        aspect,
    })
}

/// The root `width`, `height` and `viewBox` of a rendition: Willow's crop
/// to `crop` followed by its resize to `size`. `sized_by_operation` says
/// whether an operation set the size (Wagtail then holds it as integers).
pub fn rendition_attributes(
    source: &Intrinsic,
    crop: CropRect,
    size: Size,
    sized_by_operation: bool,
) -> [(&'static str, String); 3] {
    let view_box = cropped_view_box(source, crop);
    let side = |v: f64| {
        if sized_by_operation || source.whole {
            format!("{}", v as i64)
        } else {
            python_float(v)
        }
    };
    [
        ("width", side(size.width)),
        ("height", side(size.height)),
        (
            "viewBox",
            [view_box.min_x, view_box.min_y, view_box.width, view_box.height]
                .map(python_float)
                .join(" "),
        ),
    ]
}

/// Willow's `SvgImage.crop`: the crop rectangle in viewport pixels mapped
/// into user space through the viewBox and `preserveAspectRatio`.
fn cropped_view_box(source: &Intrinsic, crop: CropRect) -> ViewBox {
    let vb = source.view_box;
    let Size { width, height } = source.size;
    let (mut scale_x, mut scale_y) = (width / vb.width, height / vb.height);
    let (x_align, y_align) = match source.aspect.align {
        None => (0, 0),
        Some(align) => {
            let uniform = if source.aspect.slice {
                scale_x.max(scale_y)
            } else {
                scale_x.min(scale_y)
            };
            (scale_x, scale_y) = (uniform, uniform);
            align
        }
    };
    let offset = |align: u8, viewport: f64, content: f64| match align {
        1 => (viewport - content) / 2.0,
        2 => viewport - content,
        _ => 0.0,
    };
    let translate_x = vb.min_x * scale_x - offset(x_align, width, vb.width * scale_x);
    let translate_y = vb.min_y * scale_y - offset(y_align, height, vb.height * scale_y);
    let left = (crop.left as f64 + translate_x) / scale_x;
    let top = (crop.top as f64 + translate_y) / scale_y;
    let right = (crop.right as f64 + translate_x) / scale_x;
    let bottom = (crop.bottom as f64 + translate_y) / scale_y;
    ViewBox {
        min_x: left,
        min_y: top,
        width: right - left,
        height: bottom - top,
    }
}

/// A length and its unit, as Willow's `_parse_size` splits them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Length {
    amount: f64,
    unit: Option<&'static str>,
}

impl Length {
    fn to_px(self) -> f64 {
        match self.unit {
            None | Some("px" | "%") => self.amount,
            Some("em") => self.amount * FONT_SIZE_PX,
            Some("ex") => self.amount * FONT_SIZE_PX / 2.0,
            Some("in") => self.amount * DPI,
            Some("cm") => self.amount * DPI * (1.0 / 2.54),
            Some("mm") => self.amount * DPI * (1.0 / 25.4),
            Some("pt") => self.amount * DPI * (1.0 / 72.0),
            Some("pc") => self.amount * DPI * (1.0 / 6.0),
            Some(_) => self.amount,
        }
    }
}

fn parse_length(raw: &str) -> Result<Length, SvgError> {
    const UNITS: [&str; 9] = ["em", "ex", "px", "in", "cm", "mm", "pt", "pc", "%"];
    let clean = raw.trim();
    let unit = UNITS.into_iter().find(|u| clean.ends_with(u));
    let amount_text = &clean[..clean.len() - unit.map_or(0, str::len)];
    let amount = python_float_parse(amount_text).ok_or_else(|| invalid(format!("cannot read the size {raw:?}")))?;
    if amount <= 0.0 {
        return Err(invalid(format!("the size {raw:?} is not positive")));
    }
    Ok(Length { amount, unit })
}

/// `float()` of a trimmed decimal, finite only.
fn python_float_parse(text: &str) -> Option<f64> {
    let text = text.trim();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '+' | '-' | 'e' | 'E'));
    text.parse::<f64>().ok().filter(|v| plain && v.is_finite())
}

/// Willow's viewBox grammar: four SVG numbers separated by white space
/// and/or one comma; width and height must be positive to be usable.
fn parse_view_box(raw: &str) -> Result<ViewBox, SvgError> {
    let fail = || invalid(format!("cannot read the viewBox {raw:?}"));
    let mut rest = raw.trim();
    let mut numbers = [0.0; 4];
    for (i, slot) in numbers.iter_mut().enumerate() {
        if i > 0 {
            let after_space = rest.trim_start();
            let had_space = after_space.len() < rest.len();
            rest = match after_space.strip_prefix(',') {
                Some(after_comma) if !had_space => after_comma.trim_start(),
                Some(_) => return Err(fail()),
                None if had_space => after_space,
                None => return Err(fail()),
            };
        }
        let (number, after) = svg_number(rest).ok_or_else(fail)?;
        *slot = number;
        rest = after;
    }
    if !rest.is_empty() {
        return Err(fail());
    }
    let [min_x, min_y, width, height] = numbers;
    if !(width > 0.0 && height > 0.0 && width.is_finite() && height.is_finite()) {
        return Err(invalid(format!("the viewBox {raw:?} has no area")));
    }
    Ok(ViewBox {
        min_x,
        min_y,
        width,
        height,
    })
}

/// `[+-]?(\d*\.)?\d+([Ee][+-]?\d+)?` at the start of `text`.
fn svg_number(text: &str) -> Option<(f64, &str)> {
    let bytes = text.as_bytes();
    let mut i = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let int = digits(i);
    i += int;
    if bytes.get(i) == Some(&b'.') {
        let frac = digits(i + 1);
        if frac == 0 {
            return None;
        }
        i += 1 + frac;
    } else if int == 0 {
        return None;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
        let exp = digits(i + 1 + sign);
        if exp > 0 {
            i += 1 + sign + exp;
        }
    }
    let value: f64 = text[..i].parse().ok()?;
    value.is_finite().then_some((value, &text[i..]))
}

/// Willow's `preserveAspectRatio` grammar (`none` or `xMidYMid [meet|slice]`).
fn parse_aspect_ratio(raw: &str) -> Result<AspectRatio, SvgError> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(AspectRatio {
            align: Some((1, 1)),
            slice: false,
        });
    }
    if value == "none" {
        return Ok(AspectRatio {
            align: None,
            slice: false,
        });
    }
    let fail = || invalid(format!("cannot read preserveAspectRatio {raw:?}"));
    let position = |p: &str| match p {
        "Min" => Some(0),
        "Mid" => Some(1),
        "Max" => Some(2),
        _ => None,
    };
    let (align, rest) = value.split_at_checked(8).ok_or_else(fail)?;
    let x = align.strip_prefix('x').and_then(|a| a.get(..3)).and_then(position);
    let y = align
        .get(4..5)
        .filter(|c| *c == "Y")
        .and(align.get(5..8))
        .and_then(position);
    let (Some(x), Some(y)) = (x, y) else {
        return Err(fail());
    };
    let slice = match rest.trim_start() {
        "" | "meet" if rest.is_empty() || rest.starts_with(char::is_whitespace) => false,
        "slice" if rest.starts_with(char::is_whitespace) => true,
        _ => return Err(fail()),
    };
    Ok(AspectRatio {
        align: Some((x, y)),
        slice,
    })
}

/// `repr()` of a Python float: the shortest text that reads back as the
/// same double, positional from 1e-4 up to 1e16, else in exponent form.
pub fn python_float(value: f64) -> String {
    if value == 0.0 {
        return if value.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if value < 0.0 { "-" } else { "" };
    if !(-4..16).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{fraction}e{exp_sign}{:02}", exponent.abs());
    }
    if exponent < 0 {
        let zeros = "0".repeat((-exponent - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let point = exponent as usize + 1;
    if digits.len() <= point {
        format!("{sign}{digits}{}.0", "0".repeat(point - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..point], &digits[point..])
    }
}

fn invalid(reason: impl Into<String>) -> SvgError {
    SvgError::Geometry(reason.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::svg::SvgLimits;
    use crate::svg::tree::{self, Element};

    fn root(attributes: &str) -> Element {
        let text = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" {attributes}/>"#);
        tree::parse(&text, &SvgLimits::default()).unwrap()
    }

    fn size(attributes: &str) -> (f64, f64, bool) {
        let i = intrinsic(&root(attributes)).unwrap();
        (i.size.width, i.size.height, i.whole)
    }

    #[test]
    fn reads_sizes_as_willow_does() {
        assert_eq!(size(""), (300.0, 150.0, true));
        assert_eq!(size(r#"viewBox="0 0 40 20""#), (40.0, 20.0, false));
        assert_eq!(
            size(r#"width="100%" height="100%" viewBox="0,0,40,20""#),
            (40.0, 20.0, false)
        );
        assert_eq!(size(r#"width="10" height="50%""#), (10.0, 10.0, false));
        assert_eq!(size(r#"width="50%" height="7""#), (7.0, 7.0, false));
        assert_eq!(size(r#"height="2em""#), (32.0, 32.0, false));
        assert_eq!(size(r#"width="1in" height="3ex""#), (96.0, 24.0, false));
        assert_eq!(size(r#"width="72pt" height="6pc""#), (96.0, 96.0, false));
        assert_eq!(size(r#"width="2.54cm" height="25.4mm""#).0, 96.0 * (1.0 / 2.54) * 2.54);
        assert_eq!(size(r#"width=" 100.5px " height="50.25""#), (100.5, 50.25, false));
        for bad in [
            r#"width="0""#,
            r#"width="-3""#,
            r#"width="10vw""#,
            r#"width="nan""#,
            r#"viewBox="0 0 10""#,
            r#"viewBox="0 0 0 10""#,
            r#"viewBox="0,,0 1 1""#,
            r#"preserveAspectRatio="xMidYMid foo""#,
            r#"preserveAspectRatio="defer xMidYMid""#,
        ] {
            assert!(intrinsic(&root(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn rewrites_root_attributes_as_willow_does() {
        let crop = |l, t, r, b| CropRect {
            left: l,
            top: t,
            right: r,
            bottom: b,
        };
        let source = intrinsic(&root(r#"width="300" height="150" viewBox="0 0 600 300""#)).unwrap();
        let attrs = rendition_attributes(&source, crop(75, 0, 225, 150), Size::new(100.0, 100.0), true);
        assert_eq!(attrs[2].1, "150.0 0.0 300.0 300.0");
        assert_eq!((attrs[0].1.as_str(), attrs[1].1.as_str()), ("100", "100"));
        let unchanged = rendition_attributes(&source, crop(0, 0, 300, 150), source.size, false);
        assert_eq!((unchanged[0].1.as_str(), unchanged[1].1.as_str()), ("300.0", "150.0"));
        let slice = intrinsic(&root(
            r#"width="100" height="50" viewBox="0 0 10 10" preserveAspectRatio="xMaxYMin slice""#,
        ))
        .unwrap();
        let attrs = rendition_attributes(&slice, crop(0, 0, 100, 50), slice.size, false);
        assert_eq!(attrs[2].1, "0.0 0.0 10.0 5.0");
        let stretched = intrinsic(&root(
            r#"width="100" height="50" viewBox="0 0 10 10" preserveAspectRatio="none""#,
        ))
        .unwrap();
        let attrs = rendition_attributes(&stretched, crop(50, 25, 100, 50), stretched.size, false);
        assert_eq!(attrs[2].1, "5.0 5.0 5.0 5.0");
    }

    #[test]
    fn writes_floats_as_python() {
        let cases = [
            (0.0, "0.0"),
            (300.0, "300.0"),
            (100.5, "100.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345.6, "123456789012345.6"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (1e-7 * 3.0, "3e-07"),
        ];
        for (value, text) in cases {
            assert_eq!(python_float(value), text, "{value}");
        }
    }
}
