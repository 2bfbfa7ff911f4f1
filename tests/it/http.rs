//! The HTTP service against a local folder of originals: every status, the
//! response headers, 304, HEAD, signatures and rotation, key confinement,
//! single flight, overload, storage outage, graceful shutdown, logs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::server::{KEY, Server, path, signed};
use crate::support::{root, scratch};

/// A folder of originals: two test images, the invalid ones, a large noisy
/// JPEG whose PNG renditions take a while; and a secret file beside it.
pub fn originals(name: &str) -> PathBuf {
    let dir = scratch(name);
    let originals = dir.join("originals");
    std::fs::create_dir_all(originals.join("sub dir")).expect("originals folder");
    for file in ["photo-baseline.jpg", "alpha.png"] {
        std::fs::copy(root().join("test-images").join(file), originals.join(file)).expect("copy");
    }
    std::fs::copy(
        root().join("test-images/photo-baseline.jpg"),
        originals.join("sub dir/été #1.jpg"),
    )
    .expect("copy");
    for entry in std::fs::read_dir(root().join("test-images/invalid")).expect("invalid images") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), originals.join(entry.file_name())).expect("copy");
    }
    std::fs::copy(root().join("test-images/svg/benign.svg"), originals.join("drawing.svg")).expect("copy");
    std::fs::copy(
        root().join("test-images/svg-hostile/dtd-billion-laughs.svg"),
        originals.join("laughs.svg"),
    )
    .expect("copy");
    std::fs::copy(
        root().join("test-images/svg-hostile/onload-root.svg"),
        originals.join("onload.svg"),
    )
    .expect("copy");
    write_large_jpeg(&originals.join("large.jpg"));
    std::fs::write(dir.join("secret.png"), b"outside the originals").expect("secret");
    originals
}

