//! The hostile SVG corpus in a real browser: headless Chromium opens every
//! rendition the running service serves, as a top-level document and inside
//! `<img>` and `<object>`, and no payload may run or load anything. Every
//! payload tries to request `/cb/<file>` from the origin that served it, or
//! to set the title to `PWNED`.
//!
//! Three sets are opened: the service's responses (sanitized, with their
//! CSP), the same sanitized bytes from a plain server without any CSP (the
//! sanitizer alone, embedded only: an `<object>` is a document of its own
//! where scripts run), and the raw originals from that plain server, which
//! must fire, or the test could not fail.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::server::{Server, path};
use crate::support::scratch;
use crate::svg::{hostile_corpus, hostile_dir};

/// Chromium, as `scripts/test` installs it.
fn chromium() -> PathBuf {
    let binary = std::env::var("RENDITIOND_TEST_CHROMIUM")
        .unwrap_or_else(|_| panic!("RENDITIOND_TEST_CHROMIUM is not set: run scripts/test, which installs Chromium"));
    PathBuf::from(binary)
}

/// The DOM of `url` after its scripts had two seconds of virtual time.
fn dump_dom(url: &str, profile: &str) -> String {
    let profile = scratch(&format!("chromium-{profile}"));
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=2000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let started = Instant::now();
    while child.try_wait().ok().flatten().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("chromium did not finish {url}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(&profile);
    reader.join().unwrap_or_default()
}

/// A plain HTTP server without any security header: raw originals under
/// `/raw/`, sanitized copies under `/clean/`, harness pages under `/page/`.
/// It records every path asked for.
struct PlainServer {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl PlainServer {
    fn start(clean: HashMap<String, Vec<u8>>, pages: HashMap<String, String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (log, clean, pages) = (requests.clone(), Arc::new(clean), Arc::new(pages));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, clean, pages) = (log.clone(), clean.clone(), pages.clone());
                std::thread::spawn(move || answer(stream, &log, &clean, &pages));
            }
        });
        Self { base, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

fn answer(
    mut stream: TcpStream,
    log: &Mutex<Vec<String>>,
    clean: &HashMap<String, Vec<u8>>,
    pages: &HashMap<String, String>,
) {
    let mut line = String::new();
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    if reader.read_line(&mut line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).map_or(true, |n| n == 0) || header.trim().is_empty() {
            break;
        }
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    log.lock().expect("lock").push(target.clone());
    let (status, content_type, body) = if let Some(name) = target.strip_prefix("/raw/") {
        match std::fs::read(hostile_dir().join(name)) {
            Ok(bytes) => ("200 OK", "image/svg+xml", bytes),
            Err(_) => ("404 Not Found", "text/plain", Vec::new()),
        }
    } else if let Some(bytes) = target.strip_prefix("/clean/").and_then(|n| clean.get(n)) {
        ("200 OK", "image/svg+xml", bytes.clone())
    } else if let Some(page) = pages.get(&target) {
        ("200 OK", "text/html; charset=utf-8", page.clone().into_bytes())
    } else {
        ("404 Not Found", "text/plain", Vec::new())
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

/// A harness page embedding every URL with `<img>` or `<object>`.
fn page(urls: &[String], element: &str) -> String {
    let items: String = urls
        .iter()
        .map(|u| match element {
            "img" => format!("<img src=\"{u}\" width=\"50\" height=\"50\">\n"),
            _ => format!("<object data=\"{u}\" type=\"image/svg+xml\" width=\"50\" height=\"50\"></object>\n"),
        })
        .collect();
    format!("<!DOCTYPE html><html><head><title>harness</title></head><body>\n{items}</body></html>")
}

/// Opens each URL as a top-level document, a few browsers at a time, and
/// returns the names whose DOM shows the payload's title.
fn open_each(set: &str, urls: &[(String, String)]) -> Vec<String> {
    let queue = Arc::new(Mutex::new(urls.to_vec()));
    let titled = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..3)
        .map(|worker| {
            let (queue, titled) = (queue.clone(), titled.clone());
            let profile = format!("{set}-{worker}");
            std::thread::spawn(move || {
                while let Some((name, url)) = queue.lock().expect("lock").pop() {
                    if dump_dom(&url, &profile).contains("PWNED") {
                        titled.lock().expect("lock").push(name);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker");
    }
    titled.lock().expect("lock").clone()
}

/// The `/cb/` paths among `paths`.
fn callbacks(paths: impl IntoIterator<Item = String>) -> Vec<String> {
    paths.into_iter().filter(|p| p.starts_with("/cb/")).collect()
}

#[test]
#[ignore = "needs Chromium: run scripts/test"]
fn no_payload_of_the_hostile_corpus_runs_in_chromium() {
    let corpus = hostile_corpus();
    let originals = hostile_dir().to_string_lossy().into_owned();
    let service = Server::start(&[("RENDITIOND_ORIGINALS", originals.as_str())]);

    // The service's answers: sanitized SVG with the strict CSP, or a refusal.
    let mut clean = HashMap::new();
    let mut served = Vec::new();
    for (name, expected) in &corpus {
        let url_path = path("original", name);
        let reply = service.get(&url_path);
        if expected.sanitized {
            assert_eq!(reply.status, 200, "{name}: {}", reply.text());
            assert_eq!(reply.header("content-type"), "image/svg+xml", "{name}");
            assert!(
                reply
                    .header("content-security-policy")
                    .starts_with("default-src 'none'"),
                "{name}"
            );
            clean.insert(name.clone(), reply.body);
            served.push((name.clone(), format!("{}{url_path}", service.base)));
        } else {
            assert!([413, 415, 422].contains(&reply.status), "{name}: {}", reply.status);
        }
    }
    let names: Vec<String> = served.iter().map(|(n, _)| n.clone()).collect();
    let fires: Vec<String> = corpus.iter().filter(|(_, e)| e.fires).map(|(n, _)| n.clone()).collect();

    // Harness pages for every set, served by the plain server (relative
    // URLs for its own files, absolute ones for the service).
    let mut pages = HashMap::new();
    let service_urls: Vec<String> = served.iter().map(|(_, u)| u.clone()).collect();
    let clean_urls: Vec<String> = names.iter().map(|n| format!("/clean/{n}")).collect();
    let raw_urls: Vec<String> = fires.iter().map(|n| format!("/raw/{n}")).collect();
    for element in ["img", "object"] {
        pages.insert(format!("/page/service/{element}"), page(&service_urls, element));
        pages.insert(format!("/page/clean/{element}"), page(&clean_urls, element));
        pages.insert(format!("/page/raw/{element}"), page(&raw_urls, element));
    }
    let plain = PlainServer::start(clean, pages);

    // 1. The service's responses.
    let titled = open_each("service", &served);
    for element in ["img", "object"] {
        let dom = dump_dom(&format!("{}/page/service/{element}", plain.base), "service-page");
        assert!(dom.contains("<title>harness</title>"), "the harness page loaded");
    }
    let service_paths = service
        .logs()
        .into_iter()
        .filter_map(|l| l["path"].as_str().map(str::to_owned));
    let mut fired = callbacks(service_paths);

    // 2. The sanitized bytes without any CSP.
    for element in ["img", "object"] {
        dump_dom(&format!("{}/page/clean/{element}", plain.base), "clean-page");
    }
    fired.extend(callbacks(plain.requests()));
    assert!(
        fired.is_empty() && titled.is_empty(),
        "sanitized SVGs ran payloads: callbacks {fired:?}, titles {titled:?}"
    );

    // 3. The raw originals must fire, or this test proves nothing.
    let before = plain.requests().len();
    for element in ["img", "object"] {
        dump_dom(&format!("{}/page/raw/{element}", plain.base), "raw-page");
    }
    // A few as documents too, to prove the title check sees a payload.
    let documents = ["script-element.svg", "onload-root.svg", "utf16le-bom-script.svg"];
    let raw_documents: Vec<(String, String)> = documents
        .iter()
        .map(|n| (n.to_string(), format!("{}/raw/{n}", plain.base)))
        .collect();
    let raw_titled = open_each("raw", &raw_documents);
    assert_eq!(
        raw_titled.len(),
        documents.len(),
        "raw documents that set the title: {raw_titled:?}"
    );
    let raw_callbacks = callbacks(plain.requests().into_iter().skip(before));
    let mut raw_fired: Vec<String> = raw_callbacks
        .iter()
        .filter_map(|p| p.strip_prefix("/cb/"))
        .map(|stem| format!("{stem}.svg"))
        .chain(raw_titled)
        .collect();
    raw_fired.sort();
    raw_fired.dedup();
    assert!(
        raw_fired.len() * 2 >= fires.len(),
        "only {} of the {} files expected to fire did when served raw: {raw_fired:?}",
        raw_fired.len(),
        fires.len()
    );
    eprintln!(
        "{} raw files fired ({} callbacks); {} sanitized files as documents, in img and object: none",
        raw_fired.len(),
        raw_callbacks.len(),
        names.len()
    );
}
