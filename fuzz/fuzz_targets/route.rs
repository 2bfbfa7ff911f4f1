//! Signed URL paths: `/r/{signature}/{spec}/{key}` and Wagtail's
//! `/images/{signature}/{id}/{spec}/[{name}]` split and percent-decoded, then
//! the spec and key parsed into a request; the same text as an `Accept`
//! header. Never a panic; a key that parses stays inside the store.

#![no_main]

use libfuzzer_sys::fuzz_target;
use renditiond::http::routes::images::ServePath;
use renditiond::http::routes::rendition::RenditionPath;
use renditiond::plan::Accept;
use renditiond::renditions::Request;
use renditiond::spec::SpecLimits;

/// A fixed original for the serve view, whose path carries no key.
const WAGTAIL_FILE: &str = "original_images/photo.jpg";

fn check_request(spec: &str, key: &str) {
    let Ok(request) = Request::parse(spec, key, &SpecLimits::default()) else {
        return;
    };
    assert_eq!(request.spec_text, spec);
    let key = request.key.as_str();
    assert!(
        !key.is_empty() && !key.starts_with('/') && !key.contains('\\'),
        "{key:?}"
    );
    assert!(!key.chars().any(char::is_control), "{key:?}");
    assert!(key.split('/').all(|s| !matches!(s, "" | "." | "..")), "{key:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    // The path as it comes, and behind each prefix, so that most inputs
    // reach the segment splitting.
    for path in [raw.to_owned(), format!("/r/{raw}"), format!("/images/{raw}")] {
        if let Ok(parts) = RenditionPath::parse(&path, &SpecLimits::default()) {
            assert!(!parts.signature.is_empty() && !parts.spec.is_empty() && !parts.key.is_empty());
            check_request(&parts.spec, &parts.key);
        }
        if let Ok(parts) = ServePath::parse(&path, &SpecLimits::default()) {
            assert!(!parts.image_id.is_empty() && parts.image_id.bytes().all(|b| b.is_ascii_digit()));
            assert!(![&parts.signature, &parts.spec].iter().any(|s| s.contains('/')));
            check_request(&parts.spec, WAGTAIL_FILE);
            let _ = Request::for_wagtail_image(&parts.spec, WAGTAIL_FILE, None, "", &SpecLimits::default());
        }
    }
    let _ = Accept::parse(raw.split('\n'));
});