/// A 3000×2000 noisy JPEG: slow enough to render to PNG to overlap requests.
fn write_large_jpeg(path: &Path) {
    let (w, h) = (3000u32, 2000u32);
    let mut state = 0x2545_f491_u32;
    let pixels: Vec<u8> = (0..w * h * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    image::RgbImage::from_raw(w, h, pixels)
        .expect("buffer size")
        .save(path)
        .expect("write large.jpg");
}

pub fn local(name: &str, extra: &[(&str, &str)]) -> (Server, PathBuf) {
    let folder = originals(name);
    let folder_text = folder.to_string_lossy().into_owned();
    let mut settings = vec![("RENDITIOND_ORIGINALS", folder_text.as_str())];
    settings.extend_from_slice(extra);
    (Server::start(&settings), folder)
}

#[test]
fn serves_a_rendition_with_its_headers() {
    let (server, _) = local("headers", &[]);
    let reply = server.get(&path("fill-300x200|format-webp", "photo-baseline.jpg"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), "image/webp");
    assert_eq!(reply.header("content-length"), reply.body.len().to_string());
    assert_eq!(reply.header("cache-control"), "public, max-age=3600");
    assert_eq!(reply.header("x-content-type-options"), "nosniff");
    assert_eq!(reply.header("content-security-policy"), "default-src 'none'");
    let etag = reply.header("etag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34,
        "{etag}"
    );
    // Wagtail's own rendition name (SPEC §4.3).
    assert_eq!(
        reply.header("content-disposition"),
        "inline; filename=\"photo-baseline.2e16d0ba.fill-300x200.format-webp.webp\""
    );
    let image = image::load_from_memory(&reply.body).expect("a decodable WebP");
    assert_eq!((image.width(), image.height()), (300, 200));

    // Same request, same bytes and ETag (from memory now).
    let again = server.get(&path("fill-300x200|format-webp", "photo-baseline.jpg"));
    assert_eq!((again.header("etag"), &again.body), (etag, &reply.body));
    assert_eq!(server.renders(), 1.0);
    assert_eq!(
        server.metric("renditiond_cache_lookups_total{tier=\"memory\",result=\"hit\"}"),
        1.0
    );

    // Keys with spaces and non-ASCII, focal points in the spec.
    let odd = server.get(&path("fill-100x100|focal-200-100-50-50", "sub dir/été #1.jpg"));
    assert_eq!(odd.status, 200, "{}", odd.text());
    assert_eq!(odd.header("content-type"), "image/jpeg");
}

#[test]
fn svg_renditions_are_sanitized_and_locked_down() {
    let (server, _) = local("svg", &[]);
    let reply = server.get(&path("fill-100x100", "drawing.svg"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), "image/svg+xml");
    assert_eq!(
        reply.header("content-security-policy"),
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    );
    assert_eq!(reply.header("x-content-type-options"), "nosniff");
    let text = reply.text();
    assert!(
        text.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg""#)
            && text.contains(r#"width="100" height="100" viewBox="75.0 0.0 150.0 150.0""#),
        "{text}"
    );
    let onload = server.get(&path("original", "onload.svg"));
    assert_eq!(onload.status, 200, "{}", onload.text());
    assert!(
        !onload.text().to_ascii_lowercase().contains("onload"),
        "{}",
        onload.text()
    );

    // Rasterizing on request, always, and the SVG size limit.
    let (raster, _) = local("svg-raster", &[("RENDITIOND_SVG_RASTERIZE", "true")]);
    let png = raster.get(&path("width-100|format-png", "drawing.svg"));
    assert_eq!(
        (png.status, png.header("content-type")),
        (200, "image/png"),
        "{}",
        png.text()
    );
    assert_eq!(png.header("content-security-policy"), "default-src 'none'");
    let image = image::load_from_memory(&png.body).expect("a PNG");
    assert_eq!((image.width(), image.height()), (100, 50));
    assert_eq!(
        raster.get(&path("width-100", "drawing.svg")).header("content-type"),
        "image/svg+xml"
    );
    let (always, _) = local("svg-always", &[("RENDITIOND_SVG_ALWAYS_RASTERIZE", "true")]);
    let png = always.get(&path("width-100", "drawing.svg"));
    assert_eq!(
        (png.status, png.header("content-type")),
        (200, "image/png"),
        "{}",
        png.text()
    );
    let (small, _) = local("svg-small", &[("RENDITIOND_SVG_MAX_BYTES", "100")]);
    let too_large = small.get(&path("width-100", "drawing.svg"));
    assert_eq!(too_large.status, 413, "{}", too_large.text());
    assert_eq!(too_large.text(), "SVG too large");
}

#[test]
fn answers_304_and_head() {
    let (server, _) = local("conditional", &[]);
    let p = path("width-200", "alpha.png");
    let full = server.get(&p);
    assert_eq!(full.status, 200);
    let etag = full.header("etag").to_owned();

    let not_modified = server.get_with(&p, &[("If-None-Match", &etag)]);
    assert_eq!((not_modified.status, not_modified.body.len()), (304, 0));
    assert_eq!(not_modified.header("etag"), etag);
    let listed = server.get_with(&p, &[("If-None-Match", &format!("\"other\", W/{etag}"))]);
    assert_eq!(listed.status, 304);
    let stale = server.get_with(&p, &[("If-None-Match", "\"0123\"")]);
    assert_eq!((stale.status, stale.body.len()), (200, full.body.len()));

    let head = server.head(&p);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    for name in [
        "content-type",
        "content-length",
        "etag",
        "cache-control",
        "content-disposition",
    ] {
        assert_eq!(head.header(name), full.header(name), "{name}");
    }
    // A HEAD of an error is the error without its body.
    assert_eq!(server.head(&path("width-200", "missing.png")).status, 404);
}

/// Chrome's `Accept` for images.
const CHROME: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";

#[test]
fn negotiates_formats_with_vary_on_every_answer() {
    let (server, _) = local("negotiation", &[("RENDITIOND_FORMAT_NEGOTIATION", "avif,webp")]);
    let p = path("fill-120x80", "photo-baseline.jpg");
    let get = |accept: &str| server.get_with(&p, &[("accept", accept)]);
    let (chrome, older, curl) = (get(CHROME), get("image/webp,*/*"), get("*/*"));
    for (reply, mime, name) in [
        (&chrome, "image/avif", "photo-baseline.2e16d0ba.fill-120x80.avif"),
        (&older, "image/webp", "photo-baseline.2e16d0ba.fill-120x80.webp"),
        (&curl, "image/jpeg", "photo-baseline.2e16d0ba.fill-120x80.jpg"),
    ] {
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!((reply.header("content-type"), reply.header("vary")), (mime, "Accept"));
        let disposition = format!("inline; filename=\"{name}\"");
        assert_eq!(reply.header("content-disposition"), disposition);
    }
    assert_eq!(&chrome.body[4..12], b"ftypavif");
    for reply in [&older, &curl] {
        let image = image::load_from_memory(&reply.body).expect("decodable");
        assert_eq!((image.width(), image.height()), (120, 80));
    }
    let etags = [chrome.header("etag"), older.header("etag"), curl.header("etag")];
    assert!(
        etags[0] != etags[1] && etags[1] != etags[2] && etags[0] != etags[2],
        "{etags:?}"
    );
    assert_eq!(server.renders(), 3.0);
    // Another header in the same bucket is the same rendition, from memory.
    let safari = get("image/webp,image/avif,image/jxl,image/heic,*/*;q=0.5");
    assert_eq!((safari.header("etag"), &safari.body), (etags[0], &chrome.body));
    assert_eq!(server.renders(), 3.0);

    // If-None-Match is matched against the format picked now.
    let has_webp = [("accept", "image/webp"), ("if-none-match", etags[1])];
    let not_modified = server.get_with(&p, &has_webp);
    assert_eq!((not_modified.status, not_modified.header("vary")), (304, "Accept"));
    let now_avif = server.get_with(&p, &[("accept", "image/avif"), ("if-none-match", etags[1])]);
    assert_eq!((now_avif.status, now_avif.header("etag")), (200, etags[0]));
    let head = server.head_with(&p, &[("accept", "image/webp")]);
    assert_eq!((head.status, head.header("content-type")), (200, "image/webp"));
    assert_eq!((head.header("vary"), head.header("etag")), ("Accept", etags[1]));

    // A hostile header: 4,000 ranges are read no further than the 64th.
    let flood = format!("{}image/avif", "text/plain;q=0.5;a=b,".repeat(4000));
    let flooded = get(&flood);
    assert_eq!((flooded.status, flooded.header("content-type")), (200, "image/jpeg"));

    // An explicit format, and a lossless default, are never negotiated.
    for (spec, key, mime) in [
        ("fill-120x80|format-jpeg", "photo-baseline.jpg", "image/jpeg"),
        ("width-50", "alpha.png", "image/png"),
    ] {
        let reply = server.get_with(&path(spec, key), &[("accept", CHROME)]);
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(
            (reply.header("content-type"), reply.header("vary")),
            (mime, ""),
            "{spec}"
        );
    }
}

/// Writes a 400×300 animation of `frames` noisy frames (the first larger
/// than the 64 KiB head read to inspect an original), as GIF and as WebP.
fn write_animations(folder: &Path, name: &str, frames: u32) {
    use renditiond::pipeline::codec::{gif, webp};
    use renditiond::pipeline::{Bitmap, Layout, Plays};
    use renditiond::plan::Compression;
    let mut state = 0x9e37_79b9_u32;
    let mut noise = |shift: u8| -> Bitmap {
        let px = (0..400 * 300 * 4)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                if i % 4 == 3 { 255 } else { (state >> 24) as u8 ^ shift }
            })
            .collect();
        Bitmap::new(400, 300, Layout::Rgba, px).expect("frame")
    };
    let mut as_gif = gif::Writer::new(400, 300, Plays::Forever).expect("gif");
    let mut as_webp = webp::AnimationWriter::new(400, 300, Compression::Lossy(80), Plays::Forever).expect("webp");
    for i in 0..frames {
        let frame = noise(i as u8 * 40);
        as_webp.add(&frame, 100).expect("webp frame");
        as_gif.add(frame, 100).expect("gif frame");
    }
    std::fs::write(folder.join(format!("{name}.gif")), as_gif.finish().expect("gif")).expect("write");
    std::fs::write(folder.join(format!("{name}.webp")), as_webp.finish().expect("webp")).expect("write");
}

