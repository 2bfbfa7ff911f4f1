//! Service configuration: every `serve` setting, read from its flag or its
//! `RENDITIOND_*` environment variable, then validated. A bad value stops the
//! start with one line naming the variable. No I/O here.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;
use url::Url;

use crate::pipeline::DEFAULT_MAX_PIXELS;
use crate::plan::SvgOutput;
use crate::store::{Location, LocationError};
use crate::svg::SvgLimits;
use crate::wagtail::{DEFAULT_TABLE, is_plain_identifier};

/// The raw settings of `renditiond serve`, as given.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "RENDITIOND_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Where originals live: a folder, file://, s3://bucket[/prefix], gs://… or az://…
    /// (cloud credentials from the usual AWS_*, GOOGLE_*, AZURE_* variables).
    #[arg(long, env = "RENDITIOND_ORIGINALS", default_value = "./test-images")]
    pub originals: String,
    /// Shared rendition store, same forms as the originals; unset: memory cache only.
    #[arg(long, env = "RENDITIOND_RENDITIONS")]
    pub renditions: Option<String>,
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
    /// Bearer token of POST /v1/plan; unset: the endpoint is off.
    #[arg(long, env = "RENDITIOND_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
    /// Seconds one render may take before it is abandoned (503).
    #[arg(long, env = "RENDITIOND_RENDER_TIMEOUT", default_value = "8")]
    pub render_timeout: String,
    /// Bytes the renders running at once may use together (default: derived
    /// from the cgroup memory limit, else 1 GiB).
    #[arg(long, env = "RENDITIOND_MEMORY_BUDGET")]
    pub memory_budget: Option<String>,
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
    /// Where originals live.
    pub originals: Location,
    /// The shared rendition store, if any.
    pub renditions: Option<Location>,
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
    /// What SVG originals become.
    pub svg_output: SvgOutput,
    /// Bounds on SVG originals.
    pub svg_limits: SvgLimits,
    /// The Wagtail site, when the /images/ route is on.
    pub wagtail: Option<WagtailConfig>,
    /// Bearer token of POST /v1/plan, when it is on.
    pub api_token: Option<String>,
    /// How long one render may take.
    pub render_timeout: Duration,
    /// Bytes the renders running at once may use together; `None`: derived
    /// from the host at startup.
    pub memory_budget: Option<u64>,
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

fn number<T>(var: &'static str, text: &str, min: T) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + std::fmt::Display,
{
    match text.trim().parse::<T>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(err(
            var,
            format!("expected a whole number of at least {min}, got {text:?}"),
        )),
    }
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
    Ok(Some(WagtailConfig {
        // Django keys are used exactly as written (no trimming inside).
        secret_keys: keys
            .split(',')
            .filter(|k| !k.is_empty())
            .map(|k| k.as_bytes().to_vec())
            .collect(),
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

fn seconds(var: &'static str, text: &str) -> Result<Duration, ConfigError> {
    match text.trim().parse::<f64>() {
        Ok(s) if (0.0..=86_400.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(err(var, format!("expected a number of seconds, got {text:?}"))),
    }
}

fn boolean(var: &'static str, text: &str) -> Result<bool, ConfigError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err(err(var, format!("expected true or false, got {text:?}"))),
    }
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
        let renditions = args
            .renditions
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| location("RENDITIOND_RENDITIONS", t))
            .transpose()?;
        let signing_keys: Vec<Vec<u8>> = match args.signing_keys.as_deref() {
            None => Vec::new(),
            Some(text) => {
                let keys: Vec<&str> = text.split(',').map(str::trim).collect();
                if keys.iter().any(|k| k.len() < 16) {
                    return Err(err(
                        "RENDITIOND_SIGNING_KEYS",
                        "every key must be at least 16 characters long",
                    ));
                }
                keys.into_iter().map(|k| k.as_bytes().to_vec()).collect()
            }
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
        let svg_limits = SvgLimits {
            max_bytes: number("RENDITIOND_SVG_MAX_BYTES", &args.svg_max_bytes, 1)?,
            max_elements: number("RENDITIOND_SVG_MAX_ELEMENTS", &args.svg_max_elements, 1)?,
            max_depth: number("RENDITIOND_SVG_MAX_DEPTH", &args.svg_max_depth, 1)?,
            ..SvgLimits::default()
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
            Some(text) => number("RENDITIOND_WORKERS", text, 1)?,
            None => cores.max(1),
        };
        Ok(Self {
            listen,
            originals: location("RENDITIOND_ORIGINALS", &args.originals)?,
            renditions,
            signing_keys,
            allow_unsigned: boolean("RENDITIOND_ALLOW_UNSIGNED", &args.allow_unsigned)?,
            memory_cache_bytes: number("RENDITIOND_MEMORY_CACHE_BYTES", &args.memory_cache_bytes, 0)?,
            action,
            public_url,
            cache_control: args.cache_control.trim().to_owned(),
            log_format,
            workers,
            queue_length: number("RENDITIOND_QUEUE_LENGTH", &args.queue_length, 0)?,
            version_ttl: seconds("RENDITIOND_VERSION_TTL", &args.version_ttl)?,
            storage_timeout: seconds("RENDITIOND_STORAGE_TIMEOUT", &args.storage_timeout)?
                .max(Duration::from_millis(100)),
            max_source_bytes: number("RENDITIOND_MAX_SOURCE_BYTES", &args.max_source_bytes, 1)?,
            max_pixels: number("RENDITIOND_MAX_PIXELS", &args.max_pixels, 1)?,
            svg_output,
            svg_limits,
            wagtail,
            api_token,
            render_timeout: seconds("RENDITIOND_RENDER_TIMEOUT", &args.render_timeout)?.max(Duration::from_millis(100)),
            memory_budget: args
                .memory_budget
                .as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(|t| number("RENDITIOND_MEMORY_BUDGET", t, 1 << 20))
                .transpose()?,
            shutdown_delay: seconds("RENDITIOND_SHUTDOWN_DELAY", &args.shutdown_delay)?,
            shutdown_timeout: seconds("RENDITIOND_SHUTDOWN_TIMEOUT", &args.shutdown_timeout)?,
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
        assert_eq!(c.originals, Location::Local("./test-images".into()));
        assert_eq!((c.renditions, c.action, c.workers), (None, Action::Serve, 4));
        assert_eq!(c.memory_cache_bytes, 256 << 20);
        assert_eq!(c.cache_control, "public, max-age=3600");
        assert!(c.signing_keys.is_empty() && !c.allow_unsigned);
        assert_eq!((c.svg_output, c.svg_limits), (SvgOutput::Svg, SvgLimits::default()));
        let raster = config(&["--svg-rasterize", "true"]).expect("valid");
        assert_eq!(raster.svg_output, SvgOutput::RasterOnRequest);
        let always = config(&["--svg-always-rasterize", "yes"]).expect("valid");
        assert_eq!(always.svg_output, SvgOutput::Raster);
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
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (flags, var) in [
            (&["--listen", "nowhere"][..], "RENDITIOND_LISTEN"),
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
            (&["--shutdown-delay", "inf"], "RENDITIOND_SHUTDOWN_DELAY"),
            (&["--shutdown-timeout", "x"], "RENDITIOND_SHUTDOWN_TIMEOUT"),
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
