//! Service configuration: every `serve` setting, read from its flag or its
//! `RENDITIOND_*` environment variable, then validated. A bad value stops the
//! start with one line naming the variable. No I/O here.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;
use url::Url;

use crate::format::{OutputFormat, SourceFormat};
use crate::pipeline::{AnimationLimits, DEFAULT_MAX_PIXELS, ShrinkOnLoad, animation};
use crate::plan::{NEGOTIABLE, Output, SvgOutput};
use crate::spec::{DEFAULT_MAX_SPEC_BYTES, DEFAULT_MAX_SPEC_OPERATIONS, SpecLimits};
use crate::store::{Location, LocationError};
use crate::svg::{MAX_SVG_DEPTH, SvgLimits};
use crate::wagtail::{DEFAULT_TABLE, is_plain_identifier};

/// The raw settings of `renditiond serve`, as given.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "RENDITIOND_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Address of a second listener that serves only /metrics (the main one
    /// then answers /metrics with 404); unset: /metrics is on the main listener.
    #[arg(long, env = "RENDITIOND_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Where originals live: a folder, file://, s3://bucket[/prefix], gs://… or az://…
    /// (cloud credentials from the usual AWS_*, GOOGLE_*, AZURE_* variables).
    #[arg(long, env = "RENDITIOND_ORIGINALS", default_value = "./test-images")]
    pub originals: String,
    /// Shared rendition store, same forms as the originals; unset: memory cache only.
    #[arg(long, env = "RENDITIOND_RENDITIONS")]
    pub renditions: Option<String>,
    /// Render each cold rendition once across the instances sharing the
    /// rendition store, through render leases in it.
    #[arg(long, env = "RENDITIOND_RENDER_LEASES", default_value = "true")]
    pub render_leases: String,
    /// Comma-separated secrets for URL signatures; the first signs, all verify.
    /// Unset: a random key for this run (an example URL is printed).
    #[arg(long, env = "RENDITIOND_SIGNING_KEYS", hide_env_values = true)]
    pub signing_keys: Option<String>,
    /// Accept `unsigned` in place of a signature (development only).
    #[arg(long, env = "RENDITIOND_ALLOW_UNSIGNED", default_value = "false")]
    pub allow_unsigned: String,
    /// Size of the in-memory rendition cache, in bytes.
    #[arg(long, env = "RENDITIOND_MEMORY_CACHE_BYTES", default_value = "268435456")]
    pub memory_cache_bytes: String,
    /// `serve` the rendition, or `redirect` (302) to it under the public URL.
    #[arg(long, env = "RENDITIOND_ACTION", default_value = "serve")]
    pub action: String,
    /// Base URL of the rendition store behind the CDN (needed for redirect).
    #[arg(long, env = "RENDITIOND_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Cache-Control of served renditions.
    #[arg(long, env = "RENDITIOND_CACHE_CONTROL", default_value = "public, max-age=3600")]
    pub cache_control: String,
    /// Log format: `text` or `json` (level from RUST_LOG, default info).
    #[arg(long, env = "RENDITIOND_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
    /// Renders run at once (default: the number of CPU cores).
    #[arg(long, env = "RENDITIOND_WORKERS")]
    pub workers: Option<String>,
    /// Renders that may wait for a worker before requests get 503.
    #[arg(long, env = "RENDITIOND_QUEUE_LENGTH", default_value = "32")]
    pub queue_length: String,
    /// Seconds an original's version is trusted before it is looked up again.
    #[arg(long, env = "RENDITIOND_VERSION_TTL", default_value = "10")]
    pub version_ttl: String,
    /// Seconds a storage call may take before the request gets 503.
    #[arg(long, env = "RENDITIOND_STORAGE_TIMEOUT", default_value = "10")]
    pub storage_timeout: String,
    /// The largest original read, in bytes (larger: 413).
    #[arg(long, env = "RENDITIOND_MAX_SOURCE_BYTES", default_value = "67108864")]
    pub max_source_bytes: String,
    /// The most pixels an original or a rendition may have (more: 413 / 400).
    #[arg(long, env = "RENDITIOND_MAX_PIXELS", default_value_t = DEFAULT_MAX_PIXELS.to_string())]
    pub max_pixels: String,
    /// How far JPEG originals are shrunk while decoded: `quality` (at least
    /// twice the rendition's size), `fast` (at least its size) or `off`.
    #[arg(long, env = "RENDITIOND_SHRINK_ON_LOAD", default_value = "quality")]
    pub shrink_on_load: String,
    /// Keep animated GIF and WebP originals animated in GIF and WebP
    /// renditions (default: their first frame, as in Wagtail without Wand).
    #[arg(long, env = "RENDITIOND_ANIMATION", default_value = "false")]
    pub animation: String,
    /// The most frames an animation kept animated may have (more: its first frame).
    #[arg(long, env = "RENDITIOND_ANIMATION_MAX_FRAMES", default_value_t = animation::DEFAULT_MAX_FRAMES.to_string())]
    pub animation_max_frames: String,
    /// The most frames × pixels an animation kept animated may have (more: its first frame).
    #[arg(long, env = "RENDITIOND_ANIMATION_MAX_PIXELS", default_value_t = animation::DEFAULT_MAX_PIXELS.to_string())]
    pub animation_max_pixels: String,
    /// Render SVG originals whose spec has format-png|webp|jpeg|avif|gif|ico
    /// with resvg (default: such specs are a 400, as in Wagtail).
    #[arg(long, env = "RENDITIOND_SVG_RASTERIZE", default_value = "false")]
    pub svg_rasterize: String,
    /// Rasterize every SVG original: PNG unless the spec asks for another format.
    #[arg(long, env = "RENDITIOND_SVG_ALWAYS_RASTERIZE", default_value = "false")]
    pub svg_always_rasterize: String,
    /// The largest SVG original read, in bytes (larger: 413).
    #[arg(long, env = "RENDITIOND_SVG_MAX_BYTES", default_value_t = SvgLimits::default().max_bytes.to_string())]
    pub svg_max_bytes: String,
    /// The most elements an SVG may have, each `use` counted as what it expands to (more: 413).
    #[arg(long, env = "RENDITIOND_SVG_MAX_ELEMENTS", default_value_t = SvgLimits::default().max_elements.to_string())]
    pub svg_max_elements: String,
    /// The deepest element nesting of an SVG (deeper: 422).
    #[arg(long, env = "RENDITIOND_SVG_MAX_DEPTH", default_value_t = SvgLimits::default().max_depth.to_string())]
    pub svg_max_depth: String,
    /// The longest filter spec, in bytes (a focal point suffix included; longer: 400).
    #[arg(long, env = "RENDITIOND_SPEC_MAX_BYTES", default_value_t = DEFAULT_MAX_SPEC_BYTES.to_string())]
    pub spec_max_bytes: String,
    /// The most `|`-separated operations of a filter spec (more: 400).
    #[arg(long, env = "RENDITIOND_SPEC_MAX_OPERATIONS", default_value_t = DEFAULT_MAX_SPEC_OPERATIONS.to_string())]
    pub spec_max_operations: String,
    /// Seconds one render may take before it is abandoned (503).
    #[arg(long, env = "RENDITIOND_RENDER_TIMEOUT", default_value = "8")]
    pub render_timeout: String,
    /// Bytes the renders running at once may use together (default: derived
    /// from the cgroup memory limit, else 1 GiB).
    #[arg(long, env = "RENDITIOND_MEMORY_BUDGET")]
    pub memory_budget: Option<String>,
    /// Bytes of the memory budget that keep decoded originals for the next
    /// renders of the same original (default: 64 MiB or a quarter of the
    /// budget, whichever is less; at most half).
    #[arg(long, env = "RENDITIOND_DECODED_CACHE_BYTES")]
    pub decoded_cache_bytes: Option<String>,
    /// Wagtail's SECRET_KEY (comma-separated for rotation: the first signs,
    /// all verify); with the database URL it turns on the /images/ route.
    #[arg(long, env = "RENDITIOND_WAGTAIL_SECRET_KEY", hide_env_values = true)]
    pub wagtail_secret_key: Option<String>,
    /// Wagtail's database, read-only: postgres://…, mysql://… or sqlite://…
    #[arg(long, env = "RENDITIOND_WAGTAIL_DATABASE_URL", hide_env_values = true)]
    pub wagtail_database_url: Option<String>,
    /// The table of Wagtail's image model.
    #[arg(long, env = "RENDITIOND_WAGTAIL_IMAGE_TABLE", default_value = DEFAULT_TABLE)]
    pub wagtail_image_table: String,
    /// The site's Wagtail version (7.0 on): its defaults for output formats
    /// and qualities.
    #[arg(long, env = "RENDITIOND_WAGTAIL_VERSION", default_value = "8.0")]
    pub wagtail_version: String,
    /// The site's WAGTAILIMAGES_FORMAT_CONVERSIONS, as JSON: {"webp": "png"}.
    #[arg(long, env = "RENDITIOND_WAGTAIL_FORMAT_CONVERSIONS")]
    pub wagtail_format_conversions: Option<String>,
    /// The site's WAGTAILIMAGES_JPEG_QUALITY (default: its version's).
    #[arg(long, env = "RENDITIOND_WAGTAIL_JPEG_QUALITY")]
    pub wagtail_jpeg_quality: Option<String>,
    /// The site's WAGTAILIMAGES_WEBP_QUALITY (default: its version's).
    #[arg(long, env = "RENDITIOND_WAGTAIL_WEBP_QUALITY")]
    pub wagtail_webp_quality: Option<String>,
    /// The site's WAGTAILIMAGES_AVIF_QUALITY (default: its version's).
    #[arg(long, env = "RENDITIOND_WAGTAIL_AVIF_QUALITY")]
    pub wagtail_avif_quality: Option<String>,
    /// Formats to pick instead of a lossy default output when the client's
    /// Accept names them, in order of preference: avif, webp (comma-separated;
    /// unset: none, as in Wagtail).
    #[arg(long, env = "RENDITIOND_FORMAT_NEGOTIATION")]
    pub format_negotiation: Option<String>,
    /// The site's WAGTAILIMAGES_HEIC_QUALITY (default: its version's).
    #[arg(long, env = "RENDITIOND_WAGTAIL_HEIC_QUALITY")]
    pub wagtail_heic_quality: Option<String>,
    /// Bearer token of POST /v1/plan; unset: the endpoint is off.
    #[arg(long, env = "RENDITIOND_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
    /// Seconds between SIGTERM (readiness turns false) and closing the listener.
    #[arg(long, env = "RENDITIOND_SHUTDOWN_DELAY", default_value = "0")]
    pub shutdown_delay: String,
    /// Seconds in-flight requests get to finish after the listener closes.
    #[arg(long, env = "RENDITIOND_SHUTDOWN_TIMEOUT", default_value = "30")]
    pub shutdown_timeout: String,
}

