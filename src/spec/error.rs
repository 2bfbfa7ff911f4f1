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
    /// An invalid-argument error for `operation`.
    pub(crate) fn invalid(operation: &str, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            operation: operation.to_owned(),
            reason: reason.into(),
        }
    }
}
