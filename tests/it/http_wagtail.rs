//! The Wagtail drop-in on a real server: the `/images/` route with Wagtail's
//! signatures and a SQLite image table written here in Wagtail's schema,
//! `POST /v1/plan`, and a database that does not answer. (The end-to-end
//! test against a real Wagtail site is in `wagtail.rs`.)

use std::path::{Path, PathBuf};

use renditiond::wagtail::WagtailSigner;
use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;

use crate::server::Server;
use crate::support::{root, scratch};

const SECRET_KEY: &str = "not needed";
const TOKEN: &str = "test-api-token-0123456789";

/// Wagtail's image table, as its migrations make it (the columns renditiond reads).
const SCHEMA: &str = "CREATE TABLE wagtailimages_image (id integer PRIMARY KEY, title varchar(255) NOT NULL, \
    file varchar(100) NOT NULL, width integer NOT NULL, height integer NOT NULL, \
    focal_point_x integer NULL, focal_point_y integer NULL, focal_point_width integer NULL, \
    focal_point_height integer NULL, file_size integer NULL, file_hash varchar(40) NOT NULL)";

/// Originals under `original_images/` and a database with four images:
/// 1 a photo with a focal point, 2 a PNG, 3 a row whose file is gone, 4 a
/// JPEG stored rotated (EXIF orientation 6; Wagtail records its stored size).
fn site(name: &str) -> (PathBuf, String) {
    let dir = scratch(name);
    let originals = dir.join("media");
    std::fs::create_dir_all(originals.join("original_images")).expect("folder");
    for (from, to) in [
        ("photo-baseline.jpg", "photo.jpg"),
        ("alpha.png", "alpha.png"),
        ("orientation-6.jpg", "rotated.jpg"),
    ] {
        std::fs::copy(
            root().join("test-images").join(from),
            originals.join("original_images").join(to),
        )
        .expect("copy");
    }
    let database = dir.join("wagtail.sqlite3");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let url = format!("sqlite://{}?mode=rwc", database.display());
        let mut db = SqliteConnection::connect(&url).await.expect("sqlite");
        sqlx::query(SCHEMA).execute(&mut db).await.expect("schema");
        for row in [
            "(1, 'photo', 'original_images/photo.jpg', 640, 427, 420, 160, 80, 60, 1, 'aaaa')",
            "(2, 'alpha', 'original_images/alpha.png', 64, 64, NULL, NULL, NULL, NULL, 1, '')",
            "(3, 'gone', 'original_images/gone.jpg', 10, 10, NULL, NULL, NULL, NULL, 1, '')",
            "(4, 'rotated', 'original_images/rotated.jpg', 160, 240, NULL, NULL, NULL, NULL, 1, 'bbbb')",
        ] {
            sqlx::query(&format!("INSERT INTO wagtailimages_image VALUES {row}"))
                .execute(&mut db)
                .await
                .expect("row");
        }
    });
    (originals, format!("sqlite://{}", database.display()))
}

fn start(originals: &Path, database: &str, extra: &[(&str, &str)]) -> Server {
    let originals = originals.to_string_lossy().into_owned();
    let mut settings = vec![
        ("RENDITIOND_ORIGINALS", originals.as_str()),
        ("RENDITIOND_WAGTAIL_SECRET_KEY", SECRET_KEY),
        ("RENDITIOND_WAGTAIL_DATABASE_URL", database),
        ("RENDITIOND_API_TOKEN", TOKEN),
    ];
    settings.extend_from_slice(extra);
    Server::start(&settings)
}

/// The image version of a row whose file name, file hash and focal point
/// lines are `text`.
fn version(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))[..12].to_owned()
}

/// Wagtail's URL for image `id` and `spec`, as `generate_image_url` writes it.
fn url(id: &str, spec: &str, file: &str) -> String {
    let signature = WagtailSigner::new(vec![SECRET_KEY.as_bytes().to_vec()]).sign(id, spec);
    format!("/images/{signature}/{id}/{}/{file}", spec.replace('|', "%7C"))
}

