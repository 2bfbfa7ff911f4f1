//! The use case: a rendition request in, a rendition out. Store → cache →
//! pipeline, with no HTTP in sight.
//!
//! [`Renditions::resolve`] finds out which rendition a request stands for
//! without reading the original: its version, format and headers come from
//! one small ranged read, cached for a short TTL. [`Renditions::fetch`] then
//! serves it from memory, the shared store, or a render (one per instance
//! however many requests ask at once, detached from them so that it always
//! reaches the cache); [`Renditions::publish`] makes sure it is in the
//! shared store for redirect mode.
//!
//! A render first reserves the memory it may need against the budget (from
//! the headers and the plan), then reads the original with a byte cap, then
//! runs on a worker under the render deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::future::Cache;
use thiserror::Error;

use futures_util::stream::{self, StreamExt};

use crate::cache::{
    CachedRendition, Claim, DecodedOriginal, DecodedOriginals, Leases, Lookup, MemoryTier, Rendering, RenditionKey,
    SharedTier, Tier, Watch,
};
use crate::format::{OutputFormat, SourceFormat};
use crate::metrics::{FormatLabels, Metrics};
use crate::pipeline::{self, Deadline, Limits, PipelineError, Probe};
use crate::plan::{
    self, Accept, Encoding, FocalPoint, FocalPointError, Output, Plan, PlanError, Source, SourceSize,
    split_spec_focal_point,
};
use crate::spec::{FilterSpec, SpecError, SpecLimits};
use crate::store::{InvalidKey, Originals, SourceVersion, StorageKey, StoreError};
use crate::workers::{OverBudget, Overloaded, WorkerFailed, Workers};

/// How long a rendition known to be in the shared store is trusted to still
/// be there (a lifecycle rule may remove it) before redirect mode checks again.
const PUBLISHED_TTL: Duration = Duration::from_secs(3600);

/// Bytes the cache of originals' versions and headers may hold (and, apart,
/// the cache of their last known versions).
pub const SOURCES_CACHE_BYTES: u64 = 32 << 20;

/// How long an original's last known version may stand in for it while the
/// store does not answer.
const LAST_KNOWN_TTL: Duration = Duration::from_secs(24 * 3600);

/// Bytes the cache of renditions known to be published may hold.
pub const PUBLISHED_CACHE_BYTES: u64 = 16 << 20;

/// The first wait for another instance's render, growing by half each
/// time up to [`LEASE_MAX_PAUSE`].
const LEASE_FIRST_PAUSE: Duration = Duration::from_millis(20);

/// The longest wait between two looks at the shared store.
const LEASE_MAX_PAUSE: Duration = Duration::from_millis(250);

/// What a cache entry costs besides its variable parts (map slots, `Arc`s).
const ENTRY_OVERHEAD: usize = 192;

/// Why a rendition cannot be served.
#[derive(Debug, Clone, Error)]
pub enum RenditionError {
    /// The filter spec is invalid.
    #[error("invalid filter spec {spec:?}: {reason}")]
    Spec {
        /// The spec as requested.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The filter spec is over the bounds of [`SpecLimits`] (not echoed).
    #[error(transparent)]
    SpecTooLarge(SpecError),
    /// The storage key is not acceptable.
    #[error(transparent)]
    InvalidKey(#[from] InvalidKey),
    /// No original at that key.
    #[error("no original at {0}")]
    NotFound(String),
    /// The original has more bytes than allowed.
    #[error("the original has {size} bytes, more than the limit of {limit}")]
    SourceTooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The pipeline refused the original or the rendition.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// A store did not answer.
    #[error("{0}")]
    Unavailable(String),
    /// Every worker is busy and the queue is full.
    #[error(transparent)]
    Overloaded(#[from] Overloaded),
    /// The render would need more memory than the whole budget.
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
    /// The render passed its deadline and was abandoned.
    #[error("the render took longer than its time limit")]
    TimedOut,
    /// A render failed in a way that is renditiond's fault.
    #[error("a render worker failed: {0}")]
    Worker(String),
}

impl From<WorkerFailed> for RenditionError {
    fn from(error: WorkerFailed) -> Self {
        match error {
            WorkerFailed::TimedOut => Self::TimedOut,
            WorkerFailed::Panicked(reason) => Self::Worker(reason),
        }
    }
}

impl From<tokio::task::JoinError> for RenditionError {
    fn from(error: tokio::task::JoinError) -> Self {
        Self::Worker(error.to_string())
    }
}

impl RenditionError {
    fn spec(spec: &str, reason: impl ToString) -> Self {
        Self::Spec {
            spec: spec.to_owned(),
            reason: reason.to_string(),
        }
    }

    fn store(key: &StorageKey, error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound(key.to_string()),
            StoreError::Changed => Self::Unavailable(format!("{key} changed while it was read")),
            StoreError::TooLarge { limit } => Self::SourceTooLarge {
                size: limit.saturating_add(1),
                limit,
            },
            StoreError::TimedOut(_)
            | StoreError::Paused(_)
            | StoreError::Unreachable(_)
            | StoreError::Unavailable(_) => Self::Unavailable(error.to_string()),
        }
    }
}

/// A request for a rendition: which original, which spec, which focal point.
#[derive(Debug, Clone)]
pub struct Request {
    /// The original's key.
    pub key: StorageKey,
    /// The text of the spec as requested, focal point included.
    pub spec_text: String,
    /// The filter spec.
    pub spec: FilterSpec,
    /// The focal point, from a trailing `focal-X-Y-W-H` or Wagtail's database.
    pub focal_point: Option<FocalPoint>,
    /// What else tells versions of the original apart (Wagtail's file hash).
    pub revision: String,
    /// The client's `Accept`, for format negotiation.
    pub accept: Accept,
    /// The encoding negotiated from `accept`, once resolved.
    negotiated: Option<Encoding>,
}

/// Checks a spec's text against `limits` (length, operations, no `/`)
/// before anything else is done with it: cheap, allocation-free, and the
/// same for every route.
pub fn check_spec(spec_text: &str, limits: &SpecLimits) -> Result<(), RenditionError> {
    limits.check(spec_text).map_err(|e| {
        if e.is_too_large() {
            RenditionError::SpecTooLarge(e)
        } else {
            RenditionError::spec(spec_text, e)
        }
    })
}

impl Request {
    /// Parses a request from a URL's (percent-decoded) spec and key, the
    /// spec within `limits`.
    pub fn parse(spec_text: &str, key: &str, limits: &SpecLimits) -> Result<Self, RenditionError> {
        check_spec(spec_text, limits)?;
        let (spec, focal_point) =
            split_spec_focal_point(spec_text).map_err(|e: FocalPointError| RenditionError::spec(spec_text, e))?;
        let spec = FilterSpec::parse(spec).map_err(|e: SpecError| RenditionError::spec(spec_text, e))?;
        Ok(Self {
            key: StorageKey::new(key)?,
            spec_text: spec_text.to_owned(),
            spec,
            focal_point,
            revision: String::new(),
            accept: Accept::default(),
            negotiated: None,
        })
    }

    /// The same request from a client that sent `accept`.
    pub fn accepting(self, accept: Accept) -> Self {
        Self { accept, ..self }
    }

    /// A request for a Wagtail image: its spec as Wagtail's URL carries it
    /// (no focal point suffix, within `limits`), its original, focal point
    /// and file hash.
    pub fn for_wagtail_image(
        spec_text: &str,
        key: &str,
        focal_point: Option<FocalPoint>,
        file_hash: &str,
        limits: &SpecLimits,
    ) -> Result<Self, RenditionError> {
        check_spec(spec_text, limits)?;
        let spec = FilterSpec::parse(spec_text).map_err(|e| RenditionError::spec(spec_text, e))?;
        Ok(Self {
            key: StorageKey::new(key)?,
            spec_text: spec_text.to_owned(),
            spec,
            focal_point,
            revision: file_hash.to_owned(),
            accept: Accept::default(),
            negotiated: None,
        })
    }
}

/// What is known of an original before reading all of it.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    /// Its version.
    pub version: SourceVersion,
    /// Its size in bytes.
    pub size: u64,
    /// Its format, from its first bytes; `None` when it is no known image format.
    pub format: Option<SourceFormat>,
    /// What its headers say, when the first bytes hold them (never for SVG).
    pub probe: Option<Probe>,
}

impl SourceInfo {
    /// Bytes this takes in the cache.
    fn weight(&self, key: &StorageKey) -> u32 {
        let probe = self.probe.as_ref().map_or(0, Probe::heap_bytes);
        let total = ENTRY_OVERHEAD + key.as_str().len() + self.version.as_str().len() + probe;
        u32::try_from(total).unwrap_or(u32::MAX)
    }
}

/// What warming one rendition did, or why it failed.
pub type WarmAnswer = Result<(Resolved, Warmed), RenditionError>;

/// Whether a warmed rendition was in the caches already, or was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warmed {
    /// It was in memory or in the shared store.
    Cached,
    /// It was rendered now.
    Rendered,
}

