//! `GET /v1/config`: the Wagtail settings renditiond renders with, so a
//! site can check they are its own (`manage.py check --deploy`). Behind the
//! API token, as `/v1/plan`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use crate::http::error::HttpError;
use crate::state::AppState;

/// The handler.
pub async fn get(request: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    super::authorize(&request, &state)?;
    let output = state.renditions.output();
    let conversions: Map<String, Value> = output
        .conversions
        .iter()
        .map(|(from, to)| (from.name().to_owned(), Value::from(to.name())))
        .collect();
    let body = json!({
        "wagtail_version": output.version.to_string(),
        "format_conversions": conversions,
        "jpeg_quality": output.jpeg_quality,
        "webp_quality": output.webp_quality,
        "avif_quality": output.avif_quality,
        "heic_quality": output.heic_quality,
        "format_negotiation": output.negotiation.iter().map(|f| f.name()).collect::<Vec<_>>(),
        "animation": output.animation,
        "effective": {
            "jpeg_quality": output.jpeg_quality(),
            "webp_quality": output.webp_quality(),
            "avif_quality": output.avif_quality(),
            "heic_quality": output.heic_quality(),
        },
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}