#[test]
fn serves_wagtail_urls_with_wagtails_statuses() {
    let (originals, database) = site("wagtail-route");
    let server = start(&originals, &database, &[]);
    let reply = server.get(&url("1", "fill-100x100|format-webp", "photo.jpg"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), "image/webp");
    assert_eq!(reply.header("content-security-policy"), "default-src 'none'");
    let image = image::load_from_memory(&reply.body).expect("a WebP");
    assert_eq!((image.width(), image.height()), (100, 100));
    let etag = reply.header("etag").to_owned();
    let again = server.get_with(
        &url("1", "fill-100x100|format-webp", "photo.jpg"),
        &[("if-none-match", &etag)],
    );
    assert_eq!(again.status, 304);
    let head = server.head(&url("2", "width-32", ""));
    assert_eq!((head.status, head.header("content-type")), (200, "image/png"));
    assert!(head.body.is_empty());

    let good = url("1", "width-100", "photo.jpg");
    let tampered = good.replacen("/images/", "/images/x", 1);
    let cases = [
        (tampered, 403, "Invalid signature"),
        (url("9", "width-100", "x.jpg"), 404, "Image not found"),
        (url("3", "width-100", "gone.jpg"), 410, "Source image file not found"),
        (
            url("1", "bad-filter-spec", "photo.jpg"),
            400,
            "Invalid filter spec: bad-filter-spec",
        ),
        (url("1", "fill-0x0", "photo.jpg"), 400, "Invalid filter spec: fill-0x0"),
        (format!("{good}/extra"), 404, "Not found"),
        (url("01", "width-100", "photo.jpg"), 200, ""),
    ];
    for (path, status, body) in cases {
        let reply = server.get(&path);
        assert_eq!(reply.status, status, "{path}: {}", reply.text());
        if status != 200 {
            assert_eq!(reply.text(), body, "{path}");
        }
    }
}

