//! Python's `int()` and `float()` string grammars, which Wagtail uses to read
//! every number in a filter spec (SPEC §2.1).
//!
//! They accept more than plain digits: surrounding Unicode whitespace, a
//! leading `+`, leading zeros, single `_` between digits, any Unicode decimal
//! digit (`١٢` is 12), and for floats `.5`, `5.`, exponents, `inf` and `nan`.
//! A `-` sign is accepted too, although in a spec it can never reach here:
//! `-` separates arguments.

/// Why a string is not a number Python would accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    /// Not a number in Python's grammar.
    Invalid,
    /// A valid integer too large for renditiond's 64-bit arithmetic.
    TooLarge,
    /// A valid integer below zero.
    Negative,
}

/// Parses `text` as Python's `int(text, radix)` would, for radix 10 or 16,
/// into a `u64`.
pub fn parse_int(text: &str, radix: u32) -> Result<u64, NumberError> {
    let ascii = to_ascii(text)?;
    let (negative, digits) = split_sign(ascii.trim_matches(is_ascii_space));
    let digits = strip_underscores(digits, |c| c.is_digit(radix))?;
    let value = digits.chars().try_fold(0u64, |acc, c| {
        let d = u64::from(c.to_digit(radix).ok_or(NumberError::Invalid)?);
        acc.checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(d))
            .ok_or(NumberError::TooLarge)
    })?;
    if negative && value != 0 {
        return Err(NumberError::Negative);
    }
    Ok(value)
}

/// Parses `text` as Python's `float(text)` would (correctly rounded, like
/// CPython). `inf` and `nan` are returned as such; callers decide about them.
pub fn parse_float(text: &str) -> Result<f64, NumberError> {
    let ascii = to_ascii(text)?;
    let (negative, body) = split_sign(ascii.trim_matches(is_ascii_space));
    let magnitude = match body.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => decimal_float(body)?,
    };
    Ok(if negative { -magnitude } else { magnitude })
}

/// `digitpart ["." [digitpart]] | "." digitpart`, then an optional exponent.
fn decimal_float(body: &str) -> Result<f64, NumberError> {
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let is_digit = |c: char| c.is_ascii_digit();
    let int_digits = if int_part.is_empty() {
        String::new()
    } else {
        strip_underscores(int_part, is_digit)?
    };
    let frac_digits = match frac_part {
        Some(f) if !f.is_empty() => strip_underscores(f, is_digit)?,
        _ => String::new(),
    };
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(NumberError::Invalid);
    }
    let mut normalized = format!("{int_digits}.{frac_digits}");
    if let Some(exp) = exponent {
        let (exp_negative, exp_digits) = split_sign(exp);
        let exp_digits = strip_underscores(exp_digits, is_digit)?;
        normalized.push('e');
        if exp_negative {
            normalized.push('-');
        }
        normalized.push_str(&exp_digits);
    }
    normalized.parse().map_err(|_| NumberError::Invalid)
}

/// CPython's `_PyUnicode_TransformDecimalAndSpaceToASCII`: non-ASCII
/// whitespace becomes a space and non-ASCII decimal digits become ASCII
/// digits; any other non-ASCII character makes the string invalid.
fn to_ascii(text: &str) -> Result<String, NumberError> {
    text.chars()
        .map(|c| {
            if (c as u32) < 127 {
                Ok(c)
            } else if c.is_whitespace() {
                Ok(' ')
            } else {
                unicode_decimal(c)
                    .map(|d| char::from(b'0' + d))
                    .ok_or(NumberError::Invalid)
            }
        })
        .collect()
}

/// CPython's `Py_ISSPACE`: the six ASCII whitespace characters.
fn is_ascii_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

fn split_sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    }
}

/// Checks `digit (["_"] digit)*` and returns the digits without underscores.
fn strip_underscores(s: &str, is_digit: impl Fn(char) -> bool) -> Result<String, NumberError> {
    let mut out = String::with_capacity(s.len());
    let mut after_underscore = true; // a leading `_` is as bad as a doubled one
    for c in s.chars() {
        if c == '_' {
            if after_underscore {
                return Err(NumberError::Invalid);
            }
            after_underscore = true;
        } else if is_digit(c) {
            out.push(c);
            after_underscore = false;
        } else {
            return Err(NumberError::Invalid);
        }
    }
    if after_underscore {
        return Err(NumberError::Invalid); // empty, or a trailing `_`
    }
    Ok(out)
}