/// What to answer with a rendition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The rendition's bytes.
    Serve,
    /// A 302 to the rendition in the shared store, behind the CDN.
    Redirect,
}

/// The Wagtail site renditiond stands in for on `/images/`.
#[derive(Clone)]
pub struct WagtailConfig {
    /// Its `SECRET_KEY`s, the first signing.
    pub secret_keys: Vec<Vec<u8>>,
    /// Its database URL.
    pub database_url: String,
    /// Its image table.
    pub image_table: String,
}

impl std::fmt::Debug for WagtailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.database_url.split(':').next().unwrap_or_default();
        write!(
            f,
            "WagtailConfig({} keys, {scheme}, {})",
            self.secret_keys.len(),
            self.image_table
        )
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Address of the listener that serves only `/metrics`, when there is one.
    pub metrics_listen: Option<SocketAddr>,
    /// Where originals live.
    pub originals: Location,
    /// The shared rendition store, if any.
    pub renditions: Option<Location>,
    /// Whether instances sharing the rendition store take render leases.
    pub render_leases: bool,
    /// Signing secrets; empty when a random one is to be made.
    pub signing_keys: Vec<Vec<u8>>,
    /// Whether `unsigned` is accepted as a signature.
    pub allow_unsigned: bool,
    /// Memory tier size in bytes.
    pub memory_cache_bytes: u64,
    /// Serve or redirect.
    pub action: Action,
    /// Base URL of the rendition store behind the CDN, without a trailing slash.
    pub public_url: Option<String>,
    /// Cache-Control of served renditions.
    pub cache_control: String,
    /// Log format.
    pub log_format: LogFormat,
    /// Renders at once.
    pub workers: usize,
    /// Renders waiting at most.
    pub queue_length: usize,
    /// Trust in an original's version.
    pub version_ttl: Duration,
    /// Deadline of a storage call.
    pub storage_timeout: Duration,
    /// Largest original in bytes.
    pub max_source_bytes: u64,
    /// Pixel limit of originals and renditions.
    pub max_pixels: u64,
    /// The site's output settings: formats, qualities, what SVG becomes.
    pub output: Output,
    /// The budget of animations kept animated; `None`: animation is off.
    pub animation: Option<AnimationLimits>,
    /// How far JPEG originals are shrunk while decoded.
    pub shrink_on_load: ShrinkOnLoad,
    /// Bounds on SVG originals.
    pub svg_limits: SvgLimits,
    /// Bounds on filter specs.
    pub spec_limits: SpecLimits,
    /// How long one render may take.
    pub render_timeout: Duration,
    /// Bytes of memory renders may use; `None`: derive it from the cgroup
    /// limit at start.
    pub memory_budget: Option<u64>,
    /// Bytes of the budget for decoded originals; `None`: the default.
    pub decoded_cache_bytes: Option<u64>,
    /// The Wagtail site, when the /images/ route is on.
    pub wagtail: Option<WagtailConfig>,
    /// Bearer token of POST /v1/plan, when it is on.
    pub api_token: Option<String>,
    /// Unready time before the listener closes.
    pub shutdown_delay: Duration,
    /// Drain time for in-flight requests.
    pub shutdown_timeout: Duration,
}

