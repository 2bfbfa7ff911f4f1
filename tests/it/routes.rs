//! The route-level security cases, in process: the app is built as the
//! server builds it (`renditiond::http::configure` over an `AppState` from a
//! `Config`) on a temporary folder of originals, and called without a
//! socket. Signatures cover one split of spec and key only; encoded
//! separators, empty keys, doubled slashes, case and Unicode normalisation
//! reach no other object; specs are bounded; format options keep to their
//! alphabet; actix-web's own answers (405, 413) and malformed SVGs have
//! fixed bodies.

use std::path::{Path, PathBuf};

use actix_web::http::header::{self, HeaderMap};
use actix_web::test::{self, TestRequest};
use actix_web::{App, web};
use clap::Parser;
use renditiond::config::{Config, ServeArgs};
use renditiond::signature::Signer;
use renditiond::state::AppState;

use crate::support::{root, scratch};

/// The signing key of these apps.
const KEY: &str = "routes-signing-key-0123456789";
/// The API token of these apps.
const TOKEN: &str = "routes-api-token-0123456789";

/// Malformed SVGs, each one the parser refuses with its own message.
const MALFORMED_SVGS: [(&str, &str); 4] = [
    (
        "duplicated.svg",
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" width="20"/>"#,
    ),
    (
        "mismatched.svg",
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10"><g></svg>"#,
    ),
    (
        "unclosed.svg",
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10"><g>"#,
    ),
    (
        "attribute.svg",
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height=></svg>"#,
    ),
];

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ServeArgs,
}

/// A response, read.
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Calls the app with a request and reads the whole answer.
macro_rules! send {
    ($app:expr, $request:expr) => {{
        let response = test::call_service(&$app, $request.to_request()).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = test::read_body(response).await.to_vec();
        Reply { status, headers, body }
    }};
}

/// The app over `state`, as the server builds it.
macro_rules! app {
    ($state:expr) => {
        test::init_service(
            App::new()
                .app_data($state.clone())
                .wrap(actix_web::middleware::from_fn(renditiond::http::middleware::observe))
                .configure(renditiond::http::configure),
        )
        .await
    };
}

/// A folder of originals: `cat.jpg` (a photo), `dir/cat.jpg` (another
/// image), `été.jpg` (its name in NFC), and the malformed SVGs.
fn originals(name: &str) -> PathBuf {
    let folder = scratch(name).join("originals");
    std::fs::create_dir_all(folder.join("dir")).expect("originals folder");
    let images = root().join("test-images");
    for (from, to) in [
        ("photo-baseline.jpg", "cat.jpg"),
        ("alpha.png", "dir/cat.jpg"),
        ("photo-baseline.jpg", "\u{e9}t\u{e9}.jpg"),
    ] {
        std::fs::copy(images.join(from), folder.join(to)).expect("copy");
    }
    for (file, text) in MALFORMED_SVGS {
        std::fs::write(folder.join(file), text).expect("svg");
    }
    folder
}

/// The state of a server on `folder` with these extra flags.
fn app_state(folder: &Path, extra: &[&str]) -> web::Data<AppState> {
    let folder = folder.to_string_lossy().into_owned();
    let mut flags = vec![
        "serve",
        "--originals",
        folder.as_str(),
        "--signing-keys",
        KEY,
        "--api-token",
        TOKEN,
    ];
    flags.extend_from_slice(extra);
    let cli = Cli::try_parse_from(flags).unwrap_or_else(|e| panic!("flags: {e}"));
    let config = Config::from_args(&cli.args, 2).unwrap_or_else(|e| panic!("config: {e}"));
    let keys = config.signing_keys.clone();
    web::Data::new(AppState::build(&config, keys).unwrap_or_else(|(var, e)| panic!("{var}: {e}")))
}

fn signer() -> Signer {
    Signer::new(vec![KEY.as_bytes().to_vec()], false)
}

/// The signed path of `spec` and `key`.
fn path(spec: &str, key: &str) -> String {
    signer().signed_path(spec, key)
}

/// The signature of `spec` and `key`.
fn sig(spec: &str, key: &str) -> String {
    signer().sign(spec, key)
}

fn get(uri: &str) -> TestRequest {
    TestRequest::get().uri(uri)
}

