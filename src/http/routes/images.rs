//! `GET|HEAD /images/{signature}/{image_id}/{spec}/[{filename}]`: Wagtail's
//! serve view, as a drop-in (SPEC §1). The flow: parse the path, verify
//! Wagtail's signature (403 before any lookup), find the image row (404),
//! resolve its original (410 when the row exists but the file does not),
//! then 304, serve or redirect like every rendition route.

use actix_web::{HttpRequest, HttpResponse, web};
use percent_encoding::percent_decode_str;

use super::rendition::{decode, negotiating, respond};
use crate::http::error::HttpError;
use crate::renditions::{RenditionError, Request, check_spec};
use crate::spec::{SpecError, SpecLimits};
use crate::state::AppState;
use crate::wagtail::named_version;

/// The longest signature or image id segment looked at (a signature has 28
/// characters).
const MAX_SEGMENT_CHARS: usize = 128;

/// The route's path prefix.
pub const PREFIX: &str = "/images/";

/// The scope the route answers under (every path in it).
pub const SCOPE: &str = "/images";

/// The parts of a serve-view path, percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServePath {
    /// The signature segment.
    pub signature: String,
    /// The image id as written (it is signed as written).
    pub image_id: String,
    /// The filter spec.
    pub spec: String,
    /// The image version the (unsigned) file name names, if any.
    pub version: Option<String>,
}

impl ServePath {
    /// Splits a raw path as Wagtail's URL pattern does:
    /// `images/([^/]*)/(\d*)/([^/]*)/[^/]*`, and judges the spec's text
    /// against `limits` before anything else (segments too long to be valid
    /// are refused before they are decoded).
    pub fn parse(raw: &str, limits: &SpecLimits) -> Result<Self, HttpError> {
        let rest = raw.strip_prefix(PREFIX).ok_or(HttpError::NoRoute)?;
        let mut parts = rest.splitn(5, '/');
        let (Some(signature), Some(image_id), Some(spec), Some(filename), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(HttpError::NoRoute);
        };
        if signature.len() > MAX_SEGMENT_CHARS || image_id.len() > MAX_SEGMENT_CHARS {
            return Err(HttpError::NoRoute);
        }
        // Django decodes before matching, so a decoded `/` is a separator too
        // (the file name is ignored, so it is only scanned, never kept).
        if percent_decode_str(filename).any(|b| b == b'/') {
            return Err(HttpError::NoRoute);
        }
        let version = named_version(filename).map(str::to_owned);
        // A percent-escape is three characters for one byte.
        if spec.len() > limits.max_bytes.saturating_mul(3) {
            let limit = limits.max_bytes;
            return Err(RenditionError::SpecTooLarge(SpecError::TooLong { limit }).into());
        }
        let (signature, image_id, spec) = (decode(signature)?, decode(image_id)?, decode(spec)?);
        if [&signature, &image_id, &spec].iter().any(|s| s.contains('/')) {
            return Err(HttpError::NoRoute);
        }
        if image_id.is_empty() || !image_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(HttpError::NoRoute);
        }
        check_spec(&spec, limits)?;
        Ok(Self {
            signature,
            image_id,
            spec,
            version,
        })
    }
}

/// The handler.
pub async fn get(request: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    let site = state.wagtail.as_ref().ok_or(HttpError::NoRoute)?;
    let path = ServePath::parse(request.uri().path(), &state.spec_limits)?;
    if !site.signer.verify(&path.signature, &path.image_id, &path.spec) {
        return Err(HttpError::Signature);
    }
    let id: i64 = path.image_id.parse().map_err(|_| HttpError::NoImage)?;
    let image = site
        .images
        .find_current(id, path.version.as_deref())
        .await?
        .ok_or(HttpError::NoImage)?;
    let rendition = Request::for_wagtail_image(
        &path.spec,
        &image.file,
        image.focal_point,
        &image.file_hash,
        &state.spec_limits,
    )?;
    let resolved = match state.renditions.resolve(negotiating(rendition, &request, &state)).await {
        Err(RenditionError::NotFound(key)) => return Err(HttpError::SourceMissing(key)),
        other => other?,
    };
    respond(&request, &state, &resolved).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Option<(String, String, String)> {
        ServePath::parse(raw, &SpecLimits::default())
            .ok()
            .map(|p| (p.signature, p.image_id, p.spec))
    }

    #[test]
    fn follows_wagtails_url_pattern() {
        let own = |a: &str, b: &str, c: &str| Some((a.to_owned(), b.to_owned(), c.to_owned()));
        let signed = "sHBpEKTDHyF2s2IFGvSFZaf9-Ss=";
        assert_eq!(
            parse(&format!("/images/{signed}/1/fill-800x600/")),
            own(signed, "1", "fill-800x600")
        );
        assert_eq!(
            parse("/images/s/01/fill-1x1%7Cformat-webp/photo.jpg"),
            own("s", "01", "fill-1x1|format-webp")
        );
        for raw in [
            "/images/s/1/fill-800x600",
            "/images/s/1/fill-800x600/test/test.png",
            "/images/s/x1/width-100/",
            "/images/s//width-100/",
            "/images/s/1/width%2F100/a.png",
            "/image/s/1/width-100/",
            "/images/s/1/width-100/a%2Fb.png",
        ] {
            assert_eq!(parse(raw), None, "{raw}");
        }
        // The ignored file name may be anything without a `/`, as in Django.
        assert_eq!(parse("/images/s/1/width-100/%ff.png"), own("s", "1", "width-100"));
        let versioned = ServePath::parse("/images/s/1/width-100/0123456789ab~a.png", &SpecLimits::default());
        assert_eq!(versioned.ok().and_then(|p| p.version).as_deref(), Some("0123456789ab"));
    }

    #[test]
    fn specs_are_bounded_before_anything_else() {
        let limits = SpecLimits::default();
        for raw in [
            format!("/images/s/1/width-{}/", "1".repeat(600)),
            format!("/images/s/1/{}/", "%7Cformat-webp".repeat(4000)),
            format!("/images/s/1/{}/", ["original"; 17].join("%7C")),
        ] {
            assert!(
                matches!(
                    ServePath::parse(&raw, &limits),
                    Err(HttpError::Rendition(RenditionError::SpecTooLarge(_)))
                ),
                "{raw}"
            );
        }
    }
}