/// A request resolved to the rendition it stands for.
#[derive(Debug, Clone)]
pub struct Resolved {
    request: Request,
    source: SourceInfo,
    /// The rendition's identity.
    pub key: RenditionKey,
    /// The rendition's format.
    pub format: OutputFormat,
    /// The file name Wagtail would give the rendition.
    pub filename: String,
    /// Whether the format was negotiated from `Accept`: the answer then
    /// varies with it.
    pub varies: bool,
}

/// What [`Renditions`] needs to know.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long an original's version is trusted before it is looked up again.
    pub version_ttl: Duration,
    /// The largest original read, in bytes.
    pub max_source_bytes: u64,
    /// Pixel and SVG limits of the pipeline.
    pub limits: Limits,
    /// The site's output settings (formats, qualities, SVG).
    pub output: Output,
    /// The memory tier's size in bytes.
    pub memory_bytes: u64,
    /// Bytes of decoded originals kept for the next renders of the same.
    pub decoded_bytes: u64,
    /// How long one render may run.
    pub render_timeout: Duration,
}

/// The rendition service.
#[derive(Debug, Clone)]
pub struct Renditions {
    originals: Originals,
    shared: Option<SharedTier>,
    sources: Cache<StorageKey, SourceInfo>,
    last_known: Cache<StorageKey, SourceInfo>,
    memory: MemoryTier<RenditionError>,
    decoded: DecodedOriginals,
    published: Cache<RenditionKey, Tier>,
    workers: Workers,
    settings: Settings,
    metrics: Arc<Metrics>,
}

impl Renditions {
    /// The service over its stores, workers and metrics.
    pub fn new(
        originals: Originals,
        shared: Option<SharedTier>,
        workers: Workers,
        settings: Settings,
        metrics: Arc<Metrics>,
    ) -> Self {
        metrics
            .render_timeout_seconds
            .set(settings.render_timeout.as_secs_f64());
        Self {
            originals,
            shared,
            sources: Cache::builder()
                .max_capacity(SOURCES_CACHE_BYTES)
                .weigher(|key: &StorageKey, info: &SourceInfo| info.weight(key))
                .time_to_live(settings.version_ttl)
                .build(),
            last_known: Cache::builder()
                .max_capacity(SOURCES_CACHE_BYTES)
                .weigher(|key: &StorageKey, info: &SourceInfo| info.weight(key))
                .time_to_live(LAST_KNOWN_TTL)
                .build(),
            memory: MemoryTier::new(settings.memory_bytes),
            decoded: DecodedOriginals::new(settings.decoded_bytes),
            published: Cache::builder()
                .max_capacity(PUBLISHED_CACHE_BYTES)
                .weigher(|key: &RenditionKey, _: &Tier| {
                    u32::try_from(ENTRY_OVERHEAD + key.name().len()).unwrap_or(u32::MAX)
                })
                .time_to_live(PUBLISHED_TTL)
                .build(),
            workers,
            settings,
            metrics,
        }
    }

    /// Updates the gauges of what the memory tier and the decoded originals
    /// hold, for a metrics scrape.
    pub async fn observe_caches(&self) {
        let (bytes, entries) = self.memory.held().await;
        self.decoded.run_pending_tasks();
        let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.metrics.memory_cache_bytes.set(gauge(bytes));
        self.metrics.memory_cache_entries.set(gauge(entries));
        self.metrics.decoded_cache_bytes.set(gauge(self.decoded.kept_bytes()));
    }

    /// The render memory budget in bytes.
    pub fn memory_budget(&self) -> u64 {
        self.workers.budget()
    }

    /// How many renders run at once.
    pub fn workers(&self) -> usize {
        self.workers.workers()
    }

    /// The site's output settings.
    pub fn output(&self) -> &Output {
        &self.settings.output
    }

