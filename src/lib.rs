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
//!   flattens and encodes, executing a [`plan::Plan`] without deciding geometry.
//! * [`format`] is the shared vocabulary of image formats.

#![warn(missing_docs)]

pub mod format;
pub mod pipeline;
pub mod plan;
pub mod spec;
