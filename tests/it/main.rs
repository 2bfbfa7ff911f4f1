//! The integration tests, compiled as one binary.

/// Wagtail's vectors against the library.
mod vectors;
