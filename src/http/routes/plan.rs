//! `POST /v1/plan`: sizes, formats and signed URLs of renditions, from
//! Wagtail's database or bare sizes, without generating anything. Needs
//! `Authorization: Bearer <RENDITIOND_API_TOKEN>`; off without a token.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use subtle::ConstantTimeEq;

use crate::http::error::HttpError;
use crate::state::AppState;
use crate::wagtail::{PlanItem, plan_items};

/// The most items one request may hold.
pub const MAX_ITEMS: usize = 1000;

/// The handler.
pub async fn post(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    let token = state.api_token.as_deref().ok_or(HttpError::NoRoute)?;
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        return Err(HttpError::Unauthorized);
    }
    let items: Vec<PlanItem> = serde_json::from_slice(&body).map_err(|e| {
        let mut reason = e.to_string();
        reason.truncate(120);
        HttpError::BadBody(reason)
    })?;
    if items.len() > MAX_ITEMS {
        return Err(HttpError::BadBody(format!("at most {MAX_ITEMS} items")));
    }
    let replies = plan_items(&items, state.wagtail.as_ref(), state.renditions.svg_output()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(replies))
}
