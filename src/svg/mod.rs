//! SVG originals: read safely, sanitized always, cropped and resized the way
//! Wagtail (Willow) does it, by rewriting the root's `width`, `height` and
//! `viewBox` (SPEC §2.6). No I/O and no pixels here; rasterizing is the
//! pipeline's job.
//!
//! [`Document::parse`] runs the steps in order:
//!
//! 1. **decode** the bytes (UTF-8, UTF-16, Latin-1; nothing guessed);
//! 2. **parse** into a namespace-resolved tree within the byte, element and
//!    depth limits, with plain-text DTD entities only;
//! 3. **sanitize** against an allowlist, rebuilding the tree from known SVG
//!    that cannot run script or load anything;
//! 4. read the **intrinsic geometry** as Willow does.
//!
//! [`Document::rendition`] then writes the sanitized tree with the root
//! attributes of a [`Plan`].

mod allowlist;
mod css;
mod decode;
mod dtd;
mod embedded;
mod filters;
mod geometry;
mod sanitize;
mod tree;
mod write;

use thiserror::Error;

pub use self::embedded::raster_dimensions;
use self::geometry::Intrinsic;
pub use self::geometry::python_float;
use self::tree::Element;
use crate::plan::{Plan, Size};

/// The deepest nesting [`SvgLimits::max_depth`] may allow: the parser,
/// sanitizer, writer and resvg are tested to survive it (and `use` chains
/// expanding to twice as deep) on a 2 MiB thread stack, the stack of
/// tokio's blocking threads where renders run.
pub const MAX_SVG_DEPTH: usize = 1024;

/// Bounds on the SVG originals renditiond reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SvgLimits {
    /// Most bytes in the file, and most text its entities may add.
    pub max_bytes: usize,
    /// Most elements, counting every `use` as what it expands to.
    pub max_elements: usize,
    /// Deepest element nesting.
    pub max_depth: usize,
    /// Most pixels an embedded raster (`data:` URL in `image` or `feImage`)
    /// may declare in its header, checked before anything is decoded.
    /// `pipeline::probe` sets it to `Limits::max_source_pixels`, the limit
    /// of raster originals.
    pub max_image_pixels: u64,
    /// Most primitives one `filter` element may hold.
    pub max_filter_primitives: usize,
    /// Most bytes of style sheet text (all `style` elements together).
    pub max_style_bytes: usize,
    /// Most style rules, each selector of a selector list counted as one.
    pub max_css_rules: usize,
    /// Most parts (type, class, id, attribute and pseudo-class selectors,
    /// and combinators) of one selector.
    pub max_selector_parts: usize,
    /// Most CSS rules × elements a renderer matches (style rules are
    /// matched against every element).
    pub max_css_matches: u64,
    /// Deepest nesting of rasterizer layers: isolated groups (opacity,
    /// blending, clip paths, masks, filters), with the content of clip
    /// paths, masks, patterns and `feImage` counted where it is drawn.
    pub max_layer_depth: usize,
    /// Most bytes the rasterizer may allocate for one drawing beyond its
    /// output: group layers, masks, clip paths, filter results, pattern
    /// tiles and decoded embedded images, summed over the whole drawing.
    pub max_raster_bytes: u64,
    /// Most pixel operations one rasterization may cost, estimated before
    /// drawing: layers composited, shapes filled, images drawn, and every
    /// filter primitive weighted by its per-pixel cost (kernel size,
    /// octaves, morphology window).
    pub max_raster_work: u64,
}

impl Default for SvgLimits {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            max_elements: 100_000,
            max_depth: 256,
            max_image_pixels: 128_000_000,
            max_filter_primitives: 64,
            max_style_bytes: 512 * 1024,
            max_css_rules: 4_000,
            max_selector_parts: 32,
            max_css_matches: 20_000_000,
            max_layer_depth: 32,
            max_raster_bytes: 1024 * 1024 * 1024,
            max_raster_work: 2_000_000_000,
        }
    }
}

/// Why an SVG original cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SvgError {
    /// More bytes than allowed (in the file or from entity expansion).
    #[error("the SVG is larger than the limit of {limit} bytes")]
    TooManyBytes {
        /// The limit.
        limit: usize,
    },
    /// More elements than allowed.
    #[error("the SVG has more than the limit of {limit} elements")]
    TooManyElements {
        /// The limit.
        limit: usize,
    },
    /// Nested deeper than allowed.
    #[error("the SVG nests elements deeper than the limit of {limit}")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// Not in an encoding renditiond reads.
    #[error("unreadable SVG: {0}")]
    Encoding(String),
    /// Not well-formed XML, or not an SVG document.
    #[error("invalid SVG: {0}")]
    Malformed(String),
    /// Uses a construct refused for safety (external or nested entities).
    #[error("refused SVG: {0}")]
    Forbidden(String),
    /// The root's size attributes cannot be read.
    #[error("invalid SVG size: {0}")]
    Geometry(String),
    /// Would cost more than allowed to read or draw: an embedded raster
    /// over the pixel limit, too many filter primitives, style rules or
    /// selector parts, layers nested too deep, or a rasterization over its
    /// allocation or work budget. The text names the limit.
    #[error("the SVG is too costly to draw: {0}")]
    TooCostly(String),
}

impl SvgError {
    /// Whether the SVG was refused for its size rather than its content.
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            Self::TooManyBytes { .. } | Self::TooManyElements { .. } | Self::TooCostly(_)
        )
    }
}

/// A sanitized SVG document and its intrinsic geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    root: Element,
    intrinsic: Intrinsic,
}

impl Document {
    /// Decodes, parses and sanitizes an SVG file.
    pub fn parse(bytes: &[u8], limits: &SvgLimits) -> Result<Self, SvgError> {
        if bytes.len() > limits.max_bytes {
            return Err(SvgError::TooManyBytes {
                limit: limits.max_bytes,
            });
        }
        let text = decode::decode(bytes)?;
        let root = sanitize::sanitize(tree::parse(&text, limits)?, limits)?;
        let intrinsic = geometry::intrinsic(&root)?;
        Ok(Self { root, intrinsic })
    }

    /// The size Wagtail's transform starts from (fractional where the
    /// document says so).
    pub fn size(&self) -> Size {
        self.intrinsic.size
    }

    /// The sanitized document as it is, without any geometry rewrite.
    pub fn to_text(&self) -> String {
        write::write(&self.root)
    }

    /// The rendition `plan` describes: the sanitized document with the
    /// root's `width`, `height` and `viewBox` set as Willow sets them.
    pub fn rendition(&self, plan: &Plan) -> String {
        let mut root = self.root.clone();
        for (name, value) in
            geometry::rendition_attributes(&self.intrinsic, plan.crop, plan.size, plan.sized_by_operation)
        {
            root.set_attribute(name, value);
        }
        write::write(&root)
    }
}