    /// Which rendition `request` stands for, without reading the original.
    pub async fn resolve(&self, mut request: Request) -> Result<Resolved, RenditionError> {
        let source = self
            .sources
            .try_get_with_by_ref(&request.key, self.inspect(&request.key))
            .await
            .map_err(|e| (*e).clone())?;
        if source.size > self.settings.max_source_bytes {
            return Err(RenditionError::SourceTooLarge {
                size: source.size,
                limit: self.settings.max_source_bytes,
            });
        }
        let source_format = source.format.ok_or(PipelineError::UnknownFormat)?;
        if !pipeline::reads(source_format) {
            return Err(PipelineError::UnsupportedSource(source_format).into());
        }
        let animated = source.probe.as_ref().and_then(Probe::animated) == Some(true);
        let outline = plan::outline(
            source_format,
            animated,
            &request.spec,
            request.focal_point.as_ref(),
            &self.settings.output,
            &request.accept,
        )
        .map_err(|e| plan_error(&request, e))?;
        request.negotiated = outline.varies.then_some(outline.encoding);
        let key = RenditionKey::new(
            &request.key,
            &source.version,
            &request.revision,
            &outline.spec,
            request.focal_point.as_ref(),
            outline.encoding,
            Rendering {
                animation: self.settings.limits.animation.as_ref().filter(|_| outline.animated),
                shrink_on_load: self.settings.limits.shrink_on_load,
            },
        );
        // Wagtail's own name for the rendition, for Content-Disposition.
        let filename = plan::rendition_path(
            request.key.as_str(),
            &outline.spec,
            &outline.focal_point_key,
            outline.format,
        )
        .and_then(|path| path.strip_prefix("images/").map(str::to_owned))
        .unwrap_or_else(|| key.name().to_owned());
        Ok(Resolved {
            request,
            source,
            key,
            format: outline.format,
            filename,
            varies: outline.varies,
        })
    }

    /// The EXIF-oriented size of the original at `file` (Wagtail's file
    /// name) and whether it is animated, from the same cached read as
    /// [`resolve`](Self::resolve).
    pub async fn source_size(&self, file: &str) -> SourceSize {
        let Ok(key) = StorageKey::new(file) else {
            return SourceSize::Recorded;
        };
        match self.sources.try_get_with_by_ref(&key, self.inspect(&key)).await {
            Ok(source) => source.probe.map_or(SourceSize::Recorded, |probe| {
                SourceSize::Oriented(probe.oriented_size(), probe.animated() == Some(true))
            }),
            Err(error) => match &*error {
                RenditionError::NotFound(_) => SourceSize::Missing,
                other => {
                    tracing::warn!(error = %other, file, "could not read an original's headers; planning from the recorded size");
                    SourceSize::Recorded
                }
            },
        }
    }

    /// The original's version, size, format and headers, from one ranged
    /// read; when the store does not answer, what it said last time (so
    /// renditions in memory are still served through an outage).
    async fn inspect(&self, key: &StorageKey) -> Result<SourceInfo, RenditionError> {
        let inspected = match self.originals.inspect(key).await {
            Ok(inspected) => inspected,
            Err(e) if e.is_outage() => {
                return match self.last_known.get(key).await {
                    Some(info) => {
                        tracing::warn!(error = %e, key = key.as_str(), "storage unavailable; using the original's last known version");
                        Ok(info)
                    }
                    None => Err(RenditionError::store(key, e)),
                };
            }
            Err(e) => return Err(RenditionError::store(key, e)),
        };
        let format = pipeline::sniff(&inspected.head);
        let whole = inspected.head.len() as u64 == inspected.size;
        let mut probe = match format {
            Some(format) if pipeline::reads(format) => {
                pipeline::probe_head(&inspected.head, whole, &self.settings.limits)?
            }
            _ => None,
        };
        if probe.as_ref().is_some_and(|p| p.animated().is_none()) {
            // A GIF whose second frame lies beyond the head: whether it moves
            // decides its format, so it is read whole, once per version.
            let last = self.last_known.get(key).await;
            probe = match known_motion(last, &inspected.version) {
                Some(known) => Some(known),
                None if inspected.size <= self.settings.max_source_bytes => {
                    let original = self
                        .originals
                        .read(key, &inspected.version, self.settings.max_source_bytes)
                        .await
                        .map_err(|e| RenditionError::store(key, e))?;
                    Some(pipeline::probe(&original, &self.settings.limits)?)
                }
                None => probe,
            };
        }
        let info = SourceInfo {
            version: inspected.version,
            size: inspected.size,
            format,
            probe,
        };
        self.last_known.insert(key.clone(), info.clone()).await;
        Ok(info)
    }

    /// The rendition's bytes and the tier they came from.
    pub async fn fetch(&self, resolved: &Resolved) -> Result<(Arc<CachedRendition>, Tier), RenditionError> {
        // The service and the request are copied for the render only: a hit
        // copies nothing.
        let make = || {
            let (this, owned) = (self.clone(), resolved.clone());
            async move { this.find_or_render(&owned).await }
        };
        let (made, lookup) = self.memory.get_or_make(&resolved.key, make).await;
        self.metrics.cache_lookup("memory", lookup == Lookup::Hit);
        let rendition = made?;
        let tier = match lookup {
            Lookup::Started => rendition.origin,
            Lookup::Hit | Lookup::Joined => Tier::Memory,
        };
        Ok((rendition, tier))
    }

    /// Puts the renditions of `requests`, all of one original, into the
    /// caches (memory, and the shared store when there is one), rendering
    /// the missing ones `parallel` at a time. They share decodes through
    /// the decoded originals: the first of each shrink-on-load factor starts
    /// first, the largest first, and the others follow. Each answer, in
    /// order, says whether it was there already.
    pub async fn warm(&self, requests: Vec<Request>, parallel: usize) -> Vec<WarmAnswer> {
        let mut answers = Vec::with_capacity(requests.len());
        for request in requests {
            answers.push(self.resolve(request).await.map(|r| (r, Warmed::Cached)));
        }
        let mut missing = Vec::new();
        for (i, answer) in answers.iter().enumerate() {
            if let Ok((resolved, _)) = answer
                && !self.is_cached(resolved).await
            {
                missing.push((i, resolved.clone()));
            }
        }
        // One decode for all, at the least factor they need.
        let least = missing.iter().filter_map(|(_, r)| self.decode_factor(r)).min();
        if let (Some((_, first)), Some(least)) = (missing.first(), least) {
            self.decoded
                .expect_renders(&first.request.key, &first.source.version, least);
        }
        // The largest decode first: the others wait for it.
        let mut order: Vec<(Option<u32>, usize, Resolved)> = missing
            .into_iter()
            .map(|(i, resolved)| (self.decode_factor(&resolved), i, resolved))
            .collect();
        order.sort_by_key(|&(factor, i, _)| (factor, i));
        let made: Vec<(usize, WarmAnswer)> = stream::iter(order)
            .map(|(_, i, resolved)| async move {
                let made = self.fetch(&resolved).await.map(|(_, tier)| {
                    let how = if tier == Tier::Render {
                        Warmed::Rendered
                    } else {
                        Warmed::Cached
                    };
                    (resolved, how)
                });
                (i, made)
            })
            .buffer_unordered(parallel.max(1))
            .collect()
            .await;
        for (i, answer) in made {
            answers[i] = answer;
        }
        answers
    }

    /// The size `resolved` will have, where the original's headers tell
    /// (not for SVG originals, whose size needs the whole document).
    pub fn planned_size(&self, resolved: &Resolved) -> Option<plan::Size> {
        let probe = resolved.source.probe.as_ref()?;
        plan_for(probe, &resolved.request, &self.settings.output)
            .ok()
            .map(|plan| plan.size)
    }