/// The value of a non-ASCII Unicode decimal digit (general category Nd).
fn unicode_decimal(c: char) -> Option<u8> {
    let cp = c as u32;
    // First code point ("zero") of every run of ten Nd digits outside ASCII,
    // Unicode 14.0 (the database of CPython 3.11).
    const ZEROS: [u32; 65] = [
        0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6, 0xE50, 0xED0, 0xF20,
        0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0,
        0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0,
        0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0,
        0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
    ];
    let idx = ZEROS.partition_point(|&zero| zero <= cp).checked_sub(1)?;
    let offset = cp - ZEROS[idx];
    u8::try_from(offset).ok().filter(|&d| d < 10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use NumberError::*;

    // Each row was checked against CPython 3.11's int() / float().
    #[test]
    fn int_grammar_matches_python() {
        let rows: &[(&str, Result<u64, NumberError>)] = &[
            ("100", Ok(100)),
            ("0100", Ok(100)),
            ("+100", Ok(100)),
            (" 100", Ok(100)),
            ("100 ", Ok(100)),
            ("\t5\n", Ok(5)),
            ("1_000", Ok(1000)),
            ("0_1", Ok(1)),
            ("00", Ok(0)),
            ("\u{a0}5", Ok(5)),
            ("5\u{2003}", Ok(5)),
            ("\u{85}5", Ok(5)),
            ("\u{665}", Ok(5)),
            ("\u{966}\u{967}", Ok(1)),
            ("\u{1D7CE}", Ok(0)),
            ("\u{FF11}\u{FF12}", Ok(12)),
            ("\u{663}_\u{663}", Ok(33)),
            ("", Err(Invalid)),
            (" ", Err(Invalid)),
            ("+", Err(Invalid)),
            ("++5", Err(Invalid)),
            ("+ 5", Err(Invalid)),
            ("1__0", Err(Invalid)),
            ("_1", Err(Invalid)),
            ("1_", Err(Invalid)),
            ("0x10", Err(Invalid)),
            ("1.0", Err(Invalid)),
            ("1e2", Err(Invalid)),
            ("\x1c5", Err(Invalid)),
            ("5\x1c", Err(Invalid)),
            ("1\u{200b}", Err(Invalid)),
            ("\u{b2}", Err(Invalid)), // superscript two is a digit but not a decimal
            ("abc", Err(Invalid)),
            ("-5", Err(Negative)),
            ("-0", Ok(0)),
            ("18446744073709551615", Ok(u64::MAX)),
            ("18446744073709551616", Err(TooLarge)),
        ];
        for (text, expected) in rows {
            assert_eq!(parse_int(text, 10), *expected, "int({text:?})");
        }
    }

    #[test]
    fn hex_int_grammar_matches_python() {
        let rows: &[(&str, Result<u64, NumberError>)] = &[
            ("ff", Ok(255)),
            ("FF", Ok(255)),
            ("+f", Ok(15)),
            (" f", Ok(15)),
            ("0f", Ok(15)),
            ("\u{661}", Ok(1)),
            ("g", Err(Invalid)),
            ("f_", Err(Invalid)),
            (" ", Err(Invalid)),
        ];
        for (text, expected) in rows {
            assert_eq!(parse_int(text, 16), *expected, "int({text:?}, 16)");
        }
    }

    #[test]
    fn float_grammar_matches_python() {
        let rows: &[(&str, Option<f64>)] = &[
            ("50", Some(50.0)),
            ("33.3", Some(33.3)),
            ("1e2", Some(100.0)),
            ("1E+5", Some(100000.0)),
            (".5", Some(0.5)),
            ("5.", Some(5.0)),
            ("1_0.5", Some(10.5)),
            ("1.0_5", Some(1.05)),
            ("1e1_0", Some(1e10)),
            ("+.5", Some(0.5)),
            (" 2 ", Some(2.0)),
            ("\u{661}.\u{665}", Some(1.5)),
            ("1.5e\u{663}", Some(1500.0)),
            ("0.1", Some(0.1)),
            ("83.0322", Some(83.0322)),
            ("inf", Some(f64::INFINITY)),
            ("+Inf", Some(f64::INFINITY)),
            ("INFINITY", Some(f64::INFINITY)),
            ("infinity ", Some(f64::INFINITY)),
            (".", None),
            ("e5", None),
            ("1e", None),
            ("1._5", None),
            ("1_e5", None),
            ("0x1p3", None),
            ("1e5.0", None),
            ("", None),
            ("abc", None),
            ("in f", None),
        ];
        for (text, expected) in rows {
            assert_eq!(parse_float(text).ok(), *expected, "float({text:?})");
        }
        assert!(parse_float("nan").is_ok_and(f64::is_nan));
        assert!(parse_float("+NaN").is_ok_and(f64::is_nan));
    }

    #[test]
    fn unicode_decimals_cover_every_run() {
        assert_eq!(unicode_decimal('\u{660}'), Some(0));
        assert_eq!(unicode_decimal('\u{669}'), Some(9));
        assert_eq!(unicode_decimal('\u{66A}'), None);
        assert_eq!(unicode_decimal('\u{1FBF9}'), Some(9));
        assert_eq!(unicode_decimal('\u{65F}'), None);
        assert_eq!(unicode_decimal('a'), None);
    }
}
