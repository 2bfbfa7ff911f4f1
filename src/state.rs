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
use crate::wagtail::{ImageTable, WagtailSigner, WagtailSite};
use crate::workers::Workers;

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
                Some(
                    Store::open(location, config.storage_timeout)
                        .map_err(|e| ("RENDITIOND_RENDITIONS", e.to_string()))?,
                )
            }
            None => None,
        };
        let metrics = Arc::new(Metrics::new());
        let workers = Workers::new(config.workers, config.queue_length, metrics.clone());
        let settings = Settings {
            version_ttl: config.version_ttl,
            max_source_bytes: config.max_source_bytes,
            limits: Limits {
                max_source_pixels: config.max_pixels,
                max_output_pixels: config.max_pixels,
                svg: config.svg_limits,
            },
            svg_output: config.svg_output,
            memory_bytes: config.memory_cache_bytes,
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
            shared.map(SharedTier::new),
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
        })
    }

    /// Marks the server as shutting down: it stops being ready.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}
