"""The report: one table of ratios against the goals of issue 15, every
figure computed from the run's results, then the raw figures, in Markdown."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]

# The in-process cells the goals name: (image, spec).
HEADLINE_CELL = ("photo_12mp.jpg", "fill-400x300")
FORMAT_CELLS = (
    ("photo_12mp.jpg", "width-1200"),
    ("photo_12mp.jpg", "fill-400x300|format-webp"),
    ("photo_12mp.jpg", "width-1200|format-avif"),
    ("photo_12mp_progressive.jpg", "fill-400x300"),
)
# "At equal output size and quality": renditiond's bytes at most this much
# above a peer's, and its SSIM at most this much below.
EQUAL_BYTES = 1.05
EQUAL_SSIM = 0.005


@dataclass
class Goal:
    """One line of the goals table."""

    scenario: str
    measure: str
    renditiond: str
    peer: str
    ratio: str
    goal: str
    met: bool | None
    load: str


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def times(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}×"


def against(value: float | None, bound: float) -> str:
    """A ratio beside its goal's bound: with a third decimal when two would
    read as the bound itself (1.104 against at most 1.10 is not met)."""
    text = times(value)
    if value is not None and value != bound and text == times(bound):
        text = times(value, 3)
    return text


def per_s(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} req/s"


def mean(values: Iterable[float | None]) -> float | None:
    vs = [v for v in values if v is not None]
    return statistics.mean(vs) if vs else None


def ratio(a: float | None, b: float | None) -> float | None:
    """a ÷ b, or None when either is missing or b is 0."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def conditions(rows: Iterable[Row]) -> str:
    """The 1-minute load before, and the other processes' CPU during, some runs."""
    rs = list(rows)
    loads = [r["load1_before"] for r in rs if r.get("load1_before") is not None]
    others = [r["other_cores"] for r in rs if r.get("other_cores") is not None]
    if not loads:
        return "–"
    lo, hi = min(loads), max(loads)
    text = f"{lo:.2f}" if hi - lo < 0.005 else f"{lo:.2f}–{hi:.2f}"
    if others:
        text += f"; other {max(others):.2f} cores"
    return text


def runs_of(results: Row, scenario: str, system: str) -> list[Row]:
    http = results.get("http") or {}
    return [r for r in http.get("runs", []) if r["scenario"] == scenario and r["system"] == system]


def cell_of(results: Row, image: str, spec: str) -> Row | None:
    for cell in (results.get("inprocess") or {}).get("cells", []):
        if cell["image"] == image and cell["spec"] == spec:
            return dict(cell)
    return None


def at_least(value: float | None, bound: float) -> bool | None:
    return None if value is None else value >= bound


def at_most(value: float | None, bound: float) -> bool | None:
    return None if value is None else value <= bound


def throughput_goal(
    results: Row, scenario: str, label: str, peer: str, bound: float, system: str = "renditiond"
) -> Goal:
    ours, theirs = runs_of(results, scenario, system), runs_of(results, scenario, peer)
    a, b = mean(r["req_per_s"] for r in ours), mean(r["req_per_s"] for r in theirs)
    r = ratio(a, b)
    return Goal(
        scenario,
        f"req/s vs {peer} ({label})",
        per_s(a),
        per_s(b),
        against(r, bound),
        f"≥ {bound:g}×",
        at_least(r, bound),
        conditions(ours + theirs),
    )


def srcset_goal(results: Row) -> Goal:
    rows = ((results.get("http") or {}).get("srcset") or {}).get("rows", [])
    ours = [r for r in rows if r["system"] == "renditiond"]
    theirs = [r for r in rows if r["system"] == "thumbor"]

    def text(rs: list[Row]) -> str:
        if not rs:
            return "–"
        five, one = mean(r["srcset"]["wall_ms"] for r in rs), mean(r["width-2000"]["wall_ms"] for r in rs)
        return f"{fmt(five, 0)} ms ÷ {fmt(one, 0)} ms"

    r = mean(x["ratio"] for x in ours)
    peer = (
        f"thumbor, five GETs: {text(theirs)} = {times(mean(x['ratio'] for x in theirs))}" if theirs else "–"
    )
    return Goal(
        "srcset",
        "`POST /v1/warm` of widths 400–2000 ÷ `width-2000` alone, wall time, both cold",
        text(ours),
        peer,
        against(r, 1.5),
        "≤ 1.5×",
        at_most(r, 1.5),
        conditions(rows),
    )


