//! JPEG through libjpeg-turbo (`turbojpeg`): decoding with DCT scaling
//! (shrink-on-load) and progressive encoding; metadata (EXIF orientation,
//! ICC profile) is read from the headers alone with `zune-jpeg`.

use std::io::Cursor;

use image::metadata::Orientation;
use turbojpeg::{Colorspace, Compressor, Decompressor, Image, PixelFormat, ScalingFactor, Subsamp};

use crate::pipeline::bitmap::{Bitmap, Layout};

/// Progressive scans beyond this are refused (libjpeg-turbo's advice against
/// progressive-JPEG denial of service).
const SCAN_LIMIT: u32 = 500;

/// What the JPEG headers say.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Stored width.
    pub width: u32,
    /// Stored height.
    pub height: u32,
    /// How the pixels decode: grey, RGB or CMYK.
    pub layout: Layout,
    /// EXIF orientation.
    pub orientation: Orientation,
    /// Embedded ICC profile.
    pub icc: Option<Vec<u8>>,
}

/// Reads the headers without decoding pixels.
pub fn read_header(bytes: &[u8]) -> Result<Header, String> {
    let header = turbojpeg::read_header(bytes).map_err(|e| e.to_string())?;
    let layout = match header.colorspace {
        Colorspace::Gray => Layout::Gray,
        Colorspace::CMYK | Colorspace::YCCK => Layout::Cmyk,
        Colorspace::RGB | Colorspace::YCbCr => Layout::Rgb,
    };
    let (width, height) = (side(header.width)?, side(header.height)?);
    // Metadata is optional: a file zune-jpeg cannot parse still decodes.
    let mut meta = zune_jpeg::JpegDecoder::new(Cursor::new(bytes));
    let (orientation, icc) = match meta.decode_headers() {
        Ok(()) => (
            meta.exif()
                .and_then(|exif| Orientation::from_exif_chunk(exif))
                .unwrap_or(Orientation::NoTransforms),
            meta.icc_profile(),
        ),
        Err(_) => (Orientation::NoTransforms, None),
    };
    Ok(Header {
        width,
        height,
        layout,
        orientation,
        icc,
    })
}

fn side(v: usize) -> Result<u32, String> {
    u32::try_from(v).map_err(|_| format!("dimension {v} is too large"))
}

/// Decodes at 1/`denominator` of the stored size (1, 2, 4 or 8), rounding up.
pub fn decode(bytes: &[u8], header: &Header, denominator: u32) -> Result<Bitmap, String> {
    let mut decompressor = Decompressor::new().map_err(|e| e.to_string())?;
    let factor = ScalingFactor::new(1, denominator as usize);
    decompressor.set_scaling_factor(factor).map_err(|e| e.to_string())?;
    decompressor.set_scan_limit(SCAN_LIMIT).map_err(|e| e.to_string())?;
    let format = pixel_format(header.layout);
    let (width, height) = (
        factor.scale(header.width as usize),
        factor.scale(header.height as usize),
    );
    let pitch = width * format.size();
    let mut pixels = vec![0u8; pitch * height];
    let image = Image {
        pixels: pixels.as_mut_slice(),
        width,
        pitch,
        height,
        format,
    };
    decompressor.decompress(bytes, image).map_err(|e| e.to_string())?;
    Bitmap::new(side(width)?, side(height)?, header.layout, pixels).ok_or_else(|| "decoded size mismatch".into())
}

fn pixel_format(layout: Layout) -> PixelFormat {
    match layout {
        Layout::Gray => PixelFormat::GRAY,
        Layout::Cmyk => PixelFormat::CMYK,
        Layout::GrayAlpha | Layout::Rgb | Layout::Rgba => PixelFormat::RGB,
    }
}

/// Encodes grey, RGB or CMYK pixels as a progressive, Huffman-optimised JPEG
/// with 4:2:0 chroma, embedding `icc` when given.
pub fn encode(bitmap: &Bitmap, quality: u8, icc: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let mut compressor = Compressor::new().map_err(|e| e.to_string())?;
    // libjpeg treats quality 0 as 1; TurboJPEG refuses 0.
    compressor
        .set_quality(i32::from(quality.clamp(1, 100)))
        .map_err(|e| e.to_string())?;
    let subsamp = match bitmap.layout() {
        Layout::Gray => Subsamp::Gray,
        // CMYK is written as Pillow writes it: plain CMYK (Adobe, inverted), not subsampled.
        Layout::Cmyk => {
            compressor.set_colorspace(Colorspace::CMYK).map_err(|e| e.to_string())?;
            Subsamp::None
        }
        Layout::GrayAlpha | Layout::Rgb | Layout::Rgba => Subsamp::Sub2x2,
    };
    compressor.set_subsamp(subsamp).map_err(|e| e.to_string())?;
    compressor.set_progressive(true).map_err(|e| e.to_string())?;
    compressor.set_optimize(true).map_err(|e| e.to_string())?;
    let image = Image {
        pixels: bitmap.pixels(),
        width: bitmap.width() as usize,
        pitch: bitmap.stride(),
        height: bitmap.height() as usize,
        format: pixel_format(bitmap.layout()),
    };
    let jpeg = compressor.compress_to_vec(image).map_err(|e| e.to_string())?;
    super::icc::embed(jpeg, icc)
}

