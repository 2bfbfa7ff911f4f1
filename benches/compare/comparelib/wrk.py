"""wrk's output, read: the exact figures urls.lua prints (COMPARE_WRK_JSON),
or, without them, wrk's own text summary (rounded as wrk prints it)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

JSON_PREFIX = "COMPARE_WRK_JSON "

_UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_UNITS_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


@dataclass
class WrkResult:
    """One wrk run. Latencies in milliseconds."""

    requests: int
    duration_s: float
    bytes_read: int
    req_per_s: float
    latency_ms: dict[str, float] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    non_2xx: int = 0
    wrapped: int | None = None
    exact: bool = False

    @property
    def error_count(self) -> int:
        """Socket errors and timeouts (not HTTP statuses)."""
        return sum(v for k, v in self.errors.items() if k != "status")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def duration_seconds(text: str) -> float:
    """`161.07us`, `1.03s`, `2.5m` -> seconds."""
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNITS_S[m.group(2)]


def size_bytes(text: str) -> int:
    """`268.68KB`, `20.60GB`, `512B` -> bytes (wrk's units are powers of 1024)."""
    m = re.fullmatch(r"([0-9.]+)(B|KB|MB|GB|TB)", text.strip())
    if not m:
        raise ValueError(f"not a wrk size: {text!r}")
    return round(float(m.group(1)) * _UNITS_BYTES[m.group(2)])


def parse(output: str) -> WrkResult:
    """Reads one wrk run's standard output."""
    for line in output.splitlines():
        if line.startswith(JSON_PREFIX):
            return _from_json(json.loads(line[len(JSON_PREFIX) :]), output)
    return _from_text(output)


def _non_2xx(output: str) -> int:
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return int(m.group(1)) if m else 0


def _from_json(data: dict[str, Any], output: str) -> WrkResult:
    duration = data["duration_us"] / 1e6
    latency = {k: v / 1000.0 for k, v in data["latency_us"].items()}
    return WrkResult(
        requests=data["requests"],
        duration_s=duration,
        bytes_read=data["bytes"],
        req_per_s=data["requests"] / duration if duration > 0 else 0.0,
        latency_ms=latency,
        errors=dict(data["errors"]),
        # wrk counts statuses >= 400 as errors.status; its text line counts >= 400 too.
        non_2xx=max(_non_2xx(output), data["errors"].get("status", 0)),
        wrapped=data.get("wrapped"),
        exact=True,
    )


def _from_text(output: str) -> WrkResult:
    m = re.search(r"(\d+) requests in ([0-9.]+\w+), ([0-9.]+\w+) read", output)
    if not m:
        raise ValueError("no wrk summary in the output")
    requests, duration, read = int(m.group(1)), duration_seconds(m.group(2)), size_bytes(m.group(3))
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    latency: dict[str, float] = {}
    stats = re.search(r"Latency\s+([0-9.]+\w+)\s+([0-9.]+\w+)\s+([0-9.]+\w+)", output)
    if stats:
        latency["mean"] = duration_seconds(stats.group(1)) * 1000
        latency["max"] = duration_seconds(stats.group(3)) * 1000
    for pct, value in re.findall(r"^\s+(50|75|90|99)%\s+([0-9.]+\w+)\s*$", output, re.MULTILINE):
        latency[f"p{pct}"] = duration_seconds(value) * 1000
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if sock:
        errors = dict(zip(errors, map(int, sock.groups()), strict=True))
    return WrkResult(
        requests=requests,
        duration_s=duration,
        bytes_read=read,
        req_per_s=float(rps.group(1)) if rps else requests / duration,
        latency_ms=latency,
        errors=errors,
        non_2xx=_non_2xx(output),
        exact=False,
    )
