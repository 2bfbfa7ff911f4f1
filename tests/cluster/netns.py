"""The test's own network: one namespace per host, each joined by a veth
pair to a bridge that lives in a namespace of its own, on a private subnet.
The root namespace's network is never touched: every link is made inside
the bridge's namespace and its peer moved straight into the host's.

Names carry a per-run prefix, so a leftover of a crashed run never collides
with this one. Code that must talk to the test's addresses runs in a thread
that joined a namespace (`Namespace.call`): a network namespace is a
property of a thread, and a socket stays in the namespace it was made in.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

SUBNET_PREFIX = "10.77.0"
PREFIX_LENGTH = 24
NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
# Every `ip` call is bounded.
IP_TIMEOUT = 15

_libc = ctypes.CDLL(None, use_errno=True)


def ip(*args: str) -> str:
    """Runs `ip args`; its output, or an error naming the command."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=IP_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def run_prefix() -> str:
    """A name prefix of this run's namespaces, unique per run."""
    return f"rdc{os.getpid() % 100000}{secrets.token_hex(2)}"


def netns_possible() -> str | None:
    """None when namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "not root"
    probe = f"{run_prefix()}-probe"
    try:
        ip("netns", "add", probe)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
        return f"ip netns add fails: {error}"
    try:
        ip("-n", probe, "link", "set", "lo", "up")
        ip("-n", probe, "link", "add", "probe0", "type", "bridge")
    except RuntimeError as error:
        return f"no bridge in a namespace: {error}"
    finally:
        ip("netns", "del", probe)
    return None


def enter(name: str) -> None:
    """Moves the calling thread into namespace `name`."""
    fd = os.open(NETNS_DIR / name, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns {name}: {os.strerror(errno)}")
    finally:
        os.close(fd)


@dataclass
class Namespace:
    """One host: a network namespace with one address on the bridge."""

    name: str
    host: str
    address: str
    _threads: ThreadPoolExecutor | None = field(default=None, repr=False)

    def exec_argv(self, argv: list[str]) -> list[str]:
        """`argv` run inside this namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def threads(self, workers: int = 16) -> ThreadPoolExecutor:
        """Threads that live in this namespace (made once)."""
        if self._threads is None:
            self._threads = ThreadPoolExecutor(
                max_workers=workers,
                thread_name_prefix=f"ns-{self.host}",
                initializer=enter,
                initargs=(self.name,),
            )
        return self._threads

    def call(self, fn: Callable[..., T], *args: object, timeout: float = 120, **kwargs: object) -> T:
        """`fn(*args, **kwargs)` in a thread of this namespace."""
        return self.threads().submit(fn, *args, **kwargs).result(timeout=timeout)

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None


class Topology:
    """The bridge's namespace and one namespace per host, made and deleted
    together."""

    def __init__(self, hosts: dict[str, int]) -> None:
        """`hosts`: host name -> last byte of its address."""
        self.prefix = run_prefix()
        self.bridge = f"{self.prefix}-br"
        self.hosts = {
            host: Namespace(f"{self.prefix}-{host}", host, f"{SUBNET_PREFIX}.{last}")
            for host, last in hosts.items()
        }
        self._made: list[str] = []

    def __getitem__(self, host: str) -> Namespace:
        return self.hosts[host]

    def create(self) -> None:
        self._add(self.bridge)
        ip("-n", self.bridge, "link", "set", "lo", "up")
        ip("-n", self.bridge, "link", "add", "br0", "type", "bridge")
        ip("-n", self.bridge, "link", "set", "br0", "up")
        for ns in self.hosts.values():
            self._add(ns.name)
            ip("-n", ns.name, "link", "set", "lo", "up")
            # Made in the bridge's namespace, its peer born in the host's.
            ip(
                "-n",
                self.bridge,
                "link",
                "add",
                self.port(ns.host),
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                ns.name,
            )
            ip("-n", self.bridge, "link", "set", self.port(ns.host), "master", "br0")
            ip("-n", self.bridge, "link", "set", self.port(ns.host), "up")
            ip("-n", ns.name, "addr", "add", f"{ns.address}/{PREFIX_LENGTH}", "dev", "eth0")
            ip("-n", ns.name, "link", "set", "eth0", "up")

    @staticmethod
    def port(host: str) -> str:
        """The bridge's end of a host's veth pair."""
        return f"v-{host}"[:15]

    def set_link(self, host: str, up: bool) -> None:
        """Cuts a host off the bridge (or joins it again), at its veth."""
        ip("-n", self.bridge, "link", "set", self.port(host), "up" if up else "down")

    def _add(self, name: str) -> None:
        ip("netns", "add", name)
        self._made.append(name)

    def delete(self) -> list[str]:
        """Deletes every namespace made; the errors, if any."""
        errors = []
        for ns in self.hosts.values():
            ns.close()
        for name in reversed(self._made):
            try:
                ip("netns", "del", name)
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                errors.append(str(error))
        self._made.clear()
        return errors

    def leftovers(self) -> list[str]:
        """Namespaces of other runs of this test (crashed ones, or running)."""
        names = [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]
        return [n for n in names if n.startswith("rdc") and not n.startswith(self.prefix)]