/// Frames of a GIF or WebP rendition.
fn frame_count(bytes: &[u8]) -> u32 {
    use renditiond::pipeline::codec::{gif, webp};
    if bytes.starts_with(b"GIF") {
        gif::scan(bytes, 1000).frames
    } else {
        webp::frames(bytes, 1 << 24).map_or(1, |f| f.info().frames)
    }
}

#[test]
fn animations_are_kept_when_asked_and_within_budget() {
    let settings = [
        ("RENDITIOND_ANIMATION", "true"),
        ("RENDITIOND_ANIMATION_MAX_FRAMES", "4"),
        ("RENDITIOND_FORMAT_NEGOTIATION", "avif,webp"),
    ];
    let (server, folder) = local("animation", &settings);
    write_animations(&folder, "moving", 3);
    write_animations(&folder, "long", 5);
    for (key, mime, name) in [
        ("moving.gif", "image/gif", "moving.width-100.gif"),
        ("moving.webp", "image/webp", "moving.width-100.webp"),
    ] {
        // Kept animated, so never negotiated to a format without animation.
        let reply = server.get_with(&path("width-100", key), &[("accept", CHROME)]);
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!((reply.header("content-type"), reply.header("vary")), (mime, ""));
        let disposition = format!("inline; filename=\"{name}\"");
        assert_eq!(reply.header("content-disposition"), disposition);
        assert_eq!(frame_count(&reply.body), 3, "{key}");
        let image = image::load_from_memory(&reply.body).expect("decodable");
        assert_eq!((image.width(), image.height()), (100, 75));
    }
    let converted = server.get(&path("width-100|format-webp", "moving.gif"));
    assert_eq!(
        (converted.header("content-type"), frame_count(&converted.body)),
        ("image/webp", 3)
    );
    // A still output format takes the first frame.
    let png = server.get(&path("width-100|format-png", "moving.gif"));
    assert_eq!(png.header("content-type"), "image/png");
    // Over the frame budget: the first frame, in the same format.
    for (key, mime) in [("long.gif", "image/gif"), ("long.webp", "image/webp")] {
        let reply = server.get(&path("width-100", key));
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(
            (reply.header("content-type"), frame_count(&reply.body)),
            (mime, 1),
            "{key}"
        );
    }

    // Without the setting, as in Wagtail: a GIF's first frame, as PNG.
    let (off, folder) = local("no-animation", &[]);
    write_animations(&folder, "moving", 3);
    let still = off.get(&path("width-100", "moving.gif"));
    assert_eq!(still.header("content-type"), "image/png");
    let webp = off.get(&path("width-100", "moving.webp"));
    assert_eq!(
        (webp.header("content-type"), frame_count(&webp.body)),
        ("image/webp", 1)
    );
}

