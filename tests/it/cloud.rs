//! What every object store renditiond reads (S3, GCS, Azure) must do, tested
//! against a real server or emulator that `scripts/test` starts: the store's
//! own contract (create-only puts, ranged reads) probed directly, then the
//! real binary on it (serving, versions, the shared tier, racing instances,
//! redirect mode, a store that stops answering).
//!
//! A backend's module opens a [`Bucket`] and expands [`read_scenarios!`] and,
//! where the server takes `object_store`'s writes, [`write_scenarios!`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::server::{Server, path};
use crate::support::{root, scratch};

/// A setting the server gets (an environment variable and its value).
pub type Setting = (&'static str, String);

/// How a test writes an object where the server refuses `object_store`'s writes.
pub type Upload = Box<dyn Fn(&Path, Vec<u8>)>;

/// The value of `name`, which `scripts/test` exports once it has started
/// `what`; missing, the test fails (never skips).
pub fn var(name: &str, what: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/test, which starts {what}"))
}

/// One bucket of a running store, with a key prefix of this test's own.
pub struct Bucket {
    /// `s3://bucket`, `gs://bucket` or `az://container`.
    url: String,
    /// What the server needs to reach the store (endpoint, credentials).
    settings: Vec<Setting>,
    /// This test's key prefix.
    pub prefix: String,
    store: Arc<dyn ObjectStore>,
    upload: Option<Upload>,
    runtime: tokio::runtime::Runtime,
}

impl Bucket {
    /// The bucket at `url` through `store` (a client at the bucket's root),
    /// reached by the server with `settings`; waits until it answers.
    pub fn new(url: &str, settings: Vec<Setting>, store: Arc<dyn ObjectStore>, test: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let bucket = Self {
            url: url.to_owned(),
            settings,
            prefix: format!("{}-{test}", std::process::id()),
            store,
            upload: None,
            runtime,
        };
        bucket.wait_until_ready();
        bucket
    }

    /// Writes objects with `upload` instead of `object_store`.
    pub fn with_upload(mut self, upload: Upload) -> Self {
        self.upload = Some(upload);
        self
    }

    /// Writes an object.
    pub fn upload(&self, path: &Path, bytes: Vec<u8>) {
        match &self.upload {
            Some(upload) => upload(path, bytes),
            None => {
                self.block_on(self.store.put(path, PutPayload::from(bytes)))
                    .expect("upload");
            }
        }
    }

    /// The client at the bucket's root.
    pub fn store(&self) -> &dyn ObjectStore {
        self.store.as_ref()
    }

    /// Some servers create the bucket shortly after their port opens.
    fn wait_until_ready(&self) {
        for _ in 0..300 {
            if self.block_on(self.store.list_with_delimiter(None)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the bucket {} never became ready", self.url);
    }

    /// Runs a store call to its end.
    pub fn block_on<F: std::future::Future>(&self, call: F) -> F::Output {
        self.runtime.block_on(call)
    }

    /// The path of `rest` under this test's prefix.
    pub fn path(&self, rest: &str) -> Path {
        Path::from(format!("{}/{rest}", self.prefix))
    }

    /// Uploads an original.
    pub fn put(&self, key: &str, bytes: Vec<u8>) {
        self.upload(&self.path(&format!("originals/{key}")), bytes);
    }

    /// Uploads a file of `test-images/` as an original.
    pub fn put_test_image(&self, name: &str, key: &str) {
        self.put(
            key,
            std::fs::read(root().join("test-images").join(name)).expect("test image"),
        );
    }

    /// The stored rendition `name`, if any.
    pub fn rendition(&self, name: &str) -> Option<Vec<u8>> {
        let path = self.path(&format!("renditions/{name}"));
        let result = self.block_on(async { self.store.get(&path).await?.bytes().await });
        result.ok().map(|b| b.to_vec())
    }

    /// The names of the stored renditions.
    pub fn renditions(&self) -> Vec<String> {
        let prefix = self.path("renditions");
        let listed = self
            .block_on(self.store.list_with_delimiter(Some(&prefix)))
            .expect("list");
        let mut names: Vec<String> = listed
            .objects
            .iter()
            .filter_map(|o| o.location.filename().map(str::to_owned))
            .collect();
        names.sort();
        names
    }

    /// Starts the server on this test's originals (and its rendition store
    /// when `shared`), with `extra` settings.
    pub fn start(&self, shared: bool, extra: &[(&str, &str)]) -> Server {
        let mut settings: Vec<(&str, String)> = self.settings.iter().map(|(k, v)| (*k, v.clone())).collect();
        settings.push((
            "RENDITIOND_ORIGINALS",
            format!("{}/{}/originals", self.url, self.prefix),
        ));
        if shared {
            settings.push((
                "RENDITIOND_RENDITIONS",
                format!("{}/{}/renditions", self.url, self.prefix),
            ));
        }
        settings.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let borrowed: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Server::start(&borrowed)
    }
}

/// A private emulator for one test, started by its script (which prints
/// `export NAME=value` lines) in a scratch folder; resumed, killed and
/// removed when dropped.
pub struct Emulator {
    vars: HashMap<String, String>,
    pid: i32,
    dir: PathBuf,
}

impl Emulator {
    /// Runs `script` (relative to the repository) with the program that
    /// `scripts/test` names in `binary_env`, given to the script in
    /// `binary_var`.
    pub fn start(script: &str, binary_var: &str, binary_env: &str) -> Self {
        let binary = var(binary_env, script);
        let dir = scratch(&script.replace('/', "-"));
        let output = std::process::Command::new(root().join(script))
            .arg(dir.join("data"))
            .env(binary_var, &binary)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("the emulator script runs");
        assert!(
            output.status.success(),
            "{script} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let vars: HashMap<String, String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let pid = vars
            .iter()
            .find(|(k, _)| k.ends_with("_PID"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or_else(|| panic!("{script} printed no PID: {vars:?}"));
        Self { vars, pid, dir }
    }

    /// A variable the script printed.
    pub fn var(&self, name: &str) -> String {
        self.vars
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("the emulator script printed no {name}"))
    }

    /// Stops the process (SIGSTOP) until the guard is dropped: its port still
    /// accepts connections, nothing answers.
    pub fn pause(&self) -> Paused {
        assert_eq!(signal(self.pid, libc::SIGSTOP), 0, "SIGSTOP {}", self.pid);
        Paused(self.pid)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        signal(self.pid, libc::SIGCONT);
        signal(self.pid, libc::SIGKILL);
        std::thread::sleep(Duration::from_millis(200));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A stopped emulator, resumed (SIGCONT) when dropped, panics included.
pub struct Paused(i32);

impl Drop for Paused {
    fn drop(&mut self) {
        signal(self.0, libc::SIGCONT);
    }
}

fn signal(pid: i32, signal: i32) -> i32 {
    // SAFETY: kill(2) with a process id we started and a valid signal number.
    unsafe { libc::kill(pid, signal) }
}

/// The scenarios of reading originals, as `#[test]`s of the calling module,
/// ignored with `$ignore` (they need the store `scripts/test` starts);
/// `$bucket(test)` opens this test's bucket.
macro_rules! read_scenarios {
    ($ignore:literal, $bucket:path) => {
        #[test]
        #[ignore = $ignore]
        fn ranged_reads_return_the_range() {
            $crate::cloud::ranged_reads(&$bucket("ranges"));
        }

        #[test]
        #[ignore = $ignore]
        fn serves_originals() {
            $crate::cloud::serves_originals(&$bucket("serve"));
        }

        #[test]
        #[ignore = $ignore]
        fn a_replaced_large_original_gets_new_renditions() {
            $crate::cloud::a_replaced_large_original_gets_new_renditions(&$bucket("versions"));
        }
    };
}
pub(crate) use read_scenarios;

/// The scenarios of the shared rendition store (create-only writes), as
/// [`read_scenarios!`] expands them.
macro_rules! write_scenarios {
    ($ignore:literal, $bucket:path) => {
        #[test]
        #[ignore = $ignore]
        fn puts_in_create_mode_are_create_only() {
            $crate::cloud::create_only_puts(&$bucket("create"));
        }

        #[test]
        #[ignore = $ignore]
        fn two_instances_share_one_rendition_store() {
            $crate::cloud::two_instances_share_one_rendition_store(&$bucket("shared"));
        }

        #[test]
        #[ignore = $ignore]
        fn racing_instances_write_each_rendition_once() {
            $crate::cloud::racing_instances_write_each_rendition_once(&$bucket("race"));
        }

        #[test]
        #[ignore = $ignore]
        fn redirect_mode_stores_then_redirects() {
            $crate::cloud::redirect_mode_stores_then_redirects(&$bucket("redirect"));
        }
    };
}
pub(crate) use write_scenarios;

/// `PutMode::Create` writes once: a second put of the same key fails with
/// `AlreadyExists`, and of eight concurrent puts exactly one wins and its
/// bytes are the ones stored. The shared tier's create-only publication
/// rests on this.
pub fn create_only_puts(bucket: &Bucket) {
    let store = bucket.store.as_ref();
    let create = || PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    let once = bucket.path("probe/once");
    bucket
        .block_on(store.put_opts(&once, PutPayload::from_static(b"first"), create()))
        .expect("the first create");
    let again = bucket.block_on(store.put_opts(&once, PutPayload::from_static(b"second"), create()));
    assert!(
        matches!(again, Err(object_store::Error::AlreadyExists { .. })),
        "a second create: {again:?}"
    );
    let stored = bucket.block_on(async { store.get(&once).await?.bytes().await });
    assert_eq!(stored.expect("read back").as_ref(), b"first");

    let raced = bucket.path("probe/raced");
    let results = bucket.block_on(futures_util::future::join_all((0..8u8).map(|i| {
        let raced = &raced;
        async move {
            (
                i,
                store.put_opts(raced, PutPayload::from(vec![i; 1000]), create()).await,
            )
        }
    })));
    let winners: Vec<u8> = results.iter().filter(|(_, r)| r.is_ok()).map(|(i, _)| *i).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|(_, r)| matches!(r, Ok(_) | Err(object_store::Error::AlreadyExists { .. }))),
        "{results:?}"
    );
    let stored = bucket.block_on(async { store.get(&raced).await?.bytes().await });
    assert_eq!(stored.expect("read back").as_ref(), vec![winners[0]; 1000].as_slice());
}

/// A bounded range reads exactly those bytes and reports the whole size, as
/// the version lookup (the first 64 KiB) needs, also past the end of a
/// small object.
pub fn ranged_reads(bucket: &Bucket) {
    let store = bucket.store.as_ref();
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let large = bucket.path("probe/large");
    bucket.upload(&large, bytes.clone());
    let small = bucket.path("probe/small");
    bucket.upload(&small, bytes[..1000].to_vec());
    let head = 64 * 1024;
    for (path, range, expected) in [
        (&large, 0..head, &bytes[..65536]),
        (&large, 150_000..200_000, &bytes[150_000..]),
        (&small, 0..head, &bytes[..1000]),
    ] {
        let options = GetOptions {
            range: Some(GetRange::Bounded(range.clone())),
            ..GetOptions::default()
        };
        let (meta, body) = bucket
            .block_on(async {
                let result = store.get_opts(path, options).await?;
                let meta = result.meta.clone();
                Ok::<_, object_store::Error>((meta, result.bytes().await?))
            })
            .unwrap_or_else(|e| panic!("{path} {range:?}: {e}"));
        assert!(
            body.as_ref() == expected,
            "{path} {range:?}: {} other bytes",
            body.len()
        );
        let size = if path == &large { 200_000 } else { 1000 };
        assert_eq!(meta.size, size, "{path} {range:?}");
    }
}

/// Originals are served (a JPEG rendition, 304, HEAD); a missing original
/// is a 404, a broken one a 422, a key leaving the store a 400.
pub fn serves_originals(bucket: &Bucket) {
    bucket.put_test_image("photo-baseline.jpg", "photos/coffee.jpg");
    bucket.put(
        "photos/broken.jpg",
        std::fs::read(root().join("test-images/invalid/truncated.jpg")).expect("file"),
    );
    let server = bucket.start(false, &[]);
    let p = path("fill-120x80", "photos/coffee.jpg");
    let reply = server.get(&p);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), "image/jpeg");
    assert!(reply.body.starts_with(&[0xff, 0xd8]), "not a JPEG");
    let etag = reply.header("etag").to_owned();
    assert_eq!(server.get_with(&p, &[("If-None-Match", &etag)]).status, 304);
    assert_eq!(
        server
            .get(&path("fill-120x80|format-avif", "photos/coffee.jpg"))
            .header("content-type"),
        "image/avif"
    );
    assert_eq!(server.head(&path("width-10", "photos/coffee.jpg")).status, 200);
    assert_eq!(server.get(&path("width-10", "photos/missing.jpg")).status, 404);
    assert_eq!(server.get(&path("width-10", "photos/broken.jpg")).status, 422);
    assert_eq!(server.get(&path("width-10", "../photos/coffee.jpg")).status, 400);
    assert_eq!(server.get("/readyz").status, 200);
}

/// Originals larger than the 64 KiB the version lookup reads render whole,
/// and replacing one changes its version: new ETag, new bytes.
pub fn a_replaced_large_original_gets_new_renditions(bucket: &Bucket) {
    bucket.put_test_image("photo-baseline.jpg", "a.jpg");
    let server = bucket.start(false, &[("RENDITIOND_VERSION_TTL", "0.2")]);
    let p = path("width-100|format-png", "a.jpg");
    let first = server.get(&p);
    assert_eq!(first.status, 200, "{}", first.text());
    bucket.put_test_image("cmyk-icc.jpg", "a.jpg");
    std::thread::sleep(Duration::from_millis(400));
    let second = server.get(&p);
    assert_eq!(second.status, 200, "{}", second.text());
    assert_ne!(first.header("etag"), second.header("etag"));
    assert_ne!(first.body, second.body);
}

/// A second instance serves what the first stored: no second render.
pub fn two_instances_share_one_rendition_store(bucket: &Bucket) {
    bucket.put_test_image("photo-progressive.jpg", "cat.jpg");
    let p = path("fill-200x200-c50|format-webp|webpquality-70", "cat.jpg");

    let first = bucket.start(true, &[]);
    let rendered = first.get(&p);
    assert_eq!(rendered.status, 200, "{}", rendered.text());
    assert_eq!(first.renders(), 1.0);
    let names = bucket.renditions();
    assert_eq!(names.len(), 1, "{names:?}");
    let name = &names[0];
    assert!(
        name.starts_with("cat.") && name.ends_with(".fill-200x200-c50.format-webp.webpquality-70.webp"),
        "{name}"
    );
    assert_eq!(bucket.rendition(name).as_deref(), Some(rendered.body.as_slice()));

    let second = bucket.start(true, &[]);
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

/// Two cold instances asked for the same renditions at once: one object per
/// rendition in the store, the bytes both served.
pub fn racing_instances_write_each_rendition_once(bucket: &Bucket) {
    bucket.put_test_image("photo-444.jpg", "rocket.jpg");
    let specs = [
        "width-300|format-png",
        "fill-90x90",
        "max-120x60|format-webp",
        "height-50",
    ];
    let servers: Vec<Arc<Server>> = (0..2).map(|_| Arc::new(bucket.start(true, &[]))).collect();
    let barrier = Arc::new(Barrier::new(servers.len() * specs.len()));
    let threads: Vec<_> = servers
        .iter()
        .flat_map(|server| specs.iter().map(move |spec| (server.clone(), path(spec, "rocket.jpg"))))
        .map(|(server, p)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                server.get(&p)
            })
        })
        .collect();
    let replies: Vec<_> = threads.into_iter().map(|t| t.join().expect("no panic")).collect();
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let names = bucket.renditions();
    assert_eq!(names.len(), specs.len(), "{names:?}");
    for (i, spec) in specs.iter().enumerate() {
        let (mine, theirs) = (&replies[i], &replies[specs.len() + i]);
        assert_eq!(mine.body, theirs.body, "{spec}: the instances served different bytes");
        let stored = names
            .iter()
            .find_map(|name| bucket.rendition(name).filter(|bytes| bytes == &mine.body));
        assert!(stored.is_some(), "{spec}: no stored rendition holds the served bytes");
    }
}

/// In redirect mode the rendition is stored before the 302 to it; a serving
/// instance then gives the very bytes; errors stay errors.
pub fn redirect_mode_stores_then_redirects(bucket: &Bucket) {
    bucket.put_test_image("alpha.png", "logo.png");
    let public = format!("https://cdn.example.com/{}", bucket.prefix);
    let redirecting = bucket.start(
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
    let stored = bucket
        .rendition(name)
        .expect("the rendition is in the store before the redirect");
    assert_eq!(redirecting.renders(), 1.0);

    // The same URL again: still a redirect, no second render.
    assert_eq!(redirecting.get(&p).header("location"), location);
    assert_eq!(redirecting.renders(), 1.0);

    // A serving instance gives the very bytes the CDN would fetch.
    let serving = bucket.start(true, &[]);
    assert_eq!(serving.get(&p).body, stored);
    assert_eq!(serving.renders(), 0.0);

    // Errors are errors, not redirects.
    assert_eq!(redirecting.get(&path("max-80x80", "missing.png")).status, 404);
}

/// The store stops answering (its process stopped, its port open): a cold
/// request answers 503 with `Retry-After` within the storage timeout and a
/// margin, and the next one at once (the store is paused after a timeout);
/// a rendition in memory is still served, though its original's version
/// has expired (the last known one stands in), and `/readyz` stays 200 (a
/// shared outage does not take instances out); once the store answers
/// again the same server recovers.
pub fn a_stalled_store_answers_503_then_recovers(emulator: &Emulator, bucket: &Bucket) {
    let timeout = Duration::from_secs(2);
    let margin = Duration::from_secs(3);
    bucket.put_test_image("photo-baseline.jpg", "warm.jpg");
    bucket.put_test_image("photo-444.jpg", "cold.jpg");
    let server = bucket.start(
        false,
        &[("RENDITIOND_STORAGE_TIMEOUT", "2"), ("RENDITIOND_VERSION_TTL", "0.2")],
    );
    let warm = path("width-50", "warm.jpg");
    assert_eq!(server.get(&warm).status, 200);
    assert_eq!(server.get("/readyz").status, 200);
    let cold = path("width-60", "cold.jpg");
    {
        let _paused = emulator.pause();
        let started = Instant::now();
        let reply = server.get_within(&cold, timeout + margin);
        let took = started.elapsed();
        assert_eq!(
            (reply.status, reply.header("retry-after")),
            (503, "5"),
            "{}",
            reply.text()
        );
        assert!(took < timeout + margin, "the 503 took {took:?}");
        let started = Instant::now();
        let reply = server.get_within(&path("width-61", "cold.jpg"), margin);
        let took = started.elapsed();
        assert_eq!(reply.status, 503, "{}", reply.text());
        assert!(took < Duration::from_secs(1), "the paused store took {took:?}");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            server.get_within(&warm, margin).status,
            200,
            "a memory hit needs no store"
        );
        assert_eq!(server.get_within("/readyz", margin).status, 200);
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(20);
    loop {
        let reply = server.get_within(&cold, timeout + margin);
        if reply.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no recovery: {} {}",
            reply.status,
            reply.text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("recovered {:?} after the store came back", started.elapsed());
    assert_eq!(server.get("/readyz").status, 200);
}
