//! SVG to pixels with resvg, for SVG originals asked for in a raster format.
//!
//! Rendering never reaches outside the document: `href`s that are not
//! embedded PNG, JPEG, GIF or WebP data resolve to nothing (the sanitizer
//! has already removed them), embedded rasters whose header declares more
//! pixels than the limit of raster originals resolve to nothing too, and
//! fonts come from the system font database, loaded once per process.
//!
//! Before anything is drawn, what the drawing will cost is estimated from
//! the usvg tree ([`Cost`]): every layer resvg allocates (isolated groups,
//! clip paths, masks, one result per filter primitive, pattern tiles,
//! decoded embedded images) and the pixel work (layers composited, shapes
//! filled, filter primitives weighted by kernel size, morphology window or
//! octaves), with the nesting of layers. Over a budget of
//! [`SvgLimits`], the drawing is refused. The tree's top-level nodes are
//! then drawn one by one, and `should_stop` is asked between them.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{self, Pixmap, PixmapMut, Transform};
use resvg::usvg::{self, ImageHrefResolver, ImageKind, Node, fontdb};

use super::bitmap::{Bitmap, Layout};
use crate::svg::{self, SvgLimits};

/// Families tried, in order, for each generic CSS family.
const SANS: [&str; 4] = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial"];
const SERIF: [&str; 4] = ["DejaVu Serif", "Liberation Serif", "Noto Serif", "Times New Roman"];
const MONOSPACE: [&str; 4] = ["DejaVu Sans Mono", "Liberation Mono", "Noto Sans Mono", "Courier New"];

/// resvg bounds every layer to 5×5 canvases around the canvas.
const MAX_LAYER_CANVASES: u64 = 25;

/// Why a drawing was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RasterError {
    /// Over the allocation, work or layer nesting budget (the text names it).
    TooCostly(String),
    /// `should_stop` asked to stop before the drawing was finished.
    Stopped,
    /// usvg cannot read the document, or the canvas cannot be allocated.
    Failed(String),
}