/// A setting with a bad value.
#[derive(Debug, Error)]
#[error("{var}: {reason}")]
pub struct ConfigError {
    /// The environment variable (its flag has the same name in kebab case).
    pub var: &'static str,
    /// What is wrong.
    pub reason: String,
}

fn err(var: &'static str, reason: impl ToString) -> ConfigError {
    ConfigError {
        var,
        reason: reason.to_string(),
    }
}

/// The bounds of every numeric setting, inclusive.
pub mod bounds {
    /// `RENDITIOND_WORKERS`: tokio's blocking pool runs at most 512 threads.
    pub const WORKERS: (usize, usize) = (1, 512);
    /// `RENDITIOND_QUEUE_LENGTH`.
    pub const QUEUE_LENGTH: (usize, usize) = (0, 10_000);
    /// `RENDITIOND_MEMORY_CACHE_BYTES`: up to 1 TiB.
    pub const MEMORY_CACHE_BYTES: (u64, u64) = (0, 1 << 40);
    /// `RENDITIOND_MAX_SOURCE_BYTES`: up to 4 GiB.
    pub const MAX_SOURCE_BYTES: (u64, u64) = (1, 1 << 32);
    /// `RENDITIOND_MAX_PIXELS`: up to 2³² (a 65,535-pixel square JPEG).
    pub const MAX_PIXELS: (u64, u64) = (1, 1 << 32);
    /// `RENDITIOND_ANIMATION_MAX_FRAMES`.
    pub const ANIMATION_MAX_FRAMES: (u32, u32) = (1, 100_000);
    /// `RENDITIOND_ANIMATION_MAX_PIXELS`: up to 2³².
    pub const ANIMATION_MAX_PIXELS: (u64, u64) = (1, 1 << 32);
    /// `RENDITIOND_SVG_MAX_BYTES`: up to 256 MiB.
    pub const SVG_MAX_BYTES: (usize, usize) = (1, 256 << 20);
    /// `RENDITIOND_SVG_MAX_ELEMENTS`.
    pub const SVG_MAX_ELEMENTS: (usize, usize) = (1, 10_000_000);
    /// `RENDITIOND_SVG_MAX_DEPTH`: what the parser, sanitizer, writer and
    /// resvg are tested to survive on a 2 MiB worker stack.
    pub const SVG_MAX_DEPTH: (usize, usize) = (1, super::MAX_SVG_DEPTH);
    /// `RENDITIOND_SPEC_MAX_BYTES`.
    pub const SPEC_MAX_BYTES: (usize, usize) = (16, 4096);
    /// `RENDITIOND_SPEC_MAX_OPERATIONS`.
    pub const SPEC_MAX_OPERATIONS: (usize, usize) = (1, 64);
    /// `RENDITIOND_WAGTAIL_*_QUALITY`.
    pub const QUALITY: (u8, u8) = (0, 100);
    /// `RENDITIOND_MEMORY_BUDGET`: 16 MiB to 1 TiB.
    pub const MEMORY_BUDGET: (u64, u64) = (16 << 20, 1 << 40);
    /// `RENDITIOND_DECODED_CACHE_BYTES` (at most half the budget at start).
    pub const DECODED_CACHE_BYTES: (u64, u64) = (0, 1 << 40);
    /// `RENDITIOND_VERSION_TTL`, seconds.
    pub const VERSION_TTL: (f64, f64) = (0.0, 86_400.0);
    /// `RENDITIOND_STORAGE_TIMEOUT`, seconds.
    pub const STORAGE_TIMEOUT: (f64, f64) = (0.1, 600.0);
    /// `RENDITIOND_RENDER_TIMEOUT`, seconds.
    pub const RENDER_TIMEOUT: (f64, f64) = (0.1, 600.0);
    /// `RENDITIOND_SHUTDOWN_DELAY`, seconds.
    pub const SHUTDOWN_DELAY: (f64, f64) = (0.0, 600.0);
    /// `RENDITIOND_SHUTDOWN_TIMEOUT`, seconds.
    pub const SHUTDOWN_TIMEOUT: (f64, f64) = (0.0, 3_600.0);
}

/// The least length of a signing key, in bytes (server and `renditiond sign`).
pub const MIN_SIGNING_KEY_BYTES: usize = 16;

/// A whole number within `(min, max)`, inclusive.
fn number<T>(var: &'static str, text: &str, (min, max): (T, T)) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + std::fmt::Display,
{
    match text.trim().parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(err(
            var,
            format!("expected a whole number from {min} to {max}, got {text:?}"),
        )),
    }
}

