"""The harness's pure pieces: workloads, orderings, expected sizes, the
problems a run reports, /proc/stat, in-process summaries (no server, no
timing)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from comparelib import http_bench, inprocess, machine, servers

IMAGES = Path(__file__).resolve().parents[3] / "test-images"


def test_fill_sizes_are_every_other_size_once_in_a_fixed_order() -> None:
    sizes = http_bench.fill_sizes()
    assert len(sizes) == len(set(sizes)) == 200 * 150 - 1
    # Not the size of the prime request, which would be a cache hit.
    assert http_bench.FILL not in sizes
    assert all(300 <= w < 500 and 225 <= h < 375 for w, h in sizes)
    assert sizes == http_bench.fill_sizes()
    assert sizes != sorted(sizes)


def test_systems_alternate_round_by_round() -> None:
    order = list(http_bench.alternated(["a", "b"], 3))
    assert order == [(1, "a"), (1, "b"), (2, "b"), (2, "a"), (3, "a"), (3, "b")]


def test_cold_lists_cover_the_most_requests_expected() -> None:
    cfg = http_bench.HttpConfig(warmup_s=3, duration_s=15, rounds=2, srcset_originals=8)
    assert http_bench.cold_list_lengths(cfg) == (3010, 15010)
    # Both lists of fill sizes are new sizes.
    assert sum(http_bench.cold_list_lengths(cfg)) <= len(set(http_bench.fill_sizes()))
    assert http_bench.cold_names(2, 4) == ["cold/img-00002.jpg", "cold/img-00003.jpg"]


@pytest.mark.parametrize(
    ("width", "source", "size"),
    [(400, (4000, 3000), (400, 300)), (2000, (4000, 3000), (2000, 1500)), (800, (600, 400), (600, 400))],
)
def test_width_sizes(width: int, source: tuple[int, int], size: tuple[int, int]) -> None:
    assert http_bench.width_size(width, source) == size


def test_originals_are_one_copy_and_links(tmp_path: Path) -> None:
    originals = tmp_path / "originals"
    (originals / "stale").mkdir(parents=True)
    http_bench.prepare_originals(IMAGES / "photo-baseline.jpg", originals, 3)
    assert not (originals / "stale").exists()
    photo = originals / "photo.jpg"
    assert photo.read_bytes() == (IMAGES / "photo-baseline.jpg").read_bytes()
    links = sorted((originals / "cold").iterdir())
    assert [p.name for p in links] == ["img-00000.jpg", "img-00001.jpg", "img-00002.jpg"]
    assert all(p.is_symlink() and p.resolve() == photo.resolve() for p in links)


def run_row(**extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "scenario": "cold-image",
        "system": "renditiond",
        "round": 1,
        "requests": 900,
        "errors": 0,
        "error_kinds": {},
        "non_2xx": 0,
        "list_wrapped": 0,
        "checked": {"checked": 6, "failures": []},
        "renditiond_counts": {"not_200": 0, "renders": 901, "memory_hits": 0, "memory_misses": 901},
    }
    row.update(extra)
    return row


def test_a_clean_run_has_no_problems() -> None:
    assert http_bench.run_problems(run_row()) == []


def test_run_problems_name_each_fault() -> None:
    problems = http_bench.run_problems(
        run_row(
            errors=3,
            error_kinds={"read": 2, "timeout": 1},
            non_2xx=5,
            list_wrapped=2,
            checked={"checked": 6, "failures": ["/r/x: status 503"]},
            renditiond_counts={"not_200": 5, "renders": 10, "memory_hits": 4, "memory_misses": 10},
        )
    )
    assert len(problems) == 6
    assert all(p.startswith("cold-image renditiond round 1: ") for p in problems)
    text = "\n".join(problems)
    for part in (
        "3 socket errors",
        "5 answers other than 2xx",
        "ran out 2 times",
        "/r/x: status 503",
        "counted 5 answers",
        "4 memory-cache hits",
    ):
        assert part in text


def test_hits_are_expected_on_the_hot_path() -> None:
    row = run_row(
        scenario="hot", renditiond_counts={"not_200": 0, "renders": 1, "memory_hits": 9, "memory_misses": 1}
    )
    assert http_bench.run_problems(row) == []


def test_no_request_is_a_problem() -> None:
    assert http_bench.run_problems(run_row(requests=0)) == [
        "cold-image renditiond round 1: no request completed"
    ]


PROC_STAT = """\
cpu  100 5 50 1000 20 3 2 10 0 0
cpu0 60 5 30 400 10 2 1 5 0 0
cpu1 40 0 20 600 10 1 1 5 0 0
intr 12345
"""


def test_proc_stat() -> None:
    tick = machine.CLOCK_TICK
    assert machine.parse_proc_stat(PROC_STAT) == ((100 + 5 + 50 + 3 + 2 + 10) / tick, 1190 / tick)
    assert machine.parse_proc_stat(PROC_STAT, 1) == (67 / tick, 677 / tick)
    with pytest.raises(ValueError, match="cpu7"):
        machine.parse_proc_stat(PROC_STAT, 7)


def result(cpu: list[float], engine: str = "renditiond") -> dict[str, Any]:
    n = len(cpu)
    return {
        "engine": engine,
        "bytes": 100,
        "output_format": "jpeg",
        "times": {
            "cpu_ms": cpu,
            "wall_ms": [c + 1 for c in cpu],
            "sys_ms": [0.0] * n,
            "minor_faults": [1] * n,
        },
    }


def test_summaries_pool_the_rounds() -> None:
    s = inprocess.summarize([result([10.0, 30.0]), result([20.0, 40.0, 50.0])])
    assert s["cpu_ms"] == 30.0
    assert s["wall_ms"] == 31.0
    assert s["round_medians_cpu_ms"] == [20.0, 40.0]
    assert s["renders"] == 5


def test_summaries_refuse_broken_engine_output() -> None:
    broken = result([10.0, 20.0])
    broken["times"]["wall_ms"] = [1.0]
    with pytest.raises(ValueError, match="different lengths"):
        inprocess.summarize([broken])
    with pytest.raises(ValueError, match="no times"):
        inprocess.summarize([{"engine": "vips"}])


def test_outputs_are_checked_against_the_plan() -> None:
    photo = IMAGES / "photo-baseline.jpg"
    assert inprocess.check_output(photo, {"format": "jpeg", "size": [600, 400]}) is None
    problem = inprocess.check_output(photo, {"format": "webp", "size": [600, 400]})
    assert problem is not None
    assert "the plan says webp" in problem
    assert "no such" in (inprocess.check_output(photo.with_name("missing.jpg"), {}) or "no such").lower()


def test_a_stopped_server_leaves_no_process_behind(tmp_path: Path) -> None:
    # As thumbor's forked workers do: the leader exits at SIGTERM, its
    # child takes a moment to finish a write first.
    done = tmp_path / "done"
    child = (
        "import os, signal, sys, time\n"
        "if os.fork() == 0:\n"
        "    def finish(*_):\n"
        "        time.sleep(0.5)\n"
        f"        open({str(done)!r}, 'w').close()\n"
        "        os._exit(0)\n"
        "    signal.signal(signal.SIGTERM, finish)\n"
        "    while True:\n"
        "        time.sleep(0.05)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", child], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(machine.group_members(process.pid)) < 2:
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)
    servers._stop(process)
    assert done.exists()
    assert machine.group_members(process.pid) == []
