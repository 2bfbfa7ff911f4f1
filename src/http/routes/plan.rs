//! `POST /v1/plan`: sizes, formats and signed URLs of renditions, from
//! Wagtail's database or bare sizes, without generating anything. Needs
//! `Authorization: Bearer <RENDITIOND_API_TOKEN>`; off without a token.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::http::error::HttpError;
use crate::state::AppState;
use crate::wagtail::{PlanItem, plan_items};

/// The most items one request may hold.
pub const MAX_ITEMS: usize = 1000;

/// The most bytes of a request body.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The handler. The body's own errors (too large, cut short) come here too,
/// so they answer through the one error mapping, after the token check.
pub async fn post(
    request: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    super::authorize(&request, &state)?;
    let body = body.map_err(|e| {
        if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
            HttpError::PayloadTooLarge
        } else {
            HttpError::BadBody(e.to_string())
        }
    })?;
    let items: Vec<PlanItem> = serde_json::from_slice(&body).map_err(|e| HttpError::BadBody(e.to_string()))?;
    if items.len() > MAX_ITEMS {
        return Err(HttpError::TooManyItems);
    }
    let renditions = &state.renditions;
    let replies = plan_items(
        &items,
        state.wagtail.as_ref(),
        renditions.output(),
        &state.spec_limits,
        |file| async move { renditions.source_size(&file).await },
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(replies))
}