def inprocess_goals(results: Row) -> list[Goal]:
    goals = []
    cell = cell_of(results, *HEADLINE_CELL)
    if cell:
        e = cell["engines"]
        ours = e["renditiond"]["cpu_ms"]
        vips = e.get("vips", {}).get("cpu_ms")
        floor = e.get("floor", {}).get("cpu_ms")
        r = ratio(vips, ours)
        goals.append(
            Goal(
                "in-process",
                "12 MP → `fill-400x300` JPEG, CPU, vs libvips",
                f"{fmt(ours)} ms",
                f"libvips {fmt(vips)} ms",
                against(r, 1.3),
                "≥ 1.3×",
                at_least(r, 1.3),
                conditions([cell]),
            )
        )
        f = ratio(ours, floor)
        goals.append(
            Goal(
                "in-process",
                "same, renditiond ÷ its decode floor (the JPEG decode alone at the same shrink)",
                f"{fmt(ours)} ms",
                f"decode {fmt(floor)} ms",
                against(f, 1.10),
                "≤ 1.10×",
                at_most(f, 1.10),
                conditions([cell]),
            )
        )
    for image, spec in FORMAT_CELLS:
        cell = cell_of(results, image, spec)
        if cell:
            goals.append(format_goal(cell))
    return goals


def format_goal(cell: Row) -> Goal:
    """Faster than Pillow and libvips, at equal output size and quality."""
    e = cell["engines"]
    ours = e["renditiond"]
    peers = [p for p in ("pillow", "vips") if p in e]
    names = {"pillow": "Pillow", "vips": "libvips"}

    def figures(x: Row) -> str:
        kib = fmt((x.get("bytes") or 0) / 1024, 0)
        return f"{fmt(x['cpu_ms'])} ms, {kib} KiB, SSIM {fmt(x.get('ssim'), 4)}"

    ratios = [ratio(e[p]["cpu_ms"], ours["cpu_ms"]) for p in peers]
    faster = all(r is not None and r > 1.0 for r in ratios) if peers else None
    equal = True
    for p in peers:
        b = ratio(ours.get("bytes"), e[p].get("bytes"))
        s_ours, s_peer = ours.get("ssim"), e[p].get("ssim")
        if b is None or b > EQUAL_BYTES or s_ours is None or s_peer is None or s_ours < s_peer - EQUAL_SSIM:
            equal = False
    image = cell["image"].removesuffix(".jpg").replace("photo_", "")
    return Goal(
        "in-process",
        f"{image} → `{cell['spec']}`, CPU, vs Pillow + draft / libvips",
        figures(ours),
        "; ".join(f"{names[p]} {figures(e[p])}" for p in peers) or "–",
        " / ".join(times(r) for r in ratios) or "–",
        f"> 1× both, bytes ≤ +{(EQUAL_BYTES - 1) * 100:.0f} %, SSIM ≥ −{EQUAL_SSIM}",
        None if faster is None else faster and equal,
        conditions([cell]),
    )


def hot_goals(results: Row) -> list[Goal]:
    ours, nginx = runs_of(results, "hot", "renditiond"), runs_of(results, "hot", "nginx")
    a, b = mean(r["req_per_s"] for r in ours), mean(r["req_per_s"] for r in nginx)
    r = ratio(a, b)
    p99 = [r["latency_ms"].get("p99") for r in ours]
    worst = max((p for p in p99 if p is not None), default=None)
    nginx_p99 = max((r["latency_ms"].get("p99") or 0 for r in nginx), default=None)
    return [
        Goal(
            "hot",
            "req/s vs nginx serving the same bytes (static file), keep-alive, c=8",
            per_s(a),
            per_s(b),
            against(r, 0.8),
            "≥ 0.8×",
            at_least(r, 0.8),
            conditions(ours + nginx),
        ),
        Goal(
            "hot",
            "p99 latency (worst round)",
            f"{fmt(worst, 2)} ms",
            f"nginx {fmt(nginx_p99, 2)} ms" if nginx else "–",
            "–",
            "< 3 ms",
            None if worst is None else worst < 3.0,
            conditions(ours),
        ),
    ]


