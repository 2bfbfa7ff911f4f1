//! The HTTP layer: it translates requests into calls of the use case and
//! results into responses; it computes nothing itself. [`configure`] is the
//! whole route table, shared by the server and in-process tests.

pub mod error;
pub mod middleware;
pub mod responses;
pub mod routes;
pub mod signature;

use actix_web::{HttpResponse, web};

use self::error::HttpError;

/// Every route's name, the `route` label of metrics and logs.
pub const ROUTES: [&str; 6] = ["rendition", "images", "plan", "healthz", "readyz", "metrics"];

/// The route table: renditions by storage key (`/r/…`), Wagtail's serve
/// view (`/images/…`, when configured), the geometry API, health, metrics.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/r/{tail:.+}")
                .name("rendition")
                .route(web::get().to(routes::rendition::get))
                .route(web::head().to(routes::rendition::get)),
        )
        .service(
            web::resource("/images/{tail:.+}")
                .name("images")
                .route(web::get().to(routes::images::get))
                .route(web::head().to(routes::images::get)),
        )
        .service(
            web::resource("/v1/plan")
                .name("plan")
                .app_data(web::PayloadConfig::new(1 << 20))
                .route(web::post().to(routes::plan::post)),
        )
        .service(
            web::resource("/healthz")
                .name("healthz")
                .route(web::get().to(routes::health::healthz)),
        )
        .service(
            web::resource("/readyz")
                .name("readyz")
                .route(web::get().to(routes::health::readyz)),
        )
        .service(
            web::resource("/metrics")
                .name("metrics")
                .route(web::get().to(routes::health::metrics)),
        )
        .default_service(web::to(not_found));
}

async fn not_found() -> Result<HttpResponse, HttpError> {
    Err(HttpError::NoRoute)
}