#[actix_web::test]
async fn a_signature_covers_one_split_of_spec_and_key() {
    let state = app_state(&originals("routes-resplit"), &[]);
    let app = app!(state);
    let (spec, key) = ("fill-300x200|format-webp-lossless", "dir/cat.jpg");
    let signed = send!(app, get(&path(spec, key)));
    assert_eq!(signed.status, 200, "{}", signed.text());
    // The same MAC input, split after `dir` instead: another object.
    let signature = sig(spec, key);
    for resplit in [
        format!("/r/{signature}/fill-300x200%7Cformat-webp-lossless%2Fdir/cat.jpg"),
        format!("/r/{signature}/fill-300x200%7Cformat-webp-lossless%2fdir/cat.jpg"),
    ] {
        let reply = send!(app, get(&resplit));
        assert_eq!(reply.status, 400, "{resplit}: {}", reply.text());
        assert_eq!(
            reply.text(),
            "Invalid filter spec: fill-300x200|format-webp-lossless/dir"
        );
        assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
    }
    // Signed by the library over a spec with `/`: still refused.
    let slashed = send!(
        app,
        get(&format!("/r/{}/width-10%2Fdir/cat.jpg", sig("width-10/dir", "cat.jpg")))
    );
    assert_eq!(slashed.status, 400, "{}", slashed.text());
    // Refused before the signature is looked at (nothing is leaked: the
    // answer depends on the URL's text alone).
    let forged = send!(app, get("/r/forged/width-10%2Fdir/cat.jpg"));
    assert_eq!(forged.status, 400, "{}", forged.text());
}

