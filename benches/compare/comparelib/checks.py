"""Checks of what the servers answered: every sampled response is a 200
with the expected type, format and pixel size, and renditiond's own
counters (from /metrics) say whether a cold run really rendered."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import imageinfo

# One sample of the Prometheus text format: name, labels, value.
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text: str) -> list[tuple[str, dict[str, str], float]]:
    """The samples of a Prometheus (or OpenMetrics) text exposition."""
    samples = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"not a metrics sample: {line!r}")
        labels = dict(_LABEL.findall(m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    return samples


def metric_sum(samples: Iterable[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(v for n, ls, v in samples if n == name and all(ls.get(k) == w for k, w in labels.items()))


def renditiond_counts(text: str) -> dict[str, int]:
    """Renders, memory-cache hits and misses, answers other than 200, and
    the bytes its caches hold (memory tier, decoded originals) from
    renditiond's /metrics."""
    samples = parse_prometheus(text)
    answers = [(ls.get("status", ""), v) for n, ls, v in samples if n == "renditiond_http_requests_total"]
    return {
        "not_200": int(sum(v for status, v in answers if status != "200")),
        "renders": int(metric_sum(samples, "renditiond_render_duration_seconds_count")),
        "memory_hits": int(
            metric_sum(samples, "renditiond_cache_lookups_total", tier="memory", result="hit")
        ),
        "memory_misses": int(
            metric_sum(samples, "renditiond_cache_lookups_total", tier="memory", result="miss")
        ),
        "memory_cache_bytes": int(metric_sum(samples, "renditiond_memory_cache_bytes")),
        "decoded_cache_bytes": int(metric_sum(samples, "renditiond_decoded_cache_bytes")),
    }


@dataclass
class Expect:
    """What one path must answer."""

    path: str
    size: tuple[int, int]
    format: str = "jpeg"
    progressive: bool | None = None


@dataclass
class Verdict:
    """The sampled responses of one run: how many were checked, what failed,
    and the sizes in bytes of those that passed."""

    checked: int = 0
    failures: list[str] = field(default_factory=list)
    body_bytes: list[int] = field(default_factory=list)

    def add(self, other: Verdict) -> None:
        self.checked += other.checked
        self.failures += other.failures
        self.body_bytes += other.body_bytes

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "failures": self.failures, "body_bytes": self.body_bytes}


def check_body(expect: Expect, status: int, content_type: str, body: bytes) -> str | None:
    """None when the response is what `expect` says, else what is wrong."""
    if status != 200:
        return f"{expect.path}: status {status}"
    if content_type.split(";")[0].strip() != f"image/{expect.format}":
        return f"{expect.path}: Content-Type {content_type!r}, expected image/{expect.format}"
    try:
        info = imageinfo.sniff(body)
    except ValueError as e:
        return f"{expect.path}: {e} ({len(body)} bytes)"
    if info.format != expect.format or info.size != expect.size:
        return (
            f"{expect.path}: {info.format} {info.width}×{info.height}, expected {expect.format} {expect.size}"
        )
    if expect.progressive is not None and info.progressive != expect.progressive:
        return f"{expect.path}: progressive {info.progressive}, expected {expect.progressive}"
    return None


def verify(host: str, port: int, expects: list[Expect], timeout: float = 60.0) -> Verdict:
    """GETs every path of `expects` on one connection and checks each answer."""
    verdict = Verdict()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        for expect in expects:
            try:
                conn.request("GET", expect.path)
                resp = conn.getresponse()
                body = resp.read()
                status, ctype = resp.status, resp.getheader("Content-Type", "")
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                verdict.checked += 1
                verdict.failures.append(f"{expect.path}: {e!r}")
                continue
            verdict.checked += 1
            problem = check_body(expect, status, ctype, body)
            if problem:
                verdict.failures.append(problem)
            else:
                verdict.body_bytes.append(len(body))
            if resp.will_close:
                conn.close()
    finally:
        conn.close()
    return verdict


def first_of_each_thread(paths: list[str], threads: int, per_thread: int) -> list[int]:
    """Indices of the first `per_thread` paths each wrk thread asks for
    (urls.lua gives thread i the lines i, i + n, i + 2n...): ones a run that
    made a few requests per thread surely asked."""
    picked = []
    for k in range(per_thread):
        for t in range(threads):
            i = t + k * threads
            if i < len(paths):
                picked.append(i)
    return picked
