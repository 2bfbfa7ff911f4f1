//! `GET|HEAD /images/{signature}/{image_id}/{spec}/[{filename}]`: Wagtail's
//! serve view, as a drop-in (SPEC §1). The flow: parse the path, verify
//! Wagtail's signature (403 before any lookup), find the image row (404),
//! resolve its original (410 when the row exists but the file does not),
//! then 304, serve or redirect like every rendition route.

use actix_web::{HttpRequest, HttpResponse, web};

use super::rendition::{decode, respond};
use crate::http::error::HttpError;
use crate::renditions::{RenditionError, Request};
use crate::state::AppState;

/// The route's path prefix.
pub const PREFIX: &str = "/images/";

/// The parts of a serve-view path, percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServePath {
    /// The signature segment.
    pub signature: String,
    /// The image id as written (it is signed as written).
    pub image_id: String,
    /// The filter spec.
    pub spec: String,
}

impl ServePath {
    /// Splits a raw path as Wagtail's URL pattern does:
    /// `images/([^/]*)/(\d*)/([^/]*)/[^/]*`.
    pub fn parse(raw: &str) -> Result<Self, HttpError> {
        let rest = raw.strip_prefix(PREFIX).ok_or(HttpError::NoRoute)?;
        let segments: Vec<String> = rest.split('/').map(decode).collect::<Result<_, _>>()?;
        // Django decodes before matching, so a decoded `/` is a separator too.
        if segments.len() != 4 || segments.iter().any(|s| s.contains('/')) {
            return Err(HttpError::NoRoute);
        }
        let image_id = &segments[1];
        if image_id.is_empty() || !image_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(HttpError::NoRoute);
        }
        Ok(Self {
            signature: segments[0].clone(),
            image_id: image_id.clone(),
            spec: segments[2].clone(),
        })
    }
}

/// The handler.
pub async fn get(request: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    let site = state.wagtail.as_ref().ok_or(HttpError::NoRoute)?;
    let path = ServePath::parse(request.uri().path())?;
    if !site.signer.verify(&path.signature, &path.image_id, &path.spec) {
        return Err(HttpError::Signature);
    }
    let id: i64 = path.image_id.parse().map_err(|_| HttpError::NoImage)?;
    let image = site.images.find(id).await?.ok_or(HttpError::NoImage)?;
    let rendition = Request::for_wagtail_image(&path.spec, &image.file, image.focal_point, &image.file_hash)?;
    let resolved = match state.renditions.resolve(rendition).await {
        Err(RenditionError::NotFound(key)) => return Err(HttpError::SourceMissing(key)),
        other => other?,
    };
    respond(&request, &state, &resolved).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Option<(String, String, String)> {
        ServePath::parse(raw).ok().map(|p| (p.signature, p.image_id, p.spec))
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
        ] {
            assert_eq!(parse(raw), None, "{raw}");
        }
    }
}