/// The signing keys of `/r/` URLs: comma-separated, each trimmed and at
/// least [`MIN_SIGNING_KEY_BYTES`] long. The one rule of the server and
/// `renditiond sign`.
pub fn signing_keys(text: &str) -> Result<Vec<Vec<u8>>, ConfigError> {
    let keys: Vec<&str> = text.split(',').map(str::trim).collect();
    if keys.iter().any(|k| k.len() < MIN_SIGNING_KEY_BYTES) {
        return Err(err(
            "RENDITIOND_SIGNING_KEYS",
            format!("every key must be at least {MIN_SIGNING_KEY_BYTES} characters long"),
        ));
    }
    Ok(keys.into_iter().map(|k| k.as_bytes().to_vec()).collect())
}

/// The bounds on filter specs, from their two settings (the server's and
/// `renditiond sign`'s).
pub fn spec_limits(max_bytes: &str, max_operations: &str) -> Result<SpecLimits, ConfigError> {
    Ok(SpecLimits {
        max_bytes: number("RENDITIOND_SPEC_MAX_BYTES", max_bytes, bounds::SPEC_MAX_BYTES)?,
        max_operations: number(
            "RENDITIOND_SPEC_MAX_OPERATIONS",
            max_operations,
            bounds::SPEC_MAX_OPERATIONS,
        )?,
    })
}

/// The site's output settings: its Wagtail version, format conversions and
/// qualities, and what SVG originals become.
fn output(args: &ServeArgs, svg: SvgOutput) -> Result<Output, ConfigError> {
    let version = args
        .wagtail_version
        .trim()
        .parse()
        .map_err(|e: String| err("RENDITIOND_WAGTAIL_VERSION", e))?;
    let quality = |var: &'static str, text: &Option<String>| -> Result<Option<u8>, ConfigError> {
        match text.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => number(var, text, bounds::QUALITY).map(Some),
        }
    };
    let conversions = match args.wagtail_format_conversions.as_deref().map(str::trim) {
        None | Some("") => Vec::new(),
        Some(json) => format_conversions(json)?,
    };
    Ok(Output {
        svg,
        version,
        conversions,
        jpeg_quality: quality("RENDITIOND_WAGTAIL_JPEG_QUALITY", &args.wagtail_jpeg_quality)?,
        webp_quality: quality("RENDITIOND_WAGTAIL_WEBP_QUALITY", &args.wagtail_webp_quality)?,
        avif_quality: quality("RENDITIOND_WAGTAIL_AVIF_QUALITY", &args.wagtail_avif_quality)?,
        heic_quality: quality("RENDITIOND_WAGTAIL_HEIC_QUALITY", &args.wagtail_heic_quality)?,
        negotiation: negotiation(args.format_negotiation.as_deref().unwrap_or(""))?,
        animation: false,
    })
}

/// `RENDITIOND_FORMAT_NEGOTIATION`: distinct names of negotiable formats.
fn negotiation(list: &str) -> Result<Vec<OutputFormat>, ConfigError> {
    const VAR: &str = "RENDITIOND_FORMAT_NEGOTIATION";
    let mut formats = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let format = NEGOTIABLE
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| err(VAR, format!("expected avif or webp, got {name:?}")))?;
        if formats.contains(&format) {
            return Err(err(VAR, format!("{name} is listed twice")));
        }
        formats.push(format);
    }
    Ok(formats)
}

/// `WAGTAILIMAGES_FORMAT_CONVERSIONS` as JSON: an object from Willow's
/// source format names (not `svg`, which Wagtail never converts) to output
/// format names `format-*` takes.
fn format_conversions(json: &str) -> Result<Vec<(SourceFormat, OutputFormat)>, ConfigError> {
    const VAR: &str = "RENDITIOND_WAGTAIL_FORMAT_CONVERSIONS";
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).map_err(|_| err(VAR, "expected a JSON object such as {\"webp\": \"png\"}"))?;
    let mut conversions = Vec::with_capacity(map.len());
    for (from, to) in map {
        let source = from
            .parse::<SourceFormat>()
            .ok()
            .filter(|f| *f != SourceFormat::Svg && f.name() == from)
            .ok_or_else(|| err(VAR, format!("{from:?} is not a source format Wagtail converts")))?;
        let output = to.as_str().and_then(OutputFormat::requestable).ok_or_else(|| {
            err(
                VAR,
                format!("{to} is not an output format (jpeg, png, gif, webp, avif, ico, heic)"),
            )
        })?;
        conversions.push((source, output));
    }
    Ok(conversions)
}

/// The Wagtail settings: both the secret key and the database, or neither.
fn wagtail(args: &ServeArgs) -> Result<Option<WagtailConfig>, ConfigError> {
    let present = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let (keys, url) = match (present(&args.wagtail_secret_key), present(&args.wagtail_database_url)) {
        (None, None) => return Ok(None),
        (Some(_), None) => {
            return Err(err(
                "RENDITIOND_WAGTAIL_DATABASE_URL",
                "the /images/ route needs Wagtail's database",
            ));
        }
        (None, Some(_)) => {
            return Err(err(
                "RENDITIOND_WAGTAIL_SECRET_KEY",
                "the /images/ route needs Wagtail's SECRET_KEY",
            ));
        }
        (Some(keys), Some(url)) => (keys, url),
    };
    let scheme = url.split(':').next().unwrap_or_default();
    if !matches!(scheme, "postgres" | "postgresql" | "mysql" | "mariadb" | "sqlite") {
        return Err(err(
            "RENDITIOND_WAGTAIL_DATABASE_URL",
            format!("expected postgres://, mysql:// or sqlite:, got {scheme:?}"),
        ));
    }
    let table = args.wagtail_image_table.trim();
    if !is_plain_identifier(table) {
        return Err(err(
            "RENDITIOND_WAGTAIL_IMAGE_TABLE",
            format!("expected a plain table name, got {table:?}"),
        ));
    }
    // Django keys are used exactly as written (no trimming inside).
    let secret_keys: Vec<Vec<u8>> = keys
        .split(',')
        .filter(|k| !k.is_empty())
        .map(|k| k.as_bytes().to_vec())
        .collect();
    if secret_keys.is_empty() {
        return Err(err("RENDITIOND_WAGTAIL_SECRET_KEY", "no key given"));
    }
    Ok(Some(WagtailConfig {
        secret_keys,
        database_url: read_only(&url),
        image_table: table.to_owned(),
    }))
}

