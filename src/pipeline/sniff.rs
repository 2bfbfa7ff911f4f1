//! Which format an original is in, from its bytes alone (never its name).

use infer::image as magic;

use crate::format::SourceFormat;

/// Detects the format of `bytes`, or `None` when it is no image format
/// renditiond knows.
pub fn sniff(bytes: &[u8]) -> Option<SourceFormat> {
    type Matcher = fn(&[u8]) -> bool;
    let binary: [(Matcher, SourceFormat); 9] = [
        (magic::is_jpeg, SourceFormat::Jpeg),
        (magic::is_png, SourceFormat::Png),
        (magic::is_gif, SourceFormat::Gif),
        (magic::is_webp, SourceFormat::Webp),
        (magic::is_avif, SourceFormat::Avif),
        (magic::is_heif, SourceFormat::Heic),
        (magic::is_bmp, SourceFormat::Bmp),
        (magic::is_ico, SourceFormat::Ico),
        (magic::is_tiff, SourceFormat::Tiff),
    ];
    binary
        .into_iter()
        .find(|(matches, _)| matches(bytes))
        .map(|(_, format)| format)
        .or_else(|| is_svg(bytes).then_some(SourceFormat::Svg))
}

/// Whether `bytes` look like an SVG document: XML (UTF-8, or UTF-16 by its
/// byte order mark) whose first element, after any XML declaration,
/// comments, processing instructions and doctype, is `svg` (with or without
/// a namespace prefix). A prefix that ends inside that prolog, as a ranged
/// read of a large file may, counts as SVG; the full parse decides.
fn is_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let text = match head {
        [0xFF, 0xFE, ..] | [b'<', 0, ..] => utf16_prefix(head, u16::from_le_bytes),
        [0xFE, 0xFF, ..] | [0, b'<', ..] => utf16_prefix(head, u16::from_be_bytes),
        _ => match std::str::from_utf8(head) {
            Ok(t) => t.to_owned(),
            // The cut may split a character; what precedes it is enough.
            Err(e) => String::from_utf8_lossy(&head[..e.valid_up_to()]).into_owned(),
        },
    };
    let mut rest = text.strip_prefix('\u{feff}').unwrap_or(&text);
    loop {
        rest = rest.trim_start();
        let skip_to = |rest: &str, end: &str| rest.find(end).map(|at| at + end.len());
        let skipped = if rest.starts_with("<?") {
            skip_to(rest, "?>")
        } else if rest.starts_with("<!--") {
            skip_to(rest, "-->")
        } else if rest.starts_with("<!DOCTYPE") || rest.starts_with("<!doctype") {
            doctype_end(rest)
        } else {
            break;
        };
        match skipped {
            Some(n) => rest = &rest[n..],
            None => return true,
        }
    }
    let Some(tag) = rest.strip_prefix('<') else {
        return false;
    };
    let name_end = tag
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(tag.len());
    let name = &tag[..name_end];
    name_end < tag.len() && (name == "svg" || name.rsplit_once(':').is_some_and(|(_, local)| local == "svg"))
}

/// The UTF-16 text of `bytes`, as far as it decodes.
fn utf16_prefix(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    char::decode_utf16(units).map_while(Result::ok).collect()
}

/// The length of a doctype declaration, internal subset (`[...]`) included.
fn doctype_end(rest: &str) -> Option<usize> {
    let mut in_subset = false;
    for (i, c) in rest.char_indices() {
        match c {
            '[' => in_subset = true,
            ']' => in_subset = false,
            '>' if !in_subset => return Some(i + 1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_magic() {
        let rows: [(&[u8], Option<SourceFormat>); 8] = [
            (b"\xff\xd8\xff\xe0\x00\x10JFIF", Some(SourceFormat::Jpeg)),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some(SourceFormat::Png)),
            (b"GIF89a\x01\x00\x01\x00", Some(SourceFormat::Gif)),
            (b"RIFF\x24\x00\x00\x00WEBPVP8 ", Some(SourceFormat::Webp)),
            (b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf", Some(SourceFormat::Avif)),
            (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", Some(SourceFormat::Heic)),
            (b"II*\0\x08\0\0\0\x10\0\0\0", Some(SourceFormat::Tiff)),
            (b"hello world", None),
        ];
        for (bytes, expected) in rows {
            assert_eq!(sniff(bytes), expected, "{bytes:?}");
        }
    }

    #[test]
    fn svg_by_content() {
        let yes = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            "\u{feff}<?xml version=\"1.0\"?>\n<!-- made by hand -->\n<svg width=\"1\">",
            "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"x\" [<!ENTITY a \"b\">]><svg>",
            "  <svg:svg xmlns:svg=\"http://www.w3.org/2000/svg\">",
            // A prefix cut inside the prolog.
            "<?xml version=\"1.0\"?><!-- a very long comment",
        ];
        for text in yes {
            assert_eq!(sniff(text.as_bytes()), Some(SourceFormat::Svg), "{text}");
        }
        for big_endian in [false, true] {
            let units = std::iter::once(0xFEFF).chain("<svg width=\"1\"/>".encode_utf16());
            let bytes: Vec<u8> = units
                .flat_map(|u| if big_endian { u.to_be_bytes() } else { u.to_le_bytes() })
                .collect();
            assert_eq!(sniff(&bytes), Some(SourceFormat::Svg));
            assert_eq!(sniff(&bytes[2..]), Some(SourceFormat::Svg), "without a byte order mark");
        }
        let no = [
            "<html><svg></svg></html>",
            "<svgfoo>",
            "<?xml version=\"1.0\"?><svg",
            "svg",
            "<!-- --><html>",
        ];
        for text in no {
            assert_eq!(sniff(text.as_bytes()), None, "{text}");
        }
    }
}