def memory_goal(results: Row) -> Goal:
    ours = [
        r
        for scenario in ("cold-image", "cold-spec")
        for system in ("renditiond", "renditiond (fast shrink)")
        for r in runs_of(results, scenario, system)
    ]
    theirs = runs_of(results, "cold-image", "thumbor") + runs_of(results, "cold-spec", "thumbor")

    # The sampled sum of the processes' RSS, or the largest process's own
    # high-water mark (VmHWM) when a spike fell between two samples.
    def peak(r: Row) -> float:
        return max(r["peak_rss_mb"], r["largest_process_peak_mb"])

    worst = max(ours, key=peak, default=None)
    a = None if worst is None else peak(worst)
    b = max((peak(r) for r in theirs), default=None)
    return Goal(
        "cold",
        "peak RSS under cold load (c=8), largest of the cold runs (sampled sum, or VmHWM)",
        "–" if worst is None else f"{a:,.0f} MB{cache_share(worst)}",
        f"thumbor {b:,.0f} MB (its {theirs[0]['processes']} processes)" if b is not None else "–",
        times(ratio(b, a)),
        "≤ 200 MB",
        at_most(a, 200.0),
        conditions(ours),
    )


def cache_share(r: Row) -> str:
    """What renditiond's caches held at the end of run `r` (its /metrics),
    as a note to its peak RSS: the memory tier fills under cold load by
    design, up to RENDITIOND_MEMORY_CACHE_BYTES."""
    c = r.get("renditiond_counts") or {}
    if "memory_cache_bytes" not in c:
        return ""
    return (
        f" (at the end, {c['memory_cache_bytes'] / 1e6:,.0f} MB of renditions in the memory tier"
        f" and {c['decoded_cache_bytes'] / 1e6:,.0f} MB of decoded originals)"
    )


def goals(results: Row) -> list[Goal]:
    out: list[Goal] = []
    if results.get("http"):
        out.append(
            throughput_goal(
                results, "cold-image", "a new original per request, `fill-400x300`", "thumbor", 1.15
            )
        )
        if runs_of(results, "cold-image", "renditiond (fast shrink)"):
            out.append(
                throughput_goal(
                    results,
                    "cold-image",
                    "the same, both decoding at 1/8: `RENDITIOND_SHRINK_ON_LOAD=fast` and Pillow's `draft`",
                    "thumbor",
                    1.15,
                    system="renditiond (fast shrink)",
                )
            )
        out.append(
            throughput_goal(
                results, "cold-spec", "the same original, a new fill size per request", "thumbor", 8.0
            )
        )
        out.append(srcset_goal(results))
    out += inprocess_goals(results)
    if results.get("http"):
        out += hot_goals(results)
        out.append(memory_goal(results))
    return out


def met_text(met: bool | None) -> str:
    return "–" if met is None else ("yes" if met else "**no**")


def problems(results: Row) -> list[str]:
    """Every problem the runs recorded: socket errors, non-2xx answers, failed
    output checks, lists that ran out, cache hits in cold runs."""
    found: list[str] = []
    http = results.get("http") or {}
    for r in http.get("runs", []):
        found += r.get("problems", [])
    for r in (http.get("srcset") or {}).get("rows", []):
        found += r.get("problems", [])
    for cell in (results.get("inprocess") or {}).get("cells", []):
        found += cell.get("problems", [])
    return found


def escape(cell: str) -> str:
    """A table cell: `|` would end it, even inside backticks."""
    return cell.replace("|", "\\|")


