//! Where originals and shared renditions live: object stores opened from a
//! location (a folder, `file://`, `s3://`, `gs://`, `az://`), keys confined to
//! them, and backend errors classified at this boundary.

mod key;
mod location;
mod originals;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStore;
use thiserror::Error;

pub use self::key::{InvalidKey, MAX_KEY_BYTES, StorageKey};
pub use self::location::{Location, LocationError};
pub use self::originals::{Originals, SourceInfo, SourceVersion};

/// A store operation's failure, in this crate's terms.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// No object at that key.
    #[error("not found")]
    NotFound,
    /// The object changed between two reads.
    #[error("changed while it was read")]
    Changed,
    /// The store did not answer, answered late, or refused us (credentials,
    /// network, outage): nothing the client can fix.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Classifies an `object_store` error.
    pub(crate) fn classify(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { .. } => Self::NotFound,
            object_store::Error::Precondition { .. } => Self::Changed,
            other => Self::Unavailable(other.to_string()),
        }
    }
}

/// An opened store with the deadline every call to it gets.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    timeout: Duration,
    local: bool,
}

impl Store {
    /// Opens the store at `location`; calls to it give up after `timeout`.
    pub fn open(location: &Location, timeout: Duration) -> Result<Self, LocationError> {
        Ok(Self {
            inner: location.open(timeout)?,
            timeout,
            local: location.is_local(),
        })
    }

    /// The underlying object store.
    pub fn object_store(&self) -> &dyn ObjectStore {
        self.inner.as_ref()
    }

    /// The deadline of every call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether objects may carry attributes (content type, cache control);
    /// local folders keep none.
    pub fn keeps_attributes(&self) -> bool {
        !self.local
    }

    /// Runs one store call under the deadline, classifying its error.
    pub async fn call<T>(&self, call: impl Future<Output = object_store::Result<T>>) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result.map_err(StoreError::classify),
            Err(_) => Err(StoreError::Unavailable(format!("no answer within {:?}", self.timeout))),
        }
    }

    /// Checks that the store answers: a lookup of a key that need not exist
    /// succeeds or reports it missing.
    pub async fn check(&self) -> Result<(), StoreError> {
        let probe = object_store::path::Path::from(".renditiond-ready");
        match self
            .call(object_store::ObjectStoreExt::head(self.inner.as_ref(), &probe))
            .await
        {
            Ok(_) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The object store path of `key`.
pub fn object_path(key: &str) -> Result<object_store::path::Path, InvalidKey> {
    object_store::path::Path::parse(key).map_err(|_| InvalidKey("not a store path"))
}