#[actix_web::test]
async fn encoded_separators_empty_keys_and_doubled_slashes_reach_nothing_else() {
    let state = app_state(&originals("routes-separators"), &[]);
    let app = app!(state);
    let plain = send!(app, get(&path("width-10", "dir/cat.jpg")));
    assert_eq!(plain.status, 200, "{}", plain.text());
    // `%2F` in the key decodes to the `/` a key may hold: the same object.
    let encoded = send!(
        app,
        get(&format!("/r/{}/width-10/dir%2Fcat.jpg", sig("width-10", "dir/cat.jpg")))
    );
    assert_eq!(encoded.status, 200, "{}", encoded.text());
    assert_eq!(encoded.header(header::ETAG), plain.header(header::ETAG));
    let cases: Vec<(String, u16)> = vec![
        // `%5C` in either segment.
        (
            format!("/r/{}/width-10/dir%5Ccat.jpg", sig("width-10", "dir\\cat.jpg")),
            400,
        ),
        (
            format!("/r/{}/width-10/dir%5Ccat.jpg", sig("width-10", "dir/cat.jpg")),
            403,
        ),
        (format!("/r/{}/width-10%5C/cat.jpg", sig("width-10\\", "cat.jpg")), 400),
        (
            format!("/r/{}/format-webp-a%5Cb/cat.jpg", sig("format-webp-a\\b", "cat.jpg")),
            400,
        ),
        // `%2F` in the spec, whoever signed it.
        (format!("/r/{}/width-10%2F/cat.jpg", sig("width-10/", "cat.jpg")), 400),
        // An empty key, also as the spec's signature moved over.
        (format!("/r/{}/width-10/", sig("width-10", "")), 404),
        (format!("/r/{}/width-10", sig("width-10", "")), 404),
        (format!("/r/{}/width-10%2Fcat.jpg/", sig("width-10", "cat.jpg")), 404),
        // Doubled slashes.
        (format!("/r/{}//width-10/cat.jpg", sig("width-10", "cat.jpg")), 404),
        (format!("/r/{}/width-10//cat.jpg", sig("width-10", "/cat.jpg")), 400),
        (format!("/r/{}/width-10//cat.jpg", sig("width-10", "cat.jpg")), 403),
        (
            format!("/r/{}/width-10/dir//cat.jpg", sig("width-10", "dir//cat.jpg")),
            400,
        ),
        (
            format!("/r/{}/width-10/dir//cat.jpg", sig("width-10", "dir/cat.jpg")),
            403,
        ),
        ("/r//width-10/cat.jpg".to_owned(), 404),
    ];
    let mut failures = Vec::new();
    for (uri, status) in &cases {
        let reply = send!(app, get(uri));
        if reply.status != *status {
            failures.push(format!("{uri}: {} {:?}", reply.status, reply.text()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[actix_web::test]
async fn keys_differing_in_case_or_normalisation_do_not_verify() {
    let state = app_state(&originals("routes-case"), &[]);
    let app = app!(state);
    let nfc = "\u{e9}t\u{e9}.jpg";
    let nfd = "e\u{301}te\u{301}.jpg";
    assert_eq!(send!(app, get(&path("width-10", nfc))).status, 200);
    assert_eq!(send!(app, get(&path("width-10", "cat.jpg"))).status, 200);
    let nfc_signature = sig("width-10", nfc);
    let cat_signature = sig("width-10", "cat.jpg");
    for (uri, status) in [
        // Another spelling with the signature of the first: refused.
        (format!("/r/{nfc_signature}/width-10/e%CC%81te%CC%81.jpg"), 403),
        (format!("/r/{cat_signature}/width-10/Cat.jpg"), 403),
        (format!("/r/{cat_signature}/width-10/CAT.JPG"), 403),
        (format!("/r/{cat_signature}/width-10/dir/../cat.jpg"), 403),
        // Signed as spelled: no such object (nothing is normalised).
        (path("width-10", nfd), 404),
        (path("width-10", "Cat.jpg"), 404),
        (path("width-10", "cat.JPG"), 404),
    ] {
        let reply = send!(app, get(&uri));
        assert_eq!(reply.status, status, "{uri}: {}", reply.text());
    }
}

#[actix_web::test]
async fn specs_are_bounded_in_bytes_and_operations() {
    let folder = originals("routes-bounds");
    let database = format!("sqlite://{}", folder.join("absent.sqlite3").display());
    let state = app_state(
        &folder,
        &[
            "--wagtail-secret-key",
            "not needed",
            "--wagtail-database-url",
            &database,
        ],
    );
    let app = app!(state);
    let crafted = "|format-webp".repeat(4500);
    let crafted = &crafted[1..];
    let sixteen = vec!["format-webp"; 16].join("|");
    let seventeen = vec!["format-webp"; 17].join("|");
    let long = format!("width-{}", "1".repeat(600));
    let too_long = "Invalid filter spec (too long)";
    let too_many = "Invalid filter spec (too many operations)";
    assert_eq!(send!(app, get(&path(&sixteen, "cat.jpg"))).status, 200);
    let wagtail = renditiond::wagtail::WagtailSigner::new(vec![b"not needed".to_vec()]);
    for (uri, body) in [
        (path(crafted, "cat.jpg"), too_long),
        (path(&long, "cat.jpg"), too_long),
        (path(&seventeen, "cat.jpg"), too_many),
        (path(&format!("{sixteen}|focal-1-2-3-4"), "cat.jpg"), too_many),
        // Before the signature is looked at.
        (format!("/r/forged/{}/cat.jpg", seventeen.replace('|', "%7C")), too_many),
        (
            format!(
                "/images/{}/1/{}/",
                wagtail.sign("1", crafted),
                crafted.replace('|', "%7C")
            ),
            too_long,
        ),
        (
            format!(
                "/images/{}/1/{}/a.jpg",
                wagtail.sign("1", &seventeen),
                seventeen.replace('|', "%7C")
            ),
            too_many,
        ),
    ] {
        let reply = send!(app, get(&uri));
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (400, body),
            "{}",
            &uri[..uri.len().min(80)]
        );
        assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
    }
    let items = serde_json::json!([
        {"width": 100, "height": 100, "spec": crafted},
        {"width": 100, "height": 100, "spec": seventeen},
        {"width": 100, "height": 100, "spec": sixteen},
    ]);
    let reply = send!(
        app,
        TestRequest::post()
            .uri("/v1/plan")
            .insert_header((header::AUTHORIZATION, format!("Bearer {TOKEN}")))
            .set_payload(items.to_string())
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let replies: serde_json::Value = serde_json::from_slice(&reply.body).expect("json");
    assert_eq!(replies[0]["error"], too_long);
    assert_eq!(replies[1]["error"], too_many);
    assert_eq!(replies[2]["format"], "webp");

    // The bounds are settings.
    let strict = app_state(&folder, &["--spec-max-operations", "2", "--spec-max-bytes", "30"]);
    let app = app!(strict);
    assert_eq!(send!(app, get(&path("width-10|format-png", "cat.jpg"))).status, 200);
    let three = send!(app, get(&path("width-10|format-png|original", "cat.jpg")));
    assert_eq!((three.status, three.text().as_str()), (400, too_many));
    let long = send!(app, get(&path("width-10|format-jpeg-abcdefghijkl", "cat.jpg")));
    assert_eq!((long.status, long.text().as_str()), (400, too_long));
}

#[actix_web::test]
async fn format_options_keep_to_letters_and_digits() {
    let state = app_state(&originals("routes-options"), &[]);
    let app = app!(state);
    for spec in [
        "width-10|format-jpeg-foo",
        "width-10|format-webp-lossless",
        "width-10|format-jpeg-",
    ] {
        let reply = send!(app, get(&path(spec, "cat.jpg")));
        assert_eq!(reply.status, 200, "{spec}: {}", reply.text());
    }
    for spec in [
        "width-10|format-jpeg-a\\b",
        "width-10|format-jpeg-%2F",
        "width-10|format-jpeg-%5C",
        "width-10|format-jpeg-fo\to",
        "width-10|format-jpeg-fo\u{0}o",
        "width-10|format-jpeg-caf\u{e9}",
        "width-10|format-jpeg-a.b",
    ] {
        let reply = send!(app, get(&path(spec, "cat.jpg")));
        assert_eq!(reply.status, 400, "{spec:?}: {}", reply.text());
        assert_eq!(reply.text(), format!("Invalid filter spec: {spec}"));
    }
}

#[actix_web::test]
async fn other_methods_get_405_with_allow_and_no_store() {
    let state = app_state(&originals("routes-methods"), &[]);
    let app = app!(state);
    let rendition = path("width-10", "cat.jpg");
    for (request, allow) in [
        (TestRequest::post().uri(&rendition), "GET, HEAD"),
        (TestRequest::put().uri(&rendition), "GET, HEAD"),
        (TestRequest::delete().uri("/images/s/1/width-10/"), "GET, HEAD"),
        (TestRequest::get().uri("/v1/plan"), "POST"),
        (TestRequest::post().uri("/healthz"), "GET"),
        (TestRequest::patch().uri("/metrics"), "GET"),
    ] {
        let reply = send!(app, request);
        assert_eq!(reply.status, 405, "{allow}");
        assert_eq!(reply.header(header::ALLOW), allow);
        assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
        assert_eq!(reply.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(reply.text(), "Method not allowed");
    }
}

#[actix_web::test]
async fn plan_bodies_answer_through_the_one_error_mapping() {
    let state = app_state(&originals("routes-plan-body"), &[]);
    let app = app!(state);
    let post = |body: Vec<u8>| {
        TestRequest::post()
            .uri("/v1/plan")
            .insert_header((header::AUTHORIZATION, format!("Bearer {TOKEN}")))
            .set_payload(body)
    };
    let large = send!(app, post(vec![b' '; (1 << 20) + 1]));
    assert_eq!((large.status, large.text().as_str()), (413, "Request body too large"));
    assert_eq!(large.header(header::CACHE_CONTROL), "no-store");
    assert_eq!(large.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    for bad in [
        &b"[{\"spec\": 12}]"[..],
        b"{",
        "[{\"spec\": \"w\u{e9}\", \"x\": 1}]".as_bytes(),
    ] {
        let reply = send!(app, post(bad.to_vec()));
        assert_eq!((reply.status, reply.text().as_str()), (400, "Invalid request body"));
        assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
    }
    let many: Vec<serde_json::Value> = (0..1001)
        .map(|_| serde_json::json!({"width": 1, "height": 1, "spec": "original"}))
        .collect();
    let reply = send!(app, post(serde_json::to_vec(&many).expect("json")));
    assert_eq!((reply.status, reply.text().as_str()), (400, "Too many items"));
    // Without the token, whatever the body.
    let anonymous = send!(
        app,
        TestRequest::post()
            .uri("/v1/plan")
            .set_payload(vec![b' '; (1 << 20) + 1])
    );
    assert_eq!(anonymous.status, 401);
}

#[actix_web::test]
async fn malformed_svgs_answer_a_fixed_body() {
    let state = app_state(&originals("routes-svg"), &[]);
    let app = app!(state);
    for (file, _) in MALFORMED_SVGS {
        let reply = send!(app, get(&path("width-10", file)));
        assert_eq!((reply.status, reply.text().as_str()), (422, "Invalid SVG"), "{file}");
        assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
        assert_eq!(reply.header(header::CONTENT_TYPE), "text/plain; charset=utf-8");
    }
}
