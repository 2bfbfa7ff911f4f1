"""The real parts, each in its namespace: SeaweedFS (the S3 store),
renditiond (run from the image's root filesystem), HAProxy (health checks,
retries, a stats socket) and Varnish (the CDN)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import rootfs
from netns import Namespace
from processes import Process, Supervisor, minimal_env, wait_for

BUCKET = "media"
ORIGINALS = "originals"
RENDITIONS = "renditions"
S3_PORT = 8333
HTTP_PORT = 8080
METRICS_PORT = 9090
REDIRECT_PORT = 8081
REDIRECT_METRICS_PORT = 9091
REDIRECT_HOST = "redirect.cluster.test"


@dataclass
class S3:
    endpoint: str
    key: str
    secret: str
    bucket: str = BUCKET

    def client(self) -> Any:
        """A boto3 client (use it from a thread of a namespace that reaches the store)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=3,
                read_timeout=30,
            ),
        )


class SeaweedFS:
    """`weed mini` on its namespace's address: one bucket, one identity for
    renditiond (and the test), anonymous read of the renditions prefix only."""

    def __init__(self, supervisor: Supervisor, ns: Namespace, data: Path, weed: Path) -> None:
        self.supervisor, self.ns, self.data, self.weed = supervisor, ns, data, weed
        self.s3 = S3(f"http://{ns.address}:{S3_PORT}", "renditiond-cluster", os.urandom(20).hex())
        self.process: Process | None = None

    def start(self) -> None:
        self.data.mkdir(parents=True)
        config = {
            "identities": [
                {
                    "name": "renditiond",
                    "credentials": [{"accessKey": self.s3.key, "secretKey": self.s3.secret}],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                },
                {"name": "anonymous", "actions": [f"Read:{BUCKET}/{RENDITIONS}/*"]},
            ]
        }
        (self.data / "s3.json").write_text(json.dumps(config))
        a = self.ns.address
        self.process = self.supervisor.start(
            "seaweedfs",
            self.ns,
            [
                str(self.weed),
                "mini",
                f"-dir={self.data}",
                f"-ip={a}",
                f"-ip.bind={a}",
                "-master.telemetry=false",
                "-webdav=false",
                "-admin.ui=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-s3.autoCreateBucket=false",
                f"-s3.port={S3_PORT}",
                "-master.port=9333",
                "-volume.port=18080",
                "-filer.port=8888",
                "-admin.port=23646",
                f"-s3.config={self.data / 's3.json'}",
                f"-bucket={BUCKET}",
            ],
        )


class Renditiond:
    """One renditiond, run from the image's root filesystem (read-only,
    chrooted, user 65532) in its namespace."""

    def __init__(
        self,
        name: str,
        supervisor: Supervisor,
        ns: Namespace,
        root: Path,
        wagtail: Path,
        env: dict[str, str],
        port: int = HTTP_PORT,
        metrics_port: int = METRICS_PORT,
    ) -> None:
        self.name, self.supervisor, self.ns, self.root, self.wagtail = name, supervisor, ns, root, wagtail
        self.port, self.metrics_port = port, metrics_port
        self.env = {
            **env,
            "RENDITIOND_LISTEN": f"0.0.0.0:{port}",
            "RENDITIOND_METRICS_LISTEN": f"0.0.0.0:{metrics_port}",
            "RENDITIOND_LOG_FORMAT": "json",
        }
        self.process: Process | None = None
        self.starts = 0

    @property
    def target(self) -> str:
        return f"{self.ns.address}:{self.port}"

    @property
    def metrics_target(self) -> str:
        return f"{self.ns.address}:{self.metrics_port}"

    def start(self) -> Process:
        self.starts += 1
        self.process = self.supervisor.start(
            self.name, self.ns, rootfs.launch_argv(self.root, self.wagtail), env=minimal_env(**self.env)
        )
        return self.process

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.signal(sig)

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines of every run of this instance."""
        if self.process is None:
            return []
        lines = []
        for line in self.process.log_text().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                lines.append({"raw": line})
        return lines

    def listener_closed_after(self, since: int) -> float | None:
        """Seconds from "shutting down" to the listener's close ("accept
        thread stopped") in the log lines after the first `since`."""
        stamps: dict[str, datetime] = {}
        for line in self.log_lines()[since:]:
            message = line.get("message")
            if message == "shutting down: not ready any more" or (
                message == "accept thread stopped" and "shutting down" in stamps
            ):
                stamps.setdefault(
                    "shutting down" if message.startswith("shutting") else "closed",
                    datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")),
                )
        if len(stamps) < 2:
            return None
        return (stamps["closed"] - stamps["shutting down"]).total_seconds()

    def identity(self) -> tuple[int, bool]:
        """The running process's user id, and whether its root (the image's
        folder, "/" as it sees it) is mounted read-only."""
        assert self.process is not None
        pid = self.process.pid
        status = Path(f"/proc/{pid}/status").read_text()
        uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        mounts = [m.split() for m in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()]
        root = [m for m in mounts if m[4] == "/"][-1]
        return uid, "ro" in root[5].split(",")


