//! Resource limits of the running service: renders detached from their
//! clients, the render deadline, shutdown with a render past it, the memory
//! budget under concurrent large renders, and the reuse of large buffers
//! from one render to the next.

use std::io::Write;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::http::{local, originals};
use crate::server::{Server, path};

/// Sends `GET path` and leaves without reading the answer, resetting the
/// connection (SO_LINGER 0), as a client that gives up does.
fn request_and_reset(server: &Server, path: &str) -> TcpStream {
    let address = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connects");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n").expect("sends");
    stream
}

fn reset(stream: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on an open socket we own, with a correctly sized value.
    let set = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(set, 0, "SO_LINGER");
    drop(stream);
}

/// Polls until `done` holds, at most `limit`.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn clients_that_reset_cost_one_render_which_is_kept() {
    let (server, _) = local("resets", &[("RENDITIOND_WORKERS", "2")]);
    let p = path("width-2900|format-png", "large.jpg");
    let streams: Vec<TcpStream> = (0..20).map(|_| request_and_reset(&server, &p)).collect();
    // Every request reaches its handler and joins the render, then leaves.
    assert!(
        eventually(Duration::from_secs(10), || server
            .metric("renditiond_renders_in_flight")
            == 1.0),
        "no render started"
    );
    streams.into_iter().for_each(reset);
    assert!(
        eventually(Duration::from_secs(60), || server.renders() == 1.0),
        "the render whose clients left was not counted"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.renders(), 1.0, "renders for 20 identical requests");
    let reply = server.get(&p);
    assert_eq!(reply.status, 200);
    let logs = server.logs();
    let last = logs
        .iter()
        .rev()
        .find(|l| l["message"] == "request" && l["status"] == 200)
        .expect("logged");
    assert_eq!(last["cache"], "memory", "the finished render was not kept");
    assert_eq!(server.renders(), 1.0);
}

#[test]
fn a_render_past_its_deadline_answers_503_and_frees_its_worker() {
    let (server, _) = local(
        "deadline",
        &[("RENDITIOND_WORKERS", "1"), ("RENDITIOND_RENDER_TIMEOUT", "0.1")],
    );
    let started = Instant::now();
    let reply = server.get(&path("format-png", "large.jpg"));
    assert_eq!(
        (reply.status, reply.header("retry-after"), reply.text().as_str()),
        (503, "5", "Rendering took too long, retry later")
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(server.metric("renditiond_render_timeouts_total"), 1.0);
    // The one worker is free again for a normal rendition.
    assert!(
        eventually(Duration::from_secs(5), || server.metric("renditiond_renders_in_flight")
            == 0.0),
        "the worker stayed busy"
    );
    let started = Instant::now();
    assert_eq!(server.get(&path("width-64", "alpha.png")).status, 200);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

#[test]
fn sigterm_does_not_wait_for_a_render_past_its_deadline() {
    let (server, _) = local("stuck-shutdown", &[("RENDITIOND_RENDER_TIMEOUT", "0.2")]);
    let server = Arc::new(server);
    let slow = {
        let server = server.clone();
        std::thread::spawn(move || server.get(&path("format-png", "large.jpg")).status)
    };
    assert!(
        eventually(Duration::from_secs(10), || server
            .metric("renditiond_renders_in_flight")
            == 1.0),
        "no render in flight"
    );
    let signalled = Instant::now();
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGTERM) }, 0);
    assert_eq!(slow.join().expect("no panic"), 503);
    let mut server = Arc::try_unwrap(server).unwrap_or_else(|_| panic!("the server is still shared"));
    let status = server.wait(Duration::from_secs(10)).expect("the server exits");
    assert!(status.success(), "{status:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{:?}",
        signalled.elapsed()
    );
}

/// Peak resident memory of a process, in bytes (`VmHWM`).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib * 1024
}

/// A 10000×10000 JPEG (100 megapixels) of smooth gradients.
fn write_100mp_jpeg(path: &Path) {
    let (w, h) = (10_000u32, 10_000u32);
    let image = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x / 40) as u8, (y / 40) as u8, ((x + y) / 80) as u8])
    });
    let file = std::fs::File::create(path).expect("create");
    image::codecs::jpeg::JpegEncoder::new_with_quality(std::io::BufWriter::new(file), 80)
        .encode_image(&image)
        .expect("encode");
}

