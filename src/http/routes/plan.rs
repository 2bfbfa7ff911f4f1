//! `POST /v1/plan`: sizes, formats and signed URLs of renditions, from
//! Wagtail's database or bare sizes, without generating anything. Needs
//! `Authorization: Bearer <RENDITIOND_API_TOKEN>`; off without a token.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::http::error::HttpError;
use crate::state::AppState;
use crate::wagtail::{PlanItem, plan_items};

/// The most items one request may hold.
pub const MAX_ITEMS: usize = 1000;

/// The most bytes of a request body.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The handler.
pub async fn post(
    request: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    super::authorize(&request, &state)?;
    let items: Vec<PlanItem> = super::json_items(body, MAX_ITEMS)?;
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