#[test]
fn plans_renditions_without_pixels() {
    let (originals, database) = site("wagtail-plan");
    let server = start(&originals, &database, &[]);
    let auth = format!("Bearer {TOKEN}");
    let body = json!([
        {"image_id": 1, "spec": "fill-300x200|format-webp"},
        {"image_id": 2, "spec": "width-32"},
        {"image_id": 9, "spec": "width-32"},
        {"width": 1000, "height": 500, "format": "jpeg", "spec": "max-100x100"},
        {"width": 1000, "height": 500, "focal_point": {"x": 900, "y": 250, "width": 50, "height": 50}, "spec": "fill-100x100-c100"},
        {"width": 300, "height": 150, "format": "svg", "spec": "width-50.5"},
    ])
    .to_string();
    let reply = server.post(
        "/v1/plan",
        &body,
        &[("authorization", &auth), ("content-type", "application/json")],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let answer: Value = serde_json::from_slice(&reply.body).expect("JSON");
    // The file name segment carries the row's version: SHA-256 of file name,
    // file hash and focal point, as the adapter computes it.
    let photo = version("original_images/photo.jpg\naaaa\n420,160,80,60");
    let expected_url = url("1", "fill-300x200|format-webp", &format!("{photo}~photo.jpg"));
    let alpha = version("original_images/alpha.png\n\n");
    assert_eq!(
        answer,
        json!([
            {"width": 300, "height": 200, "format": "webp", "url": expected_url},
            {"width": 32, "height": 32, "format": "png", "url": url("2", "width-32", &format!("{alpha}~alpha.png"))},
            {"error": "Image not found"},
            {"width": 100, "height": 50, "format": "jpeg"},
            {"width": 100, "height": 100, "format": "png"},
            {"error": "Invalid filter spec: width-50.5"},
        ])
    );
    // The URL it gives is served, at the size it said.
    let served = server.get(&expected_url);
    let image = image::load_from_memory(&served.body).expect("a WebP");
    assert_eq!((image.width(), image.height()), (300, 200));

    // Sizes are the EXIF-oriented ones (the row has the stored 160x240), and
    // a row whose file is gone says so.
    let more = json!([{"image_id": 4, "spec": "width-100"}, {"image_id": 3, "spec": "width-5"}]).to_string();
    let reply = server.post("/v1/plan", &more, &[("authorization", &auth)]);
    let answer: Value = serde_json::from_slice(&reply.body).expect("JSON");
    assert_eq!(answer[0]["width"], 100);
    assert_eq!(answer[0]["height"], 66);
    assert_eq!(answer[1], json!({"error": "Source image file not found"}));
    let rotated = server.get(answer[0]["url"].as_str().expect("a URL"));
    let image = image::load_from_memory(&rotated.body).expect("a JPEG");
    assert_eq!((image.width(), image.height()), (100, 66));

    for (headers, status) in [
        (vec![], 401),
        (vec![("authorization", "Bearer wrong-token-0123456789")], 401),
    ] {
        let reply = server.post("/v1/plan", &body, &headers);
        assert_eq!(reply.status, status);
        assert_eq!(reply.header("www-authenticate"), "Bearer");
    }
    for body in ["{not json", r#"[{"spec": "width-1", "colour": "red"}]"#] {
        let bad = server.post("/v1/plan", body, &[("authorization", &auth)]);
        assert_eq!(bad.status, 400, "{}", bad.text());
        assert!(bad.text().starts_with("Invalid request"), "{}", bad.text());
    }
}

/// `POST /v1/warm` with the token: the answer, which must be a 200.
fn warm(server: &Server, body: &str) -> Value {
    let reply = server.post("/v1/warm", body, &[("authorization", &format!("Bearer {TOKEN}"))]);
    assert_eq!(reply.status, 200, "{}", reply.text());
    serde_json::from_slice(&reply.body).expect("JSON")
}

/// One rendition of a `/v1/warm` answer.
fn warmed(spec: &str, format: &str, status: &str, (width, height): (u32, u32)) -> Value {
    json!({"spec": spec, "format": format, "status": status, "width": width, "height": height})
}

#[test]
fn warms_negotiated_formats_when_asked() {
    let (originals, database) = site("wagtail-warm-formats");
    let server = start(&originals, &database, &[("RENDITIOND_FORMAT_NEGOTIATION", "avif,webp")]);
    let auth = format!("Bearer {TOKEN}");
    let body = json!([
        {"image_id": 1, "specs": ["width-100", "fill-50x50|format-webp", "bad-spec"], "formats": ["webp", "avif"]},
        {"key": "original_images/alpha.png", "specs": ["width-10"], "formats": ["webp"]},
    ]);
    let done = |spec: &str, format: &str, width: u32, height: u32| warmed(spec, format, "rendered", (width, height));
    assert_eq!(
        warm(&server, &body.to_string()),
        json!([
            {"renditions": [
                done("width-100", "jpeg", 100, 66),
                done("width-100", "avif", 100, 66),
                done("width-100", "webp", 100, 66),
                // An explicit format, and a PNG, are one rendition each.
                done("fill-50x50|format-webp", "webp", 50, 50),
                {"spec": "bad-spec", "error": "Invalid filter spec: bad-spec"},
            ]},
            {"renditions": [done("width-10", "png", 10, 10)]},
        ])
    );
    assert_eq!(server.renders(), 5.0);
    // A browser taking AVIF finds it warm.
    let chrome = server.get_with(&url("1", "width-100", ""), &[("accept", "image/avif,image/webp,*/*")]);
    assert_eq!((chrome.status, chrome.header("content-type")), (200, "image/avif"));
    assert_eq!(server.renders(), 5.0);
    // Only the service's negotiated formats.
    let jpeg = json!([{"image_id": 1, "specs": ["width-100"], "formats": ["jpeg"]}]);
    let refused = server.post("/v1/warm", &jpeg.to_string(), &[("authorization", &auth)]);
    assert_eq!((refused.status, refused.text().as_str()), (400, "Invalid request body"));
}

#[test]
fn warms_renditions_before_they_are_asked_for() {
    let (originals, database) = site("wagtail-warm");
    let server = start(&originals, &database, &[]);
    let auth = format!("Bearer {TOKEN}");
    let body = json!([
        {"image_id": 1, "specs": ["width-100", "width-200", "fill-50x50|format-webp", "bad-spec"]},
        {"key": "original_images/alpha.png", "specs": ["width-10"]},
        {"image_id": 9, "specs": ["width-1"]},
        {"image_id": 3, "specs": ["width-5"]},
        {"specs": ["width-5"]},
    ])
    .to_string();
    let warm = |expected_status: &str| -> Value {
        let answer = warm(&server, &body);
        let done =
            |spec: &str, format: &str, width: u32, height: u32| warmed(spec, format, expected_status, (width, height));
        assert_eq!(
            answer,
            json!([
                {"renditions": [
                    done("width-100", "jpeg", 100, 66),
                    done("width-200", "jpeg", 200, 133),
                    done("fill-50x50|format-webp", "webp", 50, 50),
                    {"spec": "bad-spec", "error": "Invalid filter spec: bad-spec"},
                ]},
                {"renditions": [done("width-10", "png", 10, 10)]},
                {"error": "Image not found"},
                {"renditions": [{"spec": "width-5", "error": "Source image file not found"}]},
                {"error": "An item needs image_id or key"},
            ])
        );
        answer
    };
    warm("rendered");
    assert_eq!(server.renders(), 4.0, "one per rendition made");
    warm("cached");
    // What was warmed is served from memory, not rendered again.
    let photo = version("original_images/photo.jpg\naaaa\n420,160,80,60");
    let reply = server.get(&url("1", "fill-50x50|format-webp", &format!("{photo}~photo.jpg")));
    assert_eq!(reply.status, 200);
    assert_eq!(server.renders(), 4.0);

    let too_many = json!(
        (0..101)
            .map(|_| json!({"key": "a.png", "specs": []}))
            .collect::<Vec<_>>()
    )
    .to_string();
    let too_many_specs = json!([{"key": "a.png", "specs": vec!["width-1"; 51]}]).to_string();
    for body in [too_many, too_many_specs] {
        let reply = server.post("/v1/warm", &body, &[("authorization", &auth)]);
        assert_eq!((reply.status, reply.text().as_str()), (400, "Too many items"));
    }
    assert_eq!(server.post("/v1/warm", "[]", &[]).status, 401);
}

#[test]
fn renders_with_the_sites_output_settings() {
    let (originals, database) = site("wagtail-settings");
    std::fs::copy(
        root().join("test-images/photo.webp"),
        originals.join("original_images/photo.webp"),
    )
    .expect("copy");
    let server = start(
        &originals,
        &database,
        &[
            ("RENDITIOND_WAGTAIL_VERSION", "7.0"),
            ("RENDITIOND_WAGTAIL_FORMAT_CONVERSIONS", r#"{"png": "jpeg"}"#),
            ("RENDITIOND_WAGTAIL_WEBP_QUALITY", "55"),
            ("RENDITIOND_FORMAT_NEGOTIATION", "webp"),
        ],
    );
    let auth = format!("Bearer {TOKEN}");
    let config = server.get_with("/v1/config", &[("authorization", &auth)]);
    assert_eq!(config.status, 200, "{}", config.text());
    let config: Value = serde_json::from_slice(&config.body).expect("JSON");
    assert_eq!(
        config,
        json!({
            "wagtail_version": "7.0",
            "format_conversions": {"png": "jpeg"},
            "jpeg_quality": null, "webp_quality": 55, "avif_quality": null, "heic_quality": null,
            "format_negotiation": ["webp"],
            "animation": false,
            "effective": {"jpeg_quality": 85, "webp_quality": 55, "avif_quality": 80, "heic_quality": 80},
        })
    );
    assert_eq!(server.get("/v1/config").status, 401);
    // 7.0 turns a PNG into what the site converts it to, and the plan agrees.
    let reply = server.get(&url("2", "width-32", ""));
    assert_eq!(reply.header("content-type"), "image/jpeg");
    // Negotiation is on: that JPEG is a default a browser taking WebP gets
    // as WebP, and both answers say they vary with Accept.
    let browser = server.get_with(&url("2", "width-32", ""), &[("accept", "image/webp,*/*")]);
    assert_eq!(browser.status, 200, "{}", browser.text());
    assert_eq!(browser.header("content-type"), "image/webp");
    assert_eq!((reply.header("vary"), browser.header("vary")), ("Accept", "Accept"));
    assert_ne!(reply.header("etag"), browser.header("etag"));
    let items =
        json!([{"image_id": 2, "spec": "width-32"}, {"width": 10, "height": 10, "format": "webp", "spec": "original"}]);
    let plan = server.post("/v1/plan", &items.to_string(), &[("authorization", &auth)]);
    let plan: Value = serde_json::from_slice(&plan.body).expect("JSON");
    assert_eq!(
        (&plan[0]["format"], &plan[1]["format"]),
        (&json!("jpeg"), &json!("png"))
    );
}

#[test]
fn a_newer_version_reads_the_row_again() {
    let (originals, database) = site("wagtail-version");
    // Rows are trusted for a minute: only a version can make renditiond look again.
    let server = start(&originals, &database, &[("RENDITIOND_VERSION_TTL", "60")]);
    let auth = format!("Bearer {TOKEN}");
    let plan = |version: Option<&str>| -> String {
        let item = json!({"image_id": 1, "spec": "fill-100x100", "version": version});
        let reply = server.post("/v1/plan", &json!([item]).to_string(), &[("authorization", &auth)]);
        assert_eq!(reply.status, 200, "{}", reply.text());
        serde_json::from_slice::<Value>(&reply.body).expect("JSON")[0]["url"]
            .as_str()
            .expect("a URL")
            .to_owned()
    };
    let before = version("original_images/photo.jpg\naaaa\n420,160,80,60");
    assert!(plan(None).ends_with(&format!("/{before}~photo.jpg")));
    // The site moves the focal point.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut db = SqliteConnection::connect(&database).await.expect("sqlite");
        sqlx::query("UPDATE wagtailimages_image SET focal_point_x = 100 WHERE id = 1")
            .execute(&mut db)
            .await
            .expect("update");
    });
    let after = version("original_images/photo.jpg\naaaa\n100,160,80,60");
    assert!(plan(None).ends_with(&format!("/{before}~photo.jpg")), "the cached row");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(
        plan(Some(&after)).ends_with(&format!("/{after}~photo.jpg")),
        "read again"
    );
    assert!(plan(None).ends_with(&format!("/{after}~photo.jpg")), "and cached");

    // A serve-view URL naming a newer version reads the row again too.
    let etag = |file: &str| {
        let reply = server.get(&url("1", "fill-100x100", file));
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.header("etag").to_owned()
    };
    let current = etag("photo.jpg");
    runtime.block_on(async {
        let mut db = SqliteConnection::connect(&database).await.expect("sqlite");
        sqlx::query("UPDATE wagtailimages_image SET focal_point_x = 200 WHERE id = 1")
            .execute(&mut db)
            .await
            .expect("update");
    });
    let third = version("original_images/photo.jpg\naaaa\n200,160,80,60");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(etag("photo.jpg"), current, "no version named: the cached row");
    assert_eq!(
        etag(&format!("{after}~photo.jpg")),
        current,
        "the cached row's own version"
    );
    assert_ne!(
        etag(&format!("{third}~photo.jpg")),
        current,
        "a newer version: read again"
    );
}

#[test]
fn a_database_that_does_not_answer_gives_503() {
    let (originals, _) = site("wagtail-down");
    let server = start(
        &originals,
        "postgres://nobody@127.0.0.1:9/wagtail",
        &[("RENDITIOND_STORAGE_TIMEOUT", "1")],
    );
    let reply = server.get(&url("1", "width-100", "photo.jpg"));
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(reply.header("retry-after"), "5");
    assert_eq!(reply.text(), "Database unavailable");
    // Signatures are still checked first.
    assert_eq!(server.get("/images/wrong/1/width-100/").status, 403);
    // The /r/ route does not depend on the database.
    assert_eq!(server.get("/healthz").status, 200);
}
