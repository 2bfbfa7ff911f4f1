//! The integration tests, compiled as one binary.

/// The hostile SVG corpus in headless Chromium (needs Chromium).
mod browser;
/// The command line: stable forms, statuses, bad input.
mod cli;
/// What every object store does behind the service (S3, GCS, Azure).
mod cloud;
/// The Dockerfile lints clean (needs the test venv).
mod docker;
/// Damaged originals end in errors, never panics.
mod hostile;
/// The HTTP service on a local folder of originals.
mod http;
/// The HTTP service on Azure Blob Storage (needs Azurite).
mod http_azure;
/// The HTTP service on Google Cloud Storage (needs fake-gcs-server).
mod http_gcs;
/// The HTTP service on a real S3-compatible server (needs SeaweedFS).
mod http_s3;
/// The Wagtail drop-in route and the geometry API, on SQLite.
mod http_wagtail;
/// The pure layers stay free of I/O crates.
mod layout;
/// Renders detached from clients, deadlines, the memory budget.
mod limits;
/// Every test image × the spec matrix through `render` and `plan`.
mod render_matrix;
/// The route-level security cases, in process (no socket).
mod routes;
/// A real server on a free port, and an HTTP client.
mod server;
/// Shared helpers.
mod support;
/// SVG originals: the hostile and benign corpora through the library.
mod svg;
/// SVG resource bombs: refused as too costly, or drawn, quickly.
mod svg_bombs;
/// Wagtail's vectors against the library.
mod vectors;
/// renditiond against a real Wagtail install (needs the test venv).
mod wagtail;
