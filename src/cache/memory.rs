//! The in-memory tier: a `moka` cache weighed by bytes, and single flight:
//! a missing rendition is made by one detached task per key, which every
//! caller for that key awaits. The task runs to its end and fills the cache
//! even when every caller has gone, so a client that disconnects never
//! throws a render away and a connect-and-drop loop cannot start another.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use moka::future::Cache;
use tokio::task::JoinError;

use super::{CachedRendition, RenditionKey};

/// A rendition being made, awaited by every caller that asks for it.
type Flight<E> = Shared<BoxFuture<'static, Result<Arc<CachedRendition>, E>>>;

/// How a lookup was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// From the cache.
    Hit,
    /// By a flight another caller started.
    Joined,
    /// By a flight this caller started.
    Started,
}

/// Renditions in memory, bounded by their total size, and the renditions
/// being made.
#[derive(Debug)]
pub struct MemoryTier<E> {
    cache: Cache<RenditionKey, Arc<CachedRendition>>,
    flights: Arc<Mutex<HashMap<RenditionKey, Flight<E>>>>,
}

impl<E> Clone for MemoryTier<E> {
    fn clone(&self) -> Self {
        Self {
            cache: self.cache.clone(),
            flights: self.flights.clone(),
        }
    }
}

impl<E> MemoryTier<E>
where
    E: Clone + Send + Sync + From<JoinError> + 'static,
{
    /// A tier holding at most `max_bytes` of renditions.
    pub fn new(max_bytes: u64) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_, value: &Arc<CachedRendition>| u32::try_from(value.bytes.len()).unwrap_or(u32::MAX))
            .build();
        Self {
            cache,
            flights: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Bytes and number of the renditions held now, once the cache's
    /// pending evictions have run.
    pub async fn held(&self) -> (u64, u64) {
        self.cache.run_pending_tasks().await;
        (self.cache.weighted_size(), self.cache.entry_count())
    }

    /// Whether the rendition at `key` is in memory now.
    pub fn contains(&self, key: &RenditionKey) -> bool {
        self.cache.contains_key(key)
    }

    /// The rendition at `key`, made on a miss by the future `make` returns,
    /// run as a detached task. Concurrent callers for the same key await
    /// one task; errors are not cached.
    pub async fn get_or_make<F, Fut>(&self, key: &RenditionKey, make: F) -> (Result<Arc<CachedRendition>, E>, Lookup)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Arc<CachedRendition>, E>> + Send + 'static,
    {
        let mut make = Some(make);
        // Twice at most: a flight that ended between the cache lookup and
        // the lock has filled the cache before it left the map.
        for last in [false, true] {
            if let Some(hit) = self.cache.get(key).await {
                return (Ok(hit), Lookup::Hit);
            }
            let found = {
                let mut flights = self.flights();
                match (flights.get(key), make.take()) {
                    (Some(flight), _) => Some((flight.clone(), Lookup::Joined)),
                    (None, Some(make)) if last || !self.cache.contains_key(key) => {
                        Some((self.start(&mut flights, key, make()), Lookup::Started))
                    }
                    (None, unused) => {
                        make = unused;
                        None
                    }
                }
            };
            if let Some((flight, lookup)) = found {
                return (flight.await, lookup);
            }
        }
        unreachable!("the last round always finds or starts a flight")
    }

    /// Spawns the task that makes `key`, caches its result and then leaves
    /// the flight map (in that order, under the map's lock).
    fn start<Fut>(&self, flights: &mut HashMap<RenditionKey, Flight<E>>, key: &RenditionKey, make: Fut) -> Flight<E>
    where
        Fut: Future<Output = Result<Arc<CachedRendition>, E>> + Send + 'static,
    {
        let cache = self.cache.clone();
        let leave = Leave {
            flights: self.flights.clone(),
            key: key.clone(),
        };
        let task = tokio::spawn(async move {
            let made = make.await;
            if let Ok(rendition) = &made {
                cache.insert(leave.key.clone(), rendition.clone()).await;
            }
            drop(leave);
            made
        });
        let flight = async move { task.await.unwrap_or_else(|e| Err(E::from(e))) }
            .boxed()
            .shared();
        flights.insert(key.clone(), flight.clone());
        flight
    }

    fn flights(&self) -> MutexGuard<'_, HashMap<RenditionKey, Flight<E>>> {
        lock(&self.flights)
    }
}

