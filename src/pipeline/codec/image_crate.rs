//! PNG, GIF, BMP, ICO and WebP decoding, and PNG, GIF and ICO encoding,
//! through the `image` crate. GIF and animated WebP give their first frame.

use std::io::Cursor;

use image::codecs::ico::{IcoEncoder, IcoFrame};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::metadata::Orientation;
use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageFormat, ImageReader};

use crate::format::SourceFormat;
use crate::pipeline::bitmap::{Bitmap, Layout};

/// What the headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Stored width.
    pub width: u32,
    /// Stored height.
    pub height: u32,
    /// EXIF orientation (PNG `eXIf`, WebP `EXIF`).
    pub orientation: Orientation,
    /// Bytes of one decoded pixel (up to 8: 16 bits a channel, four channels).
    pub bytes_per_pixel: u8,
    /// Channels of one pixel.
    pub channels: u8,
    /// Whether the pixels have alpha.
    pub alpha: bool,
}

fn image_format(format: SourceFormat) -> Result<ImageFormat, String> {
    match format {
        SourceFormat::Png => Ok(ImageFormat::Png),
        SourceFormat::Gif => Ok(ImageFormat::Gif),
        SourceFormat::Bmp => Ok(ImageFormat::Bmp),
        SourceFormat::Ico => Ok(ImageFormat::Ico),
        SourceFormat::Webp => Ok(ImageFormat::WebP),
        other => Err(format!("{other} is not decoded by the image crate")),
    }
}

fn decoder(bytes: &[u8], format: SourceFormat) -> Result<impl ImageDecoder + '_, String> {
    let reader = ImageReader::with_format(Cursor::new(bytes), image_format(format)?);
    reader.into_decoder().map_err(|e| e.to_string())
}

/// Reads the headers without decoding pixels.
pub fn read_header(bytes: &[u8], format: SourceFormat) -> Result<Header, String> {
    let mut decoder = decoder(bytes, format)?;
    let (width, height) = decoder.dimensions();
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    Ok(Header {
        width,
        height,
        orientation,
        bytes_per_pixel: decoder.color_type().bytes_per_pixel(),
        channels: decoder.color_type().channel_count(),
        alpha: decoder.color_type().has_alpha(),
    })
}

/// Decodes to 8-bit pixels (palette expanded, 16-bit reduced), with the ICC profile.
pub fn decode(bytes: &[u8], format: SourceFormat, max_pixels: u64) -> Result<(Bitmap, Option<Vec<u8>>), String> {
    let mut decoder = decoder(bytes, format)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > max_pixels {
        return Err(format!("{w}x{h} pixels is over the limit of {max_pixels}"));
    }
    let mut limits = image::Limits::default();
    // Room for the decoded image at 16 bits per channel, four channels.
    limits.max_alloc = Some(max_pixels.saturating_mul(8));
    decoder.set_limits(limits).map_err(|e| e.to_string())?;
    let icc = decoder.icc_profile().ok().flatten();
    let image = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    let (width, height) = (image.width(), image.height());
    let color = image.color();
    let (layout, pixels) = match (color.has_color(), color.has_alpha()) {
        (false, false) => (Layout::Gray, image.into_luma8().into_raw()),
        (false, true) => (Layout::GrayAlpha, image.into_luma_alpha8().into_raw()),
        (true, false) => (Layout::Rgb, image.into_rgb8().into_raw()),
        (true, true) => (Layout::Rgba, image.into_rgba8().into_raw()),
    };
    let bitmap = Bitmap::new(width, height, layout, pixels).ok_or("decoded size mismatch")?;
    Ok((bitmap, icc))
}

fn color_type(layout: Layout) -> Result<ExtendedColorType, String> {
    match layout {
        Layout::Gray => Ok(ExtendedColorType::L8),
        Layout::GrayAlpha => Ok(ExtendedColorType::La8),
        Layout::Rgb => Ok(ExtendedColorType::Rgb8),
        Layout::Rgba => Ok(ExtendedColorType::Rgba8),
        Layout::Cmyk => Err("cannot encode CMYK pixels".into()),
    }
}