def table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    align = align or ("|---" + "|---:" * (len(header) - 1) + "|")
    lines = ["| " + " | ".join(header) + " |", align]
    lines += ["| " + " | ".join(escape(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def markdown(results: Row) -> str:
    m = results["machine"]
    out = [f"## renditiond beside thumbor, nginx, Pillow and libvips, {m['date']}", ""]
    parts = [(key, name) for key, name in (("http", "HTTP"), ("inprocess", "in-process")) if key in results]
    out.append(
        f"Machine: {m['cpu_model']}, {m['nproc']} CPUs, {m['memory_gib']} GiB, Linux {m['kernel']}. "
        "Load average when the run started: "
        + " / ".join(f"{x:.2f}" for x in m["loadavg"])
        + (
            ", after: " + " / ".join(f"{x:.2f}" for x in results["loadavg_after"])
            if results.get("loadavg_after")
            else ""
        )
        + "; 1-minute load before each part: "
        + ", ".join(f"{name} {results[key]['load1_before']:.2f}" for key, name in parts)
        + f". Mode: {results['mode']}. Subject of the HTTP scenarios: {results.get('subject', '?')}."
    )
    out.append("")
    out.append(
        "Every figure is from this run. Ratios are in the goal's direction: req/s and time ratios are "
        "renditiond's advantage (above 1: renditiond is better), srcset and the decode floor are "
        "renditiond's own time ratios (lower is better). HTTP figures are means over the rounds, "
        "in-process ones medians of CPU time. The last column is the 1-minute load average before the "
        'runs concerned and, after "other", the most CPU (in cores) the rest of the machine used '
        "during one of them: more than ~0.2 means another program competed and the figures are doubtful."
    )
    out.append("")
    header = ["scenario", "measure", "renditiond", "peer", "ratio", "goal", "met", "load; other CPU"]
    rows = [
        [g.scenario, g.measure, g.renditiond, g.peer, g.ratio, g.goal, met_text(g.met), g.load]
        for g in goals(results)
    ]
    out.append(table(header, rows, "|---|---|---:|---:|---:|---|---|---|"))
    out.append("")
    found = results.get("problems") or problems(results)
    if found:
        out.append(f"**Problems ({len(found)}):**")
        out.append("")
        out += [f"- {p}" for p in found]
    else:
        out.append(
            "No problems: no socket error, timeout or non-2xx answer, every sampled answer and every "
            "in-process output had the planned format and size, no URL list ran out, no cache hit in a "
            "cold run."
        )
    out.append("")
    if "http" in results:
        out += http_raw(results["http"])
    if "inprocess" in results:
        out += inprocess_raw(results["inprocess"])
    out += settings_md(results)
    return "\n".join(out) + "\n"


def counts_text(r: Row) -> str:
    c = r.get("renditiond_counts")
    if not c:
        return "–"
    return f"{c['renders']:,} / {c['memory_hits']:,}"


def http_raw(http: Row) -> list[str]:
    cfg = http["config"]
    out = [
        f"### HTTP runs (wrk -t{cfg['threads']} -c{cfg['connections']}, {cfg['duration_s']:g} s after a "
        f"{cfg['warmup_s']:g} s warm-up and its renders' end, {cfg['rounds']} rounds, "
        "a fresh server per run)",
        "",
    ]
    rows = []
    for r in http["runs"]:
        lat = r["latency_ms"]
        wrapped = "–" if r["list_wrapped"] is None else f"{r['list_wrapped']} of {r['list_length']:,}"
        checked = r["checked"]
        rows.append(
            [
                r["scenario"],
                r["system"],
                str(r["round"]),
                r["connection"],
                fmt(r["req_per_s"]),
                f"{r['requests']:,}",
                fmt(lat.get("p50"), 2),
                fmt(lat.get("p90"), 2),
                fmt(lat.get("p99"), 2),
                fmt(lat.get("max"), 1),
                f"{r['errors']} / {r['non_2xx']}",
                f"{checked['checked'] - len(checked['failures'])} of {checked['checked']}",
                fmt(r["server_cpu_ms_per_req"], 2),
                fmt(r["peak_rss_mb"], 0),
                fmt(r["largest_process_peak_mb"], 0),
                str(r["processes"]),
                wrapped,
                counts_text(r),
                f"{r['load1_before']:.2f}",
                fmt(r.get("other_cores"), 2),
                fmt(r.get("ref_ms"), 1),
                fmt(r.get("probe_us"), 0),
            ]
        )
    out.append(
        table(
            [
                "scenario",
                "system",
                "round",
                "connection",
                "req/s",
                "requests",
                "p50 ms",
                "p90 ms",
                "p99 ms",
                "max ms",
                "errors / non-2xx",
                "answers checked OK",
                "server CPU ms/req",
                "peak RSS MB (sum)",
                "largest process peak MB",
                "processes",
                "list wrapped",
                "renders / memory hits (renditiond's count)",
                "load",
                "other cores",
                "ref ms",
                "probe µs",
            ],
            rows,
            "|---|---|---:|---|" + "---:|" * 18,
        )
    )
    out.append("")
    sizes = {}
    for r in http["runs"]:
        b = r["checked"]["body_bytes"]
        if b and r["scenario"] != "cold-spec":
            sizes[r["system"]] = statistics.median(b)
    if sizes:
        out.append(
            "`fill-400x300` of the subject, as answered: "
            + "; ".join(f"{s} {b:,.0f} bytes" for s, b in sorted(sizes.items()))
            + " (all progressive JPEG)."
        )
        out.append("")
    srcset = http.get("srcset")
    if srcset:
        out.append(
            f"### srcset: widths {', '.join(map(str, srcset['widths']))} of one cold original "
            "(renditiond: one `POST /v1/warm`; thumbor: five GETs in turn) against `width-2000` alone "
            "of another; medians over the originals, server CPU means"
        )
        out.append("")
        rows = [
            [
                r["system"],
                str(r["round"]),
                str(r["originals"]),
                fmt(r["srcset"]["wall_ms"], 1),
                fmt(r["srcset"]["cpu_ms"], 1),
                fmt(r["width-2000"]["wall_ms"], 1),
                fmt(r["width-2000"]["cpu_ms"], 1),
                times(r["ratio"]),
                f"{r['checked']['checked'] - len(r['checked']['failures'])} of {r['checked']['checked']}",
                f"{r['load1_before']:.2f}",
                fmt(r.get("other_cores"), 2),
            ]
            for r in srcset["rows"]
        ]
        out.append(
            table(
                [
                    "system",
                    "round",
                    "originals",
                    "five widths wall ms",
                    "server CPU ms",
                    "width-2000 wall ms",
                    "server CPU ms",
                    "five ÷ one",
                    "answers checked OK",
                    "load",
                    "other cores",
                ],
                rows,
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            )
        )
        out.append("")
    return out


def inprocess_raw(part: Row) -> list[str]:
    cfg = part["config"]
    engines = cfg["engines"]
    peers = [e for e in engines if e in ("pillow", "vips")]
    names = {
        "renditiond": "renditiond",
        "pillow": "Pillow + draft",
        "vips": "libvips",
        "floor": "decode floor",
    }
    out = [
        f"### In-process, one thread (CPU {cfg['cpu']}), a fresh process per engine and cell, "
        f"{cfg['rounds']} rounds interleaved, ≥ {cfg['runs']} renders and ≥ {cfg['min_seconds']:g} s per "
        "process after one warm-up; median CPU / wall ms",
        "",
    ]
    rows = []
    for cell in part["cells"]:
        p, e = cell["plan"], cell["engines"]
        output = f"{p['size'][0]}×{p['size'][1]} {p['format']}"
        outputs = [x for x in engines if x != "floor"]
        row = [cell["image"], f"`{cell['spec']}`", output, f"1/{p['shrink']}"]
        row += [f"{fmt(e[x]['cpu_ms'])} / {fmt(e[x]['wall_ms'])}" for x in engines]
        row += [times(cell["ratios"].get(x)) for x in peers]
        if "floor" in engines:
            row.append(times(ratio(e["renditiond"]["cpu_ms"], e["floor"]["cpu_ms"])))
        row += [
            fmt(e["renditiond"]["sys_ms"], 1),
            " / ".join(fmt((e[x]["bytes"] or 0) / 1024, 0) for x in outputs),
            " / ".join(fmt(e[x].get("ssim"), 4) for x in outputs),
            f"{cell['load1_before']:.2f}",
            fmt(cell.get("other_cores"), 2),
            fmt(cell.get("ref_ms"), 1),
        ]
        rows.append(row)
    header = ["image", "spec", "output", "shrink", *(names[x] for x in engines)]
    header += [f"{names[x]} ÷ renditiond" for x in peers]
    if "floor" in engines:
        header.append("renditiond ÷ floor")
    who = " / ".join(names[x] for x in engines if x != "floor")
    header += ["renditiond sys ms", f"KiB ({who})", f"SSIM ({who})", "load", "other cores", "ref ms"]
    out.append(table(header, rows, "|---|---|---|" + "---:|" * (len(header) - 3)))
    out.append("")
    return out


def settings_md(results: Row) -> list[str]:
    s = results.get("settings", {})
    out = ["### Settings and versions", ""]
    for k, v in s.items():
        out.append(f"- {k}: {v}")
    out.append("")
    return out
