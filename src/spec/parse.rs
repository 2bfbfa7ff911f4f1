//! One operation of a spec, `name-arg-arg…`, into an [`Operation`]: the
//! argument rules of Wagtail's operation classes (`image_operations.py`).

use super::number::{self, NumberError};
use super::{BoxSize, Fill, FormatRequest, Operation, Quality, Rgb, SpecError};
use crate::format::OutputFormat;

/// Parses one `|`-separated part of a spec.
pub(super) fn operation(text: &str) -> Result<Operation, SpecError> {
    let mut pieces = text.split('-');
    let name = pieces.next().unwrap_or_default();
    let args: Vec<&str> = pieces.collect();
    let arity = |expected: &'static str, ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(SpecError::WrongArgumentCount {
                operation: text.to_owned(),
                expected,
            })
        }
    };
    let one = || {
        arity("exactly one argument", args.len() == 1)?;
        Ok::<_, SpecError>(args[0])
    };
    match name {
        "original" => {
            arity("no arguments", args.is_empty())?;
            Ok(Operation::Original)
        }
        "fill" => {
            arity("a size WxH and optional -cN", !args.is_empty())?;
            fill(text, &args)
        }
        "max" => Ok(Operation::Max(box_size(text, one()?)?)),
        "min" => Ok(Operation::Min(box_size(text, one()?)?)),
        "width" => Ok(Operation::Width(int(text, one()?)?)),
        "height" => Ok(Operation::Height(int(text, one()?)?)),
        "scale" => scale(text, one()?),
        "jpegquality" => Ok(Operation::JpegQuality(quality(text, one()?)?)),
        "webpquality" => Ok(Operation::WebpQuality(quality(text, one()?)?)),
        "avifquality" => Ok(Operation::AvifQuality(quality(text, one()?)?)),
        "format" => {
            arity("a format and optional options", !args.is_empty())?;
            format(text, &args)
        }
        "bgcolor" => Ok(Operation::BackgroundColor(color(text, one()?)?)),
        _ => Err(SpecError::UnknownOperation {
            operation: text.to_owned(),
        }),
    }
}

fn fill(text: &str, args: &[&str]) -> Result<Operation, SpecError> {
    let size = box_size(text, args[0])?;
    if size.width == 0 || size.height == 0 {
        // Wagtail accepts this and then divides by zero (a 500).
        return Err(SpecError::invalid(text, "fill size must not be zero"));
    }
    let mut percent = 0;
    for extra in &args[1..] {
        let Some(value) = extra.strip_prefix('c') else {
            return Err(SpecError::invalid(text, format!("unrecognised part \"{extra}\"")));
        };
        percent = int(text, value)?;
    }
    // N/100, correctly rounded like Python's true division, then capped at 1.
    let closeness = if percent > 100 { 1.0 } else { percent as f64 / 100.0 };
    Ok(Operation::Fill(Fill {
        width: size.width,
        height: size.height,
        closeness,
    }))
}

/// `WxH`: exactly one lower-case `x` between two integers.
fn box_size(text: &str, arg: &str) -> Result<BoxSize, SpecError> {
    let mut sides = arg.split('x');
    match (sides.next(), sides.next(), sides.next()) {
        (Some(w), Some(h), None) => Ok(BoxSize {
            width: int(text, w)?,
            height: int(text, h)?,
        }),
        _ => Err(SpecError::invalid(text, format!("\"{arg}\" is not a size WxH"))),
    }
}

fn scale(text: &str, arg: &str) -> Result<Operation, SpecError> {
    let percent =
        number::parse_float(arg).map_err(|_| SpecError::invalid(text, format!("\"{arg}\" is not a number")))?;
    if !percent.is_finite() {
        // Wagtail accepts inf and nan and then fails converting them (a 500).
        return Err(SpecError::invalid(text, "the scale must be a finite number"));
    }
    Ok(Operation::Scale(percent))
}

