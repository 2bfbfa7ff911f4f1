//! The one place that knows HTTP statuses: every error a request can meet,
//! mapped by one exhaustive `match` to a status, a short plain-text body and
//! a stable code for logs. Internal detail goes to the log, never the client.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use crate::pipeline::PipelineError;
use crate::renditions::RenditionError;
use crate::svg::SvgError;
use crate::wagtail::DatabaseError;

/// Seconds a client is told to wait after a 503.
pub const RETRY_AFTER_SECONDS: &str = "5";

/// An error on its way to becoming a response.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL is not of a known shape.
    #[error("not found")]
    NoRoute,
    /// The signature is missing or wrong.
    #[error("invalid signature")]
    Signature,
    /// The URL path is not valid percent-encoded UTF-8.
    #[error("the URL is not valid UTF-8 once percent-decoded")]
    BadEncoding,
    /// No Wagtail image has that id.
    #[error("no Wagtail image with that id")]
    NoImage,
    /// The Wagtail image exists but its original does not (Wagtail's 410).
    #[error("the original of the Wagtail image is missing: {0}")]
    SourceMissing(String),
    /// Wagtail's database did not answer.
    #[error(transparent)]
    Database(#[from] DatabaseError),
    /// The API token is missing or wrong.
    #[error("missing or invalid API token")]
    Unauthorized,
    /// The request body is not what the endpoint takes.
    #[error("invalid request body: {0}")]
    BadBody(String),
    /// The use case failed.
    #[error(transparent)]
    Rendition(#[from] RenditionError),
}

/// The detail of an error response, for the request log.
#[derive(Debug, Clone)]
pub struct ErrorDetail {
    /// A stable code.
    pub code: &'static str,
    /// The full message, internal detail included.
    pub message: String,
}

impl HttpError {
    /// Status, stable code and public message.
    fn describe(&self) -> (StatusCode, &'static str, String) {
        use PipelineError as P;
        use RenditionError as R;
        match self {
            Self::NoRoute => (StatusCode::NOT_FOUND, "no_route", "Not found".into()),
            Self::Signature => (StatusCode::FORBIDDEN, "bad_signature", "Invalid signature".into()),
            Self::BadEncoding => (StatusCode::BAD_REQUEST, "bad_encoding", "Invalid URL encoding".into()),
            Self::NoImage => (StatusCode::NOT_FOUND, "no_image", "Image not found".into()),
            Self::SourceMissing(_) => (StatusCode::GONE, "source_missing", "Source image file not found".into()),
            Self::Database(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "Database unavailable".into(),
            ),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Invalid API token".into()),
            Self::BadBody(reason) => (
                StatusCode::BAD_REQUEST,
                "bad_body",
                format!("Invalid request: {reason}"),
            ),
            Self::Rendition(error) => match error {
                R::Spec { spec, .. } => (
                    StatusCode::BAD_REQUEST,
                    "bad_spec",
                    format!("Invalid filter spec: {spec}"),
                ),
                R::InvalidKey(_) => (StatusCode::BAD_REQUEST, "bad_key", "Invalid image key".into()),
                R::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", "Image not found".into()),
                R::SourceTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", error.to_string()),
                R::Pipeline(p) => match p {
                    P::SourceTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_many_pixels", p.to_string()),
                    P::UnknownFormat | P::UnsupportedSource(_) | P::UnsupportedOutput(_) => {
                        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported", p.to_string())
                    }
                    P::Undecodable { .. } => (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "undecodable",
                        "The image cannot be decoded".into(),
                    ),
                    P::OutputTooLarge { .. } => (StatusCode::BAD_REQUEST, "output_too_large", p.to_string()),
                    P::Encode { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "unencodable", p.to_string()),
                    P::Svg(SvgError::Stopped) => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "render_stopped",
                        "Rendering took too long, retry later".into(),
                    ),
                    P::Svg(svg) if svg.is_too_large() => {
                        (StatusCode::PAYLOAD_TOO_LARGE, "svg_too_large", p.to_string())
                    }
                    P::Svg(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_svg", p.to_string()),
                    P::Resize(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error".into()),
                },
                R::Unavailable(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Storage unavailable".into(),
                ),
                R::Overloaded(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "Too busy, retry later".into(),
                ),
                R::Worker(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error".into()),
            },
        }
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        self.describe().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code, message) = self.describe();
        let mut response = HttpResponse::build(status);
        response
            .content_type("text/plain; charset=utf-8")
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS)));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        let mut response = response.body(message);
        response.extensions_mut().insert(ErrorDetail {
            code,
            message: self.to_string(),
        });
        response
    }
}
