//! Why a filter spec is refused.

use thiserror::Error;

/// A filter spec Wagtail would refuse (its `InvalidFilterSpecError`, or a
/// spec that crashes Wagtail with a 500 and is refused here up front).
///
/// Each variant names the operation it is about, as written in the spec.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The spec is empty.
    #[error("the filter spec is empty")]
    Empty,
    /// The spec is longer than [`SpecLimits::max_bytes`](super::SpecLimits::max_bytes).
    #[error("the filter spec is longer than the limit of {limit} bytes")]
    TooLong {
        /// The limit.
        limit: usize,
    },
    /// The spec has more `|`-separated parts than
    /// [`SpecLimits::max_operations`](super::SpecLimits::max_operations).
    #[error("the filter spec has more than the limit of {limit} operations")]
    TooManyOperations {
        /// The limit.
        limit: usize,
    },
    /// The spec holds a `/`, which would let a signature over
    /// `"{spec}/{key}"` stand for another split of the same text.
    #[error("a filter spec cannot contain \"/\"")]
    Slash,
    /// The spec holds nothing but `preserve-svg`.
    #[error("\"preserve-svg\" needs at least one other operation")]
    OnlyPreserveSvg,
    /// The operation name is not one Wagtail registers (names are case-sensitive).
    #[error("unrecognised operation \"{operation}\"")]
    UnknownOperation {
        /// The operation as written, arguments included.
        operation: String,
    },
    /// The operation has too few or too many `-` separated arguments.
    #[error("\"{operation}\" takes {expected}")]
    WrongArgumentCount {
        /// The operation as written.
        operation: String,
        /// What the operation takes, in words.
        expected: &'static str,
    },
    /// An argument is not what the operation accepts.
    #[error("\"{operation}\": {reason}")]
    InvalidArgument {
        /// The operation as written.
        operation: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl SpecError {
    /// Whether the spec was refused for its size (too long or too many
    /// operations) rather than its content: such a spec is not echoed back.
    pub fn is_too_large(&self) -> bool {
        matches!(self, Self::TooLong { .. } | Self::TooManyOperations { .. })
    }

    /// An invalid-argument error for `operation`.
    pub(crate) fn invalid(operation: &str, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            operation: operation.to_owned(),
            reason: reason.into(),
        }
    }
}
