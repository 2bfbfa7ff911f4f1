//! The originals store: what an original is (its version, size and first
//! bytes, from one small ranged read) and its bytes, read with a cap.

use bytes::Bytes;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStoreExt};

use super::{StorageKey, Store, StoreError, object_path};

/// How many leading bytes are read to recognise an original's format and
/// read its headers (size, orientation) before the whole file is fetched.
pub const HEAD_BYTES: u64 = 64 * 1024;

/// The version of an original as its store reports it: its ETag, or its size
/// and modification time where there is none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceVersion {
    text: String,
    etag: Option<String>,
}

impl SourceVersion {
    /// A version known by its ETag.
    pub fn from_etag(etag: &str) -> Self {
        Self {
            text: format!("etag:{etag}"),
            etag: Some(etag.to_owned()),
        }
    }

    fn of(meta: &ObjectMeta) -> Self {
        match &meta.e_tag {
            Some(etag) => Self::from_etag(etag),
            None => Self {
                text: format!("size:{},modified:{}", meta.size, meta.last_modified.to_rfc3339()),
                etag: None,
            },
        }
    }

    /// The version as text, for rendition identities.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// What one ranged read tells of an original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    /// Its version.
    pub version: SourceVersion,
    /// Its size in bytes.
    pub size: u64,
    /// Its first [`HEAD_BYTES`] bytes (all of it, when it is smaller).
    pub head: Bytes,
}

/// The store of originals.
#[derive(Debug, Clone)]
pub struct Originals {
    store: Store,
}

impl Originals {
    /// The originals in `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The store, for readiness checks.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Looks up the original at `key`: version, size and first bytes in one
    /// ranged read.
    pub async fn inspect(&self, key: &StorageKey) -> Result<Inspected, StoreError> {
        let path = object_path(key.as_str()).map_err(|_| StoreError::NotFound)?;
        let options = GetOptions {
            range: Some(GetRange::Bounded(0..HEAD_BYTES)),
            ..GetOptions::default()
        };
        let (meta, head) = match self.store.read_capped(&path, options, HEAD_BYTES).await {
            Ok(found) => found,
            Err(error) if error == StoreError::NotFound || error.is_silence() => return Err(error),
            // An empty object has no byte 0 to range over; anything else
            // that fails the ranged read stays the failure it is.
            Err(error) => {
                let meta = self.store.call(self.store.object_store().head(&path)).await?;
                if meta.size != 0 {
                    return Err(error);
                }
                (meta, Bytes::new())
            }
        };
        Ok(Inspected {
            version: SourceVersion::of(&meta),
            size: meta.size,
            head,
        })
    }

    /// Reads the whole original, at most `limit` bytes, as of `version` when
    /// the store has ETags (a concurrent replacement then fails instead of
    /// mixing versions).
    pub async fn read(&self, key: &StorageKey, version: &SourceVersion, limit: u64) -> Result<Bytes, StoreError> {
        let path = object_path(key.as_str()).map_err(|_| StoreError::NotFound)?;
        let options = GetOptions {
            if_match: version.etag.clone(),
            ..GetOptions::default()
        };
        let (_, bytes) = self.store.read_capped(&path, options, limit).await?;
        Ok(bytes)
    }
}
