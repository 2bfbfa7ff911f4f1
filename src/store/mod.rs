//! Where originals and shared renditions live: object stores opened from a
//! location (a folder, `file://`, `s3://`, `gs://`, `az://`), keys confined to
//! them, and backend errors classified at this boundary.

mod breaker;
mod key;
mod location;
mod originals;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use object_store::{Attributes, GetOptions, GetResultPayload, ObjectStore, PutMode, PutOptions, PutPayload};
use thiserror::Error;

use self::breaker::Breaker;
pub use self::key::{InvalidKey, MAX_KEY_BYTES, StorageKey};
pub use self::location::{Location, LocationError};
pub use self::originals::{HEAD_BYTES, Inspected, Originals, SourceVersion};

/// A store operation's failure, in this crate's terms.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// No object at that key.
    #[error("not found")]
    NotFound,
    /// The object changed between two reads.
    #[error("changed while it was read")]
    Changed,
    /// The object has more bytes than the reader allows.
    #[error("the object has more than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The store did not answer within the deadline.
    #[error("storage did not answer within {0:?}")]
    TimedOut(Duration),
    /// The store could not be reached: its connection failed or timed out.
    #[error("storage unreachable: {0}")]
    Unreachable(String),
    /// A call timed out a moment ago: this one was not tried.
    #[error("storage did not answer lately; it is tried again every {0:?}")]
    Paused(Duration),
    /// The store failed or refused us (credentials, network, outage):
    /// nothing the client can fix.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Classifies an `object_store` error.
    pub(crate) fn classify(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { .. } => Self::NotFound,
            object_store::Error::Precondition { .. } => Self::Changed,
            other if unreachable(&other) => Self::Unreachable(other.to_string()),
            other => Self::Unavailable(other.to_string()),
        }
    }

    /// Whether the store did not answer at all (then it is paused), or
    /// was not asked because it is paused.
    pub fn is_silence(&self) -> bool {
        matches!(self, Self::TimedOut(_) | Self::Unreachable(_) | Self::Paused(_))
    }

    /// Whether the store failed us, rather than answering about the object.
    pub fn is_outage(&self) -> bool {
        self.is_silence() || matches!(self, Self::Unavailable(_))
    }
}

/// Whether the HTTP client gave up connecting or waiting: the store's own
/// timeouts, which may come before ours.
fn unreachable(error: &object_store::Error) -> bool {
    let first: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    std::iter::successors(first, |e| e.source())
        .take(16)
        .find_map(|e| e.downcast_ref::<object_store::client::HttpError>())
        .is_some_and(|e| {
            matches!(
                e.kind(),
                object_store::client::HttpErrorKind::Connect | object_store::client::HttpErrorKind::Timeout
            )
        })
}

/// An opened store with the deadline every call to it gets. After a call
/// times out or cannot connect, the next ones fail at once for [`breaker::PAUSE`] (then one
/// tries again), so an outage costs one timeout per pause, not per call.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    timeout: Duration,
    local: bool,
    breaker: Arc<Breaker>,
}

impl Store {
    /// Opens the store at `location`; calls to it give up after `timeout`.
    pub fn open(location: &Location, timeout: Duration) -> Result<Self, LocationError> {
        Ok(Self {
            inner: location.open(timeout)?,
            timeout,
            local: location.is_local(),
            breaker: Arc::default(),
        })
    }

    /// A store over an object store opened elsewhere (an in-memory one in
    /// tests); objects keep their attributes.
    pub fn from_object_store(inner: Arc<dyn ObjectStore>, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            local: false,
            breaker: Arc::default(),
        }
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

    /// The same store, paused whenever `other` is (and `other` whenever it
    /// is): for two stores of one service.
    pub fn sharing_pauses_with(self, other: &Store) -> Self {
        Self {
            breaker: other.breaker.clone(),
            ..self
        }
    }

    /// Runs one store call under the deadline, classifying its error.
    pub async fn call<T>(&self, call: impl Future<Output = object_store::Result<T>>) -> Result<T, StoreError> {
        self.guard(async { call.await.map_err(StoreError::classify) }).await
    }

    /// Runs `work` under the deadline, unless the store is paused after a
    /// timeout; a timeout pauses it.
    async fn guard<T>(&self, work: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        if !self.breaker.admit() {
            return Err(StoreError::Paused(breaker::PAUSE));
        }
        let result = match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::TimedOut(self.timeout)),
        };
        match &result {
            Err(e) if e.is_silence() => self.breaker.timed_out(),
            _ => self.breaker.answered(),
        }
        result
    }

    /// Writes `payload` at `path` unless an object is there already
    /// (`PutMode::Create`); whether it was written.
    pub async fn create(
        &self,
        path: &object_store::path::Path,
        payload: PutPayload,
        attributes: Attributes,
    ) -> Result<bool, StoreError> {
        let options = PutOptions {
            mode: PutMode::Create,
            attributes,
            ..PutOptions::default()
        };
        self.guard(async {
            match self.inner.put_opts(path, payload, options).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
                Err(e) => Err(StoreError::classify(e)),
            }
        })
        .await
    }

    /// Reads the object at `path` (as `options` say), at most `limit` bytes:
    /// a larger object is refused from its size before any byte is read.
    /// A local file is read as one range of that size; a remote body is
    /// streamed, so a store that reports a wrong size cannot make the reader
    /// hold more than `limit` bytes either.
    pub async fn read_capped(
        &self,
        path: &object_store::path::Path,
        options: GetOptions,
        limit: u64,
    ) -> Result<(object_store::ObjectMeta, Bytes), StoreError> {
        let store = self.object_store();
        self.guard(async {
            let result = store.get_opts(path, options).await.map_err(StoreError::classify)?;
            let meta = result.meta.clone();
            let expected = result.range.end.saturating_sub(result.range.start);
            if expected > limit {
                return Err(StoreError::TooLarge { limit });
            }
            if matches!(result.payload, GetResultPayload::File(..)) {
                // A file is read in one blocking call of exactly the range
                // checked above, not streamed in 8 KiB hops.
                let body = result.bytes().await.map_err(StoreError::classify)?;
                return Ok((meta, body));
            }
            let mut body = BytesMut::with_capacity(usize::try_from(expected).unwrap_or(0));
            let mut stream = result.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(StoreError::classify)?;
                if (body.len() as u64).saturating_add(chunk.len() as u64) > limit {
                    return Err(StoreError::TooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            Ok((meta, body.freeze()))
        })
        .await
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
