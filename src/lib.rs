//! renditiond: Wagtail-compatible image renditions.
//!
//! Data flows one way through the crate:
//!
//! ```text
//! spec text ──> spec::FilterSpec ──┐
//!                                  ├─> plan::plan ──> plan::Plan ──> pipeline::render ──> Rendition
//! original bytes ──> pipeline::probe (format, oriented size) ──┘           ▲
//!        └───────────────────────────────────────────────────────────────────┘
//! ```
//!
//! * [`spec`] owns Wagtail's filter spec grammar (SPEC §2.1–2.2) and nothing else.
//! * [`plan`] owns every number Wagtail computes: crop, output size, format and
//!   encoder settings, the focal point key, rendition names. Pure, no pixels.
//! * [`pipeline`] owns pixels: it sniffs and probes the original, decodes it
//!   (shrinking JPEGs on load), orients, crops and resizes in one pass,
//!   flattens and encodes, executing a [`plan::Plan`] without deciding geometry;
//!   it rasterizes SVGs with resvg.
//! * [`svg`] owns SVG originals as documents: decoding, parsing with limits,
//!   the allowlist sanitizer and Willow's root geometry. Pure, no I/O.
//! * [`format`] is the shared vocabulary of image formats.
//!
//! The service wraps that engine:
//!
//! ```text
//! request ──> http (route, signature) ──> renditions::Renditions ──> store (original's version, bytes)
//!                                               │  cache (identity, memory tier, shared tier, single flight)
//!                                               └─ workers (bounded CPU pool) ──> plan + pipeline
//! ```
//!
//! * [`store`] owns where originals and shared renditions live and which keys
//!   may reach them.
//! * [`cache`] owns rendition identity and the two cache tiers.
//! * [`workers`] runs CPU work off the executor, bounded.
//! * [`renditions`] is the use case: request in, rendition out, no HTTP.
//! * [`signature`] signs and verifies `/r/` URLs (pure, shared by the server
//!   and `renditiond sign`).
//! * [`http`] translates HTTP to the use case and back; [`server`] runs it,
//!   configured by [`config`], sharing [`state`]; [`metrics`] names every metric.
//! * [`allocator`] keeps large freed buffers for the next render.

#![warn(missing_docs)]

pub mod allocator;
pub mod cache;
pub mod config;
pub mod format;
pub mod http;
pub mod metrics;
pub mod pipeline;
pub mod plan;
pub mod renditions;
pub mod server;
pub mod signature;
pub mod spec;
pub mod state;
pub mod store;
pub mod svg;
pub mod wagtail;
pub mod workers;
