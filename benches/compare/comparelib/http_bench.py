"""The HTTP scenarios: renditiond beside thumbor (and nginx for hot hits),
the same originals, one scenario at a time, systems alternated round by
round, each run on a freshly started server, and every run's answers
sampled and checked afterwards."""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from . import checks, engines, machine, servers, wrk
from .checks import Expect, Verdict
from .signing import rendition_path

HERE = Path(__file__).resolve().parent.parent
LUA = HERE / "urls.lua"

# The most requests per second a cold list is sized for by default (on two
# cores: a new 12 MP original per request, 50-80; a new size of one kept
# decode, about 400): a list that runs out wraps, and the wraps are counted
# and reported as a problem. 18,020 of the 30,000 fill sizes.
COLD_MAX_RATE = 1000
SRCSET_WIDTHS = (400, 800, 1200, 1600, 2000)
FILL = (400, 300)
SCENARIOS = ("cold-image", "cold-spec", "srcset", "hot")
RENDITIOND = "renditiond"
# cold-image again with RENDITIOND_SHRINK_ON_LOAD=fast: decoded at 1/8, as
# thumbor's Pillow `draft` decodes it.
RENDITIOND_FAST = "renditiond (fast shrink)"

T = TypeVar("T")
# A path's answer: status, Content-Type, body.
Answer = tuple[str, int, str, bytes]
StartServer = Callable[[], AbstractContextManager[servers.Server]]


@dataclass
class HttpConfig:
    warmup_s: float
    duration_s: float
    rounds: int
    srcset_originals: int
    threads: int = 2
    connections: int = 8
    # Responses checked after each run: this many of each wrk thread's first paths.
    checks_per_thread: int = 3
    # Time the machine-speed reference (Pillow) before each run.
    reference: bool = True
    # Requests per second the cold lists are sized for.
    cold_max_rate: int = COLD_MAX_RATE


@dataclass
class Setup:
    """What the scenarios run against."""

    work: Path
    originals: Path
    settings: servers.RenditiondSettings
    thumbor_venv: Path | None
    wrk: Path
    nginx: Path
    ref_image: Path | None
    # The subject original's pixel size.
    subject_size: tuple[int, int]
    systems: tuple[str, ...] = ("renditiond", "thumbor", "nginx")

    @property
    def key(self) -> str:
        return self.settings.signing_key


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def prepare_originals(subject: Path, originals: Path, count: int) -> None:
    """A fresh folder: `photo.jpg`, a copy of `subject`, and `count`
    symbolic links to it, `cold/img-NNNNN.jpg`: a new original per request
    for both servers (renditiond's key and version, thumbor's path) without
    gigabytes of copies."""
    shutil.rmtree(originals, ignore_errors=True)
    (originals / "cold").mkdir(parents=True)
    shutil.copyfile(subject, originals / "photo.jpg")
    for name in cold_names(0, count):
        (originals / name).symlink_to(Path("..") / "photo.jpg")


def cold_list_lengths(cfg: HttpConfig) -> tuple[int, int]:
    """How many originals (or fill sizes) the warm-up and the run take."""
    return int(cfg.cold_max_rate * cfg.warmup_s) + 10, int(cfg.cold_max_rate * cfg.duration_s) + 10


def cold_names(start: int, stop: int) -> list[str]:
    return [f"cold/img-{i:05d}.jpg" for i in range(start, stop)]


def fill_sizes(seed: int = 1) -> list[tuple[int, int]]:
    """Every fill size W 300-499 x H 225-374, shuffled (as anchors-bench.md),
    but 400x300: the size every run's first request (its prime) renders."""
    sizes = [(w, h) for w in range(300, 500) for h in range(225, 375) if (w, h) != FILL]
    random.Random(seed).shuffle(sizes)
    return sizes


@dataclass
class System:
    """One system of a scenario: how to start it, what to ask it, and what
    the answers must be."""

    name: str
    start: StartServer
    warm: list[str] | str
    run: list[str] | str
    close: bool
    # Checked before the warm-up (the server works) and after the run.
    prime: Expect | None
    expects: list[Expect] = field(default_factory=list)
    # renditiond: read its counters after the run.
    metrics: bool = False


def write_list(work: Path, name: str, paths: list[str]) -> Path:
    path = work / "lists" / f"{name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(paths) + "\n")
    return path


