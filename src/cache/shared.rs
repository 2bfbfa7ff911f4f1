//! The shared tier: renditions in object storage under their content-addressed
//! names, written create-only (`PutMode::Create`) so that instances racing on
//! one rendition never overwrite each other, and readable by a CDN; with
//! render [`Leases`] beside them, when instances are to render each once.

use std::time::Duration;

use bytes::Bytes;
use object_store::{Attribute, Attributes, GetOptions, ObjectStoreExt, PutPayload};

use super::{Leases, RenditionKey};
use crate::format::OutputFormat;
use crate::store::{Store, StoreError, object_path};

/// How the CDN may cache a stored rendition: its name changes with its content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The shared rendition store.
#[derive(Debug, Clone)]
pub struct SharedTier {
    store: Store,
    max_bytes: u64,
    leases: Option<Leases>,
}

impl SharedTier {
    /// Renditions kept in `store`, read back only up to `max_bytes` each.
    pub fn new(store: Store, max_bytes: u64) -> Self {
        Self {
            store,
            max_bytes,
            leases: None,
        }
    }

    /// The same, with render leases taken over once unchanged for `stale_after`.
    pub fn with_leases(self, stale_after: Duration) -> Self {
        let leases = Leases::new(self.store.clone(), stale_after);
        Self {
            leases: Some(leases),
            ..self
        }
    }

    /// The render leases, when instances render each rendition once.
    pub fn leases(&self) -> Option<&Leases> {
        self.leases.as_ref()
    }

    /// The store, for readiness checks.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The stored rendition, if any.
    pub async fn get(&self, key: &RenditionKey) -> Result<Option<Bytes>, StoreError> {
        let path = path(key)?;
        match self
            .store
            .read_capped(&path, GetOptions::default(), self.max_bytes)
            .await
        {
            Ok((_, bytes)) => Ok(Some(bytes)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the rendition is stored.
    pub async fn contains(&self, key: &RenditionKey) -> Result<bool, StoreError> {
        let path = path(key)?;
        match self.store.call(self.store.object_store().head(&path)).await {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Stores the rendition unless it already is (then the stored copy,
    /// identical by construction, is kept).
    pub async fn put(&self, key: &RenditionKey, bytes: Bytes, format: OutputFormat) -> Result<(), StoreError> {
        let path = path(key)?;
        let mut attributes = Attributes::new();
        if self.store.keeps_attributes() {
            attributes.insert(Attribute::ContentType, format.mime_type().into());
            attributes.insert(Attribute::CacheControl, IMMUTABLE.into());
        }
        self.store
            .create(&path, PutPayload::from_bytes(bytes), attributes)
            .await
            .map(|_| ())
    }
}

fn path(key: &RenditionKey) -> Result<object_store::path::Path, StoreError> {
    // Rendition names are made of path-safe characters only.
    object_path(key.name()).map_err(|e| StoreError::Unavailable(e.to_string()))
}
