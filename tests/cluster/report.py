"""The figures the scenarios measure, printed at the end of the run (and
kept in the run's log folder when it is kept)."""

from __future__ import annotations

import time

STARTED = time.monotonic()
FIGURES: list[str] = []


def figure(scenario: str, text: str) -> None:
    """Notes one figure of a scenario."""
    FIGURES.append(f"[{scenario}] {text}")


def elapsed() -> float:
    return time.monotonic() - STARTED
