//! The HTTP service with originals and renditions in a real S3-compatible
//! server (SeaweedFS, started by `scripts/test`): serving, versions, the
//! shared tier between two instances, create-only writes and redirect mode.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::server::{Server, path};
use crate::support::root;

/// The S3 server `scripts/test` started, with a key prefix of this test's own.
struct S3 {
    endpoint: String,
    bucket: String,
    key: String,
    secret: String,
    prefix: String,
    store: AmazonS3,
    runtime: tokio::runtime::Runtime,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/test, which starts SeaweedFS"))
}

impl S3 {
    fn connect(test: &str) -> Self {
        let (endpoint, bucket) = (var("RENDITIOND_TEST_S3_ENDPOINT"), var("RENDITIOND_TEST_S3_BUCKET"));
        let (key, secret) = (var("RENDITIOND_TEST_S3_KEY"), var("RENDITIOND_TEST_S3_SECRET"));
        let store = AmazonS3Builder::new()
            .with_endpoint(&endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_bucket_name(&bucket)
            .with_access_key_id(&key)
            .with_secret_access_key(&secret)
            .build()
            .expect("S3 client");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let s3 = Self {
            endpoint,
            bucket,
            key,
            secret,
            prefix: format!("{}-{test}", std::process::id()),
            store,
            runtime,
        };
        s3.wait_until_ready();
        s3
    }

    /// SeaweedFS creates the bucket shortly after its port opens.
    fn wait_until_ready(&self) {
        for _ in 0..300 {
            let listed = self.runtime.block_on(self.store.list_with_delimiter(None));
            if listed.is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the S3 bucket never became ready");
    }

    fn put(&self, key: &str, bytes: Vec<u8>) {
        let path = Path::from(format!("{}/originals/{key}", self.prefix));
        self.runtime
            .block_on(self.store.put(&path, PutPayload::from(bytes)))
            .expect("upload");
    }

    fn put_test_image(&self, name: &str, key: &str) {
        self.put(
            key,
            std::fs::read(root().join("test-images").join(name)).expect("test image"),
        );
    }

    /// The stored rendition `name`, if any.
    fn rendition(&self, name: &str) -> Option<Vec<u8>> {
        let path = Path::from(format!("{}/renditions/{name}", self.prefix));
        let result = self
            .runtime
            .block_on(async { self.store.get(&path).await?.bytes().await });
        result.ok().map(|b| b.to_vec())
    }

    fn renditions(&self) -> Vec<String> {
        let prefix = Path::from(format!("{}/renditions", self.prefix));
        let listed = self
            .runtime
            .block_on(self.store.list_with_delimiter(Some(&prefix)))
            .expect("list");
        listed
            .objects
            .iter()
            .filter_map(|o| o.location.filename().map(str::to_owned))
            .collect()
    }

    /// Server settings: originals and renditions under this test's prefix.
    fn settings(&self, shared: bool) -> Vec<(&'static str, String)> {
        let mut settings = vec![
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", self.key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
            ("AWS_REGION", "us-east-1".into()),
            (
                "RENDITIOND_ORIGINALS",
                format!("s3://{}/{}/originals", self.bucket, self.prefix),
            ),
        ];
        if shared {
            settings.push((
                "RENDITIOND_RENDITIONS",
                format!("s3://{}/{}/renditions", self.bucket, self.prefix),
            ));
        }
        settings
    }

    fn start(&self, shared: bool, extra: &[(&'static str, &str)]) -> Server {
        let mut settings = self.settings(shared);
        settings.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let borrowed: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Server::start(&borrowed)
    }
}

#[test]
#[ignore = "needs SeaweedFS: run scripts/test"]
fn serves_originals_from_s3() {
    let s3 = S3::connect("serve");
    s3.put_test_image("photo-baseline.jpg", "photos/coffee.jpg");
    s3.put(
        "photos/broken.jpg",
        std::fs::read(root().join("test-images/invalid/truncated.jpg")).expect("file"),
    );
    let server = s3.start(false, &[]);
    let reply = server.get(&path("fill-120x80|format-avif", "photos/coffee.jpg"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), "image/avif");
    let etag = reply.header("etag").to_owned();
    let again = server.get_with(
        &path("fill-120x80|format-avif", "photos/coffee.jpg"),
        &[("If-None-Match", &etag)],
    );
    assert_eq!(again.status, 304);
    assert_eq!(server.head(&path("width-10", "photos/coffee.jpg")).status, 200);
    assert_eq!(server.get(&path("width-10", "photos/missing.jpg")).status, 404);
    assert_eq!(server.get(&path("width-10", "photos/broken.jpg")).status, 422);
    assert_eq!(server.get(&path("width-10", "../photos/coffee.jpg")).status, 400);
    assert_eq!(server.get("/readyz").status, 200);
}

#[test]
#[ignore = "needs SeaweedFS: run scripts/test"]
fn a_replaced_original_gets_new_renditions() {
    let s3 = S3::connect("versions");
    s3.put_test_image("photo-baseline.jpg", "a.jpg");
    let server = s3.start(false, &[("RENDITIOND_VERSION_TTL", "0.2")]);
    let p = path("width-100|format-png", "a.jpg");
    let first = server.get(&p);
    assert_eq!(first.status, 200);
    s3.put_test_image("grey.jpg", "a.jpg");
    std::thread::sleep(Duration::from_millis(400));
    let second = server.get(&p);
    assert_eq!(second.status, 200);
    assert_ne!(first.header("etag"), second.header("etag"));
    assert_ne!(first.body, second.body);
}

#[test]
#[ignore = "needs SeaweedFS: run scripts/test"]
fn two_instances_share_one_rendition_store() {
    let s3 = S3::connect("shared");
    s3.put_test_image("photo-progressive.jpg", "cat.jpg");
    let p = path("fill-200x200-c50|format-webp|webpquality-70", "cat.jpg");

    let first = s3.start(true, &[]);
    let rendered = first.get(&p);
    assert_eq!(rendered.status, 200, "{}", rendered.text());
    assert_eq!(first.renders(), 1.0);
    let names = s3.renditions();
    assert_eq!(names.len(), 1, "{names:?}");
    let name = &names[0];
    assert!(
        name.starts_with("cat.") && name.ends_with(".fill-200x200-c50.format-webp.webpquality-70.webp"),
        "{name}"
    );
    assert_eq!(s3.rendition(name).as_deref(), Some(rendered.body.as_slice()));

    let second = s3.start(true, &[]);
    let shared = second.get(&p);
    assert_eq!(shared.status, 200);
    assert_eq!(
        (shared.header("etag"), &shared.body),
        (rendered.header("etag"), &rendered.body)
    );
    assert_eq!(second.renders(), 0.0, "the second instance rendered again");
    assert_eq!(
        second.metric("renditiond_cache_lookups_total{tier=\"shared\",result=\"hit\"}"),
        1.0
    );
    let logged = second.log_line(|l| l["message"] == "request" && l["route"] == "rendition");
    assert_eq!(logged.map(|l| l["cache"].clone()), Some("shared".into()));
}

#[test]
#[ignore = "needs SeaweedFS: run scripts/test"]
fn concurrent_instances_write_a_rendition_once() {
    let s3 = S3::connect("race");
    s3.put_test_image("photo-444.jpg", "rocket.jpg");
    let p = Arc::new(path("width-300|format-png", "rocket.jpg"));
    let servers: Vec<Arc<Server>> = (0..3).map(|_| Arc::new(s3.start(true, &[]))).collect();
    let threads: Vec<_> = servers
        .iter()
        .map(|server| {
            let (server, p) = (server.clone(), p.clone());
            std::thread::spawn(move || server.get(&p))
        })
        .collect();
    let replies: Vec<_> = threads.into_iter().map(|t| t.join().expect("no panic")).collect();
    assert!(replies.iter().all(|r| r.status == 200 && r.body == replies[0].body));
    let names = s3.renditions();
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(s3.rendition(&names[0]), Some(replies[0].body.clone()));
}

#[test]
#[ignore = "needs SeaweedFS: run scripts/test"]
fn redirect_mode_stores_then_redirects() {
    let s3 = S3::connect("redirect");
    s3.put_test_image("alpha.png", "logo.png");
    let public = format!("https://cdn.example.com/{}", s3.prefix);
    let redirecting = s3.start(
        true,
        &[
            ("RENDITIOND_ACTION", "redirect"),
            ("RENDITIOND_PUBLIC_URL", public.as_str()),
        ],
    );
    let p = path("max-80x80", "logo.png");
    let reply = redirecting.get(&p);
    assert_eq!(reply.status, 302, "{}", reply.text());
    let location = reply.header("location").to_owned();
    let name = location
        .strip_prefix(&format!("{public}/"))
        .unwrap_or_else(|| panic!("{location} is not under {public}"));
    assert!(name.starts_with("logo.") && name.ends_with(".max-80x80.png"), "{name}");
    let stored = s3
        .rendition(name)
        .expect("the rendition is in the store before the redirect");
    assert_eq!(redirecting.renders(), 1.0);

    // The same URL again: still a redirect, no second render.
    assert_eq!(redirecting.get(&p).header("location"), location);
    assert_eq!(redirecting.renders(), 1.0);

    // A serving instance gives the very bytes the CDN would fetch.
    let serving = s3.start(true, &[]);
    assert_eq!(serving.get(&p).body, stored);
    assert_eq!(serving.renders(), 0.0);

    // Errors are errors, not redirects.
    assert_eq!(redirecting.get(&path("max-80x80", "missing.png")).status, 404);
}