def run_wrk(
    setup: Setup, cfg: HttpConfig, port: int, target: list[str] | str, name: str, seconds: float, close: bool
) -> wrk.WrkResult:
    env = dict(os.environ)
    url = f"http://{servers.HOST}:{port}"
    if isinstance(target, list):
        env["COMPARE_URL_LIST"] = str(write_list(setup.work, name, target))
        env["COMPARE_WRK_THREADS"] = str(cfg.threads)
    else:
        env.pop("COMPARE_URL_LIST", None)
        url += target
    if seconds < 1 or seconds != int(seconds):
        raise ValueError(f"wrk runs whole seconds, not {seconds}")
    argv = [
        str(setup.wrk),
        f"-t{cfg.threads}",
        f"-c{cfg.connections}",
        f"-d{int(seconds)}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
    ]
    if close:
        argv += ["-H", "Connection: close"]
    argv.append(url)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 90, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()} {done.stdout.strip()}")
    result = wrk.parse(done.stdout)
    if not result.exact:
        raise RuntimeError(f"wrk printed no {wrk.JSON_PREFIX.strip()} line (urls.lua not run?)")
    return result


def renditiond_counts(port: int) -> dict[str, int]:
    status, body = servers.get(port, "/metrics")
    if status != 200:
        raise RuntimeError(f"renditiond /metrics answered {status}")
    return checks.renditiond_counts(body.decode())


def measure(setup: Setup, cfg: HttpConfig, scenario: str, system: System, round_: int) -> dict[str, Any]:
    """Starts the system, checks it answers, runs the warm-up and the
    measured run, then checks a sample of the run's answers."""
    load = machine.load1()
    ref = engines.reference_ms(setup.ref_image) if cfg.reference and setup.ref_image else None
    verdict = Verdict()
    with system.start() as server:
        if system.prime:
            verdict.add(checks.verify(servers.HOST, server.port, [system.prime]))
        with machine.Sampler(server.pids) as sampler:
            run_wrk(
                setup,
                cfg,
                server.port,
                system.warm,
                f"{scenario}-{system.name}-warm",
                cfg.warmup_s,
                system.close,
            )
            # Renders the warm-up left running (neither server cancels a
            # render whose client went away) would count in the run.
            idle_wait = server.wait_idle()
            cpu0 = server.cpu_seconds()
            with machine.OtherLoad(server.pids) as other:
                result = run_wrk(
                    setup,
                    cfg,
                    server.port,
                    system.run,
                    f"{scenario}-{system.name}-run",
                    cfg.duration_s,
                    system.close,
                )
            cpu1 = server.cpu_seconds()
        counts = renditiond_counts(server.port) if system.metrics else None
        verdict.add(checks.verify(servers.HOST, server.port, system.expects))
    sample = sampler.sample
    row: dict[str, Any] = {
        "scenario": scenario,
        "system": system.name,
        "round": round_,
        "connection": "close" if system.close else "keep-alive",
        "req_per_s": result.req_per_s,
        "latency_ms": result.latency_ms,
        "requests": result.requests,
        "errors": result.error_count,
        "error_kinds": result.errors,
        "non_2xx": result.non_2xx,
        "server_cpu_ms_per_req": (cpu1 - cpu0) * 1000 / result.requests if result.requests else None,
        "peak_rss_mb": sample.peak_rss_bytes / 1e6,
        "largest_process_peak_mb": sample.largest_hwm_bytes / 1e6,
        "processes": len(server.pids),
        "list_wrapped": result.wrapped if isinstance(system.run, list) else None,
        "list_length": len(system.run) if isinstance(system.run, list) else 1,
        "load1_before": load,
        "other_cores": other.cores,
        "idle_wait_s": idle_wait,
        "ref_ms": ref,
        "probe_us": sample.probe_median_us,
        "renditiond_counts": counts,
        "checked": verdict.to_dict(),
    }
    row["problems"] = run_problems(row)
    p = result.latency_ms
    log(
        f"  {scenario:10} {system.name:16} r{round_} {result.req_per_s:9.1f} req/s"
        f"  p50 {p.get('p50', 0):7.2f}  p99 {p.get('p99', 0):7.2f} ms"
        f"  cpu {row['server_cpu_ms_per_req'] or 0:7.2f} ms/req"
        f"  rss {row['peak_rss_mb']:6.0f} MB  errors {result.error_count}/{result.non_2xx}"
        f"  checked {verdict.checked}  other {other.cores or 0:.2f} cores  load {load:.2f}"
        f"  (idle after warm-up in {idle_wait:.1f} s)"
    )
    for problem in row["problems"]:
        log(f"  PROBLEM: {problem}")
    return row


