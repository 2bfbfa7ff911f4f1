//! `GET|HEAD /r/{signature}/{spec}/{key}`: a rendition of the original at a
//! storage key. The handler reads as the flow: parse the path, verify the
//! signature, resolve, then 304, serve or redirect.

use actix_web::{HttpRequest, HttpResponse, web};
use percent_encoding::percent_decode_str;

use crate::config::Action;
use crate::http::error::HttpError;
use crate::http::responses;
use crate::renditions::{Request, Resolved};
use crate::state::AppState;

/// The route's path prefix.
pub const PREFIX: &str = "/r/";

/// The parts of a rendition path, percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenditionPath {
    /// The signature segment.
    pub signature: String,
    /// The spec, focal point included.
    pub spec: String,
    /// The storage key of the original.
    pub key: String,
}

impl RenditionPath {
    /// Splits a raw (still percent-encoded) request path.
    pub fn parse(raw: &str) -> Result<Self, HttpError> {
        let rest = raw.strip_prefix(PREFIX).ok_or(HttpError::NoRoute)?;
        let mut parts = rest.splitn(3, '/');
        let (Some(signature), Some(spec), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(HttpError::NoRoute);
        };
        if signature.is_empty() || spec.is_empty() || key.is_empty() {
            return Err(HttpError::NoRoute);
        }
        Ok(Self {
            signature: decode(signature)?,
            spec: decode(spec)?,
            key: decode(key)?,
        })
    }
}

/// One path segment, percent-decoded once as UTF-8.
pub fn decode(segment: &str) -> Result<String, HttpError> {
    percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| HttpError::BadEncoding)
}

/// The handler.
pub async fn get(request: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    let path = RenditionPath::parse(request.uri().path())?;
    state
        .signer
        .verify(&path.signature, &path.spec, &path.key)
        .map_err(|_| HttpError::Signature)?;
    let resolved = state.renditions.resolve(Request::parse(&path.spec, &path.key)?).await?;
    respond(&request, &state, &resolved).await
}

/// The answer for a resolved rendition, shared by every rendition route:
/// a redirect to the rendition store, a 304, or the bytes.
pub async fn respond(request: &HttpRequest, state: &AppState, resolved: &Resolved) -> Result<HttpResponse, HttpError> {
    match (state.action, state.public_url.as_deref()) {
        (Action::Redirect, Some(public_url)) => {
            let tier = state.renditions.publish(resolved).await?;
            Ok(responses::redirect(
                public_url,
                &resolved.key,
                tier,
                &state.cache_control,
            ))
        }
        _ if responses::is_not_modified(request, &resolved.key) => {
            Ok(responses::not_modified(resolved, &state.cache_control))
        }
        _ => {
            let (rendition, tier) = state.renditions.fetch(resolved).await?;
            Ok(responses::image(resolved, &rendition, tier, &state.cache_control))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Option<(String, String, String)> {
        RenditionPath::parse(raw).ok().map(|p| (p.signature, p.spec, p.key))
    }

    #[test]
    fn splits_and_decodes_the_segments() {
        let own = |a: &str, b: &str, c: &str| Some((a.to_owned(), b.to_owned(), c.to_owned()));
        assert_eq!(parse("/r/sig/width-100/a.jpg"), own("sig", "width-100", "a.jpg"));
        assert_eq!(
            parse("/r/sig/fill-1x1%7Cformat-webp/dir/sub/%C3%A9t%C3%A9%20x.jpg"),
            own("sig", "fill-1x1|format-webp", "dir/sub/été x.jpg")
        );
        // Decoding happens once: a double-encoded dot stays text.
        assert_eq!(parse("/r/s/w/%252e%252e/x"), own("s", "w", "%2e%2e/x"));
        // Encoded slashes and dots decode into the key, where StorageKey judges them.
        assert_eq!(parse("/r/s/w/%2e%2e%2fetc%2fpasswd"), own("s", "w", "../etc/passwd"));
    }

    #[test]
    fn refuses_other_shapes() {
        for raw in [
            "/r/",
            "/r/sig",
            "/r/sig/spec",
            "/r/sig/spec/",
            "/r//spec/key",
            "/r/sig//key",
            "/x/s/w/k",
        ] {
            assert!(parse(raw).is_none(), "{raw}");
        }
        assert!(matches!(
            RenditionPath::parse("/r/s/w/%ff.jpg"),
            Err(HttpError::BadEncoding)
        ));
    }
}