/// SQLite databases are opened read-only; other servers rely on the
/// database user's rights.
fn read_only(url: &str) -> String {
    if url.starts_with("sqlite:") && !url.contains("mode=") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}mode=ro")
    } else {
        url.to_owned()
    }
}

/// A number of seconds within `(min, max)`, inclusive (never NaN or infinite).
fn seconds(var: &'static str, text: &str, (min, max): (f64, f64)) -> Result<Duration, ConfigError> {
    match text.trim().parse::<f64>() {
        Ok(s) if (min..=max).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(err(
            var,
            format!("expected a number of seconds from {min} to {max}, got {text:?}"),
        )),
    }
}

fn boolean(var: &'static str, text: &str) -> Result<bool, ConfigError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err(err(var, format!("expected true or false, got {text:?}"))),
    }
}

/// The metrics listener's address: unset or empty for none; never the main
/// listener's port on an address that overlaps it.
fn metrics_listen(text: Option<&str>, listen: SocketAddr) -> Result<Option<SocketAddr>, ConfigError> {
    const VAR: &str = "RENDITIOND_METRICS_LISTEN";
    let text = match text.map(str::trim) {
        None | Some("") => return Ok(None),
        Some(text) => text,
    };
    let address: SocketAddr = text
        .parse()
        .map_err(|_| err(VAR, format!("expected HOST:PORT, got {text:?}")))?;
    let overlaps = address.ip() == listen.ip() || address.ip().is_unspecified() || listen.ip().is_unspecified();
    if address.port() != 0 && address.port() == listen.port() && overlaps {
        return Err(err(VAR, format!("{address} is RENDITIOND_LISTEN's port")));
    }
    Ok(Some(address))
}

fn location(var: &'static str, text: &str) -> Result<Location, ConfigError> {
    Location::parse(text).map_err(|e: LocationError| err(var, e))
}

