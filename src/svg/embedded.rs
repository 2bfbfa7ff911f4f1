//! The pixel size an embedded raster declares, read from its header alone,
//! so that a few hundred bytes claiming 100000×100000 pixels are refused
//! before a decoder allocates anything.
//!
//! Only the formats an SVG may embed are read: PNG (`IHDR`), JPEG (the
//! first start-of-frame segment), GIF (the logical screen and the first
//! image descriptor, whichever is larger) and WebP (`VP8 `, `VP8L` or the
//! `VP8X` canvas).

/// Width and height declared by the header of a PNG, JPEG, GIF or WebP
/// image; `None` when the header is not one of those or cannot be read.
pub fn raster_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png(bytes)
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        jpeg(bytes)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        gif(bytes)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        webp(bytes)
    } else {
        None
    }
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn be16(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?)))
}

fn le16(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?)))
}

fn le24(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 3)?;
    Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
}

fn png(bytes: &[u8]) -> Option<(u32, u32)> {
    // Signature, then the IHDR chunk: length, type, width, height.
    (bytes.get(12..16)? == b"IHDR").then_some(())?;
    Some((be32(bytes, 16)?, be32(bytes, 20)?))
}

fn jpeg(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    loop {
        // Fill bytes may precede a marker.
        while *bytes.get(at)? == 0xFF && *bytes.get(at + 1)? == 0xFF {
            at += 1;
        }
        (*bytes.get(at)? == 0xFF).then_some(())?;
        let marker = *bytes.get(at + 1)?;
        match marker {
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => at += 2,
            // Start of scan or end of image before any frame header.
            0xD9 | 0xDA => return None,
            // Every start of frame but DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = be16(bytes, at + 5)?;
                let width = be16(bytes, at + 7)?;
                return Some((width, height));
            }
            _ => at += 2 + usize::try_from(be16(bytes, at + 2)?).ok()?,
        }
    }
}

fn gif(bytes: &[u8]) -> Option<(u32, u32)> {
    let (mut width, mut height) = (le16(bytes, 6)?, le16(bytes, 8)?);
    let packed = *bytes.get(10)?;
    let mut at = 13;
    if packed & 0x80 != 0 {
        at += 3 << ((packed & 0x07) + 1);
    }
    loop {
        match *bytes.get(at)? {
            // Extension: label, then data sub-blocks up to an empty one.
            0x21 => {
                at += 2;
                loop {
                    let size = usize::from(*bytes.get(at)?);
                    at += 1 + size;
                    if size == 0 {
                        break;
                    }
                }
            }
            // The first image descriptor: a frame may be larger than the screen.
            0x2C => {
                width = width.max(le16(bytes, at + 1)? + le16(bytes, at + 5)?);
                height = height.max(le16(bytes, at + 3)? + le16(bytes, at + 7)?);
                return Some((width, height));
            }
            _ => return None,
        }
    }
}

fn webp(bytes: &[u8]) -> Option<(u32, u32)> {
    let chunk = bytes.get(12..16)?;
    let data = 20;
    match chunk {
        b"VP8 " => {
            // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit sizes.
            (bytes.get(data + 3..data + 6)? == [0x9D, 0x01, 0x2A]).then_some(())?;
            Some((le16(bytes, data + 6)? & 0x3FFF, le16(bytes, data + 8)? & 0x3FFF))
        }
        b"VP8L" => {
            (*bytes.get(data)? == 0x2F).then_some(())?;
            let bits = u32::from_le_bytes(bytes.get(data + 1..data + 5)?.try_into().ok()?);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Some((le24(bytes, data + 4)? + 1, le24(bytes, data + 7)? + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG signature and IHDR declaring `width`×`height` (no pixel data).
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        bytes.extend(width.to_be_bytes());
        bytes.extend(height.to_be_bytes());
        bytes.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
        bytes
    }

    #[test]
    fn reads_declared_sizes_from_headers() {
        assert_eq!(
            raster_dimensions(&png_header(100_000, 100_000)),
            Some((100_000, 100_000))
        );
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC2, 0, 11, 8, 0x01, 0x2C, 0x02, 0x58, 3,
        ];
        assert_eq!(raster_dimensions(&jpeg), Some((600, 300)));
        let mut gif = b"GIF89a\x0a\0\x05\0\x00\0\0".to_vec();
        gif.extend([0x21, 0xF9, 4, 0, 0, 0, 0, 0]);
        gif.extend([0x2C, 0, 0, 0, 0, 0x10, 0x27, 0x10, 0x27, 0]);
        assert_eq!(raster_dimensions(&gif), Some((10_000, 10_000)));
        let mut vp8x = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        vp8x.extend([0x9F, 0x86, 0x01, 0x9F, 0x86, 0x01]);
        assert_eq!(raster_dimensions(&vp8x), Some((100_000, 100_000)));
        let mut vp8l = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f".to_vec();
        vp8l.extend(((15u32) | (7u32 << 14)).to_le_bytes());
        assert_eq!(raster_dimensions(&vp8l), Some((16, 8)));
        for junk in [
            &b"\x89PNG\r\n\x1a\n"[..],
            &[0xFF, 0xD8, 0xFF],
            b"GIF89a",
            b"<svg/>",
            b"",
        ] {
            assert_eq!(raster_dimensions(junk), None);
        }
    }
}