fn quality(text: &str, arg: &str) -> Result<Quality, SpecError> {
    let value = int(text, arg)?;
    u8::try_from(value)
        .ok()
        .and_then(Quality::new)
        .ok_or_else(|| SpecError::invalid(text, "quality must not be higher than 100"))
}

fn format(text: &str, args: &[&str]) -> Result<Operation, SpecError> {
    let format = OutputFormat::requestable(args[0]).ok_or_else(|| {
        let known: Vec<&str> = OutputFormat::REQUESTABLE.iter().map(|f| f.name()).collect();
        SpecError::invalid(text, format!("format must be one of {}", known.join(", ")))
    })?;
    // Wagtail keeps any options and only an exact `lossless` means anything;
    // renditiond keeps them too, but only spelled with ASCII letters and
    // digits (never `/`, a backslash, a control character or a percent-escape).
    let options = &args[1..];
    if let Some(bad) = options.iter().find(|o| !o.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return Err(SpecError::invalid(
            text,
            format!("format option \"{bad}\" is not ASCII letters and digits"),
        ));
    }
    let lossless = options.contains(&"lossless");
    Ok(Operation::Format(FormatRequest { format, lossless }))
}

/// `RGB` or `RRGGBB` hex, each digit or pair read with Python's `int(s, 16)`.
fn color(text: &str, arg: &str) -> Result<Rgb, SpecError> {
    let chars: Vec<char> = arg.chars().collect();
    let hex = |digits: &[char]| -> Result<u8, SpecError> {
        let s: String = digits.iter().collect();
        number::parse_int(&s, 16)
            .ok()
            .and_then(|v| u8::try_from(v).ok())
            .ok_or_else(|| SpecError::invalid(text, format!("\"{arg}\" is not a hex colour")))
    };
    match chars.len() {
        3 => Ok(Rgb([
            hex(&chars[0..1])? * 17,
            hex(&chars[1..2])? * 17,
            hex(&chars[2..3])? * 17,
        ])),
        6 => Ok(Rgb([hex(&chars[0..2])?, hex(&chars[2..4])?, hex(&chars[4..6])?])),
        _ => Err(SpecError::invalid(text, "colour must be 3 or 6 hex digits")),
    }
}

