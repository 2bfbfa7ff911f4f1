//! Render leases: one render of a rendition across every instance that
//! shares a rendition store.
//!
//! Before rendering, an instance creates a lease object beside the shared
//! renditions, create-only (`PutMode::Create`), so that exactly one instance
//! wins it. The others wait for the rendition to appear in the store. A
//! lease older than its time to live belongs to an instance that died: it is
//! taken over. Every failure of the store only means rendering locally.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use object_store::{Attributes, ObjectStoreExt, PutPayload};

use super::RenditionKey;
use crate::store::{Store, StoreError, object_path};

/// The folder of lease objects in the rendition store.
pub const LEASE_FOLDER: &str = "leases";

/// Whether this instance may render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This instance holds the lease; it releases it when the rendition is stored.
    Won,
    /// This instance took over a lease whose holder is gone.
    TookOver,
    /// Another instance holds a live lease.
    Held,
}

/// The render leases of one rendition store.
#[derive(Debug, Clone)]
pub struct Leases {
    store: Store,
    ttl: Duration,
}

impl Leases {
    /// Leases kept in `store`; one older than `ttl` is a dead instance's.
    pub fn new(store: Store, ttl: Duration) -> Self {
        Self { store, ttl }
    }

    /// Tries to take the lease on rendering `key`.
    pub async fn claim(&self, key: &RenditionKey) -> Result<Claim, StoreError> {
        let path = path(key)?;
        if self.create(&path).await? {
            return Ok(Claim::Won);
        }
        let meta = match self.store.call(self.store.object_store().head(&path)).await {
            Ok(meta) => meta,
            // Released since: the next claim may win it.
            Err(StoreError::NotFound) => return Ok(Claim::Held),
            Err(e) => return Err(e),
        };
        let age = SystemTime::now()
            .duration_since(SystemTime::from(meta.last_modified))
            .unwrap_or_default();
        if age <= self.ttl {
            return Ok(Claim::Held);
        }
        // Two instances may both find it stale: the create still lets one
        // win, unless one deletes the lease the other just made (then both
        // render, and create-only writes keep one copy).
        self.remove(&path).await?;
        Ok(if self.create(&path).await? {
            Claim::TookOver
        } else {
            Claim::Held
        })
    }

    /// Gives the lease on `key` back (a failure only leaves it to expire).
    pub async fn release(&self, key: &RenditionKey) {
        let removed = match path(key) {
            Ok(path) => self.remove(&path).await,
            Err(e) => Err(e),
        };
        if let Err(e) = removed {
            tracing::warn!(error = %e, key = key.name(), "cannot release a render lease; it expires on its own");
        }
    }

    /// Creates the lease object unless it exists; whether it was created.
    async fn create(&self, path: &object_store::path::Path) -> Result<bool, StoreError> {
        let empty = PutPayload::from_bytes(Bytes::new());
        self.store.create(path, empty, Attributes::new()).await
    }

    async fn remove(&self, path: &object_store::path::Path) -> Result<(), StoreError> {
        match self.store.call(self.store.object_store().delete(path)).await {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn path(key: &RenditionKey) -> Result<object_store::path::Path, StoreError> {
    object_path(&format!("{LEASE_FOLDER}/{}", key.name())).map_err(|e| StoreError::Unavailable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use object_store::memory::InMemory;

    use super::*;
    use crate::plan::Encoding;
    use crate::store::{SourceVersion, StorageKey};

    fn key() -> RenditionKey {
        let original = StorageKey::new("a.jpg").expect("key");
        RenditionKey::new(
            &original,
            &SourceVersion::from_etag("v"),
            "",
            "width-10",
            None,
            Encoding::Png,
        )
    }

    #[tokio::test]
    async fn one_instance_wins_until_it_releases_or_its_lease_goes_stale() {
        let store = Store::from_object_store(Arc::new(InMemory::new()), Duration::from_secs(5));
        let (first, second) = (
            Leases::new(store.clone(), Duration::from_secs(60)),
            Leases::new(store.clone(), Duration::from_secs(60)),
        );
        assert_eq!(first.claim(&key()).await, Ok(Claim::Won));
        assert_eq!(second.claim(&key()).await, Ok(Claim::Held));
        assert_eq!(first.claim(&key()).await, Ok(Claim::Held));
        first.release(&key()).await;
        assert_eq!(second.claim(&key()).await, Ok(Claim::Won));
        // With no time to live, the holder counts as gone.
        let impatient = Leases::new(store, Duration::ZERO);
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(impatient.claim(&key()).await, Ok(Claim::TookOver));
        assert_eq!(second.claim(&key()).await, Ok(Claim::Held));
    }
}
