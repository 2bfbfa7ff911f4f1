//! Command-line definitions: what each subcommand takes. No logic here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use renditiond::config::ServeArgs;
use renditiond::format::SourceFormat;
use renditiond::pipeline::ShrinkOnLoad;
use renditiond::plan::{FocalPoint, SvgOutput};
use renditiond::spec::{DEFAULT_MAX_SPEC_BYTES, DEFAULT_MAX_SPEC_OPERATIONS};

/// Wagtail-compatible image renditions.
#[derive(Debug, Parser)]
#[command(name = "renditiond", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the plan for a filter spec as one JSON object:
    /// {"crop":[l,t,r,b],"size":[w,h],"format":"jpeg","focal_point_key":"…"}.
    /// An invalid spec prints {"error":"…"} and exits with status 2.
    Plan(PlanArgs),
    /// Render a rendition of an image file and print
    /// {"width":…,"height":…,"format":"…","bytes":…}.
    /// A bad file or spec prints one line on stderr and exits with status 2.
    Render(RenderArgs),
    /// Run the HTTP service. Every setting is a flag or a RENDITIOND_*
    /// environment variable; a bad one stops the start with one line naming it.
    Serve(Box<ServeArgs>),
    /// Print the signed path /r/{signature}/{spec}/{key} of a rendition,
    /// signed with the first of RENDITIOND_SIGNING_KEYS.
    Sign(SignArgs),
}

/// Arguments of `plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Size of the (EXIF-oriented) source image, WxH.
    #[arg(long, value_name = "WxH")]
    pub size: String,
    /// Focal point in Wagtail's database form: centre x, y, width, height.
    #[arg(long, value_name = "X,Y,W,H")]
    pub focal_point: Option<FocalPoint>,
    /// Format of the source image.
    #[arg(long, value_name = "FMT", default_value = "png")]
    pub source_format: SourceFormat,
    /// Let `format-*` rasterize an SVG source instead of being an error.
    #[arg(long)]
    pub svg_rasterize: bool,
    /// The Wagtail filter spec, e.g. fill-300x200-c80|format-webp.
    pub spec: String,
}

/// Arguments of `render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The original image file.
    pub input: PathBuf,
    /// The Wagtail filter spec.
    pub spec: String,
    /// Where to write the rendition.
    #[arg(short, long, value_name = "OUTPUT")]
    pub output: PathBuf,
    /// Let `format-*` rasterize an SVG source instead of being an error.
    #[arg(long)]
    pub svg_rasterize: bool,
    /// Keep an animated GIF or WebP animated (within the default budget of
    /// RENDITIOND_ANIMATION_MAX_FRAMES and _MAX_PIXELS).
    #[arg(long)]
    pub animate: bool,
    /// Focal point in Wagtail's database form: centre x, y, width, height.
    #[arg(long, value_name = "X,Y,W,H")]
    pub focal_point: Option<FocalPoint>,
    /// How far a JPEG is shrunk while decoded: quality, fast or off (see
    /// RENDITIOND_SHRINK_ON_LOAD).
    #[arg(long, value_name = "RULE", default_value = "quality", value_parser = shrink_on_load)]
    pub shrink_on_load: ShrinkOnLoad,
}

/// `--shrink-on-load`'s value.
fn shrink_on_load(name: &str) -> Result<ShrinkOnLoad, String> {
    ShrinkOnLoad::from_name(name).ok_or_else(|| "expected quality, fast or off".to_owned())
}

/// Arguments of `sign`.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The original's storage key, e.g. photos/cat.jpg.
    pub key: String,
    /// The filter spec, optionally ending with |focal-X-Y-W-H.
    pub spec: String,
    /// Comma-separated signing keys; the first signs.
    #[arg(long, env = "RENDITIOND_SIGNING_KEYS", hide_env_values = true)]
    pub signing_keys: String,
    /// The longest filter spec the server takes, in bytes.
    #[arg(long, env = "RENDITIOND_SPEC_MAX_BYTES", default_value_t = DEFAULT_MAX_SPEC_BYTES.to_string())]
    pub spec_max_bytes: String,
    /// The most operations of a filter spec the server takes.
    #[arg(long, env = "RENDITIOND_SPEC_MAX_OPERATIONS", default_value_t = DEFAULT_MAX_SPEC_OPERATIONS.to_string())]
    pub spec_max_operations: String,
}

/// What `--svg-rasterize` asks for.
pub fn svg_output(svg_rasterize: bool) -> SvgOutput {
    if svg_rasterize {
        SvgOutput::RasterOnRequest
    } else {
        SvgOutput::Svg
    }
}