def run_problems(row: dict[str, Any]) -> list[str]:
    """What makes a run's figures wrong or doubtful, in words."""
    name = f"{row['scenario']} {row['system']} round {row['round']}"
    problems = []
    if row["errors"]:
        problems.append(f"{name}: {row['errors']} socket errors or timeouts ({row['error_kinds']})")
    if row["non_2xx"]:
        problems.append(f"{name}: {row['non_2xx']} answers other than 2xx/3xx")
    if row["list_wrapped"]:
        problems.append(f"{name}: the URL list ran out {row['list_wrapped']} times (repeats were cache hits)")
    if not row["requests"]:
        problems.append(f"{name}: no request completed")
    problems += [f"{name}: {f}" for f in row["checked"]["failures"]]
    counts = row.get("renditiond_counts")
    if counts:
        if counts["not_200"]:
            problems.append(f"{name}: renditiond counted {counts['not_200']} answers other than 200")
        if row["scenario"].startswith("cold") and counts["memory_hits"]:
            problems.append(f"{name}: {counts['memory_hits']} memory-cache hits in a cold run")
    return problems


def alternated(systems: list[T], rounds: int) -> Iterator[tuple[int, T]]:
    """A B, B A, A B...: adjacent runs of different systems, each first in turn."""
    for r in range(rounds):
        order = systems if r % 2 == 0 else list(reversed(systems))
        for s in order:
            yield r + 1, s


def sampled(paths: list[str], cfg: HttpConfig, sizes: list[tuple[int, int]]) -> list[Expect]:
    """Expectations for paths the run surely asked for (`sizes[i]` is what
    `paths[i]` must answer)."""
    picked = checks.first_of_each_thread(paths, cfg.threads, cfg.checks_per_thread)
    return [Expect(paths[i], sizes[i], progressive=True) for i in picked]


def run_http(setup: Setup, cfg: HttpConfig, scenarios: list[str]) -> dict[str, Any]:
    key = setup.key
    work = setup.work
    runs: list[dict[str, Any]] = []
    part: dict[str, Any] = {"load1_before": machine.load1(), "runs": runs, "config": asdict(cfg)}
    log(f"HTTP part, load {part['load1_before']:.2f}")

    def start_renditiond() -> AbstractContextManager[servers.Server]:
        return servers.renditiond(setup.settings, work)

    def start_renditiond_fast() -> AbstractContextManager[servers.Server]:
        # Shrunk on load as far as Pillow's draft shrinks for thumbor.
        return servers.renditiond(replace(setup.settings, shrink_on_load="fast"), work)

    def start_thumbor() -> AbstractContextManager[servers.Server]:
        if setup.thumbor_venv is None:
            raise RuntimeError("thumbor's virtualenv was not given")
        return servers.thumbor(setup.thumbor_venv, setup.originals, work)

    starts = {"renditiond": start_renditiond, "thumbor": start_thumbor}
    warm_n, run_n = cold_list_lengths(cfg)
    hot_r = rendition_path(key, "fill-400x300", "photo.jpg")
    hot_t = "/unsafe/400x300/photo.jpg"
    prime_r = Expect(hot_r, FILL, progressive=True)
    prime_t = Expect(hot_t, FILL, progressive=True)
    static: Path | None = None

    try:
        for scenario in scenarios:
            systems: list[System] = []
            if scenario == "cold-image":
                warm, run = cold_names(0, warm_n), cold_names(warm_n, warm_n + run_n)
                paths_r = [rendition_path(key, "fill-400x300", k) for k in run]
                paths_t = [f"/unsafe/400x300/{k}" for k in run]
                systems = [
                    System(
                        name,
                        start,
                        [rendition_path(key, "fill-400x300", k) for k in warm],
                        paths_r,
                        close=True,
                        prime=prime_r,
                        expects=sampled(paths_r, cfg, [FILL] * len(paths_r)),
                        metrics=True,
                    )
                    for name, start in (
                        (RENDITIOND, start_renditiond),
                        (RENDITIOND_FAST, start_renditiond_fast),
                    )
                ] + [
                    System(
                        "thumbor",
                        start_thumbor,
                        [f"/unsafe/400x300/{k}" for k in warm],
                        paths_t,
                        close=True,
                        prime=prime_t,
                        expects=sampled(paths_t, cfg, [FILL] * len(paths_t)),
                    ),
                ]
            elif scenario == "cold-spec":
                sizes = fill_sizes()
                warm_s, run_s = sizes[:warm_n], sizes[warm_n:]
                paths_r = [rendition_path(key, f"fill-{w}x{h}", "photo.jpg") for w, h in run_s]
                paths_t = [f"/unsafe/{w}x{h}/photo.jpg" for w, h in run_s]
                systems = [
                    System(
                        "renditiond",
                        start_renditiond,
                        [rendition_path(key, f"fill-{w}x{h}", "photo.jpg") for w, h in warm_s],
                        paths_r,
                        close=True,
                        prime=prime_r,
                        expects=sampled(paths_r, cfg, run_s),
                        metrics=True,
                    ),
                    System(
                        "thumbor",
                        start_thumbor,
                        [f"/unsafe/{w}x{h}/photo.jpg" for w, h in warm_s],
                        paths_t,
                        close=True,
                        prime=prime_t,
                        expects=sampled(paths_t, cfg, run_s),
                    ),
                ]
            elif scenario == "hot":
                static = Path(tempfile.mkdtemp(prefix="renditiond-compare-nginx-"))
                systems = hot_systems(setup, static, start_renditiond, start_thumbor, prime_r, prime_t)
            elif scenario == "srcset":
                part["srcset"] = run_srcset(
                    setup, cfg, [(s, starts[s]) for s in ("renditiond", "thumbor") if s in setup.systems]
                )
                continue
            else:
                raise ValueError(f"unknown scenario {scenario}")
            systems = [s for s in systems if s.name.split()[0] in setup.systems]
            log(f"{scenario}: load {machine.load1():.2f}")
            for round_, system in alternated(systems, cfg.rounds):
                runs.append(measure(setup, cfg, scenario, system, round_))
    finally:
        if static is not None:
            shutil.rmtree(static, ignore_errors=True)
    return part