/// How far a JPEG is shrunk while it is decoded (DCT scaling to 1/2, 1/4 or
/// 1/8), against the size its region is resized to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShrinkOnLoad {
    /// Decoded whole, as Wagtail's Pillow backend does.
    Off,
    /// At least twice the rendition's size is kept to resize from, as
    /// libvips does.
    #[default]
    Quality,
    /// At least the rendition's size, as Pillow's `draft` (and so thumbor)
    /// and sharp's `fastShrinkOnLoad` do: less decoding for a small
    /// rendition, slightly softer pixels.
    Fast,
}

impl ShrinkOnLoad {
    /// Every rule.
    pub const ALL: [Self; 3] = [Self::Off, Self::Quality, Self::Fast];

    /// The setting's name, as `RENDITIOND_SHRINK_ON_LOAD` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Quality => "quality",
            Self::Fast => "fast",
        }
    }

    /// The setting `name` names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|rule| rule.name() == name)
    }

    /// How many times the rendition's size the decoded region keeps at
    /// least; `None`: no shrink.
    fn margin(self) -> Option<f64> {
        match self {
            Self::Off => None,
            Self::Quality => Some(2.0),
            Self::Fast => Some(1.0),
        }
    }
}

/// The largest DCT shrink (1, 2, 4 or 8) that keeps a `region` of stored
/// pixels at least the `rule`'s margin times the `output` size on both axes.
pub fn shrink_denominator(region: (f64, f64), output: (u32, u32), rule: ShrinkOnLoad) -> u32 {
    let Some(margin) = rule.margin() else { return 1 };
    let mut d = 1;
    while d < 8
        && region.0 / f64::from(d * 2) >= margin * f64::from(output.0)
        && region.1 / f64::from(d * 2) >= margin * f64::from(output.1)
    {
        d *= 2;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_keeps_its_margin_over_the_output() {
        // A 4000×3000 region to each output size: the denominator of each
        // rule, in the order of `ALL` (off, quality, fast).
        let cases = [
            ((400, 300), [1, 4, 8]),
            ((200, 150), [1, 8, 8]),
            ((500, 375), [1, 4, 8]),
            ((501, 375), [1, 2, 4]),
            ((1000, 750), [1, 2, 4]),
            ((1001, 750), [1, 1, 2]),
            ((1200, 900), [1, 1, 2]),
            ((2000, 1500), [1, 1, 2]),
            ((2001, 1500), [1, 1, 1]),
            ((4000, 3000), [1, 1, 1]),
            ((100, 2000), [1, 1, 1]),
            ((8, 8), [1, 8, 8]),
        ];
        for (output, expected) in cases {
            let got = ShrinkOnLoad::ALL.map(|rule| shrink_denominator((4000.0, 3000.0), output, rule));
            assert_eq!(got, expected, "{output:?}");
        }
    }

    #[test]
    fn shrink_rules_are_named() {
        for rule in ShrinkOnLoad::ALL {
            assert_eq!(ShrinkOnLoad::from_name(rule.name()), Some(rule));
        }
        assert_eq!(ShrinkOnLoad::from_name("Fast"), None);
        assert_eq!(ShrinkOnLoad::default(), ShrinkOnLoad::Quality);
    }

    #[test]
    fn round_trips_with_profile() {
        let px: Vec<u8> = (0..64 * 48 * 3).map(|i| (i % 251) as u8).collect();
        let bitmap = Bitmap::new(64, 48, Layout::Rgb, px).unwrap();
        let profile = vec![7u8; 70_000]; // needs two APP2 segments
        let jpeg = encode(&bitmap, 76, Some(&profile)).unwrap();
        let header = read_header(&jpeg).unwrap();
        assert_eq!((header.width, header.height, header.layout), (64, 48, Layout::Rgb));
        assert_eq!(header.icc.as_deref(), Some(profile.as_slice()));
        let half = decode(&jpeg, &header, 2).unwrap();
        assert_eq!((half.width(), half.height()), (32, 24));
        let eighth = decode(&jpeg, &header, 8).unwrap();
        assert_eq!((eighth.width(), eighth.height()), (8, 6));
    }

    #[test]
    fn grey_and_cmyk_round_trip() {
        for layout in [Layout::Gray, Layout::Cmyk] {
            let px = vec![200u8; 16 * 16 * layout.channels()];
            let bitmap = Bitmap::new(16, 16, layout, px).unwrap();
            let jpeg = encode(&bitmap, 95, None).unwrap();
            let header = read_header(&jpeg).unwrap();
            assert_eq!(header.layout, layout);
            let back = decode(&jpeg, &header, 1).unwrap();
            assert!(back.pixels().iter().all(|&v| v.abs_diff(200) <= 3), "{layout:?}");
        }
    }

    #[test]
    fn quality_zero_is_accepted() {
        let bitmap = Bitmap::new(8, 8, Layout::Rgb, vec![9; 8 * 8 * 3]).unwrap();
        assert!(encode(&bitmap, 0, None).is_ok());
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(read_header(b"\xff\xd8\xff\xe0 not really").is_err());
        let px = vec![0u8; 8 * 8 * 3];
        let jpeg = encode(&Bitmap::new(8, 8, Layout::Rgb, px).unwrap(), 50, None).unwrap();
        let header = read_header(&jpeg).unwrap();
        assert!(decode(&jpeg[..jpeg.len() / 2], &header, 1).is_err());
    }
}
