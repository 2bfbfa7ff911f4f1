"""The harness's reading of wrk's output, on captured runs (no wrk, thumbor
or server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from comparelib import wrk

FIXTURES = Path(__file__).parent / "fixtures"


def read(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_exact_figures_from_the_script_line() -> None:
    r = wrk.parse(read("wrk_list.txt"))
    assert r.exact
    assert r.requests == 1129
    assert r.duration_s == pytest.approx(1.020721)
    assert r.req_per_s == pytest.approx(1129 / 1.020721)
    assert r.bytes_read == 275132
    assert r.latency_ms["p50"] == pytest.approx(0.898)
    assert r.latency_ms["p99"] == pytest.approx(13.312)
    assert r.latency_ms["max"] == pytest.approx(20.898)
    assert r.non_2xx == 186
    assert r.error_count == 0
    assert r.wrapped == 376


def test_static_run_has_no_wraps() -> None:
    r = wrk.parse(read("wrk_static_latency.txt"))
    assert r.exact
    assert r.wrapped == 0
    assert r.non_2xx == 0
    assert r.latency_ms["p90"] == pytest.approx(7.467)


def test_text_summary_without_the_script() -> None:
    text = read("wrk_static_latency.txt").split(wrk.JSON_PREFIX)[0]
    r = wrk.parse(text)
    assert not r.exact
    assert r.requests == 1019
    assert r.duration_s == pytest.approx(1.10)
    assert r.req_per_s == pytest.approx(926.26)
    assert r.bytes_read == round(188.44 * 1024)
    assert r.latency_ms["p50"] == pytest.approx(0.85)
    assert r.latency_ms["p99"] == pytest.approx(17.22)
    assert r.latency_ms["max"] == pytest.approx(25.67)
    assert r.wrapped is None


def test_text_summary_with_errors_and_seconds() -> None:
    r = wrk.parse(read("wrk_text_only.txt"))
    assert r.requests == 188
    assert r.req_per_s == pytest.approx(12.52)
    assert r.latency_ms["p90"] == pytest.approx(1030.0)
    assert r.latency_ms["p99"] == pytest.approx(1760.0)
    assert r.latency_ms["max"] == pytest.approx(1920.0)
    assert r.errors == {"connect": 0, "read": 2, "write": 0, "timeout": 1}
    assert r.error_count == 3
    assert r.non_2xx == 3
    assert r.bytes_read == round(5.12 * 1024**2)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("161.07us", 161.07e-6), ("0.85ms", 0.85e-3), ("1.03s", 1.03), ("2.00m", 120.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert wrk.duration_seconds(text) == pytest.approx(seconds)


def test_garbage_is_an_error() -> None:
    with pytest.raises(ValueError, match="no wrk summary"):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused\n")
