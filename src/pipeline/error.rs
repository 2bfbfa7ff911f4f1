//! Why an original cannot be turned into a rendition.

use thiserror::Error;

use crate::format::{OutputFormat, SourceFormat};
use crate::svg::SvgError;

/// A failure of the pixel pipeline, in its own terms (no HTTP here).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The bytes are in no image format renditiond recognises.
    #[error("not an image in a supported format")]
    UnknownFormat,
    /// A recognised format that renditiond does not read.
    #[error("{0} originals are not supported")]
    UnsupportedSource(SourceFormat),
    /// A format renditiond cannot write.
    #[error("{0} output is not supported")]
    UnsupportedOutput(OutputFormat),
    /// The original is damaged or not what its header claims.
    #[error("cannot decode the {format} original: {reason}")]
    Undecodable {
        /// The detected format.
        format: SourceFormat,
        /// What the decoder reported.
        reason: String,
    },
    /// An SVG original that is too large, malformed or refused for safety.
    #[error(transparent)]
    Svg(#[from] SvgError),
    /// The original has more pixels than allowed (a decompression bomb guard).
    #[error("the original is {width}x{height} pixels, more than the limit of {limit} pixels")]
    SourceTooLarge {
        /// Width of the original.
        width: u32,
        /// Height of the original.
        height: u32,
        /// The pixel limit.
        limit: u64,
    },
    /// The rendition would have more pixels than allowed.
    #[error("the rendition would be {width}x{height} pixels, more than the limit of {limit} pixels")]
    OutputTooLarge {
        /// Width of the rendition.
        width: u32,
        /// Height of the rendition.
        height: u32,
        /// The pixel limit.
        limit: u64,
    },
    /// The resizer refused the planned region (a bug, never the client's doing).
    #[error("cannot resize: {0}")]
    Resize(String),
    /// The render passed its deadline and was abandoned.
    #[error("the render took longer than its time limit")]
    TimedOut,
    /// The encoder refused the pixels (e.g. a side beyond the format's maximum).
    #[error("cannot encode the rendition as {format}: {reason}")]
    Encode {
        /// The output format.
        format: OutputFormat,
        /// What the encoder reported.
        reason: String,
    },
}

impl PipelineError {
    /// An [`Undecodable`](Self::Undecodable) error for `format`.
    pub(crate) fn undecodable(format: SourceFormat, reason: impl ToString) -> Self {
        Self::Undecodable {
            format,
            reason: reason.to_string(),
        }
    }

    /// An [`Encode`](Self::Encode) error for `format`.
    pub(crate) fn encode(format: OutputFormat, reason: impl ToString) -> Self {
        Self::Encode {
            format,
            reason: reason.to_string(),
        }
    }
}
