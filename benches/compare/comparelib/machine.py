"""The machine and its processes, read from /proc: load, CPU model, the CPU
time and memory of a server's processes, and a noise probe."""

from __future__ import annotations

import datetime
import hashlib
import os
import platform
import resource
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLOCK_TICK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def load1() -> float:
    """The 1-minute load average."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def parse_proc_stat(text: str, cpu: int | None = None) -> tuple[float, float]:
    """Busy and total CPU seconds since boot from /proc/stat's text, of all
    CPUs or of CPU `cpu`. Busy: user, nice, system, irq, softirq and steal
    (guest time is inside user); idle and iowait are not busy."""
    name = "cpu" if cpu is None else f"cpu{cpu}"
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == name:
            ticks = [int(x) for x in fields[1:9]]
            user, nice, system, idle, iowait, irq, softirq, steal = ticks
            busy = user + nice + system + irq + softirq + steal
            return busy / CLOCK_TICK, (busy + idle + iowait) / CLOCK_TICK
    raise ValueError(f"no {name} line in /proc/stat")


def busy_seconds(cpu: int | None = None) -> float:
    """CPU seconds the machine (or CPU `cpu`) has been busy since boot."""
    return parse_proc_stat(Path("/proc/stat").read_text(), cpu)[0]


def own_cpu_seconds() -> tuple[float, float]:
    """User + system seconds of this process (all threads) and of its waited-for children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


class OtherLoad:
    """The CPU the rest of the machine used meanwhile, in cores: busy time
    (of all CPUs, or of CPU `cpu`) less this process, its waited-for
    children and the `pids` given (the server measured), over the wall
    time. Near 0 on a quiet machine; another build running shows here."""

    def __init__(self, pids: list[int] | None = None, cpu: int | None = None) -> None:
        self.pids = pids or []
        self.cpu = cpu
        self.cores: float | None = None

    def __enter__(self) -> OtherLoad:
        self._start = self._read()
        return self

    def _read(self) -> tuple[float, float, float]:
        me, children = own_cpu_seconds()
        return time.monotonic(), busy_seconds(self.cpu), me + children + cpu_seconds(self.pids)

    def __exit__(self, *exc: object) -> None:
        t1, busy1, ours1 = self._read()
        t0, busy0, ours0 = self._start
        if t1 > t0:
            self.cores = max(0.0, ((busy1 - busy0) - (ours1 - ours0)) / (t1 - t0))


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def describe() -> dict[str, Any]:
    """Date, cores, CPU model, kernel, memory and load, now."""
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "kernel": platform.release(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "loadavg": loadavg(),
    }


def descendants(root: int) -> list[int]:
    """`root` and every process below it (read once: servers' process sets
    are fixed once they answer)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group `pgid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command: state, ppid, pgrp.
        if len(fields) > 2 and fields[0] != "Z" and fields[2] == str(pgid):
            found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system time of `pids` (all their threads), from /proc/PID/stat."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state is field 3, utime 14 and stime 15 (1-based).
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICK


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    except OSError:
        return 0


def hwm_bytes(pid: int) -> int:
    """The process's own peak RSS (VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


_PROBE_DATA = bytes(range(256)) * 4096  # 1 MiB


def probe_us() -> float:
    """A fixed piece of work (SHA-256 of 1 MiB), timed on the wall clock: slow
    when the machine is slow or busy."""
    started = time.perf_counter()
    hashlib.sha256(_PROBE_DATA).digest()
    return (time.perf_counter() - started) * 1e6


@dataclass
class Sample:
    """What a sampler saw over one run."""

    peak_rss_bytes: int = 0
    largest_hwm_bytes: int = 0
    probes_us: list[float] = field(default_factory=list)

    @property
    def probe_median_us(self) -> float | None:
        return statistics.median(self.probes_us) if self.probes_us else None


class Sampler:
    """Samples the summed RSS of `pids` every 50 ms and times the probe every
    0.5 s, on a thread, until stopped."""

    def __init__(self, pids: list[int], interval: float = 0.05, probe_every: int = 10) -> None:
        self.pids = pids
        self.interval = interval
        self.probe_every = probe_every
        self.sample = Sample()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample.largest_hwm_bytes = max((hwm_bytes(p) for p in self.pids), default=0)

    def _run(self) -> None:
        tick = 0
        while not self._stop.is_set():
            total = sum(rss_bytes(p) for p in self.pids)
            self.sample.peak_rss_bytes = max(self.sample.peak_rss_bytes, total)
            if tick % self.probe_every == 0:
                self.sample.probes_us.append(probe_us())
            tick += 1
            self._stop.wait(self.interval)
