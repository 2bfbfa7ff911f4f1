"""The servers measured: renditiond, thumbor and nginx, each started on
127.0.0.1 in a process group of its own, waited for with a bound, and
stopped by its own id (also when the harness fails or is interrupted)."""

from __future__ import annotations

import ctypes
import http.client
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from . import machine

HOST = "127.0.0.1"

# Every server still running, so that a failure anywhere stops them all.
_running: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def get(
    port: int, path: str, timeout: float = 30.0, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@dataclass
class Server:
    """A started server: its name, port and processes."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    pids: list[int]

    def cpu_seconds(self) -> float:
        return machine.cpu_seconds(self.pids)

    def wait_idle(self, busy: float = 0.05, step: float = 0.2, limit: float = 60.0) -> float:
        """Waits until the server uses less than `busy` of a core over
        `step` seconds (its work in flight is done), at most `limit`
        seconds; the seconds waited."""
        started = time.monotonic()
        before = self.cpu_seconds()
        while time.monotonic() - started < limit:
            time.sleep(step)
            now = self.cpu_seconds()
            if now - before < busy * step:
                break
            before = now
        return time.monotonic() - started


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the harness dies, even by
    SIGKILL (the group's other processes are stopped by the leader, or by
    `_stop` when the harness lives)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)
    else:
        # The leader died on its own: what it left has no reason to stay.
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    # The leader is gone; its group (thumbor's forked workers, still
    # finishing a write after their SIGTERM) may not be: wait for it, so
    # that the next run starts with none of it left.
    _wait_group(process.pid, timeout=10)
    _running.pop(process.pid, None)


def _wait_group(pgid: int, timeout: float) -> None:
    """Waits until no live process is left in group `pgid` (zombies, which
    only their parent can reap, do not count), killing what is left after
    `timeout` seconds and waiting as long again at most."""
    deadline = time.monotonic() + timeout
    killed = False
    while machine.group_members(pgid):
        if time.monotonic() > deadline:
            if killed:
                return
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            killed, deadline = True, time.monotonic() + timeout
        time.sleep(0.05)


def stop_all() -> None:
    for process in list(_running.values()):
        _stop(process)


@contextmanager
def running(
    name: str,
    argv: list[str],
    port: int,
    ready_path: str,
    env: dict[str, str],
    log: Path,
    processes: int = 1,
    timeout: float = 30.0,
) -> Iterator[Server]:
    """Starts `argv`, waits (at most `timeout` s) until `ready_path` answers
    200 and `processes` processes run in its group, yields it, stops it."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv, env=env, stdout=out, stderr=out, start_new_session=True, preexec_fn=_die_with_parent
        )
    _running[process.pid] = process
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} at start; see {log}")
            try:
                status, _ = get(port, ready_path, timeout=2)
            except OSError:
                status = 0
            pids = machine.descendants(process.pid)
            if status == 200 and len(pids) >= processes:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer {ready_path} within {timeout:.0f} s; see {log}")
            time.sleep(0.1)
        yield Server(name, port, process, pids)
    finally:
        _stop(process)


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """This environment without any RENDITIOND_* or RUST_LOG setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENDITIOND_") and k != "RUST_LOG"}
    env.update(extra)
    return env


@dataclass
class RenditiondSettings:
    """Every setting the measured renditiond runs with (the rest: defaults)."""

    binary: Path
    originals: Path
    signing_key: str
    api_token: str
    workers: int = 2
    shrink_on_load: str = "quality"

    def env(self, port: int) -> dict[str, str]:
        return clean_env(
            {
                "RENDITIOND_LISTEN": f"{HOST}:{port}",
                "RENDITIOND_ORIGINALS": str(self.originals),
                "RENDITIOND_SIGNING_KEYS": self.signing_key,
                "RENDITIOND_API_TOKEN": self.api_token,
                "RENDITIOND_WORKERS": str(self.workers),
                "RENDITIOND_SHRINK_ON_LOAD": self.shrink_on_load,
                "RENDITIOND_QUEUE_LENGTH": "32",
                "RENDITIOND_RENDER_TIMEOUT": "8",
                "RENDITIOND_MEMORY_CACHE_BYTES": str(256 * 1024 * 1024),
                "RENDITIOND_MEMORY_BUDGET": str(1024 * 1024 * 1024),
                "RENDITIOND_VERSION_TTL": "10",
                "RENDITIOND_WAGTAIL_VERSION": "8.0",
                "RENDITIOND_WAGTAIL_JPEG_QUALITY": "76",
                "RENDITIOND_WAGTAIL_WEBP_QUALITY": "80",
                "RENDITIOND_WAGTAIL_AVIF_QUALITY": "61",
                "RENDITIOND_LOG_FORMAT": "text",
                "RUST_LOG": "warn",
            }
        )

    def shown(self) -> dict[str, str]:
        """The settings, secrets left out."""
        return {
            k: v
            for k, v in self.env(0).items()
            if (k.startswith("RENDITIOND_") or k == "RUST_LOG")
            and k not in ("RENDITIOND_SIGNING_KEYS", "RENDITIOND_API_TOKEN", "RENDITIOND_LISTEN")
        }


@contextmanager
def renditiond(settings: RenditiondSettings, work: Path) -> Iterator[Server]:
    port = free_port()
    argv = [str(settings.binary), "serve"]
    with running("renditiond", argv, port, "/readyz", settings.env(port), work / "renditiond.log") as server:
        yield server


THUMBOR_CONF = """\
# thumbor for benches/compare: originals from the folder renditiond reads,
# no storage of originals, results kept on disk (as anchors-bench.md ran it),
# Wagtail 8's qualities (JPEG 76, WebP 80, AVIF 61), progressive JPEG
# (thumbor always optimizes JPEG Huffman tables; with PILLOW_JPEG_SUBSAMPLING
# and PILLOW_JPEG_QTABLES unset, Pillow's 4:2:0 and its tables for the
# quality, as renditiond's libjpeg-turbo).
LOADER = "thumbor.loaders.file_loader"
FILE_LOADER_ROOT_PATH = {originals!r}
STORAGE = "thumbor.storages.no_storage"
RESULT_STORAGE = "thumbor.result_storages.file_storage"
RESULT_STORAGE_FILE_STORAGE_ROOT_PATH = {results!r}
RESULT_STORAGE_STORES_UNSAFE = True
ALLOW_UNSAFE_URL = True
QUALITY = 76
PROGRESSIVE_JPEG = True
WEBP_QUALITY = 80
AVIF_QUALITY = 61
AUTO_WEBP = False
"""


@contextmanager
def thumbor(venv: Path, originals: Path, work: Path, processes: int = 2) -> Iterator[Server]:
    """thumbor with an empty result storage."""
    results = work / "thumbor-results"
    if results.exists():
        shutil.rmtree(results)
    results.mkdir(parents=True)
    conf = work / "thumbor.conf"
    conf.write_text(THUMBOR_CONF.format(originals=str(originals), results=str(results)))
    port = free_port()
    argv = [
        str(venv / "bin" / "thumbor"),
        "--ip",
        HOST,
        "--port",
        str(port),
        "--conf",
        str(conf),
        "--log-level",
        "warning",
        "--processes",
        str(processes),
    ]
    env = clean_env({})
    # --processes N forks N workers below the one started.
    with running(
        "thumbor", argv, port, "/healthcheck", env, work / "thumbor.log", processes=processes + 1
    ) as server:
        yield server


NGINX_CONF = """\
# nginx for benches/compare: one static file, as fast as nginx serves it.
worker_processes {workers};
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_min_uses 1;
    open_file_cache_errors on;
    types {{ image/jpeg jpg; }}
    default_type application/octet-stream;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen {host}:{port};
        root {root};
        location / {{ add_header Cache-Control "public, max-age=3600"; }}
    }}
}}
"""


@contextmanager
def nginx(binary: Path, root: Path, ready_path: str, work: Path, workers: int = 2) -> Iterator[Server]:
    """nginx serving the files of `root` (which its workers, run as nobody
    when the harness is root, must be able to read)."""
    prefix = work / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=workers, prefix=prefix, host=HOST, port=port, root=root))
    argv = [str(binary), "-p", str(prefix), "-c", str(conf)]
    with running(
        "nginx", argv, port, ready_path, clean_env({}), work / "nginx.log", processes=workers + 1
    ) as server:
        yield server
