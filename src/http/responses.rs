//! Successful responses: the rendition with its headers, 304 on a matching
//! `If-None-Match`, and the redirect to the CDN.

use actix_web::http::header::{
    self, ContentDisposition, DispositionParam, DispositionType, EntityTag, HeaderValue, IfNoneMatch,
};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::cache::{CachedRendition, RenditionKey, Tier};
use crate::format::OutputFormat;
use crate::renditions::Resolved;

/// The CSP of raster images: nothing may run or load.
const CSP: &str = "default-src 'none'";
/// The CSP of SVG renditions: nothing may run or load, but the document's
/// own styles and embedded raster images apply, so it draws as intended.
const SVG_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// Characters escaped in a redirect's last segment (rendition names are
/// path-safe already; this is a second guard).
const SEGMENT: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'%').add(b'/').add(b'?');

/// Whether the client already has this rendition (`If-None-Match`).
pub fn is_not_modified(request: &HttpRequest, key: &RenditionKey) -> bool {
    let Some(condition) = request.get_header::<IfNoneMatch>() else {
        return false;
    };
    let etag = etag(key);
    match condition {
        IfNoneMatch::Any => true,
        IfNoneMatch::Items(tags) => tags.iter().any(|t| t.weak_eq(&etag)),
    }
}

/// `304 Not Modified` with the validators a cache needs.
pub fn not_modified(resolved: &Resolved, cache_control: &str) -> HttpResponse {
    HttpResponse::NotModified()
        .insert_header(header::ETag(etag(&resolved.key)))
        .insert_header((header::CACHE_CONTROL, cache_control))
        .finish()
}

/// The rendition itself (`HEAD`: the same headers, no body).
pub fn image(resolved: &Resolved, rendition: &CachedRendition, tier: Tier, cache_control: &str) -> HttpResponse {
    let mut builder = HttpResponse::Ok();
    builder
        .content_type(rendition.format.mime_type())
        .insert_header(header::ETag(etag(&resolved.key)))
        .insert_header((header::CACHE_CONTROL, cache_control))
        .insert_header(ContentDisposition {
            disposition: DispositionType::Inline,
            parameters: vec![DispositionParam::Filename(resolved.filename.clone())],
        })
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp(rendition.format)),
        ));
    // For HEAD, actix-web sends the headers of this body (its length too) and not the body.
    let mut response = builder.body(rendition.bytes.clone());
    response.extensions_mut().insert(tier);
    response
}

/// `302 Found` to the rendition under the public URL of the rendition store.
pub fn redirect(public_url: &str, key: &RenditionKey, tier: Tier, cache_control: &str) -> HttpResponse {
    let location = format!("{public_url}/{}", utf8_percent_encode(key.name(), SEGMENT));
    let mut response = HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, cache_control))
        .finish();
    response.extensions_mut().insert(tier);
    response
}

fn csp(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Svg => SVG_CSP,
        _ => CSP,
    }
}

fn etag(key: &RenditionKey) -> EntityTag {
    EntityTag::new_strong(key.etag().trim_matches('"').to_owned())
}
