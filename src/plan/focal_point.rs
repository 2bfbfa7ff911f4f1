//! The focal point in Wagtail's database form (integer centre x and y, width
//! and height), its rectangle, and the focal point key ("vary key") that
//! Wagtail puts in the names of `fill` renditions (SPEC §2.4, §4.2).

use std::fmt;
use std::str::FromStr;

use sha1::{Digest, Sha1};

use super::rect::Rect;
use crate::spec::Operation;

/// One coordinate of a focal point: the value, and whether Python would
/// print it as a float (`150.0`) or an integer (`150`).
///
/// Values read from Wagtail's database are integers; floats only occur on an
/// in-memory image after `set_focal_point()`, and they hash differently.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinate {
    value: f64,
    is_float: bool,
}

impl Coordinate {
    /// An integer coordinate, as stored in Wagtail's database.
    pub fn int(value: u32) -> Self {
        Self {
            value: f64::from(value),
            is_float: false,
        }
    }

    /// A float coordinate, as left on an unsaved Wagtail image.
    pub fn float(value: f64) -> Self {
        Self { value, is_float: true }
    }

    /// Python's `str()` of the value.
    fn python_str(self) -> String {
        if self.is_float {
            python_float_repr(self.value)
        } else {
            format!("{}", self.value)
        }
    }
}

/// A focal point: centre `x`, `y` and `width`, `height`, in pixels of the
/// EXIF-oriented original.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FocalPoint {
    /// Centre x.
    pub x: Coordinate,
    /// Centre y.
    pub y: Coordinate,
    /// Width.
    pub width: Coordinate,
    /// Height.
    pub height: Coordinate,
}

impl FocalPoint {
    /// A focal point as Wagtail's database stores it.
    pub fn new(x: u32, y: u32, width: u32, height: u32) -> Self {
        Self {
            x: Coordinate::int(x),
            y: Coordinate::int(y),
            width: Coordinate::int(width),
            height: Coordinate::int(height),
        }
    }

    /// The rectangle `fill` covers (Wagtail's `get_focal_point`).
    pub fn rect(&self) -> Rect {
        Rect::from_point(self.x.value, self.y.value, self.width.value, self.height.value)
    }
}

impl fmt::Display for FocalPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [x, y, w, h] = [self.x, self.y, self.width, self.height].map(Coordinate::python_str);
        write!(f, "{x},{y},{w},{h}")
    }
}

/// The prefix of the extension operation that carries a focal point at the
/// end of a spec in URLs: `focal-X-Y-W-H`, Wagtail's database form.
pub const SPEC_FOCAL_PREFIX: &str = "focal-";

/// Splits a trailing `|focal-X-Y-W-H` off a URL spec: the Wagtail spec that
/// precedes it and the focal point (centre and size, whole pixels).
pub fn split_spec_focal_point(spec: &str) -> Result<(&str, Option<FocalPoint>), FocalPointError> {
    let (rest, last) = match spec.rsplit_once('|') {
        Some((rest, last)) => (rest, last),
        None => ("", spec),
    };
    let Some(numbers) = last.strip_prefix(SPEC_FOCAL_PREFIX) else {
        return Ok((spec, None));
    };
    let err = || FocalPointError(last.to_owned());
    let values: Vec<u32> = numbers
        .split('-')
        .map(|n| match n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() {
            true => n.parse::<u32>().map_err(|_| err()),
            false => Err(err()),
        })
        .collect::<Result<_, _>>()?;
    let [x, y, width, height] = values.as_slice() else {
        return Err(err());
    };
    Ok((rest, Some(FocalPoint::new(*x, *y, *width, *height))))
}

/// A focal point that is not four non-negative numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid focal point \"{0}\": expected X,Y,WIDTH,HEIGHT (centre and size, non-negative)")]
pub struct FocalPointError(pub String);

impl FromStr for FocalPoint {
    type Err = FocalPointError;

    /// Parses `X,Y,W,H`; each part an integer, or a decimal such as `150.0`
    /// for the float form.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || FocalPointError(text.to_owned());
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let [x, y, w, h] = parts.as_slice() else {
            return Err(err());
        };
        let coordinate = |s: &str| -> Result<Coordinate, FocalPointError> {
            if let Ok(v) = s.parse::<u32>() {
                return Ok(Coordinate::int(v));
            }
            let is_decimal = s.bytes().all(|b| b.is_ascii_digit() || b == b'.') && s.contains('.');
            match s.parse::<f64>() {
                Ok(v) if is_decimal && v.is_finite() => Ok(Coordinate::float(v)),
                _ => Err(err()),
            }
        };
        Ok(Self {
            x: coordinate(x)?,
            y: coordinate(y)?,
            width: coordinate(w)?,
            height: coordinate(h)?,
        })
    }
}