def hot_systems(
    setup: Setup,
    static: Path,
    start_renditiond: StartServer,
    start_thumbor: StartServer,
    prime_r: Expect,
    prime_t: Expect,
) -> list[System]:
    """renditiond's memory hit; nginx serving the same bytes as a static file;
    thumbor's result-storage hit (keep-alive, and Connection: close as
    anchors-bench.md's headline). Every one with the same wrk settings."""
    with start_renditiond() as server:
        status, body = servers.get(server.port, prime_r.path, timeout=60)
    problem = checks.check_body(prime_r, status, "image/jpeg", body)
    if problem:
        raise RuntimeError(f"renditiond's hot rendition: {problem}")
    # nginx's workers run as nobody under root: a folder everybody may read.
    static.chmod(0o755)
    (static / "rendition.jpg").write_bytes(body)
    (static / "rendition.jpg").chmod(0o644)
    prime_n = Expect("/rendition.jpg", FILL, progressive=True)

    def start_nginx() -> AbstractContextManager[servers.Server]:
        return servers.nginx(setup.nginx, static, "/rendition.jpg", setup.work)

    return [
        System("renditiond", start_renditiond, prime_r.path, prime_r.path, False, prime_r, [prime_r], True),
        System("nginx", start_nginx, prime_n.path, prime_n.path, False, prime_n, [prime_n]),
        System("thumbor", start_thumbor, prime_t.path, prime_t.path, False, prime_t, [prime_t]),
        System("thumbor (close)", start_thumbor, prime_t.path, prime_t.path, True, prime_t, [prime_t]),
    ]


