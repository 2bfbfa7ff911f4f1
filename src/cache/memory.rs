//! The in-memory tier: a `moka` cache weighed by bytes, whose entry API gives
//! single flight (one init per key runs; concurrent callers await it).

use std::future::Future;
use std::sync::Arc;

use moka::future::Cache;

use super::{CachedRendition, RenditionKey};

/// Renditions in memory, bounded by their total size.
#[derive(Debug, Clone)]
pub struct MemoryTier {
    cache: Cache<RenditionKey, Arc<CachedRendition>>,
}

impl MemoryTier {
    /// A tier holding at most `max_bytes` of renditions.
    pub fn new(max_bytes: u64) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_, value: &Arc<CachedRendition>| u32::try_from(value.bytes.len()).unwrap_or(u32::MAX))
            .build();
        Self { cache }
    }

    /// The rendition at `key`, made by `init` on a miss. Concurrent callers
    /// for the same key share one `init`; the flag tells whether this call
    /// ran it.
    pub async fn get_or_make<E, F>(&self, key: &RenditionKey, init: F) -> Result<(Arc<CachedRendition>, bool), Arc<E>>
    where
        E: Send + Sync + 'static,
        F: Future<Output = Result<Arc<CachedRendition>, E>>,
    {
        let entry = self.cache.entry_by_ref(key).or_try_insert_with(init).await?;
        let fresh = entry.is_fresh();
        Ok((entry.into_value(), fresh))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::cache::Tier;
    use crate::format::OutputFormat;
    use crate::store::{SourceVersion, StorageKey};

    fn key(n: u32) -> RenditionKey {
        let original = StorageKey::new("a.jpg").expect("valid key");
        RenditionKey::new(
            &original,
            &SourceVersion::from_etag("v"),
            "",
            &format!("width-{n}"),
            None,
            OutputFormat::Png,
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

    #[tokio::test]
    async fn concurrent_misses_run_one_init() {
        let tier = MemoryTier::new(1 << 20);
        let inits = Arc::new(AtomicUsize::new(0));
        let calls = (0..16).map(|_| {
            let (tier, inits) = (tier.clone(), inits.clone());
            tokio::spawn(async move {
                tier.get_or_make::<(), _>(&key(1), async {
                    inits.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    Ok(rendition(10))
                })
                .await
                .map(|(_, fresh)| fresh)
            })
        });
        let mut fresh = 0;
        for call in calls {
            if call.await.expect("no panic").expect("no error") {
                fresh += 1;
            }
        }
        assert_eq!((inits.load(Ordering::SeqCst), fresh), (1, 1));
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let tier = MemoryTier::new(1 << 20);
        assert!(tier.get_or_make(&key(1), async { Err("no") }).await.is_err());
        let (_, fresh) = tier
            .get_or_make::<(), _>(&key(1), async { Ok(rendition(1)) })
            .await
            .expect("ok");
        assert!(fresh);
    }

    #[tokio::test]
    async fn weight_is_bounded_by_bytes() {
        let tier = MemoryTier::new(1000);
        for n in 0..50 {
            tier.get_or_make::<(), _>(&key(n), async { Ok(rendition(100)) })
                .await
                .expect("ok");
        }
        tier.cache.run_pending_tasks().await;
        assert!(tier.cache.weighted_size() <= 1000, "{}", tier.cache.weighted_size());
    }
}
