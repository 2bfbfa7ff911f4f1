"""The HTTP client of renditiond's ``/v1/`` API: one ``requests`` session per
thread, the bearer token, a timeout on every call, and one exception for
everything that means "renditiond is not answering properly"."""

from __future__ import annotations

import threading
from typing import Any

import requests

from . import __version__
from .conf import RenditiondSettings

USER_AGENT = f"wagtail-renditiond/{__version__}"


class RenditiondUnavailable(Exception):
    """renditiond could not be reached, timed out, refused the token, failed
    (5xx) or answered something that is not the expected JSON."""


_local = threading.local()


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        _local.session = session
    return session


def call(
    settings: RenditiondSettings, method: str, path: str, body: Any = None, read_timeout: float | None = None
) -> Any:
    """The JSON answer of ``method path`` (``body`` sent as JSON); the
    answer may take ``read_timeout`` seconds (default ``RENDITIOND_TIMEOUT``)."""
    try:
        response = _session().request(
            method,
            settings.url + path,
            json=body,
            headers={"Authorization": f"Bearer {settings.api_token}"},
            timeout=(settings.timeout, read_timeout or settings.timeout),
            allow_redirects=False,
        )
    except requests.RequestException as error:
        raise RenditiondUnavailable(f"{method} {path}: {error.__class__.__name__}") from error
    if response.status_code != 200:
        raise RenditiondUnavailable(f"{method} {path}: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as error:
        raise RenditiondUnavailable(f"{method} {path}: not JSON") from error


def plan(settings: RenditiondSettings, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``POST /v1/plan``: one answer per item, in order."""
    answer = call(settings, "POST", "/v1/plan", items)
    if (
        not isinstance(answer, list)
        or len(answer) != len(items)
        or not all(isinstance(a, dict) for a in answer)
    ):
        raise RenditiondUnavailable("POST /v1/plan: an answer that does not match the request")
    return answer


def warm(settings: RenditiondSettings, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``POST /v1/warm``: one answer per item, in order (this can take a while)."""
    answer = call(settings, "POST", "/v1/warm", items, read_timeout=settings.warm_timeout)
    if (
        not isinstance(answer, list)
        or len(answer) != len(items)
        or not all(isinstance(a, dict) for a in answer)
    ):
        raise RenditiondUnavailable("POST /v1/warm: an answer that does not match the request")
    return answer
