"""HTTP for the cluster test: single requests, a keep-alive connection, and
the load generator, a bounded threaded client run in its own namespace:

    python client.py burst --target 10.77.0.20:80 --urls URLS.json --copies 6 --out OUT.json
    python client.py steady --target 10.77.0.20:80 --cached C.json --cold D.json --stop-file F --out OUT.json

`burst` sends every URL as `copies` simultaneous requests; `steady` keeps
threads busy with cached URLs and, every `cold-every` requests, a URL never
asked before, until the stop file appears (or `max-seconds`, or
`max-requests`). Both write what they saw as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

K = TypeVar("K")

# A keep-alive connection the server closed while idle fails on reuse
# before any answer; clients resend then, once, on a new connection.
STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
OK_STATUSES = (200, 304)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def split_target(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    return host, int(port)


def fetch(
    target: str,
    path: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Response:
    """One request on a new connection."""
    host, port = split_target(target)
    started = time.monotonic()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        answer = conn.getresponse()
        body = answer.read()
        return Response(
            answer.status,
            {k.lower(): v for k, v in answer.getheaders()},
            body,
            time.monotonic() - started,
        )
    finally:
        conn.close()


class KeepAlive:
    """One keep-alive connection, made again when the server closed it."""

    def __init__(self, target: str, timeout: float = 30) -> None:
        self.host, self.port = split_target(target)
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        started = time.monotonic()
        reused = self.conn is not None
        try:
            return self._get(path, headers, started)
        except STALE:
            self.close()
            if not reused:
                raise
            self.reconnects += 1
            return self._get(path, headers, started)
        except BaseException:
            self.close()
            raise

    def _get(self, path: str, headers: dict[str, str] | None, started: float) -> Response:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        self.conn.request("GET", path, headers=headers or {})
        answer = self.conn.getresponse()
        body = answer.read()
        if answer.will_close:
            self.close()
        return Response(
            answer.status, {k.lower(): v for k, v in answer.getheaders()}, body, time.monotonic() - started
        )

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ---------------------------------------------------------------- burst


def burst(target: str, urls: list[str], copies: int, threads: int, timeout: float) -> dict[str, object]:
    """Every URL as `copies` requests released together; per URL, each
    answer's status, body digest, ETag and serving instance."""
    barriers = {url: threading.Barrier(copies, timeout=timeout) for url in urls}
    local = threading.local()

    def one(url: str) -> dict[str, object]:
        if not hasattr(local, "conn"):
            local.conn = KeepAlive(target, timeout)
        try:
            barriers[url].wait()
        except threading.BrokenBarrierError:
            pass  # sent anyway, just not together
        try:
            r = local.conn.get(url)
        except (OSError, http.client.HTTPException) as error:
            return {"error": repr(error)}
        return {
            "status": r.status,
            "digest": r.digest,
            "etag": r.headers.get("etag"),
            "server": r.headers.get("x-served-by"),
            "elapsed": round(r.elapsed, 4),
        }

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(threads, copies)) as pool:
        futures = {url: [pool.submit(one, url) for _ in range(copies)] for url in urls}
        answers = {url: [f.result(timeout=timeout * 2) for f in fs] for url, fs in futures.items()}
    return {"seconds": round(time.monotonic() - started, 3), "answers": answers}


# ---------------------------------------------------------------- steady


@dataclass
class Steady:
    """What the steady load saw."""

    requests: int = 0
    ok: int = 0
    cold: int = 0
    reconnects: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    servers: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, object]] = field(default_factory=list)
    # Answers in each second since the start: ok, and failed.
    ok_by_second: dict[int, int] = field(default_factory=dict)
    failed_by_second: dict[int, int] = field(default_factory=dict)
    max_seconds: float = 0.0
    started: float = 0.0
    seconds: float = 0.0


def count(counts: dict[K, int], key: K) -> None:
    counts[key] = counts.get(key, 0) + 1


def steady(
    target: str,
    cached: list[str],
    cold: list[str],
    threads: int,
    cold_every: int,
    stop_file: Path,
    max_seconds: float,
    max_requests: int,
    pause: float,
    timeout: float,
) -> Steady:
    """Threads asking for cached URLs and, every `cold_every` requests, a
    cold one, until the stop file appears or a bound is reached."""
    result = Steady(started=time.time())
    lock = threading.Lock()
    cold_urls = iter(cold)
    deadline = time.monotonic() + max_seconds

    def worker(index: int) -> None:
        conn = KeepAlive(target, timeout)
        n = 0
        while time.monotonic() < deadline and not stop_file.exists():
            with lock:
                if result.requests >= max_requests:
                    break
                result.requests += 1
                url = next(cold_urls, None) if n % cold_every == cold_every - 1 else None
                if url is not None:
                    result.cold += 1
            url = url or cached[(index + n * threads) % len(cached)]
            n += 1
            sent = time.time()
            try:
                r = conn.get(url)
                status, server, elapsed, error = r.status, r.headers.get("x-served-by", "?"), r.elapsed, ""
            except (OSError, http.client.HTTPException) as e:
                status, server, elapsed, error = 0, "?", time.time() - sent, repr(e)
            with lock:
                count(result.statuses, str(status))
                count(result.servers, server)
                result.max_seconds = max(result.max_seconds, elapsed)
                second = int(sent - result.started)
                if status in OK_STATUSES:
                    result.ok += 1
                    count(result.ok_by_second, second)
                else:
                    count(result.failed_by_second, second)
                    result.failures.append(
                        {
                            "at": round(sent, 3),
                            "url": url,
                            "status": status,
                            "error": error,
                            "seconds": round(elapsed, 3),
                        }
                    )
            time.sleep(pause)
        with lock:
            result.reconnects += conn.reconnects
        conn.close()

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=max_seconds + timeout + 5)
    result.seconds = round(time.time() - result.started, 3)
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="mode", required=True)
    b = sub.add_parser("burst")
    b.add_argument("--urls", type=Path, required=True)
    b.add_argument("--copies", type=int, default=6)
    b.add_argument("--threads", type=int, default=48)
    s = sub.add_parser("steady")
    s.add_argument("--cached", type=Path, required=True)
    s.add_argument("--cold", type=Path, required=True)
    s.add_argument("--threads", type=int, default=6)
    s.add_argument("--cold-every", type=int, default=4)
    s.add_argument("--stop-file", type=Path, required=True)
    s.add_argument("--max-seconds", type=float, default=120)
    s.add_argument("--max-requests", type=int, default=200_000)
    s.add_argument("--pause", type=float, default=0.005)
    for p in (b, s):
        p.add_argument("--target", required=True)
        p.add_argument("--out", type=Path, required=True)
        p.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args(argv)
    if args.mode == "burst":
        out: object = burst(
            args.target, json.loads(args.urls.read_text()), args.copies, args.threads, args.timeout
        )
    else:
        out = asdict(
            steady(
                args.target,
                json.loads(args.cached.read_text()),
                json.loads(args.cold.read_text()),
                args.threads,
                args.cold_every,
                args.stop_file,
                args.max_seconds,
                args.max_requests,
                args.pause,
                args.timeout,
            )
        )
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(out))
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