    /// Whether `resolved` is in memory or in the shared store.
    async fn is_cached(&self, resolved: &Resolved) -> bool {
        if self.memory.contains(&resolved.key) {
            return true;
        }
        match &self.shared {
            Some(shared) => shared.contains(&resolved.key).await.unwrap_or(false),
            None => false,
        }
    }

    /// Puts a rendition just made into the shared store, if there is one;
    /// whether it is there now (a failure is logged: serving goes on).
    async fn store_shared(&self, resolved: &Resolved, bytes: &Bytes) -> bool {
        let Some(shared) = &self.shared else {
            return false;
        };
        let started = Instant::now();
        let put = shared.put(&resolved.key, bytes.clone(), resolved.format).await;
        self.metrics.stage("store", resolved.format.name(), started.elapsed());
        match put {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, key = resolved.key.name(), "cannot store the rendition");
                false
            }
        }
    }

    /// Makes sure the rendition is in the shared store; the tier says where
    /// that became known.
    pub async fn publish(&self, resolved: &Resolved) -> Result<Tier, RenditionError> {
        let Some(shared) = &self.shared else {
            return Err(RenditionError::Unavailable("no rendition store is configured".into()));
        };
        let confirm = async {
            if shared.contains(&resolved.key).await.map_err(unavailable)? {
                return Ok::<_, RenditionError>(Tier::Shared);
            }
            let (rendition, tier) = self.fetch(resolved).await?;
            if !rendition.stored {
                shared
                    .put(&resolved.key, rendition.bytes.clone(), rendition.format)
                    .await
                    .map_err(unavailable)?;
            }
            Ok(tier)
        };
        let entry = self
            .published
            .entry_by_ref(&resolved.key)
            .or_try_insert_with(confirm)
            .await
            .map_err(|e| (*e).clone())?;
        Ok(if entry.is_fresh() {
            entry.into_value()
        } else {
            Tier::Memory
        })
    }

    /// Runs on a memory miss: the shared store, else a render (stored for
    /// the other instances), under a render lease when there are leases.
    async fn find_or_render(&self, resolved: &Resolved) -> Result<Arc<CachedRendition>, RenditionError> {
        let Some(shared) = &self.shared else {
            return self.render_and_store(resolved).await;
        };
        match shared.get(&resolved.key).await {
            Ok(Some(bytes)) => {
                self.metrics.cache_lookup("shared", true);
                return Ok(from_shared(bytes, resolved));
            }
            Ok(None) => self.metrics.cache_lookup("shared", false),
            Err(e) => {
                tracing::warn!(error = %e, "rendition store lookup failed; rendering");
                return self.render_and_store(resolved).await;
            }
        }
        match shared.leases() {
            Some(leases) => self.render_once_across_instances(leases, shared, resolved).await,
            None => self.render_and_store(resolved).await,
        }
    }

    /// Renders under the rendition's lease, or waits for the instance that
    /// holds it to store the rendition: at most one render timeout, then
    /// renders here. A store that fails means rendering here at once.
    async fn render_once_across_instances(
        &self,
        leases: &Leases,
        shared: &SharedTier,
        resolved: &Resolved,
    ) -> Result<Arc<CachedRendition>, RenditionError> {
        let give_up = Instant::now() + self.settings.render_timeout;
        let mut pause = LEASE_FIRST_PAUSE;
        let mut watch = Watch::default();
        let outcome = loop {
            match leases.claim(&resolved.key, &mut watch).await {
                Ok((claim, Some(holding))) => {
                    self.metrics
                        .lease(if claim == Claim::Won { "won" } else { "took_over" });
                    // The holder before may have stored it and let go since
                    // this instance looked.
                    let made = match shared.get(&resolved.key).await {
                        Ok(Some(bytes)) => Ok(from_shared(bytes, resolved)),
                        _ => self.render_and_store(resolved).await,
                    };
                    leases.release(holding).await;
                    return made;
                }
                Ok((_, None)) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "render lease unavailable; rendering");
                    break "unavailable";
                }
            }
            let now = Instant::now();
            if now >= give_up {
                break "timed_out";
            }
            tokio::time::sleep(pause.min(give_up - now)).await;
            pause = (pause * 3 / 2).min(LEASE_MAX_PAUSE);
            match shared.get(&resolved.key).await {
                Ok(Some(bytes)) => {
                    self.metrics.lease("waited");
                    return Ok(from_shared(bytes, resolved));
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "rendition store lookup failed; rendering");
                    break "unavailable";
                }
            }
        };
        self.metrics.lease(outcome);
        self.render_and_store(resolved).await
    }

    /// Renders and puts the rendition in the shared store, if there is one.
    async fn render_and_store(&self, resolved: &Resolved) -> Result<Arc<CachedRendition>, RenditionError> {
        let bytes = self.render(resolved).await?;
        let stored = self.store_shared(resolved, &bytes).await;
        Ok(Arc::new(CachedRendition {
            bytes,
            format: resolved.format,
            origin: Tier::Render,
            stored,
        }))
    }

    /// Reserves the render's memory, reads the original and renders it on a
    /// worker under the render deadline.
    async fn render(&self, resolved: &Resolved) -> Result<Bytes, RenditionError> {
        let mut ticket = self.workers.admit()?;
        let request = &resolved.request;
        ticket.reserve(self.memory_cost(resolved)).await?;
        let format = resolved.format.name();
        // Decoded a moment ago for another size: the original is not read.
        let input = match self.decoded_original(resolved) {
            Some(decoded) => RenderInput::Decoded(decoded),
            None => {
                let started = Instant::now();
                let original = self.read_original(resolved).await?;
                self.metrics.stage("fetch", format, started.elapsed());
                RenderInput::Bytes(original)
            }
        };
        let job = RenderJob {
            input,
            request: request.clone(),
            version: resolved.source.version.clone(),
            decoded: self.decoded.clone(),
            limits: self.settings.limits,
            output: self.settings.output.clone(),
        };
        let metrics = self.metrics.clone();
        // Timed on the worker, whoever still waits for it: the wait for a
        // worker is not render time.
        let ran = ticket
            .run(self.settings.render_timeout, move |deadline| {
                let started = Instant::now();
                let rendition = job.run(&deadline);
                metrics
                    .render_seconds
                    .get_or_create(&FormatLabels { format })
                    .observe(started.elapsed().as_secs_f64());
                if let Ok(rendition) = &rendition {
                    let stages = &rendition.stages;
                    for (stage, took) in [
                        ("decode", stages.decode),
                        ("resize", stages.resize),
                        ("encode", stages.encode),
                    ] {
                        // A stage that did not run (a decode kept from
                        // before) is not observed.
                        if !took.is_zero() {
                            metrics.stage(stage, format, took);
                        }
                    }
                }
                rendition
            })
            .await;
        let rendition = match ran.map_err(RenditionError::from).and_then(|r| r) {
            Err(RenditionError::TimedOut | RenditionError::Pipeline(PipelineError::TimedOut)) => {
                self.metrics.render_timeouts.inc();
                return Err(RenditionError::TimedOut);
            }
            other => other?,
        };
        if rendition.format != resolved.format {
            return Err(RenditionError::Worker(format!(
                "planned {} but rendered {}",
                resolved.format, rendition.format
            )));
        }
        Ok(Bytes::from(rendition.bytes))
    }

    /// The original of `resolved`, read whole (within the byte limit).
    async fn read_original(&self, resolved: &Resolved) -> Result<Bytes, RenditionError> {
        let key = &resolved.request.key;
        let original = self
            .originals
            .read(key, &resolved.source.version, self.settings.max_source_bytes)
            .await;
        if matches!(original, Err(StoreError::Changed)) {
            // Replaced since it was inspected: look again next time.
            self.sources.invalidate(key).await;
        }
        original.map_err(|e| RenditionError::store(key, e))
    }

    /// The decoded original `resolved` can be made from, if one is kept.
    fn decoded_original(&self, resolved: &Resolved) -> Option<Arc<DecodedOriginal>> {
        let shrink = self.decode_factor(resolved)?;
        self.decoded
            .find(&resolved.request.key, &resolved.source.version, shrink)
    }

    /// The shrink-on-load factor the render of `resolved` decodes with, when
    /// the headers of the version lookup tell (not for SVG).
    fn decode_factor(&self, resolved: &Resolved) -> Option<u32> {
        let probe = resolved.source.probe.as_ref()?;
        let plan = plan_for(probe, &resolved.request, &self.settings.output).ok()?;
        pipeline::shrink(probe, &plan, &self.settings.limits).ok()?
    }

    /// The most memory the render of `resolved` may use: from its headers
    /// and plan when they are known; else the pixel limit's worst case, or
    /// the whole budget if that is less (the render then runs alone).
    fn memory_cost(&self, resolved: &Resolved) -> u64 {
        let source = &resolved.source;
        let limits = &self.settings.limits;
        let format = source.format.unwrap_or(SourceFormat::Jpeg);
        let plan = source
            .probe
            .as_ref()
            .and_then(|probe| plan_for(probe, &resolved.request, &self.settings.output).ok());
        let cost = pipeline::memory_cost(
            format,
            source.size,
            source.probe.as_ref(),
            plan.as_ref(),
            resolved.format,
            limits,
        );
        if plan.is_some() || format == SourceFormat::Svg {
            cost
        } else {
            cost.min(self.workers.budget())
        }
    }
}

