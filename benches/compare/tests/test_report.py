"""The report's figures come from the results given: ratios, goals met or
not, problems, the Markdown around them (made-up results, no run)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from comparelib import report

Row = dict[str, Any]


def http_run(scenario: str, system: str, round_: int, req_per_s: float, **extra: Any) -> Row:
    row: Row = {
        "scenario": scenario,
        "system": system,
        "round": round_,
        "connection": "close",
        "req_per_s": req_per_s,
        "latency_ms": {"p50": 1.0, "p90": 2.0, "p99": 2.5, "max": 9.0},
        "requests": int(req_per_s * 15),
        "errors": 0,
        "error_kinds": {},
        "non_2xx": 0,
        "server_cpu_ms_per_req": 30.0,
        "peak_rss_mb": 150.0,
        "largest_process_peak_mb": 150.0,
        "processes": 1,
        "list_wrapped": 0,
        "list_length": 3010,
        "load1_before": 0.5,
        "other_cores": 0.05,
        "ref_ms": 11.6,
        "probe_us": 500.0,
        "renditiond_counts": None,
        "checked": {"checked": 6, "failures": [], "body_bytes": [28840] * 6},
        "problems": [],
    }
    row.update(extra)
    return row


def engine(cpu: float, bytes_: int | None = 28_000, ssim: float | None = 0.95) -> Row:
    e: Row = {"cpu_ms": cpu, "wall_ms": cpu, "sys_ms": 0.0, "bytes": bytes_}
    if ssim is not None:
        e["ssim"] = ssim
    return e


def cell(image: str, spec: str, ours: float, pillow: float, vips: float, floor: float, **kw: Any) -> Row:
    engines = {
        "renditiond": engine(ours, kw.get("bytes", 28_000), kw.get("ssim", 0.95)),
        "pillow": engine(pillow),
        "vips": engine(vips),
        "floor": engine(floor, None, None),
    }
    return {
        "image": image,
        "spec": spec,
        "plan": {"size": [400, 300], "format": "jpeg", "shrink": 4},
        "load1_before": 0.4,
        "other_cores": 0.0,
        "ref_ms": 11.7,
        "engines": engines,
        "ratios": {e: engines[e]["cpu_ms"] / ours for e in ("pillow", "vips", "floor")},
        "problems": [],
    }


def srcset_row(system: str, five: float, one: float) -> Row:
    return {
        "system": system,
        "round": 1,
        "load1_before": 0.6,
        "other_cores": 0.1,
        "originals": 8,
        "checked": {"checked": 12, "failures": [], "body_bytes": []},
        "srcset": {"wall_ms": five, "cpu_ms": five},
        "width-2000": {"wall_ms": one, "cpu_ms": one},
        "ratio": five / one,
        "problems": [],
    }


@pytest.fixture
def results() -> Row:
    runs = [
        http_run("cold-image", "renditiond", 1, 70.0, peak_rss_mb=180.0),
        http_run("cold-image", "thumbor", 1, 50.0, peak_rss_mb=280.0, processes=3),
        http_run("cold-image", "thumbor", 2, 54.0),
        http_run("cold-image", "renditiond", 2, 74.0),
        http_run(
            "cold-spec",
            "renditiond",
            1,
            60.0,
            peak_rss_mb=210.0,
            renditiond_counts={
                "not_200": 0,
                "renders": 900,
                "memory_hits": 0,
                "memory_misses": 900,
                "memory_cache_bytes": 25_200_000,
                "decoded_cache_bytes": 2_250_000,
            },
        ),
        http_run("cold-spec", "thumbor", 1, 12.0),
        http_run("hot", "renditiond", 1, 40_000.0, latency_ms={"p99": 1.5}),
        http_run("hot", "renditiond", 2, 36_000.0, latency_ms={"p99": 3.5}),
        http_run("hot", "nginx", 1, 50_000.0, latency_ms={"p99": 1.0}),
        http_run("hot", "nginx", 2, 50_000.0, latency_ms={"p99": 1.2}),
    ]
    cells = [
        cell("photo_12mp.jpg", "fill-400x300", 25.0, 30.0, 35.0, 24.0),
        cell("photo_12mp.jpg", "width-1200", 60.0, 150.0, 70.0, 50.0),
        cell("photo_12mp.jpg", "fill-400x300|format-webp", 40.0, 45.0, 39.0, 24.0),
        cell("photo_12mp.jpg", "width-1200|format-avif", 100.0, 200.0, 150.0, 50.0, bytes=40_000),
        cell("photo_12mp_progressive.jpg", "fill-400x300", 100.0, 110.0, 120.0, 95.0, ssim=0.90),
    ]
    return {
        "machine": {
            "date": "2026-12-07 05:00 UTC",
            "cpu_model": "AMD EPYC",
            "nproc": 2,
            "memory_gib": 23.5,
            "kernel": "6.18",
            "loadavg": [0.3, 0.4, 0.5],
        },
        "mode": "full",
        "subject": "photo_12mp.jpg, 4000×3000 baseline",
        "loadavg_after": [1.0, 0.8, 0.6],
        "settings": {"renditiond": "release build"},
        "http": {
            "load1_before": 0.3,
            "config": {"threads": 2, "connections": 8, "duration_s": 15.0, "warmup_s": 3.0, "rounds": 2},
            "runs": runs,
            "srcset": {
                "widths": [400, 800, 1200, 1600, 2000],
                "rows": [srcset_row("renditiond", 300.0, 200.0), srcset_row("thumbor", 700.0, 140.0)],
            },
        },
        "inprocess": {
            "load1_before": 0.4,
            "config": {
                "cpu": 1,
                "rounds": 3,
                "runs": 5,
                "min_seconds": 1.0,
                "engines": ["renditiond", "pillow", "vips", "floor"],
            },
            "cells": cells,
        },
    }


def by_measure(goals: list[report.Goal]) -> dict[str, report.Goal]:
    return {f"{g.scenario}: {g.measure.split(',')[0]}": g for g in goals}


def test_goals_are_computed_from_the_results(results: Row) -> None:
    goals = report.goals(results)
    g = by_measure(goals)
    cold = g["cold-image: req/s vs thumbor (a new original per request"]
    # Means over rounds: 72 / 52.
    assert cold.ratio == f"{72 / 52:.2f}×"
    assert cold.renditiond == "72.0 req/s"
    assert cold.met is True
    spec = g["cold-spec: req/s vs thumbor (the same original"]
    assert spec.ratio == "5.00×"
    assert spec.met is False
    srcset = g["srcset: `POST /v1/warm` of widths 400–2000 ÷ `width-2000` alone"]
    assert srcset.ratio == "1.50×"
    assert srcset.met is True
    assert "thumbor, five GETs: 700 ms ÷ 140 ms = 5.00×" in srcset.peer
    vips = g["in-process: 12 MP → `fill-400x300` JPEG"]
    assert (vips.ratio, vips.met) == ("1.40×", True)
    floor = g["in-process: same"]
    assert (floor.ratio, floor.met) == (f"{25 / 24:.2f}×", True)


def test_cold_image_at_thumbors_shrink_is_its_own_line(results: Row) -> None:
    assert not [g for g in report.goals(results) if "both decoding at 1/8" in g.measure]
    fast = copy.deepcopy(results)
    system = "renditiond (fast shrink)"
    fast["http"]["runs"] += [
        http_run("cold-image", system, 1, 58.0),
        http_run("cold-image", system, 2, 62.0, peak_rss_mb=230.0),
    ]
    goals = report.goals(fast)
    line = next(g for g in goals if "both decoding at 1/8" in g.measure)
    # Means over rounds: 60 / 52.
    assert (line.renditiond, line.ratio, line.met) == ("60.0 req/s", "1.154×", True)
    # The default line is still the default server's.
    assert (
        by_measure(goals)["cold-image: req/s vs thumbor (a new original per request"].renditiond
        == "72.0 req/s"
    )
    # Its memory counts too.
    assert next(g for g in goals if g.measure.startswith("peak RSS")).renditiond.startswith("230 MB")


def test_format_goals_need_speed_size_and_quality(results: Row) -> None:
    formats = {g.measure.split(",")[0]: g for g in report.goals(results) if "Pillow" in g.measure}
    assert formats["12mp → `width-1200`"].met is True
    assert formats["12mp → `width-1200`"].ratio == "2.50× / 1.17×"
    # libvips is faster on WebP here.
    assert formats["12mp → `fill-400x300|format-webp`"].met is False
    # Faster than both, but 40 KB against 28 KB: not at equal size.
    assert formats["12mp → `width-1200|format-avif`"].met is False
    # Faster than both, but a lower SSIM.
    assert formats["12mp_progressive → `fill-400x300`"].met is False


def test_hot_and_memory_goals(results: Row) -> None:
    goals = report.goals(results)
    hot = next(g for g in goals if g.measure.startswith("req/s vs nginx"))
    assert hot.ratio == "0.76×"
    assert hot.met is False
    p99 = next(g for g in goals if g.measure.startswith("p99"))
    # The worst round counts.
    assert p99.renditiond == "3.50 ms"
    assert p99.met is False
    rss = next(g for g in goals if g.measure.startswith("peak RSS"))
    assert rss.renditiond == (
        "210 MB (at the end, 25 MB of renditions in the memory tier and 2 MB of decoded originals)"
    )
    assert rss.peer == "thumbor 280 MB (its 3 processes)"
    assert rss.met is False


def test_missing_peers_leave_goals_open(results: Row) -> None:
    smoke = copy.deepcopy(results)
    smoke["http"]["runs"] = [r for r in smoke["http"]["runs"] if r["system"] != "thumbor"]
    smoke["http"]["srcset"]["rows"] = smoke["http"]["srcset"]["rows"][:1]
    del smoke["inprocess"]
    g = by_measure(report.goals(smoke))
    cold = g["cold-image: req/s vs thumbor (a new original per request"]
    assert (cold.peer, cold.ratio, cold.met) == ("–", "–", None)
    assert g["srcset: `POST /v1/warm` of widths 400–2000 ÷ `width-2000` alone"].peer == "–"
    assert not any(goal.scenario == "in-process" for goal in report.goals(smoke))


def test_problems_are_gathered_and_printed(results: Row) -> None:
    results["http"]["runs"][1]["problems"] = ["cold-image thumbor round 1: 3 socket errors"]
    results["inprocess"]["cells"][0]["problems"] = ["photo_12mp.jpg fill-400x300 vips: png 1×1"]
    found = report.problems(results)
    assert found == [
        "cold-image thumbor round 1: 3 socket errors",
        "photo_12mp.jpg fill-400x300 vips: png 1×1",
    ]
    results["problems"] = found
    text = report.markdown(results)
    assert "**Problems (2):**" in text
    assert "- cold-image thumbor round 1: 3 socket errors" in text


def test_markdown_tables_escape_pipes(results: Row) -> None:
    text = report.markdown(results)
    assert "No problems" in text
    assert "`fill-400x300\\|format-webp`" in text
    assert "fill-400x300|format-webp" not in text.replace("\\|", "")
    header = "| scenario | measure | renditiond | peer | ratio | goal | met | load; other CPU |"
    assert header in text
    # Every table line has the same number of cells as its header.
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line.startswith("|")]
        if lines:
            widths = {line.replace("\\|", "").count("|") for line in lines}
            assert len(widths) == 1, block


def test_conditions_text() -> None:
    rows = [{"load1_before": 0.5, "other_cores": 0.1}, {"load1_before": 1.25, "other_cores": 0.4}]
    assert report.conditions(rows) == "0.50–1.25; other 0.40 cores"
    assert report.conditions([{"load1_before": 0.5}]) == "0.50"
    assert report.conditions([]) == "–"


def test_ratios_next_to_their_bound_show_a_third_decimal() -> None:
    assert report.against(1.1049, 1.10) == "1.105×"
    assert report.against(1.10, 1.10) == "1.10×"
    assert report.against(1.2, 1.10) == "1.20×"
    assert report.against(None, 1.10) == "–"
