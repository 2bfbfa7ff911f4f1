//! The originals store: what an original is (its version, size and first
//! bytes, from one small ranged read) and its bytes, read with a cap.

use bytes::Bytes;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStoreExt};
use tokio::time::Instant;

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
    /// ranged read, all within one storage timeout.
    pub async fn inspect(&self, key: &StorageKey) -> Result<Inspected, StoreError> {
        let path = object_path(key.as_str()).map_err(|_| StoreError::NotFound)?;
        let options = GetOptions {
            range: Some(GetRange::Bounded(0..HEAD_BYTES)),
            ..GetOptions::default()
        };
        let deadline = Instant::now() + self.store.timeout();
        let (meta, head) = match self.store.read_capped(&path, options, HEAD_BYTES).await {
            Ok(found) => found,
            Err(error) if error == StoreError::NotFound || error.is_silence() => return Err(error),
            // An empty object has no byte 0 to range over; anything else
            // that fails the ranged read stays the failure it is. The look
            // at its size gets what is left of the deadline: a store that
            // does not answer costs one timeout, not two.
            Err(error) => {
                let head = self.store.object_store().head(&path);
                let meta = match tokio::time::timeout_at(deadline, head).await {
                    Ok(Ok(meta)) if meta.size == 0 => meta,
                    Ok(Ok(_)) | Err(_) => return Err(error),
                    Ok(Err(e)) => return Err(StoreError::classify(e)),
                };
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

#[cfg(test)]
mod tests {
    use std::fmt;
    use std::sync::Arc;
    use std::time::Duration;

    use futures_util::stream::BoxStream;
    use object_store::memory::InMemory;
    use object_store::path::Path;
    use object_store::{
        CopyOptions, GetResult, ListResult, MultipartUpload, ObjectStore, PutMultipartOptions, PutOptions, PutPayload,
        PutResult,
    };

    use super::*;

    /// A store whose reads fail after `fail_after` and whose metadata
    /// lookups never answer, as a store behind a dead link can.
    #[derive(Debug)]
    struct Unreachable {
        inner: InMemory,
        fail_after: Duration,
    }

    impl fmt::Display for Unreachable {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Unreachable")
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for Unreachable {
        async fn put_opts(
            &self,
            path: &Path,
            payload: PutPayload,
            opts: PutOptions,
        ) -> object_store::Result<PutResult> {
            self.inner.put_opts(path, payload, opts).await
        }

        async fn put_multipart_opts(
            &self,
            path: &Path,
            opts: PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            self.inner.put_multipart_opts(path, opts).await
        }

        async fn get_opts(&self, _: &Path, options: GetOptions) -> object_store::Result<GetResult> {
            if options.head {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(self.fail_after).await;
            Err(object_store::Error::Generic {
                store: "Unreachable",
                source: "error sending request".into(),
            })
        }

        fn delete_stream(
            &self,
            locations: BoxStream<'static, object_store::Result<Path>>,
        ) -> BoxStream<'static, object_store::Result<Path>> {
            self.inner.delete_stream(locations)
        }

        fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.inner.list(prefix)
        }

        async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }

        async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> object_store::Result<()> {
            self.inner.copy_opts(from, to, options).await
        }
    }

    #[tokio::test]
    async fn an_unreachable_store_costs_one_timeout() {
        let timeout = Duration::from_millis(300);
        let store = Unreachable {
            inner: InMemory::new(),
            fail_after: Duration::from_millis(250),
        };
        let originals = Originals::new(Store::from_object_store(Arc::new(store), timeout));
        let started = std::time::Instant::now();
        let error = originals
            .inspect(&StorageKey::new("photo.jpg").expect("key"))
            .await
            .expect_err("unreachable");
        let took = started.elapsed();
        assert!(
            matches!(error, StoreError::Unavailable(ref e) if e.contains("error sending request")),
            "{error:?}"
        );
        assert!(took < timeout + Duration::from_millis(150), "{took:?}");
    }

    #[tokio::test]
    async fn an_empty_original_is_inspected() {
        let inner = Arc::new(InMemory::new());
        inner
            .put(&Path::from("empty.jpg"), PutPayload::from_static(b""))
            .await
            .expect("put");
        let originals = Originals::new(Store::from_object_store(inner, Duration::from_secs(5)));
        let inspected = originals
            .inspect(&StorageKey::new("empty.jpg").expect("key"))
            .await
            .expect("inspected");
        assert_eq!((inspected.size, inspected.head.len()), (0, 0));
    }
}
