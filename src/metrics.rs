//! Every Prometheus metric the service exports, with its help text, and the
//! text exposition `/metrics` serves.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds of the render time buckets, in seconds.
const RENDER_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Labels of a served request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route's name (`rendition`, `healthz`, …, `unmatched`).
    pub route: &'static str,
    /// The response status code.
    pub status: u16,
}

/// Labels of a render.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FormatLabels {
    /// The output format.
    pub format: &'static str,
}

/// Upper bounds of the render stage time buckets, in seconds.
const STAGE_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Labels of a render stage.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    /// `fetch`, `decode`, `resize`, `encode` or `store`.
    pub stage: &'static str,
    /// The output format.
    pub format: &'static str,
}

/// Labels of a cache lookup.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// `memory` or `shared`.
    pub tier: &'static str,
    /// `hit` or `miss`.
    pub result: &'static str,
}

/// Labels of a render lease's outcome.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LeaseLabels {
    /// `won`, `took_over`, `waited`, `timed_out` or `unavailable`.
    pub outcome: &'static str,
}

/// The service's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by route and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Time spent rendering (decode to encode), by output format.
    pub render_seconds: Family<FormatLabels, Histogram>,
    /// Time spent in each stage of renders, by stage and output format.
    pub render_stages: Family<StageLabels, Histogram>,
    /// Cache lookups, by tier and result.
    pub cache: Family<CacheLabels, Counter>,
    /// Response body bytes sent.
    pub served_bytes: Counter,
    /// Renders running now.
    pub renders_in_flight: Gauge,
    /// Renders admitted and waiting for a worker.
    pub render_queue: Gauge,
    /// Bytes of the memory budget reserved by renders now.
    pub memory_reserved: Gauge,
    /// The memory budget of renders, in bytes.
    pub memory_budget: Gauge,
    /// Renders that run at once (`RENDITIOND_WORKERS`).
    pub render_workers: Gauge,
    /// Renders that may wait for a worker (`RENDITIOND_QUEUE_LENGTH`).
    pub render_queue_capacity: Gauge,
    /// Seconds one render may take (`RENDITIOND_RENDER_TIMEOUT`).
    pub render_timeout_seconds: Gauge<f64, AtomicU64>,
    /// Renders abandoned at their deadline.
    pub render_timeouts: Counter,
    /// Render leases, by outcome.
    pub leases: Family<LeaseLabels, Counter>,
    /// Bytes of renditions in the memory tier.
    pub memory_cache_bytes: Gauge,
    /// Renditions in the memory tier.
    pub memory_cache_entries: Gauge,
    /// Bytes of decoded originals' pixels kept.
    pub decoded_cache_bytes: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let render_seconds = Family::<FormatLabels, Histogram>::new_with_constructor(|| Histogram::new(RENDER_BUCKETS));
        let render_stages = Family::<StageLabels, Histogram>::new_with_constructor(|| Histogram::new(STAGE_BUCKETS));
        let cache = Family::<CacheLabels, Counter>::default();
        let served_bytes = Counter::default();
        let renders_in_flight = Gauge::default();
        let render_queue = Gauge::default();
        let memory_reserved = Gauge::default();
        let memory_budget = Gauge::default();
        let render_workers = Gauge::default();
        let render_queue_capacity = Gauge::default();
        let render_timeout_seconds = Gauge::<f64, AtomicU64>::default();
        let render_timeouts = Counter::default();
        let leases = Family::<LeaseLabels, Counter>::default();
        let memory_cache_bytes = Gauge::default();
        let memory_cache_entries = Gauge::default();
        let decoded_cache_bytes = Gauge::default();
        registry.register(
            "renditiond_http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        registry.register(
            "renditiond_render_duration_seconds",
            "Time to render one rendition (decode, resize, encode), by output format",
            render_seconds.clone(),
        );
        registry.register(
            "renditiond_render_stage_duration_seconds",
            "Time renders spent in each stage, by stage (fetch: reading the original; decode; resize: \
             crop, resize, orient and flatten; encode; store: writing to the shared store) and output format",
            render_stages.clone(),
        );
        registry.register(
            "renditiond_cache_lookups",
            "Rendition cache lookups, by tier (memory, shared) and result (hit, miss)",
            cache.clone(),
        );
        registry.register(
            "renditiond_served_bytes",
            "Response body bytes sent",
            served_bytes.clone(),
        );
        registry.register(
            "renditiond_renders_in_flight",
            "Renders running now",
            renders_in_flight.clone(),
        );
        registry.register(
            "renditiond_render_queue_length",
            "Renders admitted and waiting for a worker",
            render_queue.clone(),
        );
        registry.register(
            "renditiond_render_memory_reserved_bytes",
            "Bytes of the render memory budget reserved by renders now",
            memory_reserved.clone(),
        );
        registry.register(
            "renditiond_render_memory_budget_bytes",
            "The render memory budget (RENDITIOND_MEMORY_BUDGET), in bytes",
            memory_budget.clone(),
        );
        registry.register(
            "renditiond_render_workers",
            "Renders that run at once (RENDITIOND_WORKERS)",
            render_workers.clone(),
        );
        registry.register(
            "renditiond_render_queue_capacity",
            "Renders that may wait for a worker before requests get 503 (RENDITIOND_QUEUE_LENGTH)",
            render_queue_capacity.clone(),
        );
        registry.register(
            "renditiond_render_timeout_seconds",
            "Seconds one render may take (RENDITIOND_RENDER_TIMEOUT)",
            render_timeout_seconds.clone(),
        );
        registry.register(
            "renditiond_render_timeouts",
            "Renders abandoned at RENDITIOND_RENDER_TIMEOUT",
            render_timeouts.clone(),
        );
        registry.register(
            "renditiond_render_leases",
            "Cold renditions under a render lease in the shared store, by outcome: won or took_over \
             (rendered here), waited (another instance rendered it), timed_out or unavailable \
             (rendered here without the lease)",
            leases.clone(),
        );
        registry.register(
            "renditiond_memory_cache_bytes",
            "Bytes of renditions held in the memory tier (at most RENDITIOND_MEMORY_CACHE_BYTES)",
            memory_cache_bytes.clone(),
        );
        registry.register(
            "renditiond_memory_cache_entries",
            "Renditions held in the memory tier",
            memory_cache_entries.clone(),
        );
        registry.register(
            "renditiond_decoded_cache_bytes",
            "Bytes of decoded originals' pixels kept for the next renders (at most RENDITIOND_DECODED_CACHE_BYTES)",
            decoded_cache_bytes.clone(),
        );
        Self {
            registry,
            requests,
            render_seconds,
            render_stages,
            cache,
            served_bytes,
            renders_in_flight,
            render_queue,
            memory_reserved,
            memory_budget,
            render_workers,
            render_queue_capacity,
            render_timeout_seconds,
            render_timeouts,
            leases,
            memory_cache_bytes,
            memory_cache_entries,
            decoded_cache_bytes,
        }
    }

    /// Counts one render lease's outcome.
    pub fn lease(&self, outcome: &'static str) {
        self.leases.get_or_create(&LeaseLabels { outcome }).inc();
    }

    /// Observes the time one render spent in one stage.
    pub fn stage(&self, stage: &'static str, format: &'static str, took: std::time::Duration) {
        self.render_stages
            .get_or_create(&StageLabels { stage, format })
            .observe(took.as_secs_f64());
    }

    /// Counts one cache lookup.
    pub fn cache_lookup(&self, tier: &'static str, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.cache.get_or_create(&CacheLabels { tier, result }).inc();
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_names_every_metric() {
        let m = Metrics::new();
        m.requests
            .get_or_create(&RequestLabels {
                route: "rendition",
                status: 200,
            })
            .inc();
        m.render_seconds
            .get_or_create(&FormatLabels { format: "webp" })
            .observe(0.02);
        m.cache_lookup("memory", false);
        m.lease("waited");
        m.stage("decode", "jpeg", std::time::Duration::from_millis(3));
        let text = m.encode();
        for line in [
            "renditiond_http_requests_total{route=\"rendition\",status=\"200\"} 1",
            "renditiond_render_duration_seconds_count{format=\"webp\"} 1",
            "renditiond_render_stage_duration_seconds_bucket{le=\"0.005\",stage=\"decode\",format=\"jpeg\"} 1",
            "renditiond_cache_lookups_total{tier=\"memory\",result=\"miss\"} 1",
            "renditiond_served_bytes_total 0",
            "renditiond_renders_in_flight 0",
            "renditiond_render_queue_length 0",
            "renditiond_render_memory_reserved_bytes 0",
            "renditiond_render_memory_budget_bytes 0",
            "renditiond_render_workers 0",
            "renditiond_render_queue_capacity 0",
            "renditiond_render_timeout_seconds 0.0",
            "renditiond_render_timeouts_total 0",
            "renditiond_render_leases_total{outcome=\"waited\"} 1",
            "renditiond_memory_cache_bytes 0",
            "renditiond_memory_cache_entries 0",
            "renditiond_decoded_cache_bytes 0",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}