impl Config {
    /// Validates the raw settings; `cores` is the default worker count.
    pub fn from_args(args: &ServeArgs, cores: usize) -> Result<Self, ConfigError> {
        let listen = args.listen.parse().map_err(|_| {
            err(
                "RENDITIOND_LISTEN",
                format!("expected HOST:PORT, got {:?}", args.listen),
            )
        })?;
        let metrics_listen = metrics_listen(args.metrics_listen.as_deref(), listen)?;
        let renditions = args
            .renditions
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| location("RENDITIOND_RENDITIONS", t))
            .transpose()?;
        let signing_keys: Vec<Vec<u8>> = match args.signing_keys.as_deref() {
            None => Vec::new(),
            Some(text) => signing_keys(text)?,
        };
        let action = match args.action.trim() {
            "serve" => Action::Serve,
            "redirect" => Action::Redirect,
            other => {
                return Err(err(
                    "RENDITIOND_ACTION",
                    format!("expected serve or redirect, got {other:?}"),
                ));
            }
        };
        let public_url = match args.public_url.as_deref().filter(|t| !t.is_empty()) {
            None => None,
            Some(text) => match Url::parse(text) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => Some(text.trim_end_matches('/').to_owned()),
                _ => {
                    return Err(err(
                        "RENDITIOND_PUBLIC_URL",
                        format!("expected an http(s) URL, got {text:?}"),
                    ));
                }
            },
        };
        if action == Action::Redirect {
            if renditions.is_none() {
                return Err(err("RENDITIOND_RENDITIONS", "redirect needs a rendition store"));
            }
            if public_url.is_none() {
                return Err(err(
                    "RENDITIOND_PUBLIC_URL",
                    "redirect needs the public URL of the rendition store",
                ));
            }
        }
        if args.cache_control.chars().any(|c| c.is_control()) {
            return Err(err("RENDITIOND_CACHE_CONTROL", "control characters are not allowed"));
        }
        let log_format = match args.log_format.trim() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(err(
                    "RENDITIOND_LOG_FORMAT",
                    format!("expected text or json, got {other:?}"),
                ));
            }
        };
        let svg_output = if boolean("RENDITIOND_SVG_ALWAYS_RASTERIZE", &args.svg_always_rasterize)? {
            SvgOutput::Raster
        } else if boolean("RENDITIOND_SVG_RASTERIZE", &args.svg_rasterize)? {
            SvgOutput::RasterOnRequest
        } else {
            SvgOutput::Svg
        };
        let mut output = output(args, svg_output)?;
        let animation = if boolean("RENDITIOND_ANIMATION", &args.animation)? {
            Some(AnimationLimits {
                max_frames: number(
                    "RENDITIOND_ANIMATION_MAX_FRAMES",
                    &args.animation_max_frames,
                    bounds::ANIMATION_MAX_FRAMES,
                )?,
                max_pixels: number(
                    "RENDITIOND_ANIMATION_MAX_PIXELS",
                    &args.animation_max_pixels,
                    bounds::ANIMATION_MAX_PIXELS,
                )?,
            })
        } else {
            None
        };
        output.animation = animation.is_some();
        let shrink_on_load = ShrinkOnLoad::from_name(args.shrink_on_load.trim()).ok_or_else(|| {
            err(
                "RENDITIOND_SHRINK_ON_LOAD",
                format!("expected quality, fast or off, got {:?}", args.shrink_on_load),
            )
        })?;
        let svg_limits = SvgLimits {
            max_bytes: number("RENDITIOND_SVG_MAX_BYTES", &args.svg_max_bytes, bounds::SVG_MAX_BYTES)?,
            max_elements: number(
                "RENDITIOND_SVG_MAX_ELEMENTS",
                &args.svg_max_elements,
                bounds::SVG_MAX_ELEMENTS,
            )?,
            max_depth: number("RENDITIOND_SVG_MAX_DEPTH", &args.svg_max_depth, bounds::SVG_MAX_DEPTH)?,
            ..SvgLimits::default()
        };
        let spec_limits = spec_limits(&args.spec_max_bytes, &args.spec_max_operations)?;
        let memory_budget = match args.memory_budget.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(number("RENDITIOND_MEMORY_BUDGET", text, bounds::MEMORY_BUDGET)?),
        };
        let decoded_cache_bytes = match args.decoded_cache_bytes.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(number(
                "RENDITIOND_DECODED_CACHE_BYTES",
                text,
                bounds::DECODED_CACHE_BYTES,
            )?),
        };
        let wagtail = wagtail(args)?;
        let api_token = match args.api_token.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(token) if token.len() < 16 => {
                return Err(err("RENDITIOND_API_TOKEN", "must be at least 16 characters"));
            }
            Some(token) => Some(token.to_owned()),
        };
        let workers = match args.workers.as_deref() {
            Some(text) => number("RENDITIOND_WORKERS", text, bounds::WORKERS)?,
            None => cores.clamp(bounds::WORKERS.0, bounds::WORKERS.1),
        };
        Ok(Self {
            listen,
            metrics_listen,
            originals: location("RENDITIOND_ORIGINALS", &args.originals)?,
            renditions,
            render_leases: boolean("RENDITIOND_RENDER_LEASES", &args.render_leases)?,
            signing_keys,
            allow_unsigned: boolean("RENDITIOND_ALLOW_UNSIGNED", &args.allow_unsigned)?,
            memory_cache_bytes: number(
                "RENDITIOND_MEMORY_CACHE_BYTES",
                &args.memory_cache_bytes,
                bounds::MEMORY_CACHE_BYTES,
            )?,
            action,
            public_url,
            cache_control: args.cache_control.trim().to_owned(),
            log_format,
            workers,
            queue_length: number("RENDITIOND_QUEUE_LENGTH", &args.queue_length, bounds::QUEUE_LENGTH)?,
            version_ttl: seconds("RENDITIOND_VERSION_TTL", &args.version_ttl, bounds::VERSION_TTL)?,
            storage_timeout: seconds(
                "RENDITIOND_STORAGE_TIMEOUT",
                &args.storage_timeout,
                bounds::STORAGE_TIMEOUT,
            )?,
            max_source_bytes: number(
                "RENDITIOND_MAX_SOURCE_BYTES",
                &args.max_source_bytes,
                bounds::MAX_SOURCE_BYTES,
            )?,
            max_pixels: number("RENDITIOND_MAX_PIXELS", &args.max_pixels, bounds::MAX_PIXELS)?,
            output,
            animation,
            shrink_on_load,
            svg_limits,
            spec_limits,
            render_timeout: seconds(
                "RENDITIOND_RENDER_TIMEOUT",
                &args.render_timeout,
                bounds::RENDER_TIMEOUT,
            )?,
            memory_budget,
            decoded_cache_bytes,
            wagtail,
            api_token,
            shutdown_delay: seconds(
                "RENDITIOND_SHUTDOWN_DELAY",
                &args.shutdown_delay,
                bounds::SHUTDOWN_DELAY,
            )?,
            shutdown_timeout: seconds(
                "RENDITIOND_SHUTDOWN_TIMEOUT",
                &args.shutdown_timeout,
                bounds::SHUTDOWN_TIMEOUT,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn config(flags: &[&str]) -> Result<Config, ConfigError> {
        let cli = Cli::try_parse_from(std::iter::once("serve").chain(flags.iter().copied())).expect("flags parse");
        Config::from_args(&cli.args, 4)
    }

    #[test]
    fn defaults_serve_the_test_images_locally() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.metrics_listen, None);
        let metrics = config(&["--listen", "0.0.0.0:8080", "--metrics-listen", "0.0.0.0:9090"]).expect("valid");
        assert_eq!(
            metrics.metrics_listen.map(|a| a.to_string()).as_deref(),
            Some("0.0.0.0:9090")
        );
        assert_eq!(config(&["--metrics-listen", ""]).expect("valid").metrics_listen, None);
        let both_free = config(&["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"]).expect("valid");
        assert_eq!(both_free.metrics_listen.map(|a| a.port()), Some(0));
        assert_eq!(c.originals, Location::Local("./test-images".into()));
        assert_eq!((c.renditions, c.action, c.workers), (None, Action::Serve, 4));
        assert_eq!(c.memory_cache_bytes, 256 << 20);
        assert_eq!(c.cache_control, "public, max-age=3600");
        assert!(c.signing_keys.is_empty() && !c.allow_unsigned && c.render_leases);
        assert_eq!((c.output.svg, c.svg_limits), (SvgOutput::Svg, SvgLimits::default()));
        assert_eq!(c.output, Output::default());
        let raster = config(&["--svg-rasterize", "true"]).expect("valid");
        assert_eq!(raster.output.svg, SvgOutput::RasterOnRequest);
        let always = config(&["--svg-always-rasterize", "yes"]).expect("valid");
        assert_eq!(always.output.svg, SvgOutput::Raster);
        assert!(c.wagtail.is_none() && c.api_token.is_none());
        let wagtail = config(&[
            "--wagtail-secret-key",
            "new,old",
            "--wagtail-database-url",
            "sqlite:///srv/db.sqlite3",
        ])
        .expect("valid")
        .wagtail
        .expect("on");
        assert_eq!(wagtail.secret_keys, [b"new".to_vec(), b"old".to_vec()]);
        assert_eq!(wagtail.database_url, "sqlite:///srv/db.sqlite3?mode=ro");
        assert_eq!(wagtail.image_table, "wagtailimages_image");
        let site = config(&[
            "--wagtail-version",
            "7.0",
            "--wagtail-format-conversions",
            r#"{"webp": "avif", "gif": "gif"}"#,
            "--wagtail-jpeg-quality",
            "60",
        ])
        .expect("valid")
        .output;
        assert_eq!(site.version.to_string(), "7.0");
        assert_eq!(
            site.conversions,
            [
                (SourceFormat::Webp, OutputFormat::Avif),
                (SourceFormat::Gif, OutputFormat::Gif)
            ]
        );
        assert_eq!(
            (site.jpeg_quality, site.jpeg_quality(), site.avif_quality()),
            (Some(60), 60, 80)
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (flags, var) in [
            (&["--listen", "nowhere"][..], "RENDITIOND_LISTEN"),
            (&["--metrics-listen", "9090"], "RENDITIOND_METRICS_LISTEN"),
            (&["--metrics-listen", "localhost:9090"], "RENDITIOND_METRICS_LISTEN"),
            (&["--metrics-listen", "127.0.0.1:8080"], "RENDITIOND_METRICS_LISTEN"),
            (&["--metrics-listen", "0.0.0.0:8080"], "RENDITIOND_METRICS_LISTEN"),
            (&["--originals", "ftp://x/y"], "RENDITIOND_ORIGINALS"),
            (&["--renditions", "s3://"], "RENDITIOND_RENDITIONS"),
            (&["--signing-keys", "short"], "RENDITIOND_SIGNING_KEYS"),
            (&["--allow-unsigned", "maybe"], "RENDITIOND_ALLOW_UNSIGNED"),
            (&["--memory-cache-bytes", "lots"], "RENDITIOND_MEMORY_CACHE_BYTES"),
            (&["--action", "proxy"], "RENDITIOND_ACTION"),
            (&["--action", "redirect"], "RENDITIOND_RENDITIONS"),
            (
                &["--action", "redirect", "--renditions", "/tmp"],
                "RENDITIOND_PUBLIC_URL",
            ),
            (&["--public-url", "cdn.example.com"], "RENDITIOND_PUBLIC_URL"),
            (&["--log-format", "xml"], "RENDITIOND_LOG_FORMAT"),
            (&["--workers", "0"], "RENDITIOND_WORKERS"),
            (&["--queue-length=-1"], "RENDITIOND_QUEUE_LENGTH"),
            (&["--version-ttl", "soon"], "RENDITIOND_VERSION_TTL"),
            (&["--storage-timeout=-3"], "RENDITIOND_STORAGE_TIMEOUT"),
            (&["--max-source-bytes", "0"], "RENDITIOND_MAX_SOURCE_BYTES"),
            (&["--max-pixels", "1e9"], "RENDITIOND_MAX_PIXELS"),
            (&["--svg-rasterize", "maybe"], "RENDITIOND_SVG_RASTERIZE"),
            (&["--svg-max-depth", "0"], "RENDITIOND_SVG_MAX_DEPTH"),
            (&["--wagtail-secret-key", "s"], "RENDITIOND_WAGTAIL_DATABASE_URL"),
            (
                &["--wagtail-database-url", "sqlite:x.db"],
                "RENDITIOND_WAGTAIL_SECRET_KEY",
            ),
            (
                &["--wagtail-secret-key", "s", "--wagtail-database-url", "redis://x"],
                "RENDITIOND_WAGTAIL_DATABASE_URL",
            ),
            (
                &[
                    "--wagtail-secret-key",
                    "s",
                    "--wagtail-database-url",
                    "sqlite:x.db",
                    "--wagtail-image-table",
                    "images; DROP TABLE x",
                ],
                "RENDITIOND_WAGTAIL_IMAGE_TABLE",
            ),
            (&["--api-token", "short"], "RENDITIOND_API_TOKEN"),
            (&["--animation", "sometimes"], "RENDITIOND_ANIMATION"),
            (&["--shrink-on-load", "faster"], "RENDITIOND_SHRINK_ON_LOAD"),
            (
                &["--animation", "true", "--animation-max-frames", "0"],
                "RENDITIOND_ANIMATION_MAX_FRAMES",
            ),
            (
                &["--animation", "true", "--animation-max-pixels", "lots"],
                "RENDITIOND_ANIMATION_MAX_PIXELS",
            ),
            (&["--wagtail-version", "6.3"], "RENDITIOND_WAGTAIL_VERSION"),
            (&["--wagtail-jpeg-quality", "101"], "RENDITIOND_WAGTAIL_JPEG_QUALITY"),
            (&["--wagtail-avif-quality", "high"], "RENDITIOND_WAGTAIL_AVIF_QUALITY"),
            (
                &["--wagtail-format-conversions", "webp=png"],
                "RENDITIOND_WAGTAIL_FORMAT_CONVERSIONS",
            ),
            (
                &["--wagtail-format-conversions", r#"{"webp": "bmp"}"#],
                "RENDITIOND_WAGTAIL_FORMAT_CONVERSIONS",
            ),
            (
                &["--wagtail-format-conversions", r#"{"svg": "png"}"#],
                "RENDITIOND_WAGTAIL_FORMAT_CONVERSIONS",
            ),
            (&["--format-negotiation", "avif,jxl"], "RENDITIOND_FORMAT_NEGOTIATION"),
            (&["--format-negotiation", "jpeg"], "RENDITIOND_FORMAT_NEGOTIATION"),
            (
                &["--format-negotiation", "webp,avif,WEBP"],
                "RENDITIOND_FORMAT_NEGOTIATION",
            ),
            (&["--shutdown-delay", "inf"], "RENDITIOND_SHUTDOWN_DELAY"),
            (&["--shutdown-timeout", "x"], "RENDITIOND_SHUTDOWN_TIMEOUT"),
            // Every numeric setting has an upper bound.
            (&["--workers", "18446744073709551615"], "RENDITIOND_WORKERS"),
            (&["--workers", "513"], "RENDITIOND_WORKERS"),
            (&["--queue-length", "18446744073709551615"], "RENDITIOND_QUEUE_LENGTH"),
            (&["--queue-length", "10001"], "RENDITIOND_QUEUE_LENGTH"),
            (
                &["--memory-cache-bytes", "1099511627777"],
                "RENDITIOND_MEMORY_CACHE_BYTES",
            ),
            (&["--max-source-bytes", "4294967297"], "RENDITIOND_MAX_SOURCE_BYTES"),
            (&["--max-pixels", "4294967297"], "RENDITIOND_MAX_PIXELS"),
            (&["--svg-max-bytes", "268435457"], "RENDITIOND_SVG_MAX_BYTES"),
            (&["--svg-max-elements", "10000001"], "RENDITIOND_SVG_MAX_ELEMENTS"),
            (&["--svg-max-depth", "100000000"], "RENDITIOND_SVG_MAX_DEPTH"),
            (
                &["--svg-max-depth", &(MAX_SVG_DEPTH + 1).to_string()],
                "RENDITIOND_SVG_MAX_DEPTH",
            ),
            (&["--version-ttl", "86401"], "RENDITIOND_VERSION_TTL"),
            (&["--version-ttl", "nan"], "RENDITIOND_VERSION_TTL"),
            (&["--storage-timeout", "601"], "RENDITIOND_STORAGE_TIMEOUT"),
            (&["--storage-timeout", "0"], "RENDITIOND_STORAGE_TIMEOUT"),
            (&["--shutdown-delay", "601"], "RENDITIOND_SHUTDOWN_DELAY"),
            (&["--shutdown-timeout", "1e300"], "RENDITIOND_SHUTDOWN_TIMEOUT"),
            (&["--render-timeout", "0.05"], "RENDITIOND_RENDER_TIMEOUT"),
            (&["--render-timeout", "601"], "RENDITIOND_RENDER_TIMEOUT"),
            (&["--render-timeout", "soon"], "RENDITIOND_RENDER_TIMEOUT"),
            (&["--memory-budget", "1099511627777"], "RENDITIOND_MEMORY_BUDGET"),
            (&["--memory-budget", "1000"], "RENDITIOND_MEMORY_BUDGET"),
            (&["--memory-budget", "lots"], "RENDITIOND_MEMORY_BUDGET"),
            (&["--decoded-cache-bytes", "many"], "RENDITIOND_DECODED_CACHE_BYTES"),
            (&["--spec-max-bytes", "15"], "RENDITIOND_SPEC_MAX_BYTES"),
            (&["--spec-max-bytes", "4097"], "RENDITIOND_SPEC_MAX_BYTES"),
            (&["--spec-max-operations", "0"], "RENDITIOND_SPEC_MAX_OPERATIONS"),
            (&["--spec-max-operations", "65"], "RENDITIOND_SPEC_MAX_OPERATIONS"),
            (&["--signing-keys", ","], "RENDITIOND_SIGNING_KEYS"),
            (&["--signing-keys", ""], "RENDITIOND_SIGNING_KEYS"),
            (
                &["--wagtail-secret-key", ",", "--wagtail-database-url", "sqlite:x.db"],
                "RENDITIOND_WAGTAIL_SECRET_KEY",
            ),
        ] {
            match config(flags) {
                Err(e) => {
                    assert_eq!(e.var, var, "{flags:?}");
                    assert!(e.to_string().starts_with(var), "{e}");
                }
                Ok(_) => panic!("{flags:?} was accepted"),
            }
        }
    }

    #[test]
    fn new_settings_have_defaults_and_bounds() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c.spec_limits, SpecLimits::default());
        assert_eq!(c.render_timeout, Duration::from_secs(8));
        assert_eq!((c.memory_budget, c.decoded_cache_bytes), (None, None));
        assert_eq!(c.storage_timeout, Duration::from_secs(10));
        let c = config(&[
            "--spec-max-bytes",
            "4096",
            "--spec-max-operations",
            "64",
            "--render-timeout",
            "0.1",
            "--memory-budget",
            "1073741824",
            "--workers",
            "512",
            "--queue-length",
            "10000",
            "--svg-max-depth",
            &MAX_SVG_DEPTH.to_string(),
        ])
        .expect("values at the bounds are valid");
        assert_eq!(
            c.spec_limits,
            SpecLimits {
                max_bytes: 4096,
                max_operations: 64
            }
        );
        assert_eq!(c.render_timeout, Duration::from_millis(100));
        assert_eq!(c.memory_budget, Some(1 << 30));
        assert_eq!((c.workers, c.queue_length), (512, 10_000));
        assert_eq!(c.svg_limits.max_depth, MAX_SVG_DEPTH);
        // A machine with more cores than the bound gets the bound.
        let cli = Cli::try_parse_from(["serve"]).expect("flags parse");
        assert_eq!(Config::from_args(&cli.args, 100_000).expect("valid").workers, 512);
        assert_eq!(config(&["--memory-budget", ""]).expect("valid").memory_budget, None);
    }

    #[test]
    fn format_negotiation_is_an_ordered_list_and_off_by_default() {
        let negotiation = |flags: &[&str]| config(flags).expect("valid").output.negotiation;
        assert!(negotiation(&[]).is_empty());
        assert!(negotiation(&["--format-negotiation", " "]).is_empty());
        assert_eq!(
            negotiation(&["--format-negotiation", "WebP, avif"]),
            [OutputFormat::Webp, OutputFormat::Avif]
        );
        assert_eq!(negotiation(&["--format-negotiation", "avif"]), [OutputFormat::Avif]);
    }

    #[test]
    fn shrink_on_load_keeps_quality_by_default() {
        let rule = |flags: &[&str]| config(flags).expect("valid").shrink_on_load;
        assert_eq!(rule(&[]), ShrinkOnLoad::Quality);
        assert_eq!(rule(&["--shrink-on-load", " fast"]), ShrinkOnLoad::Fast);
        assert_eq!(rule(&["--shrink-on-load", "off"]), ShrinkOnLoad::Off);
    }

    #[test]
    fn animation_is_off_by_default_and_carries_its_budget() {
        let off = config(&[]).expect("valid");
        assert_eq!((off.animation, off.output.animation), (None, false));
        let on = config(&["--animation", "true", "--animation-max-frames", "50"]).expect("valid");
        let budget = AnimationLimits {
            max_frames: 50,
            max_pixels: animation::DEFAULT_MAX_PIXELS,
        };
        assert_eq!((on.animation, on.output.animation), (Some(budget), true));
    }

    #[test]
    fn signing_keys_share_one_rule() {
        assert!(signing_keys("0123456789abcdef").is_ok());
        assert!(signing_keys(" 0123456789abcdef , fedcba9876543210 ").is_ok());
        for bad in ["", ",", "short", "0123456789abcdef,", "0123456789abcdef,short"] {
            assert_eq!(
                signing_keys(bad).map_err(|e| e.var),
                Err("RENDITIOND_SIGNING_KEYS"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rotation_keys_and_redirect() {
        let c = config(&[
            "--signing-keys",
            "0123456789abcdef, fedcba9876543210",
            "--action",
            "redirect",
            "--renditions",
            "s3://bucket/renditions",
            "--public-url",
            "https://cdn.example.com/r/",
        ])
        .expect("valid");
        assert_eq!(
            c.signing_keys,
            [b"0123456789abcdef".to_vec(), b"fedcba9876543210".to_vec()]
        );
        assert_eq!(c.public_url.as_deref(), Some("https://cdn.example.com/r"));
        assert_eq!(c.action, Action::Redirect);
    }
}
