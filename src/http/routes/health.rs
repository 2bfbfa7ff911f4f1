//! Probes and metrics: `/healthz` (the process answers), `/readyz` (the
//! stores have answered once and no shutdown has begun), `/metrics`
//! (Prometheus text).

use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, web};

use crate::http::error::RETRY_AFTER_SECONDS;
use crate::state::AppState;

/// Content type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /healthz`.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type(ContentType::plaintext()).body("ok")
}

/// `GET /readyz`.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.is_shutting_down() {
        return unready("shutting down".into());
    }
    // Until the stores have answered once (a wrong bucket or credentials
    // keep a new instance out); after that a store outage, which every
    // instance shares, does not take instances out: they still serve what
    // they hold in memory.
    if !state.stores_answered() {
        for store in &state.stores {
            if let Err(e) = store.check().await {
                tracing::warn!(error = %e, "not ready");
                return unready("storage unavailable".into());
            }
        }
        state.mark_stores_answered();
    }
    HttpResponse::Ok().content_type(ContentType::plaintext()).body("ready")
}

fn unready(reason: String) -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .content_type(ContentType::plaintext())
        .insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS))
        .body(reason)
}

/// `GET /metrics`.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    state.renditions.observe_caches().await;
    HttpResponse::Ok()
        .content_type(OPENMETRICS)
        .body(state.metrics.encode())
}
