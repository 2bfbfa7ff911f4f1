//! One file per route family.

pub mod config;
pub mod health;
pub mod images;
pub mod plan;
pub mod rendition;
pub mod warm;

use actix_web::HttpRequest;
use actix_web::http::{StatusCode, header};
use actix_web::web::Bytes;
use serde::de::DeserializeOwned;
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

/// The JSON list of an API request body, at most `max_items` long. The
/// body's own errors (too large, cut short) arrive here too, so they answer
/// through the one error mapping, after the token check.
pub fn json_items<T: DeserializeOwned>(
    body: Result<Bytes, actix_web::Error>,
    max_items: usize,
) -> Result<Vec<T>, HttpError> {
    let body = body.map_err(|e| {
        if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
            HttpError::PayloadTooLarge
        } else {
            HttpError::BadBody(e.to_string())
        }
    })?;
    let items: Vec<T> = serde_json::from_slice(&body).map_err(|e| HttpError::BadBody(e.to_string()))?;
    if items.len() > max_items {
        return Err(HttpError::TooManyItems);
    }
    Ok(items)
}
