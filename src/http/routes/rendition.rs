//! `GET|HEAD /r/{signature}/{spec}/{key}`: a rendition of the original at a
//! storage key. The handler reads as the flow: parse the path, verify the
//! signature, resolve, then 304, serve or redirect.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use percent_encoding::percent_decode_str;

use crate::config::Action;
use crate::http::error::HttpError;
use crate::http::responses;
use crate::plan::Accept;
use crate::renditions::{RenditionError, Request, Resolved, check_spec};
use crate::spec::{SpecError, SpecLimits};
use crate::state::AppState;
use crate::store::{InvalidKey, MAX_KEY_BYTES};

/// The route's path prefix.
pub const PREFIX: &str = "/r/";

/// The scope the route answers under (every path in it; `/r` alone is a 404).
pub const SCOPE: &str = "/r";

/// The longest signature segment looked at (a signature has 43 characters).
const MAX_SIGNATURE_CHARS: usize = 128;

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
    /// Splits a raw (still percent-encoded) request path and judges the
    /// spec's text against `limits` (length, operations, no `/`) before
    /// anything else: segments too long to be valid are refused before they
    /// are decoded, so nothing is allocated in proportion to them.
    pub fn parse(raw: &str, limits: &SpecLimits) -> Result<Self, HttpError> {
        let rest = raw.strip_prefix(PREFIX).ok_or(HttpError::NoRoute)?;
        let mut parts = rest.splitn(3, '/');
        let (Some(signature), Some(spec), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(HttpError::NoRoute);
        };
        if signature.is_empty() || spec.is_empty() || key.is_empty() {
            return Err(HttpError::NoRoute);
        }
        // A percent-escape is three characters for one byte.
        if spec.len() > limits.max_bytes.saturating_mul(3) {
            let limit = limits.max_bytes;
            return Err(RenditionError::SpecTooLarge(SpecError::TooLong { limit }).into());
        }
        if key.len() > MAX_KEY_BYTES.saturating_mul(3) {
            return Err(RenditionError::InvalidKey(InvalidKey("too long")).into());
        }
        if signature.len() > MAX_SIGNATURE_CHARS {
            return Err(HttpError::Signature);
        }
        let spec = decode(spec)?;
        // The signature covers `"{spec}/{key}"`: a decoded `/` in the spec
        // would let it stand for another split of the same text.
        check_spec(&spec, limits)?;
        Ok(Self {
            signature: decode(signature)?,
            spec,
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
    let path = RenditionPath::parse(request.uri().path(), &state.spec_limits)?;
    state
        .signer
        .verify(&path.signature, &path.spec, &path.key)
        .map_err(|_| HttpError::Signature)?;
    let rendition = Request::parse(&path.spec, &path.key, &state.spec_limits)?;
    let resolved = state
        .renditions
        .resolve(negotiating(rendition, &request, &state))
        .await?;
    respond(&request, &state, &resolved).await
}

/// `rendition` with the client's `Accept` headers, when the service
/// negotiates formats (the header is not read otherwise; values that are
/// not visible ASCII are left out).
pub fn negotiating(rendition: Request, request: &HttpRequest, state: &AppState) -> Request {
    if state.renditions.output().negotiation.is_empty() {
        return rendition;
    }
    let values = request.headers().get_all(header::ACCEPT);
    rendition.accepting(Accept::parse(values.filter_map(|v| v.to_str().ok())))
}

/// The answer for a resolved rendition, shared by every rendition route:
/// a redirect to the rendition store, a 304, or the bytes.
pub async fn respond(request: &HttpRequest, state: &AppState, resolved: &Resolved) -> Result<HttpResponse, HttpError> {
    match (state.action, state.public_url.as_deref()) {
        (Action::Redirect, Some(public_url)) => {
            let tier = state.renditions.publish(resolved).await?;
            Ok(responses::redirect(public_url, resolved, tier, &state.cache_control))
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
        RenditionPath::parse(raw, &SpecLimits::default())
            .ok()
            .map(|p| (p.signature, p.spec, p.key))
    }

    fn refusal(raw: &str) -> HttpError {
        match RenditionPath::parse(raw, &SpecLimits::default()) {
            Ok(p) => panic!("{raw} was accepted: {p:?}"),
            Err(e) => e,
        }
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
        assert!(matches!(refusal("/r/s/w/%ff.jpg"), HttpError::BadEncoding));
    }

    #[test]
    fn refuses_specs_that_could_resplit_or_are_too_large() {
        use RenditionError as R;
        for raw in [
            "/r/s/fill-300x200%7Cformat-webp-lossless%2Fdir/cat.jpg",
            "/r/s/width-100%2f/a.jpg",
            "/r/s/%2F/a.jpg",
        ] {
            assert!(matches!(refusal(raw), HttpError::Rendition(R::Spec { .. })), "{raw}");
        }
        let long = format!("/r/s/width-{}/a.jpg", "1".repeat(600));
        assert!(matches!(refusal(&long), HttpError::Rendition(R::SpecTooLarge(_))));
        // Refused before decoding: 50 kB of escapes.
        let escaped = format!("/r/s/{}/a.jpg", "%7Cformat-webp".repeat(4000));
        assert!(matches!(refusal(&escaped), HttpError::Rendition(R::SpecTooLarge(_))));
        let many = format!("/r/s/{}/a.jpg", ["original"; 17].join("%7C"));
        assert!(matches!(refusal(&many), HttpError::Rendition(R::SpecTooLarge(_))));
        let key = format!("/r/s/w/{}", "a".repeat(4000));
        assert!(matches!(refusal(&key), HttpError::Rendition(R::InvalidKey(_))));
        let signature = format!("/r/{}/w/a.jpg", "s".repeat(200));
        assert!(matches!(refusal(&signature), HttpError::Signature));
    }
}
