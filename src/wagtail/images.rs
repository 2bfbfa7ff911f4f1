//! Wagtail's image table, read-only: which original an image id stands for,
//! its size, focal point and file hash. One async driver (sqlx) for
//! PostgreSQL, MySQL and SQLite; rows are cached for a short time; every
//! query has a deadline, so a database outage is an error, never a hang.

use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use moka::future::Cache;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};
use thiserror::Error;

use crate::plan::FocalPoint;
use crate::store::StorageKey;

/// Wagtail's default image table.
pub const DEFAULT_TABLE: &str = "wagtailimages_image";

/// Bytes the cache of image rows may hold.
pub const ROWS_CACHE_BYTES: u64 = 16 << 20;

/// What a cached row costs besides its text (map slot, `Arc`, numbers).
const ROW_OVERHEAD: usize = 160;

/// How long a row is trusted, whatever version a URL names, before it may
/// be read again: URLs with made-up versions cost at most one query per
/// image and second.
const MIN_REREAD: Duration = Duration::from_secs(1);

/// Hex digits of an image version.
pub const VERSION_CHARS: usize = 12;

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

impl WagtailImage {
    /// What tells this row from an earlier or later one of the same image:
    /// the first [`VERSION_CHARS`] hex digits of SHA-256 over the file name,
    /// file hash and focal point (`x,y,width,height`, empty without one),
    /// one per line. The Wagtail adapter computes the same from its model.
    pub fn version(&self) -> String {
        let focal = self.focal_point.map_or_else(String::new, |f| f.to_string());
        let digest = Sha256::digest(format!("{}\n{}\n{focal}", self.file, self.file_hash).as_bytes());
        let mut text = hex::encode(digest);
        text.truncate(VERSION_CHARS);
        text
    }
}

/// A row as cached: the image (none when there is no such id) and when it was read.
#[derive(Debug, Clone)]
struct CachedRow {
    image: Option<Arc<WagtailImage>>,
    read: Instant,
}

/// Why an image could not be read from the table.
#[derive(Debug, Clone, Error)]
pub enum DatabaseError {
    /// The database did not answer, or not in time: worth retrying.
    #[error("the Wagtail database is unavailable: {0}")]
    Unavailable(String),
    /// The row holds what Django's schema does not allow (a NULL, empty or
    /// unsafe file name, sizes that are NULL, negative or not numbers, a
    /// focal point value that is not a non-negative integer): retrying
    /// cannot help.
    #[error("the row of Wagtail image {id} is unusable: {reason}")]
    BadRow {
        /// The image id.
        id: i64,
        /// What is wrong with the row.
        reason: String,
    },
}

impl DatabaseError {
    /// Whether the row itself is broken (not retryable), rather than the
    /// database unavailable.
    pub fn is_bad_row(&self) -> bool {
        matches!(self, Self::BadRow { .. })
    }
}

/// The image table behind a connection pool.
#[derive(Debug, Clone)]
pub struct ImageTable {
    pool: AnyPool,
    query: String,
    rows: Cache<i64, CachedRow>,
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
            rows: Cache::builder()
                .max_capacity(ROWS_CACHE_BYTES)
                .weigher(|_, row: &CachedRow| {
                    let text = row.image.as_ref().map_or(0, |r| r.file.len() + r.file_hash.len());
                    u32::try_from(ROW_OVERHEAD + text).unwrap_or(u32::MAX)
                })
                .time_to_live(ttl)
                .build(),
            timeout,
        })
    }

    /// The image with primary key `id`, if there is one.
    pub async fn find(&self, id: i64) -> Result<Option<Arc<WagtailImage>>, DatabaseError> {
        self.find_current(id, None).await
    }

    /// [`find`](Self::find), read again from the database when the cached
    /// row is not of `version` (a URL or a plan request naming a newer row
    /// than the cache holds), at most once per [`MIN_REREAD`].
    pub async fn find_current(
        &self,
        id: i64,
        version: Option<&str>,
    ) -> Result<Option<Arc<WagtailImage>>, DatabaseError> {
        let cached = self.cached(id).await?;
        let Some(version) = version else {
            return Ok(cached.image);
        };
        let current = cached.image.as_ref().is_some_and(|image| image.version() == version);
        if current || cached.read.elapsed() < MIN_REREAD {
            return Ok(cached.image);
        }
        self.rows.invalidate(&id).await;
        Ok(self.cached(id).await?.image)
    }

    async fn cached(&self, id: i64) -> Result<CachedRow, DatabaseError> {
        self.rows
            .try_get_with(id, async {
                let image = self.query_row(id).await?;
                Ok::<_, DatabaseError>(CachedRow {
                    image,
                    read: Instant::now(),
                })
            })
            .await
            .map_err(|e| (*e).clone())
    }

    /// Whether the database answers.
    pub async fn check(&self) -> Result<(), DatabaseError> {
        let ping = sqlx::query("SELECT 1").fetch_one(&self.pool);
        match tokio::time::timeout(self.timeout, ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(DatabaseError::Unavailable(e.to_string())),
            Err(_) => Err(DatabaseError::Unavailable("timed out".into())),
        }
    }

    async fn query_row(&self, id: i64) -> Result<Option<Arc<WagtailImage>>, DatabaseError> {
        // The id is an integer, so it is written into the query: one text for
        // every driver, whatever its placeholder syntax.
        let sql = format!("{}{id}", self.query);
        let fetch = sqlx::query(&sql).fetch_optional(&self.pool);
        let row = match tokio::time::timeout(self.timeout, fetch).await {
            Ok(Ok(row)) => row,
            Ok(Err(e)) => return Err(DatabaseError::Unavailable(e.to_string())),
            Err(_) => return Err(DatabaseError::Unavailable("timed out".into())),
        };
        match row {
            Some(row) => read_row(id, &row).map(|image| Some(Arc::new(image))),
            None => Ok(None),
        }
    }
}

