//! The originals store: what an original is (its version, size and format,
//! from one small ranged read) and its bytes.

use bytes::Bytes;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStoreExt};

use super::{StorageKey, Store, StoreError, object_path};
use crate::format::SourceFormat;
use crate::pipeline;

/// How many leading bytes are read to recognise an original's format.
const SNIFF_BYTES: u64 = 4096;

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

/// What is known of an original before reading all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// Its version.
    pub version: SourceVersion,
    /// Its size in bytes.
    pub size: u64,
    /// Its format, from its first bytes; `None` when it is no known image format.
    pub format: Option<SourceFormat>,
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

    /// Looks up the original at `key`: version, size and format in one ranged read.
    pub async fn inspect(&self, key: &StorageKey) -> Result<SourceInfo, StoreError> {
        let path = object_path(key.as_str()).map_err(|_| StoreError::NotFound)?;
        let store = self.store.object_store();
        let options = GetOptions {
            range: Some(GetRange::Bounded(0..SNIFF_BYTES)),
            ..GetOptions::default()
        };
        let ranged = self
            .store
            .call(async {
                let result = store.get_opts(&path, options).await?;
                let meta = result.meta.clone();
                Ok((meta, result.bytes().await?))
            })
            .await;
        let (meta, head) = match ranged {
            Ok(found) => found,
            Err(StoreError::NotFound) => return Err(StoreError::NotFound),
            // An empty object has no byte 0 to range over.
            Err(_) => (self.store.call(store.head(&path)).await?, Bytes::new()),
        };
        Ok(SourceInfo {
            version: SourceVersion::of(&meta),
            size: meta.size,
            format: pipeline::sniff(&head),
        })
    }

    /// Reads the whole original, as of `version` when the store has ETags (a
    /// concurrent replacement then fails instead of mixing versions).
    pub async fn read(&self, key: &StorageKey, version: &SourceVersion) -> Result<Bytes, StoreError> {
        let path = object_path(key.as_str()).map_err(|_| StoreError::NotFound)?;
        let store = self.store.object_store();
        let options = GetOptions {
            if_match: version.etag.clone(),
            ..GetOptions::default()
        };
        self.store
            .call(async { store.get_opts(&path, options).await?.bytes().await })
            .await
    }
}
