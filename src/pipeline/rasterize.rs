//! SVG to pixels with resvg, for SVG originals asked for in a raster format.
//!
//! Rendering never reaches outside the document: `href`s that are not
//! embedded PNG, JPEG, GIF or WebP data resolve to nothing (the sanitizer
//! has already removed them), and fonts come from the system font database,
//! loaded once per process.

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{self, ImageHrefResolver, ImageKind, fontdb};

use super::bitmap::{Bitmap, Layout};

/// Families tried, in order, for each generic CSS family.
const SANS: [&str; 4] = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial"];
const SERIF: [&str; 4] = ["DejaVu Serif", "Liberation Serif", "Noto Serif", "Times New Roman"];
const MONOSPACE: [&str; 4] = ["DejaVu Sans Mono", "Liberation Mono", "Noto Sans Mono", "Courier New"];

/// Renders the SVG `text` into `width`×`height` RGBA pixels, stretching
/// its viewport (its root `width` and `height`) to that size.
pub fn rasterize(text: &str, width: u32, height: u32) -> Result<Bitmap, String> {
    let options = usvg::Options {
        resources_dir: None,
        font_family: SANS[0].to_owned(),
        fontdb: fonts(),
        image_href_resolver: ImageHrefResolver {
            resolve_data: Box::new(|mime, data, _| match mime {
                "image/png" => Some(ImageKind::PNG(data)),
                "image/jpeg" | "image/jpg" => Some(ImageKind::JPEG(data)),
                "image/gif" => Some(ImageKind::GIF(data)),
                "image/webp" => Some(ImageKind::WEBP(data)),
                _ => None,
            }),
            resolve_string: Box::new(|_, _| None),
        },
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(text, &options).map_err(|e| e.to_string())?;
    let mut pixmap = Pixmap::new(width, height).ok_or("the raster size is not renderable")?;
    let size = tree.size();
    let transform = Transform::from_scale(width as f32 / size.width(), height as f32 / size.height());
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    let pixels = pixmap
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect();
    Bitmap::new(width, height, Layout::Rgba, pixels).ok_or_else(|| "the raster has the wrong size".to_owned())
}

/// The system fonts, loaded on first use, with the generic families
/// pointed at fonts that exist here.
fn fonts() -> Arc<fontdb::Database> {
    static FONTS: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            db.load_system_fonts();
            let installed = |candidates: [&str; 4]| {
                candidates
                    .into_iter()
                    .find(|name| db.faces().any(|f| f.families.iter().any(|(family, _)| family == name)))
                    .map(str::to_owned)
            };
            let (sans, serif, mono) = (installed(SANS), installed(SERIF), installed(MONOSPACE));
            if let Some(family) = sans {
                db.set_sans_serif_family(family);
            }
            if let Some(family) = serif {
                db.set_serif_family(family);
            }
            if let Some(family) = mono {
                db.set_monospace_family(family);
            }
            Arc::new(db)
        })
        .clone()
}
