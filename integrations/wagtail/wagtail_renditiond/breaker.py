"""A process-local circuit breaker: after renditiond fails once, calls fail
fast for a cooldown, then one call tries again. Each transition is logged once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("wagtail_renditiond")


class CircuitBreaker:
    """Closed (calls go through), open (calls fail fast until the cooldown
    ends) or half-open (one call is let through to decide)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until: float | None = None
        self._probing = False

    def allow(self) -> bool:
        """Whether a call may go to renditiond now."""
        with self._lock:
            if self._open_until is None:
                return True
            if self._probing or self._clock() < self._open_until:
                return False
            self._probing = True
            return True

    def succeeded(self) -> None:
        """A call answered: close."""
        with self._lock:
            was_open = self._open_until is not None
            self._open_until = None
            self._probing = False
        if was_open:
            logger.warning("renditiond answers again; renditions are offloaded again")

    def failed(self, cooldown: float, reason: str) -> None:
        """A call failed: open for ``cooldown`` seconds."""
        with self._lock:
            was_open = self._open_until is not None
            self._open_until = self._clock() + cooldown
            self._probing = False
        if not was_open:
            logger.warning(
                "renditiond is unavailable (%s); Wagtail renders images itself for the next %g s",
                reason,
                cooldown,
            )

    def reset(self) -> None:
        """Closed, as a new process starts (for tests)."""
        with self._lock:
            self._open_until = None
            self._probing = False

    @property
    def is_open(self) -> bool:
        """Whether calls fail fast now."""
        with self._lock:
            return self._open_until is not None


#: The breaker every thread of this process shares.
breaker = CircuitBreaker()
