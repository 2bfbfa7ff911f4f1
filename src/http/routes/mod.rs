//! One file per route family.

pub mod config;
pub mod health;
pub mod images;
pub mod plan;
pub mod rendition;
pub mod warm;

use actix_web::HttpRequest;
use actix_web::http::header;
use subtle::ConstantTimeEq;

use crate::http::error::HttpError;
use crate::state::AppState;

/// The `/v1/` API's gate: `Authorization: Bearer <RENDITIOND_API_TOKEN>`,
/// compared in constant time; without a token the API is off (404).
pub fn authorize(request: &HttpRequest, state: &AppState) -> Result<(), HttpError> {
    let token = state.api_token.as_deref().ok_or(HttpError::NoRoute)?;
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        Ok(())
    } else {
        Err(HttpError::Unauthorized)
    }
}