/// Takes a flight out of the map when its task ends, however it ends (a
/// panicking make included), so the next caller starts a new one.
struct Leave<E> {
    flights: Arc<Mutex<HashMap<RenditionKey, Flight<E>>>>,
    key: RenditionKey,
}

impl<E> Drop for Leave<E> {
    fn drop(&mut self) {
        lock(&self.flights).remove(&self.key);
    }
}

/// The map's guard; a panic elsewhere while it was held leaves the map as
/// consistent as any single insert or remove does.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::cache::{Rendering, Tier};
    use crate::format::OutputFormat;
    use crate::plan::Encoding;
    use crate::store::{SourceVersion, StorageKey};

    #[derive(Debug, Clone, PartialEq)]
    struct Failed(String);

    impl From<JoinError> for Failed {
        fn from(e: JoinError) -> Self {
            Self(e.to_string())
        }
    }

    fn key(n: u32) -> RenditionKey {
        let original = StorageKey::new("a.jpg").expect("valid key");
        RenditionKey::new(
            &original,
            &SourceVersion::from_etag("v"),
            "",
            &format!("width-{n}"),
            None,
            Encoding::Png,
            Rendering::default(),
        )
    }

    fn rendition(len: usize) -> Arc<CachedRendition> {
        Arc::new(CachedRendition {
            bytes: vec![0; len].into(),
            format: OutputFormat::Png,
            origin: Tier::Render,
            stored: false,
        })
    }

    /// A slow make that counts how often it runs.
    fn counted(
        inits: &Arc<AtomicUsize>,
        ms: u64,
    ) -> impl Future<Output = Result<Arc<CachedRendition>, Failed>> + use<> {
        let inits = inits.clone();
        async move {
            inits.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(rendition(10))
        }
    }

    #[tokio::test]
    async fn concurrent_misses_run_one_make() {
        let tier = MemoryTier::<Failed>::new(1 << 20);
        let inits = Arc::new(AtomicUsize::new(0));
        let calls: Vec<_> = (0..16)
            .map(|_| {
                let (tier, inits) = (tier.clone(), inits.clone());
                tokio::spawn(async move { tier.get_or_make(&key(1), || counted(&inits, 50)).await })
            })
            .collect();
        let mut started = 0;
        for call in calls {
            let (made, lookup) = call.await.expect("no panic");
            assert!(made.is_ok());
            assert_ne!(lookup, Lookup::Hit, "every call overlapped the one make");
            started += usize::from(lookup == Lookup::Started);
        }
        assert_eq!((inits.load(Ordering::SeqCst), started), (1, 1));
        let (_, lookup) = tier.get_or_make(&key(1), || counted(&inits, 0)).await;
        assert_eq!(lookup, Lookup::Hit);
    }

    #[tokio::test]
    async fn a_make_whose_callers_all_left_still_fills_the_cache() {
        let tier = MemoryTier::<Failed>::new(1 << 20);
        let inits = Arc::new(AtomicUsize::new(0));
        let one = key(1);
        for _ in 0..5 {
            // Each caller gives up long before the make ends.
            let call = tier.get_or_make(&one, || counted(&inits, 200));
            assert!(tokio::time::timeout(Duration::from_millis(10), call).await.is_err());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (made, lookup) = tier.get_or_make(&key(1), || counted(&inits, 0)).await;
        assert!(made.is_ok());
        assert_eq!((lookup, inits.load(Ordering::SeqCst)), (Lookup::Hit, 1));
    }

    #[tokio::test]
    async fn errors_and_panics_are_not_cached() {
        let tier = MemoryTier::<Failed>::new(1 << 20);
        let (made, _) = tier.get_or_make(&key(1), || async { Err(Failed("no".into())) }).await;
        assert_eq!(made.err(), Some(Failed("no".into())));
        let (made, _) = tier.get_or_make(&key(1), || async { panic!("boom") }).await;
        assert!(made.is_err());
        let (made, lookup) = tier.get_or_make(&key(1), || async { Ok(rendition(1)) }).await;
        assert!(made.is_ok());
        assert_eq!(lookup, Lookup::Started);
    }

    #[tokio::test]
    async fn weight_is_bounded_by_bytes() {
        let tier = MemoryTier::<Failed>::new(1000);
        for n in 0..50 {
            let (made, _) = tier.get_or_make(&key(n), || async { Ok(rendition(100)) }).await;
            assert!(made.is_ok());
        }
        tier.cache.run_pending_tasks().await;
        assert!(tier.cache.weighted_size() <= 1000, "{}", tier.cache.weighted_size());
    }
}