/// An image row, checked: a file name that is a storage key, sizes that
/// are non-negative integers, and a focal point of four non-negative
/// integers or none (a NULL among them means none, as in Wagtail).
fn read_row(id: i64, row: &AnyRow) -> Result<WagtailImage, DatabaseError> {
    let bad = |reason: String| DatabaseError::BadRow { id, reason };
    let int = |name: &str| -> Result<Option<i64>, DatabaseError> {
        row.try_get::<Option<i64>, _>(name)
            .map_err(|e| bad(format!("{name} is not an integer: {e}")))
    };
    let non_negative = |name: &str| -> Result<Option<u32>, DatabaseError> {
        int(name)?
            .map(|value| u32::try_from(value).map_err(|_| bad(format!("{name} is {value}"))))
            .transpose()
    };
    let size = |name: &str| -> Result<u32, DatabaseError> {
        non_negative(name)?.ok_or_else(|| bad(format!("{name} is NULL")))
    };
    let focal = [
        non_negative("focal_point_x")?,
        non_negative("focal_point_y")?,
        non_negative("focal_point_width")?,
        non_negative("focal_point_height")?,
    ];
    let focal_point = match focal {
        [Some(x), Some(y), Some(w), Some(h)] => Some(FocalPoint::new(x, y, w, h)),
        _ => None,
    };
    let file: Option<String> = row.try_get("file").map_err(|e| bad(format!("file is not text: {e}")))?;
    let file = file.ok_or_else(|| bad("file is NULL".into()))?;
    StorageKey::new(&file).map_err(|e| bad(format!("file {file:?}: {e}")))?;
    Ok(WagtailImage {
        file,
        width: size("width")?,
        height: size("height")?,
        focal_point,
        file_hash: row
            .try_get::<Option<String>, _>("file_hash")
            .map_err(|e| bad(format!("file_hash is not text: {e}")))?
            .unwrap_or_default(),
    })
}

/// Whether `name` can be written into SQL as a table name as it is.
pub fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use sqlx::Connection;
    use sqlx::sqlite::SqliteConnection;

    use super::*;

    /// A SQLite table of Wagtail's columns, without the schema's NOT NULL
    /// and CHECK constraints, so rows Django could not write can be written.
    fn table(rows: &[&str]) -> (tokio::runtime::Runtime, ImageTable) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let path = std::env::temp_dir().join(format!("renditiond-unit-{}-rows.sqlite3", std::process::id()));
        let _ = std::fs::remove_file(&path);
        runtime.block_on(async {
            let mut db = SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
                .await
                .expect("sqlite");
            sqlx::query(
                "CREATE TABLE wagtailimages_image (id integer PRIMARY KEY, file varchar(100), width integer, \
                 height integer, focal_point_x integer, focal_point_y integer, focal_point_width integer, \
                 focal_point_height integer, file_hash varchar(40))",
            )
            .execute(&mut db)
            .await
            .expect("schema");
            for row in rows {
                sqlx::query(&format!("INSERT INTO wagtailimages_image VALUES {row}"))
                    .execute(&mut db)
                    .await
                    .expect("row");
            }
        });
        let url = format!("sqlite://{}?mode=ro", path.display());
        let _context = runtime.enter();
        let images =
            ImageTable::open(&url, DEFAULT_TABLE, Duration::from_secs(5), Duration::from_secs(1)).expect("pool");
        (runtime, images)
    }

    #[test]
    fn unusable_rows_are_not_an_outage() {
        let (runtime, images) = table(&[
            "(1, 'original_images/a.jpg', 10, 20, 5, 6, 2, 2, 'h')",
            "(2, NULL, 10, 20, NULL, NULL, NULL, NULL, '')",
            "(3, '', 10, 20, NULL, NULL, NULL, NULL, '')",
            "(4, '../secret.jpg', 10, 20, NULL, NULL, NULL, NULL, '')",
            "(5, '/etc/passwd', 10, 20, NULL, NULL, NULL, NULL, '')",
            "(6, 'original_images/a.jpg', -10, 20, NULL, NULL, NULL, NULL, '')",
            "(7, 'original_images/a.jpg', 'wide', 20, NULL, NULL, NULL, NULL, '')",
            "(8, 'original_images/a.jpg', NULL, 20, NULL, NULL, NULL, NULL, '')",
            "(9, 'original_images/a.jpg', 10, 20, -5, 6, 2, 2, '')",
            "(10, 'original_images/a.jpg', 10, 20, 'x', 6, 2, 2, '')",
            "(11, 'original_images/a.jpg', 10, 20, 5, NULL, 2, 2, NULL)",
            "(12, 'original_images/a.jpg', 10, 20, 5, 6, 2, 99999999999, '')",
        ]);
        runtime.block_on(async {
            let good = images.find(1).await.expect("a good row").expect("found");
            assert_eq!((good.width, good.height), (10, 20));
            assert_eq!(good.focal_point, Some(FocalPoint::new(5, 6, 2, 2)));
            // A NULL among the focal point columns means no focal point (Wagtail's rule).
            let partial = images.find(11).await.expect("a good row").expect("found");
            assert_eq!((partial.focal_point, partial.file_hash.as_str()), (None, ""));
            assert!(images.find(99).await.expect("no outage").is_none());
            for id in [2, 3, 4, 5, 6, 7, 8, 9, 10, 12] {
                match images.find(id).await {
                    Err(e) => assert!(e.is_bad_row(), "{id}: {e}"),
                    Ok(image) => panic!("{id}: {image:?}"),
                }
            }
        });
    }
}
