//! Successful responses: the rendition with its headers, 304 on a matching
//! `If-None-Match`, and the redirect to the CDN.

use actix_web::http::header::{self, EntityTag, HeaderValue, IfNoneMatch};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder};
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
    let mut builder = HttpResponse::NotModified();
    builder
        .insert_header(header::ETag(etag(&resolved.key)))
        .insert_header((header::CACHE_CONTROL, cache_control));
    vary(&mut builder, resolved);
    builder.finish()
}

/// The rendition itself (`HEAD`: the same headers, no body).
pub fn image(resolved: &Resolved, rendition: &CachedRendition, tier: Tier, cache_control: &str) -> HttpResponse {
    let mut builder = HttpResponse::Ok();
    builder
        .content_type(rendition.format.mime_type())
        .insert_header(header::ETag(etag(&resolved.key)))
        .insert_header((header::CACHE_CONTROL, cache_control));
    vary(&mut builder, resolved);
    if let Some(disposition) = inline_disposition(&resolved.filename) {
        builder.insert_header((header::CONTENT_DISPOSITION, disposition));
    }
    builder
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
pub fn redirect(public_url: &str, resolved: &Resolved, tier: Tier, cache_control: &str) -> HttpResponse {
    let location = format!("{public_url}/{}", utf8_percent_encode(resolved.key.name(), SEGMENT));
    let mut builder = HttpResponse::Found();
    builder
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, cache_control));
    vary(&mut builder, resolved);
    let mut response = builder.finish();
    response.extensions_mut().insert(tier);
    response
}

/// `Vary: Accept` on every answer for a negotiated rendition, so that a
/// cache keeps one answer per format.
fn vary(builder: &mut HttpResponseBuilder, resolved: &Resolved) {
    if resolved.varies {
        builder.insert_header((header::VARY, HeaderValue::from_static("Accept")));
    }
}

/// `inline; filename="…"`, with `"`, `\\` and control characters escaped
/// as in a quoted string; `None` when no header value can hold the name.
/// Written here: actix-web's `ContentDisposition` escapes with a regular
/// expression run on every response.
fn inline_disposition(filename: &str) -> Option<HeaderValue> {
    let mut value = String::with_capacity(filename.len() + 20);
    value.push_str("inline; filename=\"");
    for c in filename.chars() {
        if matches!(c, '"' | '\\') || c.is_ascii_control() {
            value.push('\\');
        }
        value.push(c);
    }
    value.push('"');
    HeaderValue::from_str(&value).ok()
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

#[cfg(test)]
mod tests {
    use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType, TryIntoHeaderValue};

    use super::*;

    #[test]
    fn the_disposition_is_actix_webs_own() {
        for name in ["a.fill-300x200.jpg", "été x.webp", "a\"b\\c.png", ""] {
            let theirs = ContentDisposition {
                disposition: DispositionType::Inline,
                parameters: vec![DispositionParam::Filename(name.to_owned())],
            }
            .try_into_value()
            .expect("a header value");
            assert_eq!(inline_disposition(name), Some(theirs), "{name}");
        }
        assert_eq!(inline_disposition("a\nb"), None);
    }
}
