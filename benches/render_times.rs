//! Per-render times of the engine, for `benches/compare` (which runs it in a
//! fresh process per image and spec, beside Pillow and libvips): probe, plan
//! and render an original N times after a warm-up, through the library's
//! public API as a request does, and print one JSON line with the CPU and
//! wall time of every render.
//!
//! ```sh
//! cargo bench --bench render_times -- render IMAGE SPEC [--runs N] [--min-seconds S] [--warmup N] [--out FILE] [--shrink-on-load RULE]
//! cargo bench --bench render_times -- decode IMAGE SPEC [--runs N] [--min-seconds S] [--warmup N] [--shrink-on-load RULE]
//! cargo bench --bench render_times -- plan IMAGE SPEC [--shrink-on-load RULE]
//! ```
//!
//! Timed renders run at least `--runs` times (5) and until `--min-seconds`
//! of CPU time are spent (0), after `--warmup` untimed ones (1).
//! `--shrink-on-load` is `RENDITIOND_SHRINK_ON_LOAD`'s rule (`quality`).
//!
//! * `render`: the whole rendition (probe, plan, decode with shrink-on-load,
//!   crop and resize, orient, flatten, encode); `--out` writes the last one.
//! * `decode`: the JPEG decode alone at the shrink-on-load factor `render`
//!   uses for that spec (the "decode floor").
//! * `plan`: what the spec makes of the image, with the encoder settings,
//!   so that other engines can be given the same geometry and settings.
//!
//! Without a command (as `cargo test --all-targets` and a bare `cargo bench`
//! run it, with libtest's flags and filters, which mean nothing here) it
//! renders a bundled test image a few times, as a smoke check.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use renditiond::pipeline::codec::jpeg;
use renditiond::pipeline::{self, Limits, Probe, ShrinkOnLoad};
use renditiond::plan::{self, Compression, Encoding, Plan, Source};
use renditiond::spec::FilterSpec;
use serde_json::{Value, json};

/// libwebp's method, as `src/pipeline/codec/webp.rs` sets it.
const WEBP_METHOD: i32 = 4;
/// libaom's speed, as `src/pipeline/codec/avif.rs` sets it.
const AVIF_SPEED: i32 = 9;

/// CPU time of the process, user and system, and its minor page faults.
#[derive(Clone, Copy)]
struct Usage {
    cpu_ns: i128,
    sys_ns: i128,
    minor_faults: i64,
}

fn usage() -> Usage {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    // SAFETY: an all-zero rusage is valid, and getrusage writes it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0, "getrusage");
    Usage {
        cpu_ns: i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec),
        sys_ns: i128::from(ru.ru_stime.tv_sec) * 1_000_000_000 + i128::from(ru.ru_stime.tv_usec) * 1_000,
        minor_faults: ru.ru_minflt,
    }
}

fn ms(ns: i128) -> f64 {
    ns as f64 / 1e6
}

/// An original read, probed and planned for one spec.
struct Case {
    bytes: Vec<u8>,
    spec: FilterSpec,
    probe: Probe,
    plan: Plan,
    limits: Limits,
}

impl Case {
    fn load(image: &str, spec: &str, shrink_on_load: ShrinkOnLoad) -> Result<Self, String> {
        let bytes = std::fs::read(image).map_err(|e| format!("{image}: {e}"))?;
        let spec = FilterSpec::parse(spec).map_err(|e| format!("{spec}: {e}"))?;
        let limits = Limits {
            shrink_on_load,
            ..Limits::default()
        };
        let probe = pipeline::probe(&bytes, &limits).map_err(|e| format!("{image}: {e}"))?;
        let plan = plan_for(&probe, &spec)?;
        Ok(Self {
            bytes,
            spec,
            probe,
            plan,
            limits,
        })
    }

    /// The shrink-on-load denominator the render decodes with (1 but for
    /// JPEG).
    fn shrink(&self) -> u32 {
        pipeline::shrink(&self.probe, &self.plan, &self.limits)
            .ok()
            .flatten()
            .unwrap_or(1)
    }

