//! Everything a running server shares between requests, built once from the
//! configuration: stores opened, caches and worker pool made.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cache::SharedTier;
use crate::config::{Action, Config};
use crate::metrics::Metrics;
use crate::pipeline::Limits;
use crate::renditions::{Renditions, Settings};
use crate::signature::Signer;
use crate::spec::SpecLimits;
use crate::store::{Originals, Store};
use crate::svg::SvgLimits;
use crate::wagtail::{ImageTable, WagtailSigner, WagtailSite};
use crate::workers::Workers;

/// Bytes of decoded originals kept by default (at most a quarter of the
/// memory budget): a 12-megapixel photo decoded whole, and then some.
const DEFAULT_DECODED_BYTES: u64 = 64 << 20;

/// The shared state of the server.
#[derive(Debug)]
pub struct AppState {
    /// The use case.
    pub renditions: Renditions,
    /// URL signatures.
    pub signer: Signer,
    /// Serve or redirect.
    pub action: Action,
    /// Base URL of the rendition store behind the CDN.
    pub public_url: Option<String>,
    /// Cache-Control of served renditions.
    pub cache_control: String,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The stores readiness depends on.
    pub stores: Vec<Store>,
    /// The Wagtail site served on `/images/`, when configured.
    pub wagtail: Option<WagtailSite>,
    /// Bearer token of `POST /v1/plan`, when it is on.
    pub api_token: Option<String>,
    /// Bounds on the filter specs of every route.
    pub spec_limits: SpecLimits,
    shutting_down: AtomicBool,
    stores_answered: AtomicBool,
}

impl AppState {
    /// Opens the stores and builds the caches; `signing_keys` replaces an
    /// empty key list in the configuration.
    pub fn build(config: &Config, signing_keys: Vec<Vec<u8>>) -> Result<Self, (&'static str, String)> {
        let originals = Store::open(&config.originals, config.storage_timeout)
            .map_err(|e| ("RENDITIOND_ORIGINALS", e.to_string()))?;
        let shared = match &config.renditions {
            Some(location) => {
                if let crate::store::Location::Local(path) = location {
                    // A local rendition store is created on first use.
                    let _ = std::fs::create_dir_all(path);
                }
                let store = Store::open(location, config.storage_timeout)
                    .map_err(|e| ("RENDITIOND_RENDITIONS", e.to_string()))?;
                // One service's outage costs one timeout, not one per store.
                Some(if location.same_service(&config.originals) {
                    store.sharing_pauses_with(&originals)
                } else {
                    store
                })
            }
            None => None,
        };
        let metrics = Arc::new(Metrics::new());
        let budget = config
            .memory_budget
            .unwrap_or_else(|| default_memory_budget(cgroup_memory_limit(), config.memory_cache_bytes));
        // Decoded originals kept for the next renders are memory the renders
        // do not reserve: they get the rest of the budget.
        let decoded_bytes = config
            .decoded_cache_bytes
            .unwrap_or((budget / 4).min(DEFAULT_DECODED_BYTES))
            .min(budget / 2);
        let render_budget = budget - decoded_bytes;
        let workers = Workers::new(config.workers, config.queue_length, render_budget, metrics.clone());
        let settings = Settings {
            version_ttl: config.version_ttl,
            max_source_bytes: config.max_source_bytes,
            limits: Limits {
                max_source_pixels: config.max_pixels,
                max_output_pixels: config.max_pixels,
                // A rasterization reserves all it may allocate: at most a
                // quarter of the budget, so that others run beside it.
                svg: SvgLimits {
                    max_raster_bytes: config.svg_limits.max_raster_bytes.min(render_budget / 4),
                    ..config.svg_limits
                },
                animation: config.animation,
                shrink_on_load: config.shrink_on_load,
            },
            output: config.output.clone(),
            memory_bytes: config.memory_cache_bytes,
            decoded_bytes,
            render_timeout: config.render_timeout,
        };
        let wagtail = match &config.wagtail {
            Some(site) => Some(WagtailSite {
                signer: WagtailSigner::new(site.secret_keys.clone()),
                images: ImageTable::open(
                    &site.database_url,
                    &site.image_table,
                    config.storage_timeout,
                    config.version_ttl,
                )
                .map_err(|e| ("RENDITIOND_WAGTAIL_DATABASE_URL", e))?,
            }),
            None => None,
        };
        let mut stores = vec![originals.clone()];
        stores.extend(shared.clone());
        let renditions = Renditions::new(
            Originals::new(originals),
            shared.map(|store| {
                let tier = SharedTier::new(store, budget);
                if config.render_leases {
                    tier.with_leases(crate::cache::STALE_AFTER)
                } else {
                    tier
                }
            }),
            workers,
            settings,
            metrics.clone(),
        );
        Ok(Self {
            renditions,
            signer: Signer::new(signing_keys, config.allow_unsigned),
            action: config.action,
            public_url: config.public_url.clone(),
            cache_control: config.cache_control.clone(),
            metrics,
            stores,
            wagtail,
            api_token: config.api_token.clone(),
            spec_limits: config.spec_limits,
            shutting_down: AtomicBool::new(false),
            stores_answered: AtomicBool::new(false),
        })
    }

    /// The memory budget of renders in bytes.
    pub fn memory_budget(&self) -> u64 {
        self.renditions.memory_budget()
    }

    /// Marks the server as shutting down: it stops being ready.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Whether every store has answered a readiness check once.
    pub fn stores_answered(&self) -> bool {
        self.stores_answered.load(Ordering::SeqCst)
    }

    /// Records that every store has answered a readiness check.
    pub fn mark_stores_answered(&self) {
        self.stores_answered.store(true, Ordering::SeqCst);
    }
}

/// The render memory budget when none is set: half of what the cgroup
/// leaves beside the memory cache (the rest is the process, its caches and
/// the allocator's slack), at least 64 MiB; 1 GiB outside a memory cgroup.
pub fn default_memory_budget(cgroup_limit: Option<u64>, memory_cache_bytes: u64) -> u64 {
    match cgroup_limit {
        Some(limit) => (limit.saturating_sub(memory_cache_bytes) / 2).max(64 << 20),
        None => 1 << 30,
    }
}

/// The memory limit of this process's cgroup (v2 `memory.max`, else v1
/// `memory.limit_in_bytes`), when there is one.
fn cgroup_memory_limit() -> Option<u64> {
    [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .filter_map(|path| std::fs::read_to_string(path).ok())
    .find_map(|text| text.trim().parse::<u64>().ok())
    // cgroup v1 reports "no limit" as a huge number.
    .filter(|&limit| limit < 1 << 60)
}
