"""The circuit breaker, on a clock the test moves."""

from __future__ import annotations

import logging

import pytest

from wagtail_renditiond.breaker import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_on_failure_then_lets_one_call_probe(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    breaker = CircuitBreaker(clock)
    assert breaker.allow()
    with caplog.at_level(logging.WARNING, logger="wagtail_renditiond"):
        breaker.failed(30, "refused")
        breaker.failed(30, "refused")
    assert len(caplog.records) == 1, "logged once per transition"
    assert not breaker.allow()
    clock.now += 29
    assert not breaker.allow()
    clock.now += 2
    assert breaker.allow(), "one probe after the cooldown"
    assert not breaker.allow(), "only one"
    breaker.failed(30, "refused")
    assert not breaker.allow()
    clock.now += 31
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.allow() and breaker.allow()
    assert not breaker.is_open