    /// Probe, plan and render, as one request does.
    fn render(&self) -> Result<pipeline::Rendition, String> {
        let probe = pipeline::probe(&self.bytes, &self.limits).map_err(|e| e.to_string())?;
        let plan = plan_for(&probe, &self.spec)?;
        pipeline::render(&self.bytes, &probe, &plan, &self.limits).map_err(|e| e.to_string())
    }

    /// The JPEG decode alone, at the shrink the render uses; the decoded
    /// pixels' size and byte count.
    fn decode(&self, shrink: u32) -> Result<((u32, u32), usize), String> {
        let header = jpeg::read_header(&self.bytes)?;
        let bitmap = jpeg::decode(&self.bytes, &header, shrink)?;
        Ok(((bitmap.width(), bitmap.height()), bitmap.pixels().len()))
    }
}

fn plan_for(probe: &Probe, spec: &FilterSpec) -> Result<Plan, String> {
    let source = Source {
        size: probe.oriented_size(),
        format: probe.format,
        focal_point: None,
        animated: false,
    };
    plan::plan(&source, spec, &plan::SvgOutput::Svg.into()).map_err(|e| e.to_string())
}

/// The encoder settings of a plan, named as the other engines take them.
fn encoder(encoding: Encoding) -> Value {
    let compression = |c: Compression| match c {
        Compression::Lossy(q) => json!({"quality": q, "lossless": false}),
        Compression::Lossless => json!({"quality": Value::Null, "lossless": true}),
    };
    match encoding {
        Encoding::Jpeg { quality } => json!({
            "quality": quality, "lossless": false, "progressive": true, "optimize": true, "subsampling": "4:2:0"
        }),
        Encoding::Webp(c) => {
            let mut v = compression(c);
            v["method"] = json!(WEBP_METHOD);
            v
        }
        Encoding::Avif(c) => {
            let mut v = compression(c);
            v["speed"] = json!(AVIF_SPEED);
            v["bit_depth"] = json!(8);
            v["subsampling"] = json!(if matches!(c, Compression::Lossless) {
                "4:4:4"
            } else {
                "4:2:0"
            });
            v
        }
        _ => json!({}),
    }
}

fn plan_json(image: &str, case: &Case) -> Value {
    let size = case.probe.oriented_size();
    let (width, height) = case.plan.pixel_size().unwrap_or((0, 0));
    json!({
        "image": image,
        "spec": case.spec.as_str(),
        "source": [size.width, size.height],
        "source_format": case.probe.format.name(),
        "crop": case.plan.crop.to_array(),
        "size": [width, height],
        "format": case.plan.format().name(),
        "encoder": encoder(case.plan.encoding),
        "shrink": case.shrink(),
        "shrink_on_load": case.limits.shrink_on_load.name(),
    })
}

/// Runs `f` `warmup` times untimed, then timed at least `runs` times and
/// until `min_seconds` of CPU time are spent (at most 500 times).
fn time<T>(
    warmup: usize,
    runs: usize,
    min_seconds: f64,
    mut f: impl FnMut() -> Result<T, String>,
) -> Result<(Value, T), String> {
    for _ in 0..warmup {
        black_box(f()?);
    }
    let (mut cpu, mut wall, mut sys, mut faults) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut last = None;
    while cpu.len() < runs.max(1) || (cpu.iter().sum::<f64>() < min_seconds * 1e3 && cpu.len() < 500) {
        let before = usage();
        let started = Instant::now();
        let out = black_box(f()?);
        let elapsed = started.elapsed();
        let after = usage();
        cpu.push(ms(after.cpu_ns - before.cpu_ns));
        sys.push(ms(after.sys_ns - before.sys_ns));
        wall.push(elapsed.as_secs_f64() * 1e3);
        faults.push(after.minor_faults - before.minor_faults);
        last = Some(out);
    }
    let times = json!({"cpu_ms": cpu, "wall_ms": wall, "sys_ms": sys, "minor_faults": faults});
    Ok((times, last.expect("at least one run")))
}