fn int(text: &str, arg: &str) -> Result<u64, SpecError> {
    number::parse_int(arg, 10).map_err(|e| {
        let reason = match e {
            NumberError::TooLarge => format!("\"{arg}\" is too large"),
            NumberError::Invalid | NumberError::Negative => format!("\"{arg}\" is not an integer"),
        };
        SpecError::invalid(text, reason)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Operation {
        operation(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn fill_of(text: &str) -> Fill {
        match ok(text) {
            Operation::Fill(f) => f,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn fill_arguments() {
        let rows = [
            ("fill-800x600", 800, 600, 0.0),
            ("fill-800x600-c0", 800, 600, 0.0),
            ("fill-800x600-c50", 800, 600, 0.5),
            ("fill-800x600-c100", 800, 600, 1.0),
            ("fill-800x600-c1000", 800, 600, 1.0),
            ("fill-800x600-c50-c20", 800, 600, 0.2),
            ("fill-800x600-c0100", 800, 600, 1.0),
            ("fill-800000x100", 800000, 100, 0.0),
            ("fill-+100x100", 100, 100, 0.0),
            ("fill-800x600-c33", 800, 600, 0.33),
        ];
        for (text, w, h, c) in rows {
            assert_eq!(
                fill_of(text),
                Fill {
                    width: w,
                    height: h,
                    closeness: c
                },
                "{text}"
            );
        }
    }

    #[test]
    fn refused_operations() {
        let rows = [
            "fill",
            "fill-800",
            "fill-abc",
            "fill-800xabc",
            "fill-800x600-",
            "fill-800x600x10",
            "fill-800x600-d100",
            "fill-800x600-c",
            "fill-100X100",
            "fill-0x0",
            "fill-300x0",
            "fill-0x300",
            "min",
            "min-800",
            "min-abc",
            "min-800x600-",
            "min-800x600-c100",
            "max-800x600x10",
            "width",
            "width-800x600",
            "width-abc",
            "width-800-c100",
            "width-",
            "height-100-c5",
            "scale",
            "scale-800x600",
            "scale-abc",
            "scale-800-c100",
            "scale-nan",
            "scale-inf",
            "scale-+inf",
            "jpegquality",
            "jpegquality-101",
            "jpegquality-abc",
            "webpquality-200",
            "avifquality-x",
            "format",
            "format-",
            "format-foo",
            "format-jpg",
            "format-svg",
            "format-bmp",
            "format-JPEG",
            "bgcolor-foo",
            "bgcolor-1234",
            "bgcolor-ff",
            "bgcolor-gggggg",
            "bgcolor-",
            "bgcolor-#fff",
            "original-1",
            "Width-100",
            "unknown-100",
            "",
            "preserve",
        ];
        for text in rows {
            assert!(operation(text).is_err(), "{text:?} should be refused");
        }
    }

    #[test]
    fn odd_but_valid_numbers() {
        assert_eq!(ok("width-1_000"), Operation::Width(1000));
        assert_eq!(ok("width-0100"), Operation::Width(100));
        assert_eq!(ok("width-+100"), Operation::Width(100));
        assert_eq!(ok("width- 100"), Operation::Width(100));
        assert_eq!(ok("height-\u{661}\u{660}"), Operation::Height(10));
        assert_eq!(ok("scale-1e2"), Operation::Scale(100.0));
        assert_eq!(ok("scale-.5"), Operation::Scale(0.5));
        assert_eq!(ok("max-0x0"), Operation::Max(BoxSize { width: 0, height: 0 }));
        assert_eq!(ok("jpegquality-0"), Operation::JpegQuality(Quality(0)));
        assert_eq!(ok("jpegquality-100"), Operation::JpegQuality(Quality(100)));
    }

    #[test]
    fn format_options() {
        let req = |t| match ok(t) {
            Operation::Format(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            req("format-webp"),
            FormatRequest {
                format: OutputFormat::Webp,
                lossless: false
            }
        );
        assert_eq!(
            req("format-webp-lossless"),
            FormatRequest {
                format: OutputFormat::Webp,
                lossless: true
            }
        );
        assert_eq!(
            req("format-avif-foo-lossless"),
            FormatRequest {
                format: OutputFormat::Avif,
                lossless: true
            }
        );
        assert_eq!(
            req("format-jpeg-foo"),
            FormatRequest {
                format: OutputFormat::Jpeg,
                lossless: false
            }
        );
        assert_eq!(
            req("format-jpeg-"),
            FormatRequest {
                format: OutputFormat::Jpeg,
                lossless: false
            }
        );
        assert_eq!(req("format-heic").format, OutputFormat::Heic);
        assert!(req("format-webp-Lossless2-x").format == OutputFormat::Webp);
        for bad in [
            "format-webp-lossless/dir",
            "format-webp-a\\b",
            "format-webp-%2F",
            "format-webp-%5c",
            "format-jpeg-\u{0}",
            "format-jpeg-\t",
            "format-jpeg-\u{7f}",
            "format-jpeg-fo.o",
            "format-jpeg-é",
            "format-jpeg-\u{661}",
            "format-jpeg- ",
        ] {
            assert!(operation(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn colours() {
        let rows = [
            ("bgcolor-fff", [255, 255, 255]),
            ("bgcolor-000", [0, 0, 0]),
            ("bgcolor-abc", [0xaa, 0xbb, 0xcc]),
            ("bgcolor-ff8000", [255, 128, 0]),
            ("bgcolor-FF8000", [255, 128, 0]),
            ("bgcolor-+f+f+f", [15, 15, 15]),
            ("bgcolor- f f f", [15, 15, 15]),
        ];
        for (text, rgb) in rows {
            assert_eq!(ok(text), Operation::BackgroundColor(Rgb(rgb)), "{text}");
        }
    }
}