/// The CPU part of a render: probe, plan, pipeline.
struct RenderJob {
    input: RenderInput,
    request: Request,
    version: SourceVersion,
    decoded: DecodedOriginals,
    limits: Limits,
    output: Output,
}

/// What a render starts from.
enum RenderInput {
    /// The original's bytes.
    Bytes(Bytes),
    /// The original decoded for another rendition.
    Decoded(Arc<DecodedOriginal>),
}

impl RenderJob {
    fn run(self, deadline: &Deadline) -> Result<pipeline::Rendition, RenditionError> {
        let original = match &self.input {
            RenderInput::Decoded(decoded) => return self.render_decoded(decoded, deadline),
            RenderInput::Bytes(bytes) => bytes,
        };
        let probe = pipeline::probe(original, &self.limits)?;
        deadline.check()?;
        let plan = plan_for(&probe, &self.request, &self.output)?;
        let Some(shrink) = pipeline::shrink(&probe, &plan, &self.limits)? else {
            return Ok(pipeline::render_until(original, &probe, &plan, &self.limits, deadline)?);
        };
        let mut took = Duration::ZERO;
        let decoded = match self.decoded.find(&self.request.key, &self.version, shrink) {
            Some(decoded) => decoded,
            None => self
                .decoded
                .get_or_decode(&self.request.key, &self.version, shrink, |factor| {
                    let started = Instant::now();
                    let pixels = pipeline::decode_original(original, &probe, factor, &self.limits)?;
                    took = started.elapsed();
                    Ok(DecodedOriginal { probe, pixels })
                })?,
        };
        let mut rendition = self.render_decoded(&decoded, deadline)?;
        rendition.stages.decode = took;
        Ok(rendition)
    }

    fn render_decoded(
        &self,
        decoded: &DecodedOriginal,
        deadline: &Deadline,
    ) -> Result<pipeline::Rendition, RenditionError> {
        deadline.check()?;
        let plan = plan_for(&decoded.probe, &self.request, &self.output)?;
        Ok(pipeline::render_decoded(
            &decoded.pixels,
            &decoded.probe,
            &plan,
            &self.limits,
            deadline,
        )?)
    }
}

/// The probe of `version` that an earlier inspection read whole, from
/// what it said `last`, when it tells whether the original moves.
fn known_motion(last: Option<SourceInfo>, version: &SourceVersion) -> Option<Probe> {
    last.filter(|info| &info.version == version)?
        .probe
        .filter(|probe| probe.animated().is_some())
}

/// A rendition read from the shared store.
fn from_shared(bytes: Bytes, resolved: &Resolved) -> Arc<CachedRendition> {
    Arc::new(CachedRendition {
        bytes,
        format: resolved.format,
        origin: Tier::Shared,
        stored: true,
    })
}

/// The plan of `request` on the original `probe` describes.
fn plan_for(probe: &Probe, request: &Request, output: &Output) -> Result<Plan, RenditionError> {
    let source = Source {
        size: probe.oriented_size(),
        format: probe.format,
        focal_point: request.focal_point,
        animated: probe.animated() == Some(true),
    };
    let mut plan = plan::plan(&source, &request.spec, output).map_err(|e| plan_error(request, e))?;
    if let Some(encoding) = request.negotiated {
        plan.encoding = encoding;
    }
    Ok(plan)
}

/// Every plan error is the spec's fault on this image: Wagtail's 400.
fn plan_error(request: &Request, error: PlanError) -> RenditionError {
    RenditionError::spec(&request.spec_text, error)
}

