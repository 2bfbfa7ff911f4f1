"""The processes the test starts: each in its namespace, in a session of its
own, logging to a file; stopped by its id (its process group), bounded in
time, and every one of them killed at teardown, even after a failure."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from netns import Namespace

# How long a process may take to stop after SIGTERM before SIGKILL.
STOP_TIMEOUT = 10.0


class Process:
    """One started process."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.name = name
        self.popen = popen
        self.log = log
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        """Sends `sig` to the process itself (not its group)."""
        if self.alive():
            self.popen.send_signal(sig)

    def wait(self, timeout: float) -> int | None:
        """The exit status, or None if it still runs after `timeout` seconds."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM to its group, then SIGKILL after `timeout`; its status."""
        self._group_signal(signal.SIGTERM)
        status = self.wait(timeout)
        if status is None:
            self._group_signal(signal.SIGKILL)
            status = self.popen.wait(timeout=STOP_TIMEOUT)
        return status

    def _group_signal(self, sig: signal.Signals) -> None:
        # The group is the session this process leads (start_new_session):
        # it and its children only.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


class Supervisor:
    """Starts processes and stops all of them at the end."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.processes: list[Process] = []

    def start(
        self,
        name: str,
        ns: Namespace,
        argv: list[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Process:
        """`argv` in namespace `ns`; output appended to logs/<name>.log."""
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                ns.exec_argv(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env if env is not None else minimal_env(),
                cwd=cwd,
                start_new_session=True,
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def stop_all(self) -> list[str]:
        """Stops every process still running (SIGTERM, then SIGKILL); what
        would not stop."""
        problems = []
        running = [p for p in self.processes if p.alive()]
        for process in running:
            process._group_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in running:
            if process.wait(max(0.1, deadline - time.monotonic())) is None:
                process._group_signal(signal.SIGKILL)
                if process.wait(STOP_TIMEOUT) is None:
                    problems.append(f"{process.name} (pid {process.pid}) does not stop")
        return problems


def minimal_env(**extra: str) -> dict[str, str]:
    """A clean environment: PATH and what is given, nothing inherited."""
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def wait_for(
    what: str,
    check: Callable[[], bool],
    timeout: float,
    interval: float = 0.1,
    on_fail: Callable[[], str] | None = None,
) -> float:
    """Polls `check` until it is true, at most `timeout` seconds; the time
    it took. Fails naming `what` (and what `on_fail` tells) otherwise."""
    started = time.monotonic()
    deadline = started + timeout
    attempts = int(timeout / interval) + 1
    for _ in range(attempts):
        if check():
            return time.monotonic() - started
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if check():
        return time.monotonic() - started
    detail = on_fail() if on_fail else ""
    raise TimeoutError(f"{what}: not within {timeout:.1f} s\n{detail}")
