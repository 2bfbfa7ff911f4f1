//! From the bytes of an SVG file to text: the encodings an SVG may really be
//! written in, detected from the byte order mark or the XML declaration.
//!
//! UTF-8 (with or without a BOM), UTF-16 in either byte order (with a BOM or
//! recognisable from `<` at the start), US-ASCII and ISO-8859-1 are read;
//! any other declared encoding is refused rather than guessed, so no byte
//! sequence can mean one thing to renditiond and another to a browser.

use super::SvgError;

/// Decodes `bytes` into text, dropping any byte order mark.
pub fn decode(bytes: &[u8]) -> Result<String, SvgError> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes);
    }
    match bytes {
        [b'<', 0, ..] => return utf16(bytes, u16::from_le_bytes),
        [0, b'<', ..] => return utf16(bytes, u16::from_be_bytes),
        _ => {}
    }
    match declared_encoding(bytes).map(|e| e.to_ascii_lowercase()).as_deref() {
        None | Some("utf-8" | "utf8") => utf8(bytes),
        Some("us-ascii" | "ascii") if bytes.is_ascii() => utf8(bytes),
        Some("iso-8859-1" | "latin1" | "latin-1" | "iso_8859-1") => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        Some(other) => Err(SvgError::Encoding(format!("the {other} encoding is not supported"))),
    }
}

fn utf8(bytes: &[u8]) -> Result<String, SvgError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| SvgError::Encoding("the document is not valid UTF-8".into()))
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, SvgError> {
    let invalid = || SvgError::Encoding("the document is not valid UTF-16".into());
    if !bytes.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| invalid())
}

/// The `encoding` of an ASCII-compatible XML declaration, if there is one.
fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    let head = bytes.strip_prefix(b"<?xml")?;
    let end = head.windows(2).position(|w| w == b"?>")?;
    let declaration = std::str::from_utf8(&head[..end]).ok()?;
    let (_, after) = declaration.split_once("encoding")?;
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    value.find(quote).map(|end| &value[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16_bytes(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let units = bom.then_some(0xFEFF).into_iter().chain(text.encode_utf16());
        for unit in units {
            out.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn reads_every_supported_encoding() {
        let text = "<svg>é</svg>";
        assert_eq!(decode(text.as_bytes()).unwrap(), text);
        assert_eq!(
            decode(&[b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat()).unwrap(),
            text
        );
        for (big_endian, bom) in [(false, true), (true, true), (false, false), (true, false)] {
            assert_eq!(decode(&utf16_bytes(text, big_endian, bom)).unwrap(), text);
        }
        let latin1 = b"<?xml version='1.0' encoding='ISO-8859-1'?><svg>\xE9</svg>";
        assert!(decode(latin1).unwrap().ends_with("<svg>é</svg>"));
    }

    #[test]
    fn refuses_what_it_cannot_read_exactly() {
        assert!(decode(b"<?xml version=\"1.0\" encoding=\"UTF-7\"?><svg/>").is_err());
        assert!(decode(b"<?xml version=\"1.0\" encoding=\"us-ascii\"?><svg>\xE9</svg>").is_err());
        assert!(decode(b"<svg>\xE9</svg>").is_err());
        assert!(decode(&[0xFF, 0xFE, b'<']).is_err());
        assert!(decode(&[0xFF, 0xFE, 0x00, 0xD8, b'a', 0]).is_err());
    }
}