/// Wagtail's `Filter.get_cache_key`: for every `fill` in the spec, the focal
/// point's width, height, x and y (or `None` four times) joined by `-`,
/// hashed with SHA-1 and cut to 8 hex digits; `""` when there is no `fill`.
pub fn vary_key(operations: &[Operation], focal: Option<&FocalPoint>) -> String {
    let fields = match focal {
        Some(fp) => [fp.width, fp.height, fp.x, fp.y].map(Coordinate::python_str),
        None => ["None", "None", "None", "None"].map(str::to_owned),
    };
    let fills = operations.iter().filter(|op| matches!(op, Operation::Fill(_))).count();
    if fills == 0 {
        return String::new();
    }
    let vary = vec![fields.join("-"); fills].join("-");
    let digest = Sha1::digest(vary.as_bytes());
    hex::encode(&digest[..4])
}

/// Python's `repr()` of a finite float: shortest round-trip digits, `.0` on
/// integral values, exponent form below 1e-4 and from 1e16.
fn python_float_repr(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-4..1e16).contains(&magnitude) {
        let text = format!("{value:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exponent),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    let text = format!("{value}");
    if text.contains('.') { text } else { format!("{text}.0") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_focal_point_is_split_off_the_end() {
        let fp = Some(FocalPoint::new(10, 20, 30, 40));
        assert_eq!(
            split_spec_focal_point("fill-10x10|focal-10-20-30-40"),
            Ok(("fill-10x10", fp))
        );
        assert_eq!(split_spec_focal_point("focal-10-20-30-40"), Ok(("", fp)));
        assert_eq!(
            split_spec_focal_point("fill-10x10|width-5"),
            Ok(("fill-10x10|width-5", None))
        );
        assert_eq!(split_spec_focal_point("fill-10x10"), Ok(("fill-10x10", None)));
        for bad in [
            "width-1|focal-1-2-3",
            "focal-1-2-3-4-5",
            "focal-a-2-3-4",
            "focal--1-2-3-4",
            "focal-1-2-3-99999999999",
            "focal-١-2-3-4",
        ] {
            assert!(split_spec_focal_point(bad).is_err(), "{bad}");
        }
    }
    use crate::spec::{Fill, FilterSpec, SourceKind};

    fn ops(spec: &str) -> Vec<Operation> {
        FilterSpec::parse(spec)
            .unwrap()
            .clean(SourceKind::Raster)
            .unwrap()
            .operations
    }

    #[test]
    fn vary_keys_match_wagtail() {
        assert_eq!(vary_key(&ops("fill-100x100"), None), "2e16d0ba");
        assert_eq!(vary_key(&ops("max-100x100"), None), "");
        assert_eq!(
            vary_key(&ops("fill-100x100"), Some(&FocalPoint::new(500, 500, 100, 100))),
            "0bbe3b2f"
        );
        assert_eq!(vary_key(&ops("fill-100x100|fill-50x20"), None), "2619941d");
        assert_eq!(
            vary_key(&ops("fill-100x100"), Some(&FocalPoint::new(150, 150, 100, 100))),
            "c215fe90"
        );
        let floats: FocalPoint = "150.0,150.0,100,100".parse().unwrap();
        assert_eq!(vary_key(&ops("fill-100x100"), Some(&floats)), "15ee4958");
        let fill = Operation::Fill(Fill {
            width: 1,
            height: 1,
            closeness: 0.0,
        });
        assert_eq!(vary_key(&[Operation::Original, fill], None), "2e16d0ba");
    }

    #[test]
    fn parses_database_form() {
        let fp: FocalPoint = "500, 400,100,50".parse().unwrap();
        assert_eq!(fp, FocalPoint::new(500, 400, 100, 50));
        assert_eq!(fp.to_string(), "500,400,100,50");
        assert_eq!(fp.rect(), Rect::new(450.0, 375.0, 550.0, 425.0));
        for bad in [
            "",
            "1,2,3",
            "1,2,3,4,5",
            "-1,2,3,4",
            "a,b,c,d",
            "1e3,1,1,1",
            "inf,1,1,1",
            "1,2,3,",
        ] {
            assert!(bad.parse::<FocalPoint>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn python_float_repr_matches_python() {
        let rows = [
            (150.0, "150.0"),
            (0.5, "0.5"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (123456789012345.6, "123456789012345.6"),
            (0.0, "0.0"),
        ];
        for (value, expected) in rows {
            assert_eq!(python_float_repr(value), expected);
        }
    }
}