HAPROXY_CONFIG = """global
    stats socket {socket} mode 600 level admin
    stats timeout 10s
    maxconn 4096

defaults
    mode http
    option http-keep-alive
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout check 1s
    # A connection that fails, or closes before any answer (an instance
    # gone), is tried again on another instance: any method when nothing
    # was sent, GET only otherwise (see the frontend).
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
    option httpchk
    http-check send meth GET uri /readyz
    http-check expect status 200
    default-server check inter {inter}ms fastinter {inter}ms downinter {inter}ms fall 2 rise 2

frontend front
    bind {address}:80
    http-request disable-l7-retry unless METH_GET
    http-response set-header X-Served-By %[srv_name]
    use_backend redirect if {{ hdr(host) -i {redirect_host} }}
    default_backend renditiond

backend renditiond
    balance roundrobin
{servers}

backend redirect
    server redirect {redirect}
"""


class HAProxy:
    """The load balancer: round-robin, health checks on /readyz, retries."""

    INTER_MS = 250

    def __init__(self, supervisor: Supervisor, ns: Namespace, run: Path) -> None:
        self.supervisor, self.ns = supervisor, ns
        self.config = run / "haproxy.cfg"
        self.socket = run / "haproxy.sock"
        self.process: Process | None = None

    @property
    def target(self) -> str:
        return f"{self.ns.address}:80"

    def start(self, servers: dict[str, str], redirect: str) -> None:
        lines = "\n".join(f"    server {name} {target}" for name, target in servers.items())
        self.config.write_text(
            HAPROXY_CONFIG.format(
                socket=self.socket,
                inter=self.INTER_MS,
                address=self.ns.address,
                redirect_host=REDIRECT_HOST,
                servers=lines,
                redirect=redirect,
            )
        )
        self.process = self.supervisor.start("haproxy", self.ns, ["haproxy", "-db", "-f", str(self.config)])
        process = self.process
        wait_for(
            "HAProxy's stats socket",
            lambda: self.socket.exists() or not process.alive(),
            30,
            on_fail=process.log_tail,
        )
        assert process.alive(), f"HAProxy exited:\n{process.log_tail()}"

    def command(self, text: str) -> str:
        """One command on the stats socket; its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(self.socket))
            s.sendall(text.encode() + b"\n")
            chunks = []
            for _ in range(1000):
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def stats(self) -> dict[tuple[str, str], dict[str, str]]:
        """`show stat`: (backend, server) -> its row."""
        text = self.command("show stat").lstrip("# ")
        return {(row["pxname"], row["svname"]): row for row in csv.DictReader(io.StringIO(text))}

    def status(self, server: str, backend: str = "renditiond") -> str:
        """UP, DOWN, "UP 1/2" (going down), "DOWN 1/2" (coming up), ..."""
        try:
            return self.stats()[backend, server]["status"]
        except (OSError, KeyError):
            return "?"


VCL = """vcl 4.1;

# The CDN: renditiond behind HAProxy, and the rendition bucket (read
# anonymously) for the public URL of redirect mode. Caching follows the
# builtin VCL: Cache-Control (no-store and private are not cached), ETag
# (If-None-Match answered 304 from the cache), Vary. Accept is normalised
# to the bucket renditiond's format negotiation picks (README, "Format
# negotiation and CDNs"), so Vary: Accept keeps one copy per format.
backend lb {{
    .host = "{lb}";
    .port = "80";
    .connect_timeout = 2s;
    .first_byte_timeout = 60s;
}}

backend store {{
    .host = "{store}";
    .port = "{store_port}";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
}}

sub vcl_recv {{
    if (req.url ~ "^/{renditions}/") {{
        set req.backend_hint = store;
    }} else {{
        set req.backend_hint = lb;
        if (req.http.Accept ~ "image/avif") {{
            set req.http.Accept = "image/avif";
        }} elsif (req.http.Accept ~ "image/webp") {{
            set req.http.Accept = "image/webp";
        }} else {{
            unset req.http.Accept;
        }}
    }}
}}

sub vcl_backend_fetch {{
    if (bereq.backend == store) {{
        set bereq.url = "/{bucket}" + bereq.url;
        set bereq.http.host = "{store}:{store_port}";
    }}
}}
"""


class Varnish:
    """The CDN in front of HAProxy, with the bucket as a second backend."""

    def __init__(self, supervisor: Supervisor, ns: Namespace, run: Path) -> None:
        self.supervisor, self.ns = supervisor, ns
        self.vcl = run / "cdn.vcl"
        self.workdir = run / "varnish"
        self.process: Process | None = None

    @property
    def target(self) -> str:
        return f"{self.ns.address}:80"

    @property
    def public_url(self) -> str:
        """The renditions' public URL (redirect mode's RENDITIOND_PUBLIC_URL)."""
        return f"http://{self.ns.address}/{RENDITIONS}"

    def start(self, lb: str, store: str) -> None:
        self.vcl.write_text(
            VCL.format(lb=lb, store=store, store_port=S3_PORT, renditions=RENDITIONS, bucket=BUCKET)
        )
        self.process = self.supervisor.start(
            "varnish",
            self.ns,
            [
                "varnishd",
                "-F",
                "-a",
                f"{self.ns.address}:80",
                "-f",
                str(self.vcl),
                "-n",
                str(self.workdir),
                "-s",
                "malloc,128m",
            ],
        )
