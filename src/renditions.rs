//! The use case: a rendition request in, a rendition out. Store → cache →
//! pipeline, with no HTTP in sight.
//!
//! [`Renditions::resolve`] finds out which rendition a request stands for
//! without reading the original: its version and format come from one small
//! ranged read, cached for a short TTL. [`Renditions::fetch`] then serves it
//! from memory, the shared store, or a render (one per instance however many
//! requests ask at once); [`Renditions::publish`] makes sure it is in the
//! shared store for redirect mode.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::future::Cache;
use thiserror::Error;

use crate::cache::{CachedRendition, MemoryTier, RenditionKey, SharedTier, Tier};
use crate::format::OutputFormat;
use crate::metrics::{FormatLabels, Metrics};
use crate::pipeline::{self, Limits, PipelineError};
use crate::plan::{self, FocalPoint, FocalPointError, PlanError, Source, SvgOutput, split_spec_focal_point};
use crate::spec::{FilterSpec, SpecError, SpecLimits};
use crate::store::{InvalidKey, Originals, SourceInfo, StorageKey, StoreError};
use crate::workers::{Overloaded, WorkerFailed, Workers};

/// How long a rendition known to be in the shared store is trusted to still
/// be there (a lifecycle rule may remove it) before redirect mode checks again.
const PUBLISHED_TTL: Duration = Duration::from_secs(3600);

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
    /// A render failed in a way that is renditiond's fault.
    #[error(transparent)]
    Worker(#[from] WorkerFailed),
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
            StoreError::Unavailable(reason) => Self::Unavailable(reason),
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
        })
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
        })
    }
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
    /// What SVG originals become.
    pub svg_output: SvgOutput,
    /// The memory tier's size in bytes.
    pub memory_bytes: u64,
}

/// The rendition service.
#[derive(Debug, Clone)]
pub struct Renditions {
    originals: Originals,
    shared: Option<SharedTier>,
    sources: Cache<StorageKey, SourceInfo>,
    memory: MemoryTier,
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
        Self {
            originals,
            shared,
            sources: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(settings.version_ttl)
                .build(),
            memory: MemoryTier::new(settings.memory_bytes),
            published: Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(PUBLISHED_TTL)
                .build(),
            workers,
            settings,
            metrics,
        }
    }

    /// What SVG originals become.
    pub fn svg_output(&self) -> SvgOutput {
        self.settings.svg_output
    }

    /// Which rendition `request` stands for, without reading the original.
    pub async fn resolve(&self, request: Request) -> Result<Resolved, RenditionError> {
        let source = self
            .sources
            .try_get_with_by_ref(&request.key, self.originals.inspect(&request.key))
            .await
            .map_err(|e| RenditionError::store(&request.key, (*e).clone()))?;
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
        let outline = plan::outline(
            source_format,
            &request.spec,
            request.focal_point.as_ref(),
            self.settings.svg_output,
        )
        .map_err(|e| plan_error(&request, e))?;
        let key = RenditionKey::new(
            &request.key,
            &source.version,
            &request.revision,
            &outline.spec,
            request.focal_point.as_ref(),
            outline.format,
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
        })
    }

    /// The rendition's bytes and the tier they came from.
    pub async fn fetch(&self, resolved: &Resolved) -> Result<(Arc<CachedRendition>, Tier), RenditionError> {
        let made = self
            .memory
            .get_or_make(&resolved.key, self.find_or_render(resolved))
            .await;
        let (rendition, fresh) = made.map_err(|e| (*e).clone())?;
        self.metrics.cache_lookup("memory", !fresh);
        let tier = if fresh { rendition.origin } else { Tier::Memory };
        Ok((rendition, tier))
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
    /// the other instances).
    async fn find_or_render(&self, resolved: &Resolved) -> Result<Arc<CachedRendition>, RenditionError> {
        if let Some(shared) = &self.shared {
            match shared.get(&resolved.key).await {
                Ok(Some(bytes)) => {
                    self.metrics.cache_lookup("shared", true);
                    return Ok(Arc::new(CachedRendition {
                        bytes,
                        format: resolved.format,
                        origin: Tier::Shared,
                        stored: true,
                    }));
                }
                Ok(None) => self.metrics.cache_lookup("shared", false),
                Err(e) => tracing::warn!(error = %e, "rendition store lookup failed; rendering"),
            }
        }
        let bytes = self.render(resolved).await?;
        let stored = match &self.shared {
            Some(shared) => match shared.put(&resolved.key, bytes.clone(), resolved.format).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, key = resolved.key.name(), "cannot store the rendition");
                    false
                }
            },
            None => false,
        };
        Ok(Arc::new(CachedRendition {
            bytes,
            format: resolved.format,
            origin: Tier::Render,
            stored,
        }))
    }

    /// Reads the original and renders it on a worker.
    async fn render(&self, resolved: &Resolved) -> Result<Bytes, RenditionError> {
        let ticket = self.workers.admit()?;
        let request = &resolved.request;
        let original = self.originals.read(&request.key, &resolved.source.version).await;
        if matches!(original, Err(StoreError::Changed)) {
            // Replaced since it was inspected: look again next time.
            self.sources.invalidate(&request.key).await;
        }
        let original = original.map_err(|e| RenditionError::store(&request.key, e))?;
        if original.len() as u64 > self.settings.max_source_bytes {
            return Err(RenditionError::SourceTooLarge {
                size: original.len() as u64,
                limit: self.settings.max_source_bytes,
            });
        }
        let job = RenderJob {
            original,
            request: request.clone(),
            limits: self.settings.limits,
            svg_output: self.settings.svg_output,
        };
        // Timed on the worker: the wait for a worker is not render time.
        let (rendition, seconds) = ticket
            .run(move || {
                let started = Instant::now();
                (job.run(), started.elapsed().as_secs_f64())
            })
            .await?;
        let rendition = rendition?;
        self.metrics
            .render_seconds
            .get_or_create(&FormatLabels {
                format: rendition.format.name(),
            })
            .observe(seconds);
        if rendition.format != resolved.format {
            return Err(WorkerFailed(format!("planned {} but rendered {}", resolved.format, rendition.format)).into());
        }
        Ok(Bytes::from(rendition.bytes))
    }
}

/// The CPU part of a render: probe, plan, pipeline.
struct RenderJob {
    original: Bytes,
    request: Request,
    limits: Limits,
    svg_output: SvgOutput,
}

impl RenderJob {
    fn run(self) -> Result<pipeline::Rendition, RenditionError> {
        let probe = pipeline::probe(&self.original, &self.limits)?;
        let source = Source {
            size: probe.oriented_size(),
            format: probe.format,
            focal_point: self.request.focal_point,
        };
        let plan =
            plan::plan(&source, &self.request.spec, self.svg_output).map_err(|e| plan_error(&self.request, e))?;
        Ok(pipeline::render(&self.original, &probe, &plan, &self.limits)?)
    }
}

/// Every plan error is the spec's fault on this image: Wagtail's 400.
fn plan_error(request: &Request, error: PlanError) -> RenditionError {
    RenditionError::spec(&request.spec_text, error)
}

fn unavailable(error: StoreError) -> RenditionError {
    RenditionError::Unavailable(error.to_string())
}
