//! Wagtail's image table, read-only: which original an image id stands for,
//! its size, focal point and file hash. One async driver (sqlx) for
//! PostgreSQL, MySQL and SQLite; rows are cached for a short time; every
//! query has a deadline, so a database outage is an error, never a hang.

use std::sync::{Arc, Once};
use std::time::Duration;

use moka::future::Cache;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};
use thiserror::Error;

use crate::plan::FocalPoint;

/// Wagtail's default image table.
pub const DEFAULT_TABLE: &str = "wagtailimages_image";

/// One row of the image table: what renditiond needs of a Wagtail image.
#[derive(Debug, Clone, PartialEq)]
pub struct WagtailImage {
    /// The original's storage key (`original_images/photo.jpg`).
    pub file: String,
    /// Width Wagtail recorded.
    pub width: u32,
    /// Height Wagtail recorded.
    pub height: u32,
    /// The focal point, when one is set.
    pub focal_point: Option<FocalPoint>,
    /// SHA-1 of the original's bytes (may be empty).
    pub file_hash: String,
}

/// Why the image table could not be read.
#[derive(Debug, Clone, Error)]
#[error("the Wagtail database is unavailable: {0}")]
pub struct DatabaseError(String);

/// The image table behind a connection pool.
#[derive(Debug, Clone)]
pub struct ImageTable {
    pool: AnyPool,
    query: String,
    rows: Cache<i64, Option<Arc<WagtailImage>>>,
    timeout: Duration,
}

impl ImageTable {
    /// A lazily connecting pool on `url` (`postgres://`, `mysql://`,
    /// `sqlite://`) reading `table`; queries get `timeout`, rows are trusted
    /// for `ttl`. `table` must be a plain SQL identifier (checked by config).
    pub fn open(url: &str, table: &str, timeout: Duration, ttl: Duration) -> Result<Self, String> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(install_default_drivers);
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .min_connections(0)
            .acquire_timeout(timeout)
            .idle_timeout(Duration::from_secs(300))
            .connect_lazy(url)
            .map_err(|e| e.to_string())?;
        let query = format!(
            "SELECT file, width, height, focal_point_x, focal_point_y, focal_point_width, focal_point_height, \
             file_hash FROM {table} WHERE id = "
        );
        Ok(Self {
            pool,
            query,
            rows: Cache::builder().max_capacity(100_000).time_to_live(ttl).build(),
            timeout,
        })
    }

    /// The image with primary key `id`, if there is one.
    pub async fn find(&self, id: i64) -> Result<Option<Arc<WagtailImage>>, DatabaseError> {
        self.rows
            .try_get_with(id, self.query_row(id))
            .await
            .map_err(|e| (*e).clone())
    }

    /// Whether the database answers.
    pub async fn check(&self) -> Result<(), DatabaseError> {
        let ping = sqlx::query("SELECT 1").fetch_one(&self.pool);
        match tokio::time::timeout(self.timeout, ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(DatabaseError(e.to_string())),
            Err(_) => Err(DatabaseError("timed out".into())),
        }
    }

    async fn query_row(&self, id: i64) -> Result<Option<Arc<WagtailImage>>, DatabaseError> {
        // The id is an integer, so it is written into the query: one text for
        // every driver, whatever its placeholder syntax.
        let sql = format!("{}{id}", self.query);
        let fetch = sqlx::query(&sql).fetch_optional(&self.pool);
        let row = match tokio::time::timeout(self.timeout, fetch).await {
            Ok(Ok(row)) => row,
            Ok(Err(e)) => return Err(DatabaseError(e.to_string())),
            Err(_) => return Err(DatabaseError("timed out".into())),
        };
        let Some(row) = row else {
            return Ok(None);
        };
        let read = |e: sqlx::Error| DatabaseError(format!("unexpected image row: {e}"));
        let int = |name: &str| -> Result<Option<i64>, DatabaseError> { row.try_get(name).map_err(read) };
        let size = |name: &str| -> Result<u32, DatabaseError> {
            let value = int(name)?.unwrap_or(0);
            u32::try_from(value).map_err(|_| DatabaseError(format!("{name} is {value}")))
        };
        let focal = [
            int("focal_point_x")?,
            int("focal_point_y")?,
            int("focal_point_width")?,
            int("focal_point_height")?,
        ];
        let focal_point = match focal.map(|v| v.and_then(|v| u32::try_from(v).ok())) {
            [Some(x), Some(y), Some(w), Some(h)] => Some(FocalPoint::new(x, y, w, h)),
            _ => None,
        };
        Ok(Some(Arc::new(WagtailImage {
            file: row.try_get("file").map_err(read)?,
            width: size("width")?,
            height: size("height")?,
            focal_point,
            file_hash: row
                .try_get::<Option<String>, _>("file_hash")
                .map_err(read)?
                .unwrap_or_default(),
        })))
    }
}

/// Whether `name` can be written into SQL as a table name as it is.
pub fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}
