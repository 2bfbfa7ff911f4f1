//! The request observer: one log line and the request metrics per request
//! (method, route, status, bytes, duration, cache tier, error detail).

use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};

use crate::cache::Tier;
use crate::http::RouteName;
use crate::http::error::ErrorDetail;
use crate::metrics::RequestLabels;
use crate::state::AppState;

/// Logs and counts the request once its response is ready.
pub async fn observe(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = logged_path(request.path()).to_owned();
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(request).await?;

    let named = response.request().extensions().get::<RouteName>().map(|r| r.0);
    let route = named.unwrap_or_else(|| route_name(response.request().match_name()));
    let status = response.status().as_u16();
    let bytes = match (response.response().body().size(), method == Method::HEAD) {
        (BodySize::Sized(n), false) => n,
        _ => 0,
    };
    let tier = response.response().extensions().get::<Tier>().map_or("-", |t| t.name());
    let detail = response.response().extensions().get::<ErrorDetail>().cloned();
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if let Some(state) = state {
        state
            .metrics
            .requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
        state.metrics.served_bytes.inc_by(bytes);
    }
    let (error, detail) = detail.map_or((None, None), |d| (Some(d.code), Some(d.message)));
    let detail = detail.as_deref();
    if status >= 500 {
        tracing::warn!(method = %method, route, path, status, bytes, duration_ms = millis, cache = tier, error, detail, "request");
    } else {
        tracing::info!(method = %method, route, path, status, bytes, duration_ms = millis, cache = tier, error, detail, "request");
    }
    Ok(response)
}

/// The most bytes of a request path written to the log.
const MAX_LOGGED_PATH: usize = 1024;

/// `path` cut to [`MAX_LOGGED_PATH`] bytes at a character boundary, so an
/// oversized URL costs a bounded log line.
fn logged_path(path: &str) -> &str {
    let mut end = path.len().min(MAX_LOGGED_PATH);
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
}

/// The route's name as a `'static` label, from a fixed set.
fn route_name(name: Option<&str>) -> &'static str {
    super::ROUTES
        .iter()
        .copied()
        .find(|r| Some(*r) == name)
        .unwrap_or("unmatched")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_paths_are_bounded() {
        assert_eq!(logged_path("/r/s/w/a.jpg"), "/r/s/w/a.jpg");
        let long = format!("/r/s/{}", "é".repeat(2000));
        let logged = logged_path(&long);
        assert!(logged.len() <= MAX_LOGGED_PATH && long.starts_with(logged));
    }
}
