//! The HTTP layer: it translates requests into calls of the use case and
//! results into responses; it computes nothing itself. [`configure`] is the
//! whole route table, shared by the server and in-process tests.

pub mod error;
pub mod middleware;
pub mod responses;
pub mod routes;

use actix_web::http::Method;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

use self::error::HttpError;
use crate::state::AppState;

/// Every route's name, the `route` label of metrics and logs.
pub const ROUTES: [&str; 8] = [
    "rendition",
    "images",
    "plan",
    "warm",
    "config",
    "healthz",
    "readyz",
    "metrics",
];

/// The whole route table: renditions by storage key (`/r/…`), Wagtail's
/// serve view (`/images/…`, when configured), the API (`/v1/plan`,
/// `/v1/warm`, `/v1/config`), health, metrics.
/// Every answer actix-web would make itself (a method a route does not
/// take, a body too large) goes through [`HttpError`] too.
pub fn configure(config: &mut web::ServiceConfig) {
    service_routes(config);
    metrics_route(config);
    config.default_service(web::to(not_found));
}

/// The route table without `/metrics` (a 404 like any unknown path): the
/// main listener's when `/metrics` has a listener of its own.
pub fn configure_without_metrics(config: &mut web::ServiceConfig) {
    service_routes(config);
    config.default_service(web::to(not_found));
}

/// `/metrics` alone, every other path a 404: the metrics listener's table.
pub fn configure_metrics(config: &mut web::ServiceConfig) {
    metrics_route(config);
    config.default_service(web::to(not_found));
}

fn service_routes(config: &mut web::ServiceConfig) {
    config
        // Scopes, not resources with a `{tail}` pattern: a literal prefix
        // is matched without a regular expression (the handlers parse the
        // path themselves), which on a cache hit was a tenth of the CPU.
        .service(web::scope(routes::rendition::SCOPE).default_service(web::to(rendition)))
        .service(web::scope(routes::images::SCOPE).default_service(web::to(images)))
        .service(
            web::resource("/v1/plan")
                .name("plan")
                .app_data(web::PayloadConfig::new(routes::plan::MAX_BODY_BYTES))
                .route(web::post().to(routes::plan::post))
                .default_service(web::to(post_only)),
        )
        .service(
            web::resource("/v1/warm")
                .name("warm")
                .app_data(web::PayloadConfig::new(routes::warm::MAX_BODY_BYTES))
                .route(web::post().to(routes::warm::post))
                .default_service(web::to(post_only)),
        )
        .service(
            web::resource("/v1/config")
                .name("config")
                .route(web::get().to(routes::config::get))
                .default_service(web::to(get_only)),
        )
        .service(
            web::resource("/healthz")
                .name("healthz")
                .route(web::get().to(routes::health::healthz))
                .default_service(web::to(get_only)),
        )
        .service(
            web::resource("/readyz")
                .name("readyz")
                .route(web::get().to(routes::health::readyz))
                .default_service(web::to(get_only)),
        );
}

fn metrics_route(config: &mut web::ServiceConfig) {
    config.service(
        web::resource("/metrics")
            .name("metrics")
            .route(web::get().to(routes::health::metrics))
            .default_service(web::to(get_only)),
    );
}

/// The route of a request whose route is not a named resource.
#[derive(Debug, Clone, Copy)]
pub struct RouteName(pub &'static str);

async fn rendition(request: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    get_or_head(&request, "rendition")?;
    routes::rendition::get(request, state).await
}

async fn images(request: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    get_or_head(&request, "images")?;
    routes::images::get(request, state).await
}

/// Names the request's route, and lets only GET and HEAD through.
fn get_or_head(request: &HttpRequest, route: &'static str) -> Result<(), HttpError> {
    request.extensions_mut().insert(RouteName(route));
    match *request.method() {
        Method::GET | Method::HEAD => Ok(()),
        _ => Err(HttpError::MethodNotAllowed("GET, HEAD")),
    }
}

async fn not_found() -> Result<HttpResponse, HttpError> {
    Err(HttpError::NoRoute)
}

async fn get_only() -> Result<HttpResponse, HttpError> {
    Err(HttpError::MethodNotAllowed("GET"))
}

async fn post_only() -> Result<HttpResponse, HttpError> {
    Err(HttpError::MethodNotAllowed("POST"))
}