/// Encodes a PNG with fast deflate and adaptive filters, embedding `icc`.
pub fn encode_png(bitmap: &Bitmap, icc: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive);
    if let Some(profile) = icc {
        encoder.set_icc_profile(profile.to_vec()).map_err(|e| e.to_string())?;
    }
    encoder
        .write_image(
            bitmap.pixels(),
            bitmap.width(),
            bitmap.height(),
            color_type(bitmap.layout())?,
        )
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Encodes a single-frame GIF with one global palette: exact for grey,
/// NeuQuant-reduced for colour, keeping fully transparent pixels transparent.
pub fn encode_gif(bitmap: &Bitmap) -> Result<Vec<u8>, String> {
    let side = |v: u32| u16::try_from(v).map_err(|_| format!("GIF sides are at most 65535 pixels, not {v}"));
    let (w, h) = (side(bitmap.width())?, side(bitmap.height())?);
    let mut frame = if bitmap.layout() == Layout::Gray {
        gif::Frame::from_indexed_pixels(w, h, bitmap.pixels().to_vec(), None)
    } else {
        let mut rgba = bitmap.clone().into_layout(Layout::Rgba).into_pixels();
        gif::Frame::from_rgba_speed(w, h, &mut rgba, 10)
    };
    let grey_ramp = || (0..=255u8).flat_map(|v| [v, v, v]).collect::<Vec<u8>>();
    let palette = frame.palette.take().unwrap_or_else(grey_ramp);
    let mut out = Vec::new();
    let mut encoder = gif::Encoder::new(&mut out, w, h, &palette).map_err(|e| e.to_string())?;
    encoder.write_frame(&frame).map_err(|e| e.to_string())?;
    drop(encoder);
    Ok(out)
}

/// Encodes an ICO from frames already resized to their sizes (each stored as PNG).
pub fn encode_ico(frames: &[Bitmap]) -> Result<Vec<u8>, String> {
    let pngs = frames
        .iter()
        .map(|f| {
            let rgba = f.clone().into_layout(Layout::Rgba);
            IcoFrame::as_png(rgba.pixels(), rgba.width(), rgba.height(), ExtendedColorType::Rgba8)
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::new();
    IcoEncoder::new(&mut out)
        .encode_images(&pngs)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(layout: Layout) -> Bitmap {
        let n = layout.channels();
        let px = (0..20 * 10 * n).map(|i| (i * 7 % 256) as u8).collect();
        Bitmap::new(20, 10, layout, px).unwrap()
    }

    #[test]
    fn png_round_trips_every_layout_with_profile() {
        let profile = b"not a real profile but bytes".to_vec();
        for layout in [Layout::Gray, Layout::GrayAlpha, Layout::Rgb, Layout::Rgba] {
            let src = sample(layout);
            let png = encode_png(&src, Some(&profile)).unwrap();
            let (back, icc) = decode(&png, SourceFormat::Png, 1 << 20).unwrap();
            assert_eq!(back, src, "{layout:?}");
            assert_eq!(icc.as_deref(), Some(profile.as_slice()));
        }
        assert!(encode_png(&sample(Layout::Cmyk), None).is_err());
    }

    #[test]
    fn grey_gif_is_exact_and_colour_gif_keeps_transparency() {
        let grey = sample(Layout::Gray);
        let (back, _) = decode(&encode_gif(&grey).unwrap(), SourceFormat::Gif, 1 << 20).unwrap();
        assert_eq!(back.into_layout(Layout::Gray), grey);
        let mut px = vec![200u8; 4 * 4 * 4];
        px[3] = 0; // first pixel transparent
        let rgba = Bitmap::new(4, 4, Layout::Rgba, px).unwrap();
        let (back, _) = decode(&encode_gif(&rgba).unwrap(), SourceFormat::Gif, 1 << 20).unwrap();
        assert_eq!(back.layout(), Layout::Rgba);
        assert_eq!(back.pixels()[3], 0);
        assert_eq!(&back.pixels()[4..8], &[200, 200, 200, 255]);
        let wide = Bitmap::new(70000, 1, Layout::Gray, vec![0; 70000]).unwrap();
        assert!(encode_gif(&wide).is_err());
    }

    #[test]
    fn gif_and_ico_decode_back() {
        let gif = encode_gif(&sample(Layout::Rgb)).unwrap();
        let header = read_header(&gif, SourceFormat::Gif).unwrap();
        assert_eq!((header.width, header.height), (20, 10));
        let frames = [
            sample(Layout::Rgba),
            Bitmap::new(1, 1, Layout::Rgb, vec![1, 2, 3]).unwrap(),
        ];
        let ico = encode_ico(&frames).unwrap();
        let (largest, _) = decode(&ico, SourceFormat::Ico, 1 << 20).unwrap();
        assert_eq!((largest.width(), largest.height()), (20, 10));
    }

    #[test]
    fn limits_and_garbage() {
        let png = encode_png(&sample(Layout::Rgba), None).unwrap();
        assert!(decode(&png, SourceFormat::Png, 10).is_err());
        assert!(decode(&png[..png.len() - 20], SourceFormat::Png, 1 << 20).is_err());
        assert!(read_header(b"\x89PNG\r\n\x1a\nbroken", SourceFormat::Png).is_err());
        assert!(decode(&png, SourceFormat::Jpeg, 1 << 20).is_err());
    }
}