#[test]
fn without_negotiation_accept_changes_nothing() {
    let (server, _) = local("no-negotiation", &[]);
    let reply = server.get_with(&path("fill-120x80", "photo-baseline.jpg"), &[("accept", CHROME)]);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!((reply.header("content-type"), reply.header("vary")), ("image/jpeg", ""));
}

#[test]
fn negotiated_redirects_vary_and_point_to_each_format() {
    let dir = scratch("negotiated-redirects");
    let store = dir.join("renditions");
    std::fs::create_dir_all(&store).expect("rendition store");
    let store_text = store.to_string_lossy().into_owned();
    let (server, _) = local(
        "negotiated-redirects-originals",
        &[
            ("RENDITIOND_FORMAT_NEGOTIATION", "webp"),
            ("RENDITIOND_RENDITIONS", &store_text),
            ("RENDITIOND_ACTION", "redirect"),
            ("RENDITIOND_PUBLIC_URL", "https://cdn.example/r"),
        ],
    );
    let p = path("width-100", "photo-baseline.jpg");
    let locations: Vec<String> = ["image/webp", "image/jpeg"]
        .into_iter()
        .map(|accept| {
            let reply = server.get_with(&p, &[("accept", accept)]);
            assert_eq!(
                (reply.status, reply.header("vary")),
                (302, "Accept"),
                "{}",
                reply.text()
            );
            reply.header("location").to_owned()
        })
        .collect();
    assert!(
        locations[0].ends_with(".webp") && locations[1].ends_with(".jpg"),
        "{locations:?}"
    );
    for location in &locations {
        let name = location.rsplit('/').next().expect("a name");
        assert!(store.join(name).is_file(), "{name} is not in the store");
    }
}

