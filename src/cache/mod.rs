//! Rendition caching: identity ([`RenditionKey`]), the in-memory tier and the
//! shared tier in object storage, and [`DecodedOriginals`] for the renders
//! of one original. Single flight comes from the memory tier:
//! concurrent requests for one missing rendition wait on one detached render;
//! across instances, from render [`Leases`] in the shared store.

mod decoded;
mod key;
mod lease;
mod memory;
mod shared;

use std::fmt;

use bytes::Bytes;

pub use self::decoded::{DecodedOriginal, DecodedOriginals};
pub use self::key::{ENCODER_VERSION, Rendering, RenditionKey};
pub use self::lease::{Claim, Holding, LEASE_FOLDER, Leases, STALE_AFTER, Watch};
pub use self::memory::{Lookup, MemoryTier};
pub use self::shared::SharedTier;
use crate::format::OutputFormat;

/// Where a response's rendition came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// The in-memory cache (or another request's render, awaited).
    Memory,
    /// The shared rendition store.
    Shared,
    /// Rendered for this request.
    Render,
}

impl Tier {
    /// The tier's name in logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Shared => "shared",
            Self::Render => "render",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A rendition as the caches hold it.
#[derive(Debug, Clone)]
pub struct CachedRendition {
    /// The encoded image.
    pub bytes: Bytes,
    /// Its format.
    pub format: OutputFormat,
    /// Where it was found or made when it entered the memory tier.
    pub origin: Tier,
    /// Whether it is known to be in the shared store.
    pub stored: bool,
}
