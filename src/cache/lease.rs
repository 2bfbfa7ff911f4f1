//! Render leases: one render of a rendition across every instance that
//! shares a rendition store.
//!
//! Before rendering, an instance creates a lease object beside the shared
//! renditions, create-only (`PutMode::Create`), so that exactly one instance
//! wins it. While it renders, it rewrites the lease five times per
//! [`STALE_AFTER`]. The others wait for the rendition to appear in the
//! store, watching the lease: one that has not changed for [`STALE_AFTER`]
//! (by their own clock, so clocks need not agree) belongs to an instance
//! that died, and is taken over. Every failure of the store only means
//! rendering locally.

use std::time::Duration;

use bytes::Bytes;
use object_store::{Attributes, ObjectStoreExt, PutPayload};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::RenditionKey;
use crate::store::{Store, StoreError, object_path};

/// The folder of lease objects in the rendition store.
pub const LEASE_FOLDER: &str = "leases";

/// How long a lease may stay unchanged before its holder counts as gone.
pub const STALE_AFTER: Duration = Duration::from_secs(5);

/// How many times per [`STALE_AFTER`] a holder rewrites its lease.
const BEATS_PER_STALE: u32 = 5;

/// Whether this instance may render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This instance holds the lease.
    Won,
    /// This instance took over a lease whose holder is gone.
    TookOver,
    /// Another instance holds a live lease.
    Held,
}

/// What a waiting instance has seen of a lease: its version and since when.
#[derive(Debug, Default)]
pub struct Watch {
    seen: Option<(String, Instant)>,
}

/// The render leases of one rendition store.
#[derive(Debug, Clone)]
pub struct Leases {
    store: Store,
    stale_after: Duration,
}

/// A lease this instance holds, rewritten until it is released.
#[derive(Debug)]
pub struct Holding {
    path: object_store::path::Path,
    stop: oneshot::Sender<()>,
    heartbeat: JoinHandle<()>,
}

impl Leases {
    /// Leases kept in `store`; one unchanged for `stale_after` is a dead
    /// instance's.
    pub fn new(store: Store, stale_after: Duration) -> Self {
        Self { store, stale_after }
    }

    /// Tries to take the lease on rendering `key`; `watch` keeps what this
    /// caller saw of another instance's lease between its tries.
    pub async fn claim(&self, key: &RenditionKey, watch: &mut Watch) -> Result<(Claim, Option<Holding>), StoreError> {
        let path = path(key)?;
        if self.create(&path).await? {
            return Ok((Claim::Won, Some(self.hold(path))));
        }
        let meta = match self.store.call(self.store.object_store().head(&path)).await {
            Ok(meta) => meta,
            // Released since: the next claim may win it.
            Err(StoreError::NotFound) => return Ok((Claim::Held, None)),
            Err(e) => return Err(e),
        };
        let version = format!("{:?} {} {}", meta.e_tag, meta.last_modified, meta.size);
        let now = Instant::now();
        match &watch.seen {
            Some((seen, since)) if *seen == version && now.duration_since(*since) >= self.stale_after => {}
            Some((seen, _)) if *seen == version => return Ok((Claim::Held, None)),
            _ => {
                watch.seen = Some((version, now));
                return Ok((Claim::Held, None));
            }
        }
        // Two instances may both find it stale: the create still lets one
        // win, unless one deletes the lease the other just made (then both
        // render, and create-only writes keep one copy).
        watch.seen = None;
        self.remove(&path).await?;
        Ok(if self.create(&path).await? {
            (Claim::TookOver, Some(self.hold(path)))
        } else {
            (Claim::Held, None)
        })
    }

    /// Gives a lease back: its heartbeat stops (a rewrite under way ends
    /// first, so none lands after the delete), then it is deleted (a
    /// failure only leaves it to go stale).
    pub async fn release(&self, holding: Holding) {
        let Holding { path, stop, heartbeat } = holding;
        let _ = stop.send(());
        let _ = heartbeat.await;
        if let Err(e) = self.remove(&path).await {
            tracing::warn!(error = %e, lease = %path, "cannot release a render lease; it goes stale on its own");
        }
    }

    /// Starts rewriting the lease at `path`, [`BEATS_PER_STALE`] times per
    /// stale time.
    fn hold(&self, path: object_store::path::Path) -> Holding {
        let (stop, mut stopped) = oneshot::channel();
        let (store, beat_path) = (self.store.clone(), path.clone());
        let every = self.stale_after / BEATS_PER_STALE;
        let heartbeat = tokio::spawn(async move {
            for beat in 1u64.. {
                tokio::select! {
                    _ = &mut stopped => return,
                    () = tokio::time::sleep(every) => {}
                }
                let body = PutPayload::from(beat.to_string());
                if let Err(e) = store.call(store.object_store().put(&beat_path, body)).await {
                    tracing::debug!(error = %e, lease = %beat_path, "cannot rewrite a render lease");
                }
            }
        });
        Holding { path, stop, heartbeat }
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
    use crate::cache::Rendering;
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
            Rendering::default(),
        )
    }

    #[tokio::test]
    async fn one_instance_wins_and_others_take_over_only_a_lease_that_stopped_changing() {
        let stale = Duration::from_millis(500);
        let memory = Arc::new(InMemory::new());
        let store = Store::from_object_store(memory.clone(), Duration::from_secs(5));
        let (first, second) = (Leases::new(store.clone(), stale), Leases::new(store.clone(), stale));
        let (mut watch, mut other) = (Watch::default(), Watch::default());
        let (claim, holding) = first.claim(&key(), &mut watch).await.expect("claims");
        assert_eq!(claim, Claim::Won);
        let holding = holding.expect("a holding");
        // A live holder's lease keeps changing: never stale.
        for _ in 0..15 {
            assert_eq!(second.claim(&key(), &mut other).await.expect("claims").0, Claim::Held);
            tokio::time::sleep(stale / 10).await;
        }
        first.release(holding).await;
        assert!(memory.head(&path(&key()).expect("path")).await.is_err(), "released");
        let (claim, holding) = second.claim(&key(), &mut other).await.expect("claims");
        assert_eq!(claim, Claim::Won);
        // Its holder dies: the lease stops changing, and is taken over once
        // it has not changed for the stale time.
        holding.expect("a holding").heartbeat.abort();
        let mut third = Watch::default();
        assert_eq!(first.claim(&key(), &mut third).await.expect("claims").0, Claim::Held);
        tokio::time::sleep(stale / 2).await;
        assert_eq!(first.claim(&key(), &mut third).await.expect("claims").0, Claim::Held);
        tokio::time::sleep(stale).await;
        assert_eq!(
            first.claim(&key(), &mut third).await.expect("claims").0,
            Claim::TookOver
        );
    }
}