fn unavailable(error: StoreError) -> RenditionError {
    RenditionError::Unavailable(error.to_string())
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;
    use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

    use super::*;
    use crate::store::Store;

    const PHOTO: &[u8] = include_bytes!("../test-images/photo-baseline.jpg");

    struct World {
        originals: Arc<InMemory>,
        shared: Arc<InMemory>,
    }

    impl World {
        async fn new() -> Self {
            let world = Self {
                originals: Arc::new(InMemory::new()),
                shared: Arc::new(InMemory::new()),
            };
            world.put("photo.jpg", PHOTO).await;
            world.put("notes.txt", b"not an image").await;
            world.put("empty.jpg", b"").await;
            world
        }

        async fn put(&self, key: &str, bytes: &[u8]) {
            self.originals
                .put(&key.into(), PutPayload::from(bytes.to_vec()))
                .await
                .expect("put");
        }

        /// An instance over these stores.
        fn instance(&self, tune: impl FnOnce(&mut Settings, &mut (usize, u64))) -> Renditions {
            let mut settings = Settings {
                version_ttl: Duration::from_secs(10),
                max_source_bytes: 1 << 20,
                limits: Limits::default(),
                output: Output::default(),
                memory_bytes: 1 << 20,
                decoded_bytes: 16 << 20,
                render_timeout: Duration::from_secs(10),
            };
            let mut pool = (2, 1 << 30);
            tune(&mut settings, &mut pool);
            let metrics = Arc::new(Metrics::new());
            let store = |inner: &Arc<InMemory>| Store::from_object_store(inner.clone(), Duration::from_secs(5));
            Renditions::new(
                Originals::new(store(&self.originals)),
                Some(SharedTier::new(store(&self.shared), 1 << 20).with_leases(crate::cache::STALE_AFTER)),
                Workers::new(pool.0, 4, pool.1, metrics.clone()),
                settings,
                metrics,
            )
        }

        async fn shared_objects(&self) -> usize {
            use futures_util::StreamExt;
            self.shared.list(None).collect::<Vec<_>>().await.len()
        }
    }

    /// The sum of the metric samples whose line starts with `prefix`.
    fn counted(renditions: &Renditions, prefix: &str) -> u64 {
        renditions
            .metrics
            .encode()
            .lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    #[test]
    fn an_original_read_whole_to_tell_its_motion_is_not_read_again_for_its_version() {
        use crate::pipeline::codec::gif;
        use crate::pipeline::{AnimationLimits, Bitmap, Layout, Plays};
        let mut writer = gif::Writer::new(4, 4, Plays::Forever).expect("gif");
        for v in [0, 200] {
            let frame = Bitmap::new(4, 4, Layout::Rgba, [v, 50, 90, 255].repeat(16)).expect("frame");
            writer.add(frame, 10).expect("frame");
        }
        let bytes = writer.finish().expect("gif");
        let limits = Limits {
            animation: Some(AnimationLimits::default()),
            ..Limits::default()
        };
        let whole = pipeline::probe(&bytes, &limits).expect("probe");
        // A head that holds the headers but ends before the second frame.
        let head = (1..bytes.len())
            .find_map(|n| pipeline::probe_head(&bytes[..n], false, &limits).ok().flatten())
            .expect("a head that probes");
        assert_eq!((whole.animated(), head.animated()), (Some(true), None));
        let info = |version: &str, probe: &Probe| SourceInfo {
            version: SourceVersion::from_etag(version),
            size: bytes.len() as u64,
            format: Some(SourceFormat::Gif),
            probe: Some(probe.clone()),
        };
        let v1 = SourceVersion::from_etag("v1");
        assert_eq!(known_motion(Some(info("v1", &whole)), &v1), Some(whole.clone()));
        // Another version, a head that did not tell, or nothing known: read it.
        assert_eq!(known_motion(Some(info("v2", &whole)), &v1), None);
        assert_eq!(known_motion(Some(info("v1", &head)), &v1), None);
        assert_eq!(known_motion(None, &v1), None);
    }

    /// Renders counted in the metrics, whatever their format.
    fn renders(renditions: &Renditions) -> u64 {
        counted(renditions, "renditiond_render_duration_seconds_count")
    }

    async fn resolve(renditions: &Renditions, spec: &str, key: &str) -> Result<Resolved, RenditionError> {
        renditions
            .resolve(Request::parse(spec, key, &SpecLimits::default())?)
            .await
    }

    #[tokio::test]
    async fn renders_once_then_serves_from_memory_and_publishes() {
        let world = World::new().await;
        let renditions = world.instance(|_, _| {});
        let resolved = resolve(&renditions, "fill-30x20|format-webp", "photo.jpg")
            .await
            .expect("resolves");
        let (made, tier) = renditions.fetch(&resolved).await.expect("renders");
        assert_eq!(
            (tier, made.format, made.stored),
            (Tier::Render, OutputFormat::Webp, true)
        );
        let (again, tier) = renditions.fetch(&resolved).await.expect("cached");
        assert_eq!((tier, again.bytes.clone()), (Tier::Memory, made.bytes.clone()));
        assert_eq!(renders(&renditions), 1);
        assert_eq!(world.shared_objects().await, 1);
        assert!(matches!(renditions.publish(&resolved).await, Ok(Tier::Shared)));
    }

    #[tokio::test]
    async fn a_second_instance_reads_the_shared_tier_without_rendering() {
        let world = World::new().await;
        let first = world.instance(|_, _| {});
        let resolved = resolve(&first, "width-40|format-webp", "photo.jpg")
            .await
            .expect("resolves");
        let (made, _) = first.fetch(&resolved).await.expect("renders");
        let second = world.instance(|_, _| {});
        let resolved = resolve(&second, "width-40|format-webp", "photo.jpg")
            .await
            .expect("resolves");
        let (found, tier) = second.fetch(&resolved).await.expect("found");
        assert_eq!((tier, found.bytes.clone()), (Tier::Shared, made.bytes.clone()));
        assert_eq!(renders(&second), 0);
    }

    #[tokio::test]
    async fn another_shrink_on_load_rule_makes_another_rendition() {
        // 600×400 to width-100: 1/2 keeps twice the width (quality), 1/4 once
        // (fast), and off decodes it whole.
        use crate::pipeline::ShrinkOnLoad;
        let world = World::new().await;
        let mut made = Vec::new();
        for rule in [ShrinkOnLoad::Quality, ShrinkOnLoad::Fast, ShrinkOnLoad::Off] {
            let instance = world.instance(|settings, _| settings.limits.shrink_on_load = rule);
            let resolved = resolve(&instance, "width-100", "photo.jpg").await.expect("resolves");
            let (rendition, tier) = instance.fetch(&resolved).await.expect("renders");
            assert_eq!((tier, renders(&instance)), (Tier::Render, 1), "{rule:?}");
            made.push((resolved.key.etag(), rendition.bytes.clone()));
        }
        for (i, j) in [(0, 1), (0, 2), (1, 2)] {
            assert_ne!(made[i].0, made[j].0);
            assert_ne!(made[i].1, made[j].1);
        }
        assert_eq!(world.shared_objects().await, 3);
    }

    #[tokio::test]
    async fn clients_that_leave_cost_one_render_and_it_is_kept() {
        let world = World::new().await;
        let renditions = world.instance(|_, _| {});
        let resolved = resolve(&renditions, "width-600|format-webp", "photo.jpg")
            .await
            .expect("resolves");
        for client in 0..20 {
            // Each client gives up after one poll. The first leaves while the
            // render runs; later ones may find it already done.
            let fetch = renditions.fetch(&resolved);
            let left = tokio::time::timeout(Duration::ZERO, fetch).await.is_err();
            assert!(left || client > 0, "the first client must leave mid-render");
        }
        let mut waited = Duration::ZERO;
        while renders(&renditions) == 0 && waited < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited += Duration::from_millis(20);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (_, tier) = renditions.fetch(&resolved).await.expect("kept");
        assert_eq!((tier, renders(&renditions)), (Tier::Memory, 1));
    }

    /// Observations of `stage` in the metrics, whatever the format.
    fn stages(renditions: &Renditions, stage: &str) -> u64 {
        counted(
            renditions,
            &format!("renditiond_render_stage_duration_seconds_count{{stage=\"{stage}\","),
        )
    }

    async fn fetch_bytes(renditions: &Renditions, spec: &str) -> Bytes {
        let resolved = resolve(renditions, spec, "photo.jpg").await.expect("resolves");
        renditions.fetch(&resolved).await.expect("renders").0.bytes.clone()
    }

    #[tokio::test]
    async fn renditions_of_one_original_share_its_decode() {
        // 600×400: fill-30x20, fill-31x20 and fill-32x20 decode it shrunk
        // 1/8, width-100 1/2. The first decode is not kept, the second is.
        let kept = World::new().await.instance(|_, _| {});
        let a = fetch_bytes(&kept, "fill-30x20").await;
        let b = fetch_bytes(&kept, "fill-31x20|format-webp").await;
        let c = fetch_bytes(&kept, "fill-32x20|format-png").await;
        let seen = (renders(&kept), stages(&kept, "decode"), stages(&kept, "fetch"));
        assert_eq!(seen, (3, 2, 2));
        for stage in ["resize", "encode", "store"] {
            assert_eq!(stages(&kept, stage), 3, "{stage}");
        }
        // The same bytes as when each decodes the original.
        let apart = World::new().await.instance(|settings, _| settings.decoded_bytes = 0);
        assert_eq!(fetch_bytes(&apart, "fill-30x20").await, a);
        assert_eq!(fetch_bytes(&apart, "fill-31x20|format-webp").await, b);
        assert_eq!(fetch_bytes(&apart, "fill-32x20|format-png").await, c);
        assert_eq!((renders(&apart), stages(&apart, "decode")), (3, 3));
        // Another factor decodes again.
        fetch_bytes(&kept, "width-100").await;
        assert_eq!(stages(&kept, "decode"), 3);
    }

    #[tokio::test]
    async fn originals_rendered_once_keep_no_pixels() {
        let world = World::new().await;
        world.put("other.jpg", PHOTO).await;
        let renditions = world.instance(|_, _| {});
        for key in ["photo.jpg", "other.jpg"] {
            let resolved = resolve(&renditions, "fill-30x20", key).await.expect("resolves");
            renditions.fetch(&resolved).await.expect("renders");
        }
        renditions.decoded.run_pending_tasks();
        assert_eq!(renditions.decoded.kept_bytes(), 0);
        fetch_bytes(&renditions, "fill-31x20").await;
        renditions.decoded.run_pending_tasks();
        assert!(renditions.decoded.kept_bytes() > 0);
    }

    #[tokio::test]
    async fn negotiated_formats_are_renditions_of_their_own_from_one_decode() {
        let world = World::new().await;
        let renditions = world.instance(|settings, _| {
            settings.output.negotiation = vec![OutputFormat::Avif, OutputFormat::Webp];
        });
        let mut keys = Vec::new();
        for (accept, format) in [
            ("image/avif,image/webp,*/*", OutputFormat::Avif),
            ("image/webp,*/*", OutputFormat::Webp),
            ("*/*", OutputFormat::Jpeg),
            ("image/webp;q=0.9,image/avif;q=0.8", OutputFormat::Webp),
        ] {
            let request = Request::parse("fill-30x20", "photo.jpg", &SpecLimits::default())
                .expect("a request")
                .accepting(Accept::parse([accept]));
            let resolved = renditions.resolve(request).await.expect("resolves");
            assert!(resolved.varies);
            assert_eq!(resolved.format, format, "{accept}");
            let (rendition, _) = renditions.fetch(&resolved).await.expect("renders");
            assert_eq!(rendition.format, format);
            let written = pipeline::sniff(&rendition.bytes).map(SourceFormat::name);
            assert_eq!(written, Some(format.name()));
            keys.push(resolved.key);
        }
        // One rendition per format, in memory and in the shared store, all
        // from the original's decodes (the second is kept).
        assert_eq!(keys[1], keys[3]);
        assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);
        assert_eq!(renders(&renditions), 3);
        assert_eq!(world.shared_objects().await, 3);
        assert_eq!(
            counted(
                &renditions,
                "renditiond_render_stage_duration_seconds_count{stage=\"decode\""
            ),
            2
        );
        // Off, the same Accept changes nothing.
        let plain = world.instance(|_, _| {});
        let request = Request::parse("fill-30x20", "photo.jpg", &SpecLimits::default())
            .expect("a request")
            .accepting(Accept::parse(["image/avif"]));
        let resolved = plain.resolve(request).await.expect("resolves");
        assert_eq!(
            (resolved.format, resolved.varies, &resolved.key),
            (OutputFormat::Jpeg, false, &keys[2])
        );
    }

    #[tokio::test]
    async fn cache_gauges_say_what_the_caches_hold() {
        let renditions = World::new().await.instance(|_, _| {});
        let a = fetch_bytes(&renditions, "fill-30x20").await;
        let b = fetch_bytes(&renditions, "fill-31x20").await;
        renditions.observe_caches().await;
        let held = |name: &str| counted(&renditions, &format!("renditiond_{name} "));
        let sizes = (held("memory_cache_entries"), held("memory_cache_bytes"));
        assert_eq!(sizes, (2, (a.len() + b.len()) as u64));
        // The second decode of the original is kept: 1/8 of 600×400, RGB.
        assert_eq!(held("decoded_cache_bytes"), 75 * 50 * 3);
    }

    #[tokio::test]
    async fn a_larger_decode_serves_smaller_renditions() {
        let renditions = World::new().await.instance(|_, _| {});
        fetch_bytes(&renditions, "width-300").await;
        fetch_bytes(&renditions, "width-310").await;
        let small = fetch_bytes(&renditions, "fill-30x20").await;
        assert_eq!((renders(&renditions), stages(&renditions, "decode")), (3, 2));
        let decoded = image::load_from_memory(&small).expect("a JPEG");
        assert_eq!((decoded.width(), decoded.height()), (30, 20));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn warming_decodes_once() {
        let renditions = World::new().await.instance(|_, _| {});
        fetch_bytes(&renditions, "fill-31x20").await;
        renditions.decoded.run_pending_tasks();
        assert_eq!(renditions.decoded.kept_bytes(), 0);
        let specs = [
            "fill-30x20",
            "width-100",
            "width-300",
            "fill-31x20",
            "width-310|format-webp",
            "width-120",
        ];
        let requests = specs
            .iter()
            .map(|spec| Request::parse(spec, "photo.jpg", &SpecLimits::default()).expect("a spec"))
            .collect();
        let warmed: Vec<Warmed> = renditions
            .warm(requests, 2)
            .await
            .into_iter()
            .map(|answer| answer.expect("warmed").1)
            .collect();
        use Warmed::{Cached, Rendered};
        assert_eq!(warmed, [Rendered, Rendered, Rendered, Cached, Rendered, Rendered]);
        // 1/8 before; then one decode, 1/1, for every factor.
        assert_eq!(stages(&renditions, "decode"), 2);
        assert_eq!(renders(&renditions), 6);
    }

    /// Lease outcomes counted in the metrics.
    fn leases(renditions: &Renditions, outcome: &str) -> u64 {
        let line = format!("renditiond_render_leases_total{{outcome=\"{outcome}\"}} ");
        renditions
            .metrics
            .encode()
            .lines()
            .find_map(|l| l.strip_prefix(&line)?.parse().ok())
            .unwrap_or(0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn instances_sharing_a_store_render_each_rendition_once() {
        let world = World::new().await;
        let instances: Vec<Renditions> = (0..3).map(|_| world.instance(|_, _| {})).collect();
        let specs = ["width-300|format-webp", "fill-80x80", "width-500|format-png"];
        let mut fetches = tokio::task::JoinSet::new();
        for spec in specs {
            for instance in &instances {
                let instance = instance.clone();
                fetches.spawn(async move {
                    let resolved = resolve(&instance, spec, "photo.jpg").await.expect("resolves");
                    instance.fetch(&resolved).await.expect("served").0.bytes.clone()
                });
            }
        }
        let served = fetches.join_all().await;
        let total: u64 = instances.iter().map(renders).sum();
        assert_eq!(total, specs.len() as u64, "one render per rendition");
        let won: u64 = instances.iter().map(|i| leases(i, "won")).sum();
        assert_eq!(won, 3);
        let mut distinct = served.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), specs.len());
        // The renditions, and no lease left behind.
        assert_eq!(world.shared_objects().await, specs.len());
    }

    /// How long `renditions` takes to serve `spec` of the photo while a
    /// dead instance holds its lease (a lease that never changes), and
    /// where the rendition came from.
    async fn fetch_past_a_dead_lease(world: &World, renditions: &Renditions, spec: &str) -> (Duration, Tier) {
        let resolved = resolve(renditions, spec, "photo.jpg").await.expect("resolves");
        let lease = object_store::path::Path::from(format!("{}/{}", crate::cache::LEASE_FOLDER, resolved.key.name()));
        world
            .shared
            .put(&lease, PutPayload::from_static(b""))
            .await
            .expect("lease");
        let started = Instant::now();
        let (_, tier) = renditions.fetch(&resolved).await.expect("served");
        (started.elapsed(), tier)
    }

    #[tokio::test]
    async fn a_dead_instances_lease_is_taken_over_or_waited_for_at_most_one_render_timeout() {
        let world = World::new().await;
        let hasty = world.instance(|settings, _| settings.render_timeout = Duration::from_millis(300));
        let (waited, tier) = fetch_past_a_dead_lease(&world, &hasty, "width-90").await;
        assert_eq!(tier, Tier::Render);
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        assert_eq!((leases(&hasty, "timed_out"), renders(&hasty)), (1, 1));
        // With a longer deadline, the dead lease is taken over once it has
        // not changed for STALE_AFTER, and the taker renders.
        let patient = world.instance(|settings, _| settings.render_timeout = Duration::from_secs(30));
        let (waited, tier) = fetch_past_a_dead_lease(&world, &patient, "width-91").await;
        assert_eq!(tier, Tier::Render);
        let stale = crate::cache::STALE_AFTER;
        assert!(waited >= stale && waited < stale + Duration::from_secs(2), "{waited:?}");
        assert_eq!((leases(&patient, "took_over"), renders(&patient)), (1, 1));
    }

    #[tokio::test]
    async fn errors_name_what_went_wrong() {
        let world = World::new().await;
        let renditions = world.instance(|settings, _| settings.max_source_bytes = 60_000);
        assert!(matches!(
            resolve(&renditions, "width-10", "missing.jpg").await,
            Err(RenditionError::NotFound(_))
        ));
        assert!(matches!(
            resolve(&renditions, "width-10", "notes.txt").await,
            Err(RenditionError::Pipeline(PipelineError::UnknownFormat))
        ));
        // An empty object has no byte to range over: not an outage.
        assert!(matches!(
            resolve(&renditions, "width-10", "empty.jpg").await,
            Err(RenditionError::Pipeline(PipelineError::UnknownFormat))
        ));
        assert!(matches!(
            resolve(&renditions, "width-10", "photo.jpg").await,
            Err(RenditionError::SourceTooLarge { .. })
        ));
        assert!(matches!(
            resolve(&renditions, "fill-0x0", "photo.jpg").await,
            Err(RenditionError::Spec { .. })
        ));
    }

    #[tokio::test]
    async fn a_render_over_the_whole_budget_is_refused_and_one_past_its_deadline_abandoned() {
        let world = World::new().await;
        // photo.jpg is 640×427: decoding it whole needs about 800 kB.
        let small = world.instance(|_, pool| pool.1 = 1 << 20);
        let resolved = resolve(&small, "width-600|format-png", "photo.jpg")
            .await
            .expect("resolves");
        assert!(matches!(
            small.fetch(&resolved).await,
            Err(RenditionError::OverBudget(_))
        ));
        let hasty = world.instance(|settings, _| settings.render_timeout = Duration::ZERO);
        let resolved = resolve(&hasty, "width-600|format-png", "photo.jpg")
            .await
            .expect("resolves");
        assert!(matches!(hasty.fetch(&resolved).await, Err(RenditionError::TimedOut)));
        assert_eq!(hasty.metrics.render_timeouts.get(), 1);
    }

    #[tokio::test]
    async fn the_cost_of_a_render_follows_shrink_on_load() {
        let world = World::new().await;
        let renditions = world.instance(|_, _| {});
        let cost = |spec: &'static str| {
            let renditions = renditions.clone();
            async move {
                let resolved = resolve(&renditions, spec, "photo.jpg").await.expect("resolves");
                renditions.memory_cost(&resolved)
            }
        };
        let (thumbnail, whole) = (cost("width-40").await, cost("width-600").await);
        // 1/8 shrink-on-load for the thumbnail, the whole 640×427 for the other.
        assert!(thumbnail < whole, "{thumbnail} {whole}");
        assert!(whole >= 640 * 427 * 3, "{whole}");
    }
}
