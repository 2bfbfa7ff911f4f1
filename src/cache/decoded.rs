//! Decoded originals, kept a few seconds: the renders of one original at
//! one shrink-on-load factor share one decode (a burst of sizes for a
//! `srcset`, or sizes asked one after the other), instead of decoding the
//! original again for each.
//!
//! Entries are weighed by their pixels' bytes against a capacity carved out
//! of the memory budget, and made once however many renders ask at the same
//! time: [`DecodedOriginals::get_or_decode`] blocks the others until the
//! first has decoded, so it is called from a worker thread. A render may
//! use pixels shrunk less on load than it needs (a larger decode, resized
//! more), never more.
//!
//! An original's pixels are kept from its second decode within [`IDLE`] on
//! (or its first, once [`DecodedOriginals::expect_renders`] said more are
//! coming): a stream of originals rendered once each keeps nothing.

use std::sync::Arc;
use std::time::Duration;

use moka::policy::EvictionPolicy;
use moka::sync::Cache;

use crate::pipeline::{Decoded, PipelineError, Probe};
use crate::store::{SourceVersion, StorageKey};

/// How long an unused decoded original is kept.
pub const IDLE: Duration = Duration::from_secs(10);

/// Which pixels: the original, its version, the shrink-on-load factor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DecodeKey {
    original: StorageKey,
    version: String,
    shrink: u32,
}

impl DecodeKey {
    /// The key of `original` at `version`, shrunk 1/`shrink` on load.
    fn new(original: &StorageKey, version: &SourceVersion, shrink: u32) -> Self {
        Self {
            original: original.clone(),
            version: version.as_str().to_owned(),
            shrink,
        }
    }
}

/// An original's decoded pixels and the probe of its whole bytes.
#[derive(Debug)]
pub struct DecodedOriginal {
    /// What the original's headers say.
    pub probe: Probe,
    /// Its pixels.
    pub pixels: Decoded,
}

/// The most originals remembered as decoded lately.
const RECENT_ORIGINALS: u64 = 10_000;

/// The cache of decoded originals.
#[derive(Clone)]
pub struct DecodedOriginals {
    cache: Option<Cache<DecodeKey, Arc<DecodedOriginal>>>,
    /// Originals (key and version) decoded or announced within [`IDLE`],
    /// with the shrink-on-load factor announced renders decode with.
    recent: Cache<(StorageKey, String), Option<u32>>,
}

impl std::fmt::Debug for DecodedOriginals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DecodedOriginals({} bytes)", self.kept_bytes())
    }
}

impl DecodedOriginals {
    /// A cache of at most `max_bytes` of pixels, each entry kept [`IDLE`]
    /// after its last use; 0 keeps nothing.
    pub fn new(max_bytes: u64) -> Self {
        let cache = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_: &DecodeKey, entry: &Arc<DecodedOriginal>| {
                    u32::try_from(entry.pixels.heap_bytes()).unwrap_or(u32::MAX)
                })
                .time_to_idle(IDLE)
                // The newest decode is the one about to be used: admitted
                // always (TinyLFU would keep a busier older one instead).
                .eviction_policy(EvictionPolicy::lru())
                .build()
        });
        let recent = Cache::builder()
            .max_capacity(RECENT_ORIGINALS)
            .time_to_live(IDLE)
            .build();
        Self { cache, recent }
    }

    /// Says that `original` at `version` is about to be rendered more than
    /// once, at shrink-on-load factors down to 1/`shrink`: its first decode
    /// is kept, and every render of it for the next [`IDLE`] decodes at
    /// most that much, so that they all share one decode (a resize costs
    /// less than decoding again).
    pub fn expect_renders(&self, original: &StorageKey, version: &SourceVersion, shrink: u32) {
        self.recent
            .insert((original.clone(), version.as_str().to_owned()), Some(shrink));
    }

    /// Bytes of pixels kept now.
    pub fn kept_bytes(&self) -> u64 {
        self.cache.as_ref().map_or(0, Cache::weighted_size)
    }

    /// Runs the cache's pending work (evictions, weights).
    pub fn run_pending_tasks(&self) {
        if let Some(cache) = &self.cache {
            cache.run_pending_tasks();
        }
    }

    /// The kept pixels of `original` at `version` that serve a render
    /// needing them shrunk 1/`shrink` (a power of two) on load: shrunk that
    /// much, else the least-resized of those shrunk less.
    pub fn find(&self, original: &StorageKey, version: &SourceVersion, shrink: u32) -> Option<Arc<DecodedOriginal>> {
        let cache = self.cache.as_ref()?;
        let mut key = DecodeKey::new(original, version, shrink);
        loop {
            if let Some(found) = cache.get(&key) {
                return Some(found);
            }
            if key.shrink <= 1 {
                return None;
            }
            key.shrink /= 2;
        }
    }

    /// The original decoded by `decode` at a factor of 1/`shrink` or less
    /// (the factor it is given), unless it is kept or another caller is
    /// decoding it (then this one waits for that). Blocks: call it from a
    /// worker thread.
    pub fn get_or_decode(
        &self,
        original: &StorageKey,
        version: &SourceVersion,
        shrink: u32,
        decode: impl FnOnce(u32) -> Result<DecodedOriginal, PipelineError>,
    ) -> Result<Arc<DecodedOriginal>, PipelineError> {
        let Some(cache) = &self.cache else {
            return decode(shrink).map(Arc::new);
        };
        let recent = (original.clone(), version.as_str().to_owned());
        let Some(announced) = self.recent.get(&recent) else {
            // The first decode of it lately: remembered, not kept.
            self.recent.insert(recent, None);
            return decode(shrink).map(Arc::new);
        };
        let shrink = announced.map_or(shrink, |announced| announced.min(shrink));
        cache
            .try_get_with(DecodeKey::new(original, version, shrink), || {
                decode(shrink).map(Arc::new)
            })
            .map_err(|e| (*e).clone())
    }
}
