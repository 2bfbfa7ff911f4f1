"""Checking answers and reading renditiond's counters (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from comparelib import checks
from comparelib.checks import Expect

IMAGES = Path(__file__).resolve().parents[3] / "test-images"

METRICS = """\
# HELP renditiond_http_requests HTTP requests answered, by route and status.
# TYPE renditiond_http_requests counter
renditiond_http_requests_total{route="rendition",status="200"} 7
renditiond_http_requests_total{route="rendition",status="503"} 2
renditiond_http_requests_total{route="metrics",status="200"} 1
# TYPE renditiond_render_duration_seconds histogram
renditiond_render_duration_seconds_sum{format="jpeg"} 1.5
renditiond_render_duration_seconds_count{format="jpeg"} 5
renditiond_render_duration_seconds_count{format="webp"} 1
renditiond_render_duration_seconds_bucket{format="jpeg",le="+Inf"} 5
renditiond_cache_lookups_total{tier="memory",result="miss"} 6
renditiond_cache_lookups_total{tier="memory",result="hit"} 3
renditiond_cache_lookups_total{tier="shared",result="hit"} 40
# TYPE renditiond_memory_cache_bytes gauge
renditiond_memory_cache_bytes 120000
# TYPE renditiond_decoded_cache_bytes gauge
renditiond_decoded_cache_bytes 2250000
# EOF
"""


def test_prometheus_samples() -> None:
    samples = checks.parse_prometheus(METRICS)
    assert ("renditiond_render_duration_seconds_sum", {"format": "jpeg"}, 1.5) in samples
    assert checks.metric_sum(samples, "renditiond_cache_lookups_total", result="hit") == 43
    assert checks.metric_sum(samples, "renditiond_cache_lookups_total", tier="memory", result="hit") == 3


def test_prometheus_label_values_with_quotes_and_timestamps() -> None:
    samples = checks.parse_prometheus('m{a="x\\"y",b="2"} 3 1700000000\nn 4\n')
    assert samples == [("m", {"a": 'x\\"y', "b": "2"}, 3.0), ("n", {}, 4.0)]
    with pytest.raises(ValueError, match="not a metrics sample"):
        checks.parse_prometheus("this is not { a sample")


def test_renditiond_counts() -> None:
    assert checks.renditiond_counts(METRICS) == {
        "not_200": 2,
        "renders": 6,
        "memory_hits": 3,
        "memory_misses": 6,
        "memory_cache_bytes": 120_000,
        "decoded_cache_bytes": 2_250_000,
    }


JPEG = (IMAGES / "photo-baseline.jpg").read_bytes()  # 600×400, baseline


def test_check_body_passes() -> None:
    expect = Expect("/a", (600, 400))
    assert checks.check_body(expect, 200, "image/jpeg", JPEG) is None
    assert checks.check_body(Expect("/a", (600, 400), progressive=False), 200, "image/jpeg", JPEG) is None


@pytest.mark.parametrize(
    ("expect", "status", "ctype", "body", "problem"),
    [
        (Expect("/a", (600, 400)), 503, "text/plain", b"busy", "status 503"),
        (Expect("/a", (600, 400)), 200, "text/html", JPEG, "Content-Type"),
        (Expect("/a", (600, 400)), 200, "image/jpeg", b"<html>", "not an image"),
        (Expect("/a", (400, 300)), 200, "image/jpeg", JPEG, "expected jpeg (400, 300)"),
        (Expect("/a", (600, 400), format="webp"), 200, "image/webp", JPEG, "expected webp"),
        (Expect("/a", (600, 400), progressive=True), 200, "image/jpeg", JPEG, "progressive False"),
    ],
)
def test_check_body_fails(expect: Expect, status: int, ctype: str, body: bytes, problem: str) -> None:
    found = checks.check_body(expect, status, ctype, body)
    assert found is not None
    assert problem in found
    assert found.startswith("/a: ")


def test_first_paths_of_each_wrk_thread() -> None:
    # Two threads: thread 1 asks lines 0, 2, 4...; thread 2 lines 1, 3, 5...
    assert checks.first_of_each_thread(list("abcdefgh"), 2, 3) == [0, 1, 2, 3, 4, 5]
    assert checks.first_of_each_thread(list("abc"), 2, 3) == [0, 1, 2]
    assert checks.first_of_each_thread(["only"], 1, 1) == [0]


def test_verdicts_add_up() -> None:
    a = checks.Verdict(2, ["x"], [10])
    a.add(checks.Verdict(1, [], [20]))
    assert a.to_dict() == {"checked": 3, "failures": ["x"], "body_bytes": [10, 20]}
