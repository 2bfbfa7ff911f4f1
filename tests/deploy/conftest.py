"""The kustomize builds the tests check, rendered once per run."""

from __future__ import annotations

import pytest

from kube import BASE, BUILDS, MONITORING, Document, kustomize, overlay


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Document]]:
    """Every build's rendered documents, by name."""
    rendered = {}
    for name, folder in BUILDS.items():
        rendered[name] = kustomize(folder or overlay(tmp_path_factory.mktemp(name), [BASE], [MONITORING]))
    return rendered