#[test]
fn peak_memory_stays_under_the_budget_with_16_large_renders_at_once() {
    const BUDGET: u64 = 640 << 20;
    let folder = originals("budget");
    write_100mp_jpeg(&folder.join("huge.jpg"));
    let budget = BUDGET.to_string();
    let server = Arc::new(Server::start(&[
        ("RENDITIOND_ORIGINALS", folder.to_string_lossy().as_ref()),
        ("RENDITIOND_WORKERS", "4"),
        ("RENDITIOND_QUEUE_LENGTH", "16"),
        ("RENDITIOND_MEMORY_BUDGET", &budget),
        ("RENDITIOND_MEMORY_CACHE_BYTES", "1048576"),
        ("RENDITIOND_RENDER_TIMEOUT", "60"),
    ]));
    let baseline = peak_rss(server.pid());
    let n = 16;
    let barrier = Arc::new(Barrier::new(n));
    let clients: Vec<_> = (0..n)
        .map(|i| {
            let (server, barrier) = (server.clone(), barrier.clone());
            // Each decodes the whole 100 MP (300 MB): no shrink-on-load.
            let p = path(&format!("width-{}|format-jpeg", 2600 + i), "huge.jpg");
            std::thread::spawn(move || {
                barrier.wait();
                server.get_within(&p, Duration::from_secs(600)).status
            })
        })
        .collect();
    let statuses: Vec<u16> = clients.into_iter().map(|c| c.join().expect("no panic")).collect();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(server.renders(), n as f64);
    let peak = peak_rss(server.pid());
    assert!(
        peak < baseline + BUDGET,
        "peak RSS {} MiB over the {} MiB baseline plus the {} MiB budget",
        peak >> 20,
        baseline >> 20,
        BUDGET >> 20
    );
    eprintln!(
        "peak RSS {} MiB (baseline {} MiB, budget {} MiB)",
        peak >> 20,
        baseline >> 20,
        BUDGET >> 20
    );
}

/// Minor page faults of a process so far, all its threads together.
fn minor_faults(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after_name = stat.rsplit_once(')').expect("(comm)").1;
    // Field 10 of stat, the 8th after the name: minflt.
    after_name
        .split_whitespace()
        .nth(7)
        .expect("minflt")
        .parse()
        .expect("a count")
}

#[test]
fn a_served_render_reuses_the_large_buffers_of_the_last() {
    let folder = originals("reuse");
    // Decoded whole, 3000×2000 is an 18 MB buffer: over glibc's own mmap
    // threshold (at most 32 MiB, often lower), under renditiond's 64 MiB.
    let image = image::RgbImage::from_fn(3000, 2000, |x, y| image::Rgb([(x / 12) as u8, (y / 8) as u8, 90]));
    image.save(folder.join("large.jpg")).expect("writes");
    // Cold originals, so that every render decodes (the decoded-originals
    // cache keeps an original only from its second decode).
    for i in 0..12 {
        std::os::unix::fs::symlink(folder.join("large.jpg"), folder.join(format!("large-{i}.jpg"))).expect("links");
    }
    let server = Server::start(&[
        ("RENDITIOND_ORIGINALS", folder.to_string_lossy().as_ref()),
        ("RENDITIOND_WORKERS", "2"),
    ]);
    let render = |i: usize| {
        let answer = server.get_within(&path("width-2900", &format!("large-{i}.jpg")), Duration::from_secs(60));
        assert_eq!(answer.status, 200);
    };
    // Both workers' arenas have held the buffers once.
    (0..4).for_each(render);
    let before = minor_faults(server.pid());
    (4..12).for_each(render);
    let per_render = (minor_faults(server.pid()) - before) / 8;
    // Fresh pages for the decode alone would be 18 MB / 4 KiB = 4,395.
    eprintln!("{per_render} minor page faults per render");
    assert!(
        per_render < 1_500,
        "{per_render} page faults per render: its buffers were not reused"
    );
}

#[test]
fn idle_and_half_closed_connections_do_not_hold_the_drain() {
    let (server, _) = local("idle-shutdown", &[]);
    let address = server.base.trim_start_matches("http://").to_owned();
    // One connection that never sends a request, one kept alive after its
    // answer, one that sent its request and closed its sending side.
    let silent = TcpStream::connect(&address).expect("connects");
    let mut kept = TcpStream::connect(&address).expect("connects");
    write!(kept, "GET /healthz HTTP/1.1\r\nHost: {address}\r\n\r\n").expect("sends");
    let mut half = request_and_reset(&server, &path("width-64", "alpha.png"));
    half.flush().expect("flush");
    half.shutdown(std::net::Shutdown::Write).expect("half-close");
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGTERM) }, 0);
    let mut server = server;
    let status = server.wait(Duration::from_secs(20)).expect("the server exits");
    assert!(status.success(), "{status:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(8),
        "the drain took {:?} of its 30 s",
        signalled.elapsed()
    );
    drop((silent, kept, half));
}
