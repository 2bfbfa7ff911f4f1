//! An 8-bit image in memory: size, channel layout and tightly packed rows.

/// How the bytes of one pixel are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Grey.
    Gray,
    /// Grey and alpha.
    GrayAlpha,
    /// Red, green, blue.
    Rgb,
    /// Red, green, blue, alpha (not premultiplied).
    Rgba,
    /// Cyan, magenta, yellow, black as stored in a JPEG (Adobe files store them inverted).
    Cmyk,
}

impl Layout {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            Self::Gray => 1,
            Self::GrayAlpha => 2,
            Self::Rgb => 3,
            Self::Rgba | Self::Cmyk => 4,
        }
    }

    /// Whether the last channel is alpha.
    pub fn has_alpha(self) -> bool {
        matches!(self, Self::GrayAlpha | Self::Rgba)
    }
}

/// Pixels with their size and layout; `pixels.len()` is always
/// `width * height * layout.channels()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: u32,
    height: u32,
    layout: Layout,
    pixels: Vec<u8>,
}

impl Bitmap {
    /// Wraps `pixels`, or returns `None` if their length does not match.
    pub fn new(width: u32, height: u32, layout: Layout, pixels: Vec<u8>) -> Option<Self> {
        let expected = (width as usize)
            .checked_mul(height as usize)?
            .checked_mul(layout.channels())?;
        (pixels.len() == expected && width > 0 && height > 0).then_some(Self {
            width,
            height,
            layout,
            pixels,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Channel layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The packed pixel bytes.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Bytes per row.
    pub fn stride(&self) -> usize {
        self.width as usize * self.layout.channels()
    }

    /// Takes the pixel bytes.
    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }

    /// The same pixels converted to `layout` (alpha dropped or made opaque,
    /// grey expanded); CMYK cannot be converted here and is returned as is.
    pub fn into_layout(self, layout: Layout) -> Bitmap {
        use Layout::*;
        if layout == self.layout || self.layout == Cmyk || layout == Cmyk {
            return self;
        }
        let n = self.layout.channels();
        let mut out = Vec::with_capacity(self.width as usize * self.height as usize * layout.channels());
        for px in self.pixels.chunks_exact(n) {
            let (rgb, alpha) = match self.layout {
                Gray => ([px[0]; 3], 255),
                GrayAlpha => ([px[0]; 3], px[1]),
                Rgb => ([px[0], px[1], px[2]], 255),
                Rgba | Cmyk => ([px[0], px[1], px[2]], px[3]),
            };
            match layout {
                Gray => out.push(luma(rgb)),
                GrayAlpha => out.extend_from_slice(&[luma(rgb), alpha]),
                Rgb => out.extend_from_slice(&rgb),
                Rgba | Cmyk => out.extend_from_slice(&[rgb[0], rgb[1], rgb[2], alpha]),
            }
        }
        Bitmap {
            layout,
            pixels: out,
            ..self
        }
    }
}

/// ITU-R 601-2 luma, as Pillow converts RGB to L.
fn luma([r, g, b]: [u8; 3]) -> u8 {
    ((u32::from(r) * 19595 + u32::from(g) * 38470 + u32::from(b) * 7471 + 0x8000) >> 16) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_mismatched_buffers() {
        assert!(Bitmap::new(2, 2, Layout::Rgb, vec![0; 12]).is_some());
        assert!(Bitmap::new(2, 2, Layout::Rgb, vec![0; 11]).is_none());
        assert!(Bitmap::new(0, 2, Layout::Rgb, vec![]).is_none());
    }

    #[test]
    fn converts_layouts() {
        let ga = Bitmap::new(2, 1, Layout::GrayAlpha, vec![10, 255, 20, 128]).unwrap();
        assert_eq!(
            ga.clone().into_layout(Layout::Rgba).pixels(),
            &[10, 10, 10, 255, 20, 20, 20, 128]
        );
        assert_eq!(ga.into_layout(Layout::Rgb).pixels(), &[10, 10, 10, 20, 20, 20]);
        let rgb = Bitmap::new(1, 1, Layout::Rgb, vec![255, 255, 255]).unwrap();
        assert_eq!(rgb.clone().into_layout(Layout::Gray).pixels(), &[255]);
        assert_eq!(rgb.into_layout(Layout::Rgba).pixels(), &[255, 255, 255, 255]);
    }
}