struct Args {
    command: String,
    image: String,
    spec: String,
    runs: usize,
    min_seconds: f64,
    warmup: usize,
    out: Option<String>,
    shrink_on_load: ShrinkOnLoad,
}

fn parse(mut argv: Vec<String>) -> Result<Args, String> {
    // `cargo bench` adds --bench; it means nothing here.
    argv.retain(|a| a != "--bench");
    if !argv
        .first()
        .is_some_and(|first| ["render", "decode", "plan"].contains(&first.as_str()))
    {
        if !argv.is_empty() {
            eprintln!("render_times: no command (render, decode or plan) in {argv:?}: the smoke check");
        }
        return Ok(Args {
            command: "render".into(),
            image: concat!(env!("CARGO_MANIFEST_DIR"), "/test-images/photo-baseline.jpg").into(),
            spec: "fill-400x300".into(),
            runs: 3,
            min_seconds: 0.0,
            warmup: 1,
            out: None,
            shrink_on_load: ShrinkOnLoad::default(),
        });
    }
    let mut positional = Vec::new();
    let (mut runs, mut min_seconds, mut warmup, mut out) = (5, 0.0, 1, None);
    let mut shrink_on_load = ShrinkOnLoad::default();
    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--runs" => runs = value("--runs")?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--min-seconds" => {
                min_seconds = value("--min-seconds")?
                    .parse()
                    .map_err(|e| format!("--min-seconds: {e}"))?
            }
            "--warmup" => warmup = value("--warmup")?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "--out" => out = Some(value("--out")?),
            "--shrink-on-load" => {
                let name = value("--shrink-on-load")?;
                shrink_on_load = ShrinkOnLoad::from_name(&name)
                    .ok_or_else(|| format!("--shrink-on-load: quality, fast or off, not {name:?}"))?;
            }
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}")),
            _ => positional.push(arg),
        }
    }
    let [command, image, spec]: [String; 3] = positional.try_into().map_err(|_| {
        "expected: render|decode|plan IMAGE SPEC [--runs N] [--min-seconds S] [--warmup N] [--out FILE] [--shrink-on-load RULE]".to_owned()
    })?;
    Ok(Args {
        command,
        image,
        spec,
        runs,
        min_seconds,
        warmup,
        out,
        shrink_on_load,
    })
}

fn run(args: &Args) -> Result<Value, String> {
    let case = Case::load(&args.image, &args.spec, args.shrink_on_load)?;
    let mut result = plan_json(&args.image, &case);
    match args.command.as_str() {
        "plan" => {}
        "render" => {
            let (times, rendition) = time(args.warmup, args.runs, args.min_seconds, || case.render())?;
            if let Some(path) = &args.out {
                std::fs::write(path, &rendition.bytes).map_err(|e| format!("{path}: {e}"))?;
            }
            result["engine"] = json!("renditiond");
            result["bytes"] = json!(rendition.bytes.len());
            result["output_format"] = json!(rendition.format.name());
            result["times"] = times;
        }
        "decode" => {
            if case.probe.format != renditiond::format::SourceFormat::Jpeg {
                return Err(format!("{}: decode measures JPEG originals only", args.image));
            }
            let shrink = case.shrink();
            let (times, (size, bytes)) = time(args.warmup, args.runs, args.min_seconds, || case.decode(shrink))?;
            result["engine"] = json!("decode floor");
            result["decoded"] = json!([size.0, size.1]);
            result["bytes"] = json!(bytes);
            result["times"] = times;
        }
        other => return Err(format!("unknown command {other:?}: render, decode or plan")),
    }
    Ok(result)
}

fn main() -> ExitCode {
    // As the service does.
    renditiond::allocator::reuse_large_buffers();
    let result = parse(std::env::args().skip(1).collect()).and_then(|args| run(&args));
    match result {
        Ok(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("render_times: {e}");
            ExitCode::from(2)
        }
    }
}