/// Renders the SVG `text` into `width`×`height` RGBA pixels, stretching
/// its viewport (its root `width` and `height`) to that size, within the
/// budgets of `limits` (embedded rasters: `limits.max_image_pixels`).
/// `should_stop` is asked before each top-level node is drawn.
pub fn rasterize(
    text: &str,
    width: u32,
    height: u32,
    limits: &SvgLimits,
    should_stop: &dyn Fn() -> bool,
) -> Result<Bitmap, RasterError> {
    let max_image_pixels = limits.max_image_pixels;
    let options = usvg::Options {
        resources_dir: None,
        font_family: SANS[0].to_owned(),
        fontdb: fonts(),
        image_href_resolver: ImageHrefResolver {
            resolve_data: Box::new(move |mime, data, _| {
                // The header says how much decoding would allocate.
                let fits = svg::raster_dimensions(&data).is_some_and(|(w, h)| {
                    let pixels = u64::from(w) * u64::from(h);
                    pixels > 0 && pixels <= max_image_pixels
                });
                if !fits {
                    return None;
                }
                match mime {
                    "image/png" => Some(ImageKind::PNG(data)),
                    "image/jpeg" | "image/jpg" => Some(ImageKind::JPEG(data)),
                    "image/gif" => Some(ImageKind::GIF(data)),
                    "image/webp" => Some(ImageKind::WEBP(data)),
                    _ => None,
                }
            }),
            resolve_string: Box::new(|_, _| None),
        },
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(text, &options).map_err(|e| RasterError::Failed(e.to_string()))?;
    let size = tree.size();
    let (sx, sy) = (width as f32 / size.width(), height as f32 / size.height());
    Cost::check(&tree, (sx, sy), (width, height), limits)?;
    if should_stop() {
        return Err(RasterError::Stopped);
    }
    let mut pixmap =
        Pixmap::new(width, height).ok_or_else(|| RasterError::Failed("the raster size is not renderable".into()))?;
    let transform = Transform::from_scale(sx, sy);
    if !draw_nodes(&tree, transform, &mut pixmap.as_mut(), should_stop)? {
        // A top-level node resvg cannot draw on its own: the whole tree at
        // once (its cost was within the budget all the same).
        pixmap.fill(tiny_skia::Color::TRANSPARENT);
        resvg::render(&tree, transform, &mut pixmap.as_mut());
    }
    let pixels = pixmap
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect();
    Bitmap::new(width, height, Layout::Rgba, pixels)
        .ok_or_else(|| RasterError::Failed("the raster has the wrong size".to_owned()))
}

/// Draws the top-level nodes one by one, asking `should_stop` before
/// each; `false` when one of them cannot be drawn on its own.
fn draw_nodes(
    tree: &usvg::Tree,
    transform: Transform,
    pixmap: &mut PixmapMut<'_>,
    should_stop: &dyn Fn() -> bool,
) -> Result<bool, RasterError> {
    for node in tree.root().children() {
        if should_stop() {
            return Err(RasterError::Stopped);
        }
        match node.abs_layer_bounding_box() {
            // resvg::render_node draws a node into a pixmap of its own
            // bounding box; shifting back draws it where it belongs.
            Some(bbox) => {
                resvg::render_node(node, transform.pre_translate(bbox.x(), bbox.y()), pixmap);
            }
            // Only a path without area (a line) has no bounding box; its
            // stroke is all it draws.
            None => {
                if !stroke_flat_path(node, transform, pixmap) {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// Strokes a top-level path without area in a plain colour; `false` for
/// another paint (or another kind of node), which only resvg draws.
fn stroke_flat_path(node: &Node, transform: Transform, pixmap: &mut PixmapMut<'_>) -> bool {
    let Node::Path(path) = node else {
        return matches!(node, Node::Image(_) | Node::Text(_));
    };
    let Some(stroke) = path.stroke().filter(|_| path.is_visible()) else {
        return true;
    };
    let usvg::Paint::Color(color) = stroke.paint() else {
        return false;
    };
    let mut paint = tiny_skia::Paint::default();
    let alpha = (stroke.opacity().get() * 255.0).round().clamp(0.0, 255.0) as u8;
    paint.set_color_rgba8(color.red, color.green, color.blue, alpha);
    paint.anti_alias = path.rendering_mode().use_shape_antialiasing();
    pixmap.stroke_path(path.data(), &paint, &stroke.to_tiny_skia(), transform, None);
    true
}

/// What a drawing will cost resvg, estimated from the tree: bytes
/// allocated beyond the output (summed, not peak), pixel operations, and
/// the deepest nesting of layers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Bytes of layers, masks, clip buffers, filter results, pattern tiles
    /// and decoded images.
    pub bytes: u64,
    /// Pixel operations.
    pub work: u64,
    /// Deepest nesting of layers.
    pub depth: usize,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.work = self.work.saturating_add(other.work);
        self.depth = self.depth.max(other.depth);
    }

    /// Estimates the cost of drawing `tree` at `scale` onto a canvas of
    /// `canvas` pixels, and refuses it over the budgets of `limits`.
    pub fn check(
        tree: &usvg::Tree,
        scale: (f32, f32),
        canvas: (u32, u32),
        limits: &SvgLimits,
    ) -> Result<Cost, RasterError> {
        let mut estimate = Estimate {
            scale,
            canvas,
            max_depth: limits.max_layer_depth,
            shared: HashMap::new(),
        };
        let cost = estimate.group(tree.root(), 0)?;
        if cost.bytes > limits.max_raster_bytes {
            return Err(RasterError::TooCostly(format!(
                "drawing it would allocate about {} MiB, more than the limit of {} MiB",
                cost.bytes >> 20,
                limits.max_raster_bytes >> 20
            )));
        }
        if cost.work > limits.max_raster_work {
            return Err(RasterError::TooCostly(format!(
                "drawing it would take about {} million pixel operations, more than the limit of {} million",
                cost.work / 1_000_000,
                limits.max_raster_work / 1_000_000
            )));
        }
        Ok(cost)
    }
}

/// The walk behind [`Cost::check`].
struct Estimate {
    scale: (f32, f32),
    canvas: (u32, u32),
    max_depth: usize,
    /// Costs of shared subtrees (clip paths, masks, patterns, `feImage`),
    /// counted at every use but walked once.
    shared: HashMap<*const usvg::Group, Cost>,
}

impl Estimate {
    fn canvas_pixels(&self) -> u64 {
        u64::from(self.canvas.0) * u64::from(self.canvas.1)
    }

    /// The pixel size of a layer over `rect` (user units), as resvg sizes
    /// it: 2 pixels of margin, at most 5×5 canvases.
    fn layer(&self, rect: usvg::Rect) -> (u64, u64) {
        let side = |length: f32, scale: f32, canvas: u32| {
            let pixels = f64::from(length) * f64::from(scale);
            let pixels = if pixels.is_finite() { pixels.max(0.0) } else { f64::MAX };
            (pixels.ceil() + 4.0).min(5.0 * f64::from(canvas.max(1))) as u64
        };
        (
            side(rect.width(), self.scale.0, self.canvas.0),
            side(rect.height(), self.scale.1, self.canvas.1),
        )
    }

    fn area(&self, rect: usvg::Rect) -> u64 {
        let (w, h) = self.layer(rect);
        (w * h).min(MAX_LAYER_CANVASES * self.canvas_pixels())
    }

    fn deeper(&self, depth: usize) -> Result<usize, RasterError> {
        let depth = depth + 1;
        if depth > self.max_depth {
            return Err(self.too_deep());
        }
        Ok(depth)
    }

    fn too_deep(&self) -> RasterError {
        RasterError::TooCostly(format!(
            "its layers (groups with opacity, clip paths, masks, filters, patterns) nest deeper than the limit of {}",
            self.max_depth
        ))
    }

    /// A subtree drawn wherever it is used (its content), walked once.
    fn shared(&mut self, root: &usvg::Group, depth: usize) -> Result<Cost, RasterError> {
        let key: *const usvg::Group = root;
        let inner = match self.shared.get(&key) {
            Some(cost) => *cost,
            None => {
                let cost = self.group(root, 0)?;
                self.shared.insert(key, cost);
                cost
            }
        };
        if depth + inner.depth > self.max_depth {
            return Err(self.too_deep());
        }
        Ok(Cost {
            depth: depth + inner.depth,
            ..inner
        })
    }

    fn node(&mut self, node: &Node, depth: usize) -> Result<Cost, RasterError> {
        match node {
            Node::Group(group) => self.group(group, depth),
            Node::Path(path) => {
                let area = self.area(path.abs_stroke_bounding_box());
                let mut cost = Cost {
                    bytes: 0,
                    work: area.saturating_mul(2),
                    depth,
                };
                let paints = [
                    path.fill().map(usvg::Fill::paint),
                    path.stroke().map(usvg::Stroke::paint),
                ];
                for paint in paints.into_iter().flatten() {
                    if let usvg::Paint::Pattern(pattern) = paint {
                        cost.add(self.pattern(pattern, path.abs_transform(), depth)?);
                    }
                }
                Ok(cost)
            }
            Node::Image(image) => match image.kind() {
                ImageKind::SVG(tree) => {
                    let mut cost = self.shared(tree.root(), self.deeper(depth)?)?;
                    let canvas = self.canvas_pixels();
                    cost.add(Cost {
                        bytes: canvas * 4,
                        work: canvas,
                        depth: 0,
                    });
                    Ok(cost)
                }
                _ => {
                    let size = image.size();
                    let decoded = (f64::from(size.width()).ceil() * f64::from(size.height()).ceil()) as u64;
                    Ok(Cost {
                        bytes: decoded.saturating_mul(4),
                        work: decoded.saturating_add(self.area(image.abs_bounding_box())),
                        depth,
                    })
                }
            },
            Node::Text(text) => self.group(text.flattened(), depth),
        }
    }

    /// A pattern tile: rendered into a pixmap of the tile's size at the
    /// scale it is drawn at, for every shape it paints.
    fn pattern(&mut self, pattern: &usvg::Pattern, transform: Transform, depth: usize) -> Result<Cost, RasterError> {
        let depth = self.deeper(depth)?;
        let (sx, sy) = transform.pre_concat(pattern.transform()).get_scale();
        let rect = pattern.rect();
        let side = |length: f32, scale: f32| {
            let pixels = f64::from(length) * f64::from(scale);
            if pixels.is_finite() {
                pixels.max(0.0).round()
            } else {
                f64::MAX
            }
        };
        let tile = side(rect.width(), sx * self.scale.0) * side(rect.height(), sy * self.scale.1);
        let tile = if tile < 1e18 { tile as u64 } else { u64::MAX / 8 };
        let mut cost = self.shared(pattern.root(), depth)?;
        cost.add(Cost {
            bytes: tile.saturating_mul(4),
            work: tile,
            depth,
        });
        Ok(cost)
    }

    fn group(&mut self, group: &usvg::Group, depth: usize) -> Result<Cost, RasterError> {
        let mut cost = Cost {
            depth,
            ..Cost::default()
        };
        let mut depth = depth;
        if group.should_isolate() {
            depth = self.deeper(depth)?;
            cost.depth = depth;
            let (w, h) = self.layer(group.abs_layer_bounding_box().to_rect());
            let layer = (w * h).min(MAX_LAYER_CANVASES * self.canvas_pixels());
            cost.add(Cost {
                bytes: layer * 4,
                work: layer,
                depth,
            });
            for filter in group.filters() {
                for primitive in filter.primitives() {
                    let (per_pixel, content) = self.primitive(primitive.kind(), (w, h), depth)?;
                    cost.add(Cost {
                        bytes: layer * 4,
                        work: layer.saturating_mul(per_pixel),
                        depth,
                    });
                    cost.add(content);
                }
            }
            let mut clip = group.clip_path();
            while let Some(path) = clip {
                depth = self.deeper(depth)?;
                // A pixmap and a mask of the layer's size, and the content.
                cost.add(Cost {
                    bytes: layer * 5,
                    work: layer * 3,
                    depth,
                });
                cost.add(self.shared(path.root(), depth)?);
                clip = path.clip_path();
            }
            let mut mask = group.mask();
            while let Some(m) = mask {
                depth = self.deeper(depth)?;
                // A pixmap, an alpha mask and the mask from the pixmap.
                cost.add(Cost {
                    bytes: layer * 6,
                    work: layer * 4,
                    depth,
                });
                cost.add(self.shared(m.root(), depth)?);
                mask = m.mask();
            }
        }
        for child in group.children() {
            cost.add(self.node(child, depth)?);
        }
        Ok(cost)
    }

    /// Pixel operations per pixel of a filter primitive over a region of
    /// `region` pixels, and the cost of what it draws itself (`feImage`).
    fn primitive(
        &mut self,
        kind: &usvg::filter::Kind,
        region: (u64, u64),
        depth: usize,
    ) -> Result<(u64, Cost), RasterError> {
        use usvg::filter::Kind;
        let window = |radius: f32, scale: f32, side: u64| {
            let pixels = f64::from(radius) * f64::from(scale);
            let pixels = if pixels.is_finite() { pixels.max(0.0) } else { f64::MAX };
            ((2.0 * pixels.round() + 1.0).min(side.max(1) as f64)) as u64
        };
        let per_pixel = match kind {
            Kind::ConvolveMatrix(fe) => u64::from(fe.matrix().columns()) * u64::from(fe.matrix().rows()),
            Kind::Morphology(fe) => {
                window(fe.radius_x().get(), self.scale.0, region.0)
                    * window(fe.radius_y().get(), self.scale.1, region.1)
            }
            Kind::Turbulence(fe) => 4 * u64::from(fe.num_octaves()).max(1),
            Kind::GaussianBlur(_) => 6,
            Kind::DropShadow(_) => 8,
            Kind::DiffuseLighting(_) | Kind::SpecularLighting(_) => 12,
            Kind::Merge(fe) => fe.inputs().len().max(1) as u64,
            Kind::Image(fe) => {
                let content = self.shared(fe.root(), self.deeper(depth)?)?;
                return Ok((2, content));
            }
            _ => 2,
        };
        Ok((per_pixel, Cost::default()))
    }
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

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn never() -> bool {
        false
    }

    fn draw(text: &str, size: u32) -> Result<Bitmap, RasterError> {
        rasterize(text, size, size, &SvgLimits::default(), &never)
    }

    /// resvg's own drawing of the whole tree at once.
    fn reference(text: &str, size: u32) -> Vec<u8> {
        let tree = usvg::Tree::from_str(text, &usvg::Options::default()).expect("parses");
        let mut pixmap = Pixmap::new(size, size).expect("pixmap");
        let scale = Transform::from_scale(size as f32 / tree.size().width(), size as f32 / tree.size().height());
        resvg::render(&tree, scale, &mut pixmap.as_mut());
        pixmap
            .pixels()
            .iter()
            .flat_map(|p| {
                let c = p.demultiply();
                [c.red(), c.green(), c.blue(), c.alpha()]
            })
            .collect()
    }

    #[test]
    fn svg_drawn_node_by_node_is_drawn_as_resvg_draws_it() {
        let text = concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40" width="40" height="40">"#,
            r#"<defs><linearGradient id="g"><stop offset="0" stop-color="red"/><stop offset="1" stop-color="blue"/></linearGradient>"#,
            r#"<mask id="m"><circle cx="20" cy="20" r="15" fill="white"/></mask></defs>"#,
            r#"<rect x="2" y="2" width="30" height="20" fill="url(#g)" opacity="0.7"/>"#,
            r#"<line x1="0" y1="30" x2="40" y2="30" stroke="green" stroke-width="3"/>"#,
            r#"<g mask="url(#m)" transform="rotate(10 20 20)"><rect width="40" height="40" fill="orange"/></g>"#,
            r#"<path d="M5 35 L35 35" stroke="black" stroke-dasharray="2 1"/></svg>"#,
        );
        let drawn = draw(text, 80).expect("drawn");
        let expected = reference(text, 80);
        let worst = drawn
            .pixels()
            .iter()
            .zip(&expected)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        assert!(worst <= 2, "differs by up to {worst}");
        let gradient_line = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><defs><linearGradient id="g" gradientUnits="userSpaceOnUse"><stop stop-color="red"/></linearGradient></defs><line x1="0" y1="5" x2="10" y2="5" stroke="url(#g)"/></svg>"#;
        assert_eq!(
            draw(gradient_line, 10).expect("drawn").pixels(),
            reference(gradient_line, 10)
        );
    }

    #[test]
    fn svg_drawing_asks_whether_to_stop_between_top_level_nodes() {
        let text = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">{}</svg>"#,
            r#"<rect width="5" height="5"/>"#.repeat(10)
        );
        let asked = Cell::new(0);
        let stop_at_third = || {
            asked.set(asked.get() + 1);
            asked.get() >= 3
        };
        let outcome = rasterize(&text, 10, 10, &SvgLimits::default(), &stop_at_third);
        assert_eq!(outcome.err(), Some(RasterError::Stopped));
        assert_eq!(asked.get(), 3);
        let asked = Cell::new(0);
        let count = || {
            asked.set(asked.get() + 1);
            false
        };
        assert!(rasterize(&text, 10, 10, &SvgLimits::default(), &count).is_ok());
        assert_eq!(asked.get(), 11, "once before drawing, once per node");
    }

    #[test]
    fn svg_embedded_rasters_over_the_pixel_limit_resolve_to_nothing() {
        // A PNG signature and header declaring 100000×100000 pixels.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend(100_000u32.to_be_bytes());
        png.extend(100_000u32.to_be_bytes());
        png.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD.encode(&png);
        let text = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image width="10" height="10" href="data:image/png;base64,{data}"/><rect width="2" height="2"/></svg>"#
        );
        let drawn = draw(&text, 10).expect("drawn without the image");
        assert_eq!(drawn.pixels()[3], 255, "the rectangle is drawn");
    }

    #[test]
    fn svg_costs_are_estimated_and_bounded() {
        let text =
            |body: &str| format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">{body}</svg>"#);
        let cost = |body: &str, size: u32| {
            let tree = usvg::Tree::from_str(&text(body), &usvg::Options::default()).expect("parses");
            let scale = size as f32 / 100.0;
            Cost::check(&tree, (scale, scale), (size, size), &SvgLimits::default())
        };
        let plain = cost(r#"<rect width="100" height="100"/>"#, 100).expect("cheap");
        assert_eq!((plain.bytes, plain.depth), (0, 0));
        let layered = cost(r#"<g opacity="0.5"><rect width="100" height="100"/></g>"#, 100).expect("cheap");
        assert_eq!(layered.depth, 1);
        assert_eq!(layered.bytes, 104 * 104 * 4, "one layer of the group's size and margin");
        let bigger = cost(r#"<g opacity="0.5"><rect width="100" height="100"/></g>"#, 1000).expect("cheap");
        assert!(bigger.bytes > 90 * layered.bytes, "layers grow with the raster size");
        let mask = r#"<mask id="m"><rect width="100" height="100" fill="white"/></mask>"#;
        let masked = cost(
            &format!(r##"{mask}<g mask="url(#m)"><rect width="100" height="100"/></g>"##),
            100,
        )
        .expect("cheap");
        assert_eq!(masked.depth, 2);
        assert!(masked.bytes > layered.bytes * 2, "the layer, and a mask of its size");
        let deep = format!(
            r##"{mask}{}<rect width="100" height="100"/>{}"##,
            r##"<g mask="url(#m)">"##.repeat(20),
            "</g>".repeat(20)
        );
        assert!(matches!(cost(&deep, 100), Err(RasterError::TooCostly(m)) if m.contains("nest")));
        let morphology =
            r##"<filter id="f"><feMorphology radius="50"/></filter><rect width="100" height="100" filter="url(#f)"/>"##;
        let small = cost(morphology, 100).expect("at 100 pixels");
        assert!(small.work > 100 * 100 * 100 * 100, "the window covers the region");
        assert!(matches!(cost(morphology, 1000), Err(RasterError::TooCostly(m)) if m.contains("pixel operations")));
        let pattern = r##"<pattern id="p" width="100000" height="100000" patternUnits="userSpaceOnUse"><rect width="1" height="1"/></pattern><rect width="100" height="100" fill="url(#p)"/>"##;
        assert!(matches!(cost(pattern, 100), Err(RasterError::TooCostly(m)) if m.contains("MiB")));
    }
}
