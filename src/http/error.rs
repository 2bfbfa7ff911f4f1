//! The one place that knows HTTP statuses: every error a request can meet,
//! mapped by one exhaustive `match` to a status, a short plain-text body and
//! a stable code for logs. Internal detail goes to the log, never the client.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use crate::pipeline::PipelineError;
use crate::renditions::RenditionError;
use crate::spec::SpecError;
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
    /// The route does not take this method; the methods it takes.
    #[error("method not allowed (allowed: {0})")]
    MethodNotAllowed(&'static str),
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
    /// Wagtail's database did not answer, or its row is unusable.
    #[error(transparent)]
    Database(#[from] DatabaseError),
    /// The API token is missing or wrong.
    #[error("missing or invalid API token")]
    Unauthorized,
    /// The request body is larger than the endpoint takes.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// The request body holds more items than the endpoint takes.
    #[error("the request body holds too many items")]
    TooManyItems,
    /// The request body is not what the endpoint takes; why, for the log.
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

/// The body of a 400 for an invalid spec: Wagtail's wording, echoing the
/// spec the request itself sent (already within the spec bounds).
fn invalid_spec(spec: &str) -> Cow<'static, str> {
    Cow::Owned(format!("Invalid filter spec: {spec}"))
}

impl HttpError {
    /// The public text of the error, as its response body says it (the
    /// `/v1/` API reports per item with it).
    pub fn public_message(&self) -> Cow<'static, str> {
        self.describe().2
    }

    /// Status, stable code and public body. Every body is a fixed text but
    /// for Wagtail's `Invalid filter spec: <spec>`, which echoes the request's
    /// own spec; internal detail (decoders, parsers, encoders, stores) only
    /// ever reaches the log.
    fn describe(&self) -> (StatusCode, &'static str, Cow<'static, str>) {
        use PipelineError as P;
        use RenditionError as R;
        use StatusCode as S;
        let fixed = |status: StatusCode, code: &'static str, body: &'static str| (status, code, Cow::Borrowed(body));
        match self {
            Self::NoRoute => fixed(S::NOT_FOUND, "no_route", "Not found"),
            Self::MethodNotAllowed(_) => fixed(S::METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed"),
            Self::Signature => fixed(S::FORBIDDEN, "bad_signature", "Invalid signature"),
            Self::BadEncoding => fixed(S::BAD_REQUEST, "bad_encoding", "Invalid URL encoding"),
            Self::NoImage => fixed(S::NOT_FOUND, "no_image", "Image not found"),
            Self::SourceMissing(_) => fixed(S::GONE, "source_missing", "Source image file not found"),
            Self::Database(e) if e.is_bad_row() => fixed(S::INTERNAL_SERVER_ERROR, "bad_image_row", "Internal error"),
            Self::Database(_) => fixed(S::SERVICE_UNAVAILABLE, "database_unavailable", "Database unavailable"),
            Self::Unauthorized => fixed(S::UNAUTHORIZED, "unauthorized", "Invalid API token"),
            Self::PayloadTooLarge => fixed(S::PAYLOAD_TOO_LARGE, "body_too_large", "Request body too large"),
            Self::TooManyItems => fixed(S::BAD_REQUEST, "too_many_items", "Too many items"),
            Self::BadBody(_) => fixed(S::BAD_REQUEST, "bad_body", "Invalid request body"),
            Self::Rendition(error) => match error {
                R::Spec { spec, .. } => (S::BAD_REQUEST, "bad_spec", invalid_spec(spec)),
                R::SpecTooLarge(e) => match e {
                    SpecError::TooManyOperations { .. } => fixed(
                        S::BAD_REQUEST,
                        "spec_too_large",
                        "Invalid filter spec (too many operations)",
                    ),
                    _ => fixed(S::BAD_REQUEST, "spec_too_large", "Invalid filter spec (too long)"),
                },
                R::InvalidKey(_) => fixed(S::BAD_REQUEST, "bad_key", "Invalid image key"),
                R::NotFound(_) => fixed(S::NOT_FOUND, "not_found", "Image not found"),
                R::SourceTooLarge { .. } => fixed(S::PAYLOAD_TOO_LARGE, "too_large", "Image file too large"),
                R::Pipeline(p) => match p {
                    P::SourceTooLarge { .. } => {
                        fixed(S::PAYLOAD_TOO_LARGE, "too_many_pixels", "Image has too many pixels")
                    }
                    P::UnknownFormat => fixed(
                        S::UNSUPPORTED_MEDIA_TYPE,
                        "unsupported",
                        "Not an image in a supported format",
                    ),
                    P::UnsupportedSource(_) => {
                        fixed(S::UNSUPPORTED_MEDIA_TYPE, "unsupported", "Image format not supported")
                    }
                    P::UnsupportedOutput(_) => {
                        fixed(S::UNSUPPORTED_MEDIA_TYPE, "unsupported", "Output format not supported")
                    }
                    P::Undecodable { .. } => {
                        fixed(S::UNPROCESSABLE_ENTITY, "undecodable", "The image cannot be decoded")
                    }
                    P::OutputTooLarge { .. } => {
                        fixed(S::BAD_REQUEST, "output_too_large", "Rendition has too many pixels")
                    }
                    P::Encode { .. } => fixed(
                        S::UNPROCESSABLE_ENTITY,
                        "unencodable",
                        "The rendition cannot be encoded",
                    ),
                    P::Svg(svg) if svg.is_too_large() => fixed(S::PAYLOAD_TOO_LARGE, "svg_too_large", "SVG too large"),
                    P::Svg(SvgError::TooDeep { .. }) => {
                        fixed(S::UNPROCESSABLE_ENTITY, "svg_too_deep", "SVG nested too deep")
                    }
                    P::Svg(SvgError::Forbidden(_)) => {
                        fixed(S::UNPROCESSABLE_ENTITY, "svg_refused", "SVG refused for safety")
                    }
                    P::Svg(SvgError::Encoding(_)) => {
                        fixed(S::UNPROCESSABLE_ENTITY, "svg_encoding", "SVG encoding not supported")
                    }
                    P::Svg(_) => fixed(S::UNPROCESSABLE_ENTITY, "bad_svg", "Invalid SVG"),
                    P::Resize(_) => fixed(S::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
                    P::TimedOut => fixed(
                        S::SERVICE_UNAVAILABLE,
                        "render_timeout",
                        "Rendering took too long, retry later",
                    ),
                },
                R::Unavailable(_) => fixed(S::SERVICE_UNAVAILABLE, "unavailable", "Storage unavailable"),
                R::Overloaded(_) => fixed(S::SERVICE_UNAVAILABLE, "overloaded", "Too busy, retry later"),
                R::OverBudget(_) => fixed(S::PAYLOAD_TOO_LARGE, "over_memory_budget", "Image too large to render"),
                R::TimedOut => fixed(
                    S::SERVICE_UNAVAILABLE,
                    "render_timeout",
                    "Rendering took too long, retry later",
                ),
                R::Worker(_) => fixed(S::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
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
        if let Self::MethodNotAllowed(allow) = self {
            response.insert_header((header::ALLOW, HeaderValue::from_static(allow)));
        }
        let mut response = response.body(message);
        response.extensions_mut().insert(ErrorDetail {
            code,
            message: self.to_string(),
        });
        response
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;

    use super::*;
    use crate::format::{OutputFormat, SourceFormat};
    use crate::store::InvalidKey;
    use crate::workers::{OverBudget, Overloaded};

    /// Internal text that must never reach a client.
    const DETAIL: &str = "INTERNAL position 15: duplicated attribute";

    fn every_error() -> Vec<HttpError> {
        let d = || DETAIL.to_owned();
        let pipeline = [
            PipelineError::UnknownFormat,
            PipelineError::UnsupportedSource(SourceFormat::Tiff),
            PipelineError::UnsupportedOutput(OutputFormat::Heic),
            PipelineError::Undecodable {
                format: SourceFormat::Jpeg,
                reason: d(),
            },
            PipelineError::SourceTooLarge {
                width: 60_000,
                height: 60_000,
                limit: 1,
            },
            PipelineError::OutputTooLarge {
                width: 60_000,
                height: 60_000,
                limit: 1,
            },
            PipelineError::Resize(d()),
            PipelineError::TimedOut,
            PipelineError::Svg(SvgError::TooCostly(d())),
            PipelineError::Encode {
                format: OutputFormat::Webp,
                reason: d(),
            },
            PipelineError::Svg(SvgError::TooManyBytes { limit: 1 }),
            PipelineError::Svg(SvgError::TooManyElements { limit: 1 }),
            PipelineError::Svg(SvgError::TooDeep { limit: 1 }),
            PipelineError::Svg(SvgError::Encoding(d())),
            PipelineError::Svg(SvgError::Malformed(d())),
            PipelineError::Svg(SvgError::Forbidden(d())),
            PipelineError::Svg(SvgError::Geometry(d())),
        ];
        let mut errors = vec![
            HttpError::NoRoute,
            HttpError::MethodNotAllowed("GET, HEAD"),
            HttpError::Signature,
            HttpError::BadEncoding,
            HttpError::NoImage,
            HttpError::SourceMissing(d()),
            HttpError::Database(DatabaseError::Unavailable(d())),
            HttpError::Database(DatabaseError::BadRow { id: 1, reason: d() }),
            HttpError::Unauthorized,
            HttpError::PayloadTooLarge,
            HttpError::TooManyItems,
            HttpError::BadBody(d()),
        ];
        let renditions = [
            RenditionError::SpecTooLarge(SpecError::TooLong { limit: 512 }),
            RenditionError::SpecTooLarge(SpecError::TooManyOperations { limit: 16 }),
            RenditionError::InvalidKey(InvalidKey("INTERNAL")),
            RenditionError::NotFound(d()),
            RenditionError::SourceTooLarge { size: 2, limit: 1 },
            RenditionError::Unavailable(d()),
            RenditionError::Overloaded(Overloaded),
            RenditionError::OverBudget(OverBudget { needed: 2, budget: 1 }),
            RenditionError::TimedOut,
            RenditionError::Worker(d()),
        ];
        errors.extend(renditions.into_iter().map(HttpError::Rendition));
        errors.extend(pipeline.into_iter().map(|p| HttpError::Rendition(p.into())));
        errors
    }

    fn body(response: HttpResponse) -> String {
        let bytes = response.into_body().try_into_bytes().unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn every_body_is_a_short_fixed_text() {
        for error in every_error() {
            let response = error.error_response();
            let headers = response.headers().clone();
            let logged = response
                .extensions()
                .get::<ErrorDetail>()
                .cloned()
                .expect("a log detail");
            let text = body(response);
            assert!(
                !text.contains("INTERNAL") && !text.contains("60000") && text.len() <= 48,
                "{error:?} answers {text:?}"
            );
            assert!(!text.is_empty() && text.is_ascii(), "{error:?}");
            assert_eq!(
                headers.get(header::CACHE_CONTROL).map(|v| v.as_bytes()),
                Some(&b"no-store"[..])
            );
            assert_eq!(
                headers.get(header::X_CONTENT_TYPE_OPTIONS).map(|v| v.as_bytes()),
                Some(&b"nosniff"[..])
            );
            assert_eq!(
                headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
                Some(&b"text/plain; charset=utf-8"[..])
            );
            assert!(!logged.message.is_empty(), "{error:?}");
        }
    }

    #[test]
    fn bad_specs_echo_the_requests_own_spec() {
        let error = HttpError::Rendition(RenditionError::Spec {
            spec: "width-100|format-webp-x/y".into(),
            reason: DETAIL.into(),
        });
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(body(response), "Invalid filter spec: width-100|format-webp-x/y");
    }

    #[test]
    fn statuses_and_their_headers() {
        let allowed = HttpError::MethodNotAllowed("GET, HEAD").error_response();
        assert_eq!(allowed.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            allowed.headers().get(header::ALLOW).map(|v| v.as_bytes()),
            Some(&b"GET, HEAD"[..])
        );
        // A broken row is not an outage: no retry is suggested.
        let row = HttpError::Database(DatabaseError::BadRow {
            id: 1,
            reason: DETAIL.into(),
        })
        .error_response();
        assert_eq!(row.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(row.headers().get(header::RETRY_AFTER).is_none());
        let outage = HttpError::Database(DatabaseError::Unavailable(DETAIL.into())).error_response();
        assert_eq!(outage.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(outage.headers().get(header::RETRY_AFTER).is_some());
        assert_eq!(
            HttpError::PayloadTooLarge.error_response().status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }
}