#[test]
fn every_error_status() {
    let (server, _) = local("statuses", &[("RENDITIOND_MAX_SOURCE_BYTES", "1000000")]);
    let cases: Vec<(String, u16, &str)> = vec![
        (
            path("bad-spec", "photo-baseline.jpg"),
            400,
            "Invalid filter spec: bad-spec",
        ),
        (
            path("fill-0x10", "photo-baseline.jpg"),
            400,
            "Invalid filter spec: fill-0x10",
        ),
        (
            path("width-100|bgcolor-zzz", "photo-baseline.jpg"),
            400,
            "Invalid filter spec: width-100|bgcolor-zzz",
        ),
        (
            path("fill-10x10|focal-1-2-3", "photo-baseline.jpg"),
            400,
            "Invalid filter spec: fill-10x10|focal-1-2-3",
        ),
        (path("width-100", "missing.jpg"), 404, "Image not found"),
        (path("width-100", "sub dir/missing.jpg"), 404, "Image not found"),
        (path("width-100", "large.jpg"), 413, "Image file too large"),
        (path("width-100", "bomb-60000x60000.png"), 413, "pixels"),
        (path("width-100", "unsupported.tif"), 415, "not supported"),
        (
            path("width-100|format-png", "drawing.svg"),
            400,
            "Invalid filter spec: width-100|format-png",
        ),
        (
            path("width-100|bgcolor-fff", "drawing.svg"),
            400,
            "Invalid filter spec: width-100|bgcolor-fff",
        ),
        (path("width-100", "laughs.svg"), 422, "SVG refused for safety"),
        (path("width-100", "not-an-image.txt"), 415, "Not an image"),
        (path("width-100", "empty.png"), 415, "Not an image"),
        (path("width-100", "truncated.jpg"), 422, "cannot be decoded"),
        (path("width-100", "garbage.jpg"), 422, "cannot be decoded"),
        ("/r/wrong/width-100/photo-baseline.jpg".into(), 403, "Invalid signature"),
        (
            "/r/unsigned/width-100/photo-baseline.jpg".into(),
            403,
            "Invalid signature",
        ),
        (
            signed("another-key-0123456789", "width-100", "alpha.png"),
            403,
            "Invalid signature",
        ),
        ("/r/onlyasignature".into(), 404, "Not found"),
        ("/images/abc/1/width-100/".into(), 404, "Not found"),
    ];
    let mut failures = Vec::new();
    for (p, status, body) in &cases {
        let reply = server.get(p);
        if reply.status != *status || !reply.text().contains(body) {
            failures.push(format!("{p}: {} {:?}", reply.status, reply.text()));
        }
        if reply.header("content-type") != "text/plain; charset=utf-8" || reply.text().len() > 200 {
            failures.push(format!("{p}: not a short plain-text body"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // Methods other than GET and HEAD.
    let post = ureq::post(format!("{}{}", server.base, path("width-100", "alpha.png")))
        .config()
        .http_status_as_error(false)
        .build()
        .send_empty()
        .expect("POST answered");
    assert_eq!(post.status().as_u16(), 405);
}

#[test]
fn unsigned_urls_only_when_allowed() {
    let (server, _) = local("unsigned", &[("RENDITIOND_ALLOW_UNSIGNED", "true")]);
    assert_eq!(server.get("/r/unsigned/width-100/alpha.png").status, 200);
    assert_eq!(server.get("/r/forged/width-100/alpha.png").status, 403);
    let warned = server.log_line(|l| {
        l["level"] == "WARN"
            && l["message"]
                .as_str()
                .unwrap_or("")
                .contains("RENDITIOND_ALLOW_UNSIGNED")
    });
    assert!(warned.is_some(), "no warning logged");
}

#[test]
fn signing_keys_rotate() {
    let old = "old-signing-key-0123456789";
    let new = "new-signing-key-0123456789";
    let rotated = format!("{new},{old}");
    let (server, _) = local("rotation", &[("RENDITIOND_SIGNING_KEYS", rotated.as_str())]);
    assert_eq!(server.get(&signed(old, "width-50", "alpha.png")).status, 200);
    assert_eq!(server.get(&signed(new, "width-50", "alpha.png")).status, 200);
    assert_eq!(
        server.get(&signed(&rotated, "width-50", "alpha.png")).status,
        200,
        "sign uses the first key"
    );
    assert_eq!(server.get(&signed(KEY, "width-50", "alpha.png")).status, 403);
    // A signature is for one spec and one key.
    let p = signed(new, "width-50", "alpha.png");
    assert_eq!(server.get(&p.replace("width-50", "width-51")).status, 403);
    assert_eq!(server.get(&p.replace("alpha.png", "photo-baseline.jpg")).status, 403);
}

#[test]
fn keys_are_confined_to_the_originals() {
    let (server, folder) = local("confinement", &[]);
    assert!(folder.parent().expect("parent").join("secret.png").is_file());
    let absolute = folder
        .parent()
        .expect("parent")
        .join("secret.png")
        .to_string_lossy()
        .into_owned();
    for key in [
        "../secret.png",
        "sub dir/../../secret.png",
        "./../secret.png",
        absolute.as_str(),
        "..\\secret.png",
        "sub dir\\..\\..\\secret.png",
        "alpha.png\0",
        "%2e%2e/secret.png",
        "%252e%252e/secret.png",
        "sub dir//../secret.png",
    ] {
        let reply = server.get(&path("width-10", key));
        assert!(matches!(reply.status, 400 | 404), "{key:?} → {}", reply.status);
    }
    // Hand-encoded forms of the same tricks, signed over their decoded text.
    for raw in [
        "%2e%2e%2fsecret.png",
        "%2E%2E/secret.png",
        "sub%20dir%2f..%2f..%2fsecret.png",
        "%2fetc%2fpasswd",
    ] {
        let decoded = percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned();
        let sig = renditiond::signature::Signer::new(vec![KEY.as_bytes().to_vec()], false).sign("width-10", &decoded);
        let reply = server.get(&format!("/r/{sig}/width-10/{raw}"));
        assert_eq!(reply.status, 400, "{raw} → {}", reply.status);
    }
}

#[test]
fn concurrent_cold_requests_render_once() {
    let (server, _) = local("single-flight", &[("RENDITIOND_WORKERS", "2")]);
    let server = Arc::new(server);
    let p = path("scale-90|format-png", "large.jpg");
    let n = 8;
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (server, barrier, p) = (server.clone(), barrier.clone(), p.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let sent = Instant::now();
                let reply = server.get(&p);
                let answered = Instant::now();
                (
                    (reply.status, reply.header("etag").to_owned(), reply.body.len()),
                    sent,
                    answered,
                )
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().expect("no panic")).collect();
    let replies: Vec<_> = results.iter().map(|r| &r.0).collect();
    assert!(replies.iter().all(|r| r.0 == 200 && *r == replies[0]), "{replies:?}");
    // Every request was sent before the first answer came: they overlapped.
    let last_sent = results.iter().map(|r| r.1).max().expect("results");
    let first_answer = results.iter().map(|r| r.2).min().expect("results");
    assert!(last_sent < first_answer, "the requests did not overlap");
    assert_eq!(
        server.renders(),
        1.0,
        "{} renders for {n} identical requests",
        server.renders()
    );
    assert_eq!(
        server.metric("renditiond_cache_lookups_total{tier=\"memory\""),
        n as f64
    );
}

#[test]
fn a_full_queue_answers_503_with_retry_after() {
    let (server, _) = local(
        "overload",
        &[("RENDITIOND_WORKERS", "1"), ("RENDITIOND_QUEUE_LENGTH", "0")],
    );
    let server = Arc::new(server);
    let n = 6;
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let (server, barrier) = (server.clone(), barrier.clone());
            std::thread::spawn(move || {
                let p = path(&format!("scale-{}|format-png", 90 - i), "large.jpg");
                barrier.wait();
                let reply = server.get(&p);
                (reply.status, reply.header("retry-after").to_owned())
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().expect("no panic")).collect();
    assert!(results.iter().any(|r| r.0 == 200), "{results:?}");
    assert!(results.iter().any(|r| r == &(503, "5".to_owned())), "{results:?}");
    assert!(results.iter().all(|r| matches!(r.0, 200 | 503)), "{results:?}");
    assert_eq!(server.metric("renditiond_renders_in_flight"), 0.0);
    assert_eq!(server.metric("renditiond_render_queue_length"), 0.0);
}

#[test]
fn unreachable_storage_answers_503() {
    let server = Server::start(&[
        ("RENDITIOND_ORIGINALS", "s3://nowhere/originals"),
        ("RENDITIOND_STORAGE_TIMEOUT", "2"),
        ("AWS_ENDPOINT", "http://127.0.0.1:9"),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "x"),
        ("AWS_SECRET_ACCESS_KEY", "y"),
        ("AWS_REGION", "us-east-1"),
    ]);
    let reply = server.get(&path("width-100", "photo.jpg"));
    assert_eq!(
        (reply.status, reply.header("retry-after")),
        (503, "5"),
        "{}",
        reply.text()
    );
    assert_eq!(reply.text(), "Storage unavailable");
    assert_eq!(server.get("/readyz").status, 503);
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn health_metrics_and_request_logs() {
    let (server, _) = local("observability", &[]);
    // Without RENDITIOND_METRICS_LISTEN, /metrics is on the main listener.
    assert_eq!(server.metrics_base(), None);
    assert_eq!(server.get("/healthz").text(), "ok");
    assert_eq!(server.get("/readyz").status, 200);
    server.get(&path("width-64", "alpha.png"));
    server.get(&path("width-64", "missing.png"));
    let metrics = server.get("/metrics");
    assert!(
        metrics
            .header("content-type")
            .starts_with("application/openmetrics-text")
    );
    let text = metrics.text();
    for needle in [
        "renditiond_http_requests_total{route=\"rendition\",status=\"200\"} 1",
        "renditiond_http_requests_total{route=\"rendition\",status=\"404\"} 1",
        "renditiond_http_requests_total{route=\"healthz\",status=\"200\"} 1",
        "renditiond_render_duration_seconds_count{format=\"png\"} 1",
        "renditiond_render_duration_seconds_bucket{le=\"0.005\",format=\"png\"}",
        "renditiond_cache_lookups_total{tier=\"memory\",result=\"miss\"} 1",
        "renditiond_renders_in_flight 0",
        "renditiond_render_queue_length 0",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    assert!(server.metric("renditiond_served_bytes_total") > 100.0);
    // Log lines arrive through a pipe: wait until both requests are there.
    let mut logs = server.logs();
    for _ in 0..100 {
        if logs
            .iter()
            .filter(|l| l["message"] == "request" && l["route"] == "rendition")
            .count()
            >= 2
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        logs = server.logs();
    }
    let requests: Vec<_> = logs.iter().filter(|l| l["message"] == "request").collect();
    let ok = requests
        .iter()
        .find(|l| l["status"] == 200 && l["route"] == "rendition")
        .expect("a 200 logged");
    assert_eq!(ok["method"], "GET");
    assert_eq!(ok["cache"], "render");
    assert!(
        ok["bytes"].as_u64().unwrap_or(0) > 0 && ok["duration_ms"].is_number(),
        "{ok}"
    );
    let missing = requests.iter().find(|l| l["status"] == 404).expect("a 404 logged");
    assert_eq!(missing["error"], "not_found");
}

#[test]
fn metrics_on_a_listener_of_their_own() {
    let (mut server, _) = local(
        "metrics-listener",
        &[
            ("RENDITIOND_METRICS_LISTEN", "127.0.0.1:0"),
            ("RENDITIOND_SHUTDOWN_DELAY", "0.5"),
        ],
    );
    let metrics = server.metrics_base().expect("the metrics listener is logged");
    assert_ne!(metrics, server.base);
    assert_eq!(server.get(&path("width-64", "alpha.png")).status, 200);
    // The main listener answers /metrics like any unknown path.
    let hidden = server.get("/metrics");
    assert_eq!((hidden.status, hidden.text().as_str()), (404, "Not found"));
    assert_eq!(server.get("/healthz").status, 200);
    // The metrics listener serves the same metrics, and nothing else.
    let reply = server.get_url(&format!("{metrics}/metrics"));
    assert_eq!(reply.status, 200);
    assert!(reply.header("content-type").starts_with("application/openmetrics-text"));
    let text = reply.text();
    for needle in [
        "renditiond_http_requests_total{route=\"rendition\",status=\"200\"} 1",
        "renditiond_http_requests_total{route=\"unmatched\",status=\"404\"} 1",
        "renditiond_render_duration_seconds_count{format=\"png\"} 1",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    for other in ["/healthz", "/readyz", "/", &path("width-64", "alpha.png")] {
        assert_eq!(server.get_url(&format!("{metrics}{other}")).status, 404, "{other}");
    }
    assert_eq!(
        server.get_url(&format!("{metrics}/metrics")).status,
        200,
        "the second scrape"
    );
    // SIGTERM stops both listeners.
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGTERM) }, 0);
    let status = server.wait(Duration::from_secs(10)).expect("the server exits");
    assert!(status.success(), "{status:?}");
    let address = metrics.trim_start_matches("http://");
    assert!(
        std::net::TcpStream::connect(address).is_err(),
        "the metrics listener is still open"
    );
}

#[test]
fn sigterm_drains_in_flight_requests() {
    let (server, _) = local("shutdown", &[("RENDITIOND_SHUTDOWN_DELAY", "1")]);
    let server = Arc::new(server);
    let slow = {
        let server = server.clone();
        std::thread::spawn(move || server.get(&path("format-png", "large.jpg")).status)
    };
    // A render is in flight when the signal comes.
    let started = Instant::now();
    while server.metric("renditiond_renders_in_flight") != 1.0 {
        assert!(started.elapsed() < Duration::from_secs(10), "no render in flight");
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGTERM) }, 0);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.get("/readyz").status, 503, "still ready after SIGTERM");
    assert_eq!(slow.join().expect("no panic"), 200, "the in-flight request was cut");
    let mut server = Arc::try_unwrap(server).unwrap_or_else(|_| panic!("the server is still shared"));
    let status = server.wait(Duration::from_secs(20)).expect("the server exits");
    assert!(status.success(), "{status:?}");
}

#[test]
fn bad_configuration_stops_the_start_naming_the_variable() {
    let occupied = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to occupy");
    let busy = occupied.local_addr().expect("its address").to_string();
    for (var, value) in [
        ("RENDITIOND_METRICS_LISTEN", "nowhere"),
        ("RENDITIOND_METRICS_LISTEN", busy.as_str()),
        ("RENDITIOND_WORKERS", "0"),
        // Once a panic (exit 101 with a backtrace) in the worker pool.
        ("RENDITIOND_WORKERS", "18446744073709551615"),
        ("RENDITIOND_QUEUE_LENGTH", "18446744073709551615"),
        ("RENDITIOND_SVG_MAX_DEPTH", "100000000"),
        ("RENDITIOND_SPEC_MAX_BYTES", "1000000"),
        ("RENDITIOND_RENDER_TIMEOUT", "0"),
        ("RENDITIOND_LISTEN", "here"),
        ("RENDITIOND_ORIGINALS", "/does/not/exist"),
        ("RENDITIOND_ACTION", "redirect"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_renditiond"))
            .arg("serve")
            .env(var, value)
            .env(
                "RENDITIOND_LISTEN",
                if var == "RENDITIOND_LISTEN" {
                    value
                } else {
                    "127.0.0.1:0"
                },
            )
            .output()
            .expect("renditiond runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{var}={value}: {stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(last.starts_with("renditiond: RENDITIOND_"), "{var}={value}: {stderr}");
        let expected = if var == "RENDITIOND_ACTION" {
            "RENDITIOND_RENDITIONS"
        } else {
            var
        };
        assert!(last.contains(expected), "{var}={value}: {stderr}");
    }
}

#[test]
fn the_default_start_prints_a_working_example_url() {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_renditiond"));
    command
        .arg("serve")
        .current_dir(root())
        .env("RENDITIOND_LISTEN", "127.0.0.1:0");
    command
        .env_remove("RENDITIOND_SIGNING_KEYS")
        .env_remove("RENDITIOND_ORIGINALS");
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("a line");
    let url = line
        .trim()
        .strip_prefix("Example rendition: ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    let reply = ureq::get(&url).call();
    let _ = child.kill();
    let _ = child.wait();
    let mut reply = reply.expect("the example URL answers");
    assert_eq!(reply.status().as_u16(), 200);
    let body = reply.body_mut().read_to_vec().expect("body");
    let image = image::load_from_memory(&body).expect("an image");
    assert_eq!((image.width(), image.height()), (300, 200));
}

#[test]
fn the_readme_python_snippet_signs_working_urls() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let section = readme
        .split("### URLs and signatures")
        .nth(1)
        .expect("the signatures section");
    let snippet = section
        .split("```python\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a python block");
    let (server, _) = local("python-signing", &[]);
    for (spec, key) in [
        ("fill-80x60-c50|format-webp", "photo-baseline.jpg"),
        ("width-40|focal-1-2-3-4", "sub dir/été #1.jpg"),
    ] {
        let output = std::process::Command::new("python3")
            .args(["-c", snippet, KEY, spec, key])
            .output()
            .expect("python3 runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let p = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let reply = server.get(&p);
        assert_eq!(reply.status, 200, "{p}: {}", reply.text());
    }
}

#[test]
fn sign_prints_the_path_the_server_verifies() {
    let (server, _) = local("sign-command", &[]);
    let p = signed(KEY, "fill-50x50|format-png", "sub dir/été #1.jpg");
    assert!(
        p.starts_with("/r/") && p.ends_with("/fill-50x50%7Cformat-png/sub%20dir/%C3%A9t%C3%A9%20%231.jpg"),
        "{p}"
    );
    assert_eq!(server.get(&p).status, 200);
    // sign refuses what the server would refuse.
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_renditiond"))
        .args(["sign", "../x.jpg", "width-10"])
        .env("RENDITIOND_SIGNING_KEYS", KEY)
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    // The server's key rule, and its spec bounds.
    for (keys, spec) in [("short", "width-10"), (KEY, "width-10|format-webp-x/y")] {
        let refused = std::process::Command::new(env!("CARGO_BIN_EXE_renditiond"))
            .args(["sign", "alpha.png", spec])
            .env("RENDITIOND_SIGNING_KEYS", keys)
            .output()
            .expect("runs");
        assert_eq!(refused.status.code(), Some(2), "{keys} {spec}");
    }
    let bounded = std::process::Command::new(env!("CARGO_BIN_EXE_renditiond"))
        .args(["sign", "alpha.png", "width-10|format-png"])
        .env("RENDITIOND_SIGNING_KEYS", KEY)
        .env("RENDITIOND_SPEC_MAX_OPERATIONS", "1")
        .output()
        .expect("runs");
    assert_eq!(bounded.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bounded.stderr);
    assert!(stderr.contains("operations"), "{stderr}");
}
