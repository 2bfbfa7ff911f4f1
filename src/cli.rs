//! Command-line definitions: what each subcommand takes. No logic here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use renditiond::format::SourceFormat;
use renditiond::plan::FocalPoint;

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
    /// Focal point in Wagtail's database form: centre x, y, width, height.
    #[arg(long, value_name = "X,Y,W,H")]
    pub focal_point: Option<FocalPoint>,
}