def width_size(width: int, source: tuple[int, int]) -> tuple[int, int]:
    """`width-W` of a `source`-sized original: never enlarged (Wagtail); the
    height as Wagtail rounds it (down)."""
    sw, sh = source
    w = min(width, sw)
    return (w, sh * w // sw)


def run_srcset(setup: Setup, cfg: HttpConfig, systems: list[tuple[str, StartServer]]) -> dict[str, Any]:
    """A srcset's five widths of one cold original against width-2000 alone
    of another, alternated over several originals. renditiond: one
    `POST /v1/warm`; thumbor (which has no batch): five GETs in turn. The
    answers are checked after the timing."""
    n = cfg.srcset_originals
    names = cold_names(0, 2 * n)
    rows: list[dict[str, Any]] = []
    log(f"srcset: load {machine.load1():.2f}")
    for round_, (name, start) in alternated(systems, cfg.rounds):
        load = machine.load1()
        verdict = Verdict()
        timings: dict[str, list[tuple[float, float]]] = {"srcset": [], "width-2000": []}
        with start() as server, machine.OtherLoad(server.pids) as other:
            conn = http.client.HTTPConnection(servers.HOST, server.port, timeout=120)
            answers: list[Answer] = []
            expects: dict[str, Expect] = {}
            try:
                for i in range(n):
                    a, b = names[2 * i], names[2 * i + 1]
                    pairs = [("srcset", a), ("width-2000", b)]
                    for kind, key in pairs if i % 2 == 0 else pairs[::-1]:
                        widths = SRCSET_WIDTHS if kind == "srcset" else (2000,)
                        paths = [
                            rendition_path(setup.key, f"width-{w}", key)
                            if name == "renditiond"
                            else f"/unsafe/{w}x0/{key}"
                            for w in widths
                        ]
                        for w, path in zip(widths, paths, strict=True):
                            expects[path] = Expect(path, width_size(w, setup.subject_size), progressive=True)
                        cpu0, t0 = server.cpu_seconds(), time.perf_counter()
                        if name == "renditiond" and kind == "srcset":
                            problems = warm_renditiond(conn, setup.settings.api_token, key, widths)
                        else:
                            answers += get_all(conn, paths)
                            problems = []
                        t1, cpu1 = time.perf_counter(), server.cpu_seconds()
                        timings[kind].append(((t1 - t0) * 1000, (cpu1 - cpu0) * 1000))
                        verdict.failures += [f"{key}: {p}" for p in problems]
            finally:
                conn.close()
            # What the timed GETs answered, then the renditions that were
            # warmed (GETs now: renditiond's memory hits).
            for path, status, ctype, body in answers:
                verdict.checked += 1
                problem = checks.check_body(expects[path], status, ctype, body)
                if problem:
                    verdict.failures.append(problem)
                else:
                    verdict.body_bytes.append(len(body))
            got = {path for path, _, _, _ in answers}
            rest = [e for path, e in expects.items() if path not in got]
            if rest:
                verdict.add(checks.verify(servers.HOST, server.port, rest))
        row: dict[str, Any] = {
            "system": name,
            "round": round_,
            "load1_before": load,
            "other_cores": other.cores,
            "originals": n,
            "checked": verdict.to_dict(),
        }
        for kind, values in timings.items():
            row[kind] = {
                "wall_ms": statistics.median(v[0] for v in values),
                "cpu_ms": statistics.mean(v[1] for v in values),
                "wall_all_ms": [round(v[0], 1) for v in values],
            }
        row["ratio"] = row["srcset"]["wall_ms"] / row["width-2000"]["wall_ms"]
        row["problems"] = [f"srcset {name} round {round_}: {f}" for f in verdict.failures]
        log(
            f"  srcset {name:10} r{round_} five widths {row['srcset']['wall_ms']:7.1f} ms"
            f" (cpu {row['srcset']['cpu_ms']:6.1f}), width-2000 {row['width-2000']['wall_ms']:7.1f} ms"
            f" (cpu {row['width-2000']['cpu_ms']:6.1f}), ratio {row['ratio']:.2f}"
            f"  checked {verdict.checked}  other {other.cores or 0:.2f} cores  load {load:.2f}"
        )
        for problem in row["problems"]:
            log(f"  PROBLEM: {problem}")
        rows.append(row)
    return {"widths": list(SRCSET_WIDTHS), "rows": rows}


def get_all(conn: http.client.HTTPConnection, paths: list[str]) -> list[Answer]:
    """GETs each path in turn on `conn`; the answers, unchecked (checking
    takes time too: it comes after the timing)."""
    out = []
    for path in paths:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        out.append((path, resp.status, resp.getheader("Content-Type", ""), body))
    return out


def warm_renditiond(
    conn: http.client.HTTPConnection, token: str, original: str, widths: tuple[int, ...]
) -> list[str]:
    """`POST /v1/warm` of the widths of one original; what is wrong with the
    answer (every spec must be `rendered`: the original was cold)."""
    specs = [f"width-{w}" for w in widths]
    payload = json.dumps([{"key": original, "specs": specs}])
    conn.request(
        "POST",
        "/v1/warm",
        body=payload,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    resp = conn.getresponse()
    answer = resp.read()
    if resp.status != 200:
        return [f"/v1/warm answered {resp.status} {answer[:200]!r}"]
    try:
        renditions = json.loads(answer)[0]["renditions"]
    except (ValueError, LookupError, TypeError) as e:
        return [f"/v1/warm answered {answer[:200]!r} ({e})"]
    statuses = [r.get("status") for r in renditions]
    if statuses != ["rendered"] * len(specs):
        return [f"/v1/warm: {statuses}, expected {len(specs)} × rendered"]
    return []
