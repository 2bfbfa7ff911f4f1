"""The in-process comparison: one thread, a fresh process per engine and
image x spec, engines interleaved round by round, every engine given
renditiond's own plan (geometry and encoder settings) for the spec, every
output checked against the plan and scored (SSIM) against one reference."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import engines, imageinfo, machine

HERE = Path(__file__).resolve().parent.parent

IMAGES = ("photo_12mp.jpg", "photo_12mp_progressive.jpg", "photo_2000x1500.jpg")
SPECS = ("fill-400x300", "width-1200", "fill-400x300|format-webp", "width-1200|format-avif")
ENGINES = ("renditiond", "pillow", "vips", "floor")
PEERS = ("pillow", "vips")
LABELS = {
    "renditiond": "renditiond",
    "pillow": "Pillow + draft",
    "vips": "libvips thumbnail",
    "floor": "decode floor",
}


@dataclass
class InprocessConfig:
    rounds: int
    runs: int
    min_seconds: float
    cpu: int | None
    images: tuple[str, ...] = IMAGES
    specs: tuple[str, ...] = SPECS
    engines: tuple[str, ...] = ENGINES
    # Time the machine-speed reference (Pillow) in each cell's rounds.
    reference: bool = True


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_json(argv: list[str], env: dict[str, str], cpu: int | None, timeout: float = 600) -> dict[str, Any]:
    """Runs one engine process (pinned to `cpu`) and reads the JSON line it ends with."""

    def pin() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=timeout, check=False, preexec_fn=pin
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} {argv[1]} failed ({done.returncode}): {done.stderr.strip()}")
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"{argv[0]} {argv[1]} printed nothing")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def engine_argv(
    engine: str, bench: Path, plan: dict[str, Any], cfg: InprocessConfig, out: Path | None
) -> list[str]:
    common = ["--runs", str(cfg.runs), "--min-seconds", str(cfg.min_seconds)]
    image, spec = plan["image"], plan["spec"]
    if engine == "renditiond":
        argv = [str(bench), "render", image, spec, "--warmup", "1", *common]
    elif engine == "floor":
        argv = [str(bench), "decode", image, spec, "--warmup", "1", *common]
    else:
        argv = [sys.executable, "-m", "comparelib.engines", engine, json.dumps(plan), *common]
    if out is not None:
        argv += ["--out", str(out)]
    return argv


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled medians over the rounds' renders, and each round's median."""
    for r in results:
        times = r.get("times", {})
        if not times.get("cpu_ms") or len({len(v) for v in times.values()}) != 1:
            raise ValueError(f"{r.get('engine')}: no times, or lists of different lengths")
    cpu = [t for r in results for t in r["times"]["cpu_ms"]]
    wall = [t for r in results for t in r["times"]["wall_ms"]]
    sys_ms = [t for r in results for t in r["times"]["sys_ms"]]
    faults = [t for r in results for t in r["times"]["minor_faults"]]
    last = results[-1]
    return {
        "cpu_ms": statistics.median(cpu),
        "wall_ms": statistics.median(wall),
        "sys_ms": statistics.median(sys_ms),
        "minor_faults": statistics.median(faults),
        "round_medians_cpu_ms": [statistics.median(r["times"]["cpu_ms"]) for r in results],
        "renders": len(cpu),
        "bytes": last.get("bytes"),
        "output_format": last.get("output_format"),
        "decoded": last.get("decoded"),
        "versions": last.get("versions"),
    }


def check_output(path: Path, plan: dict[str, Any]) -> str | None:
    """None when the file is the plan's format and size, else what is wrong."""
    try:
        info = imageinfo.sniff(path.read_bytes())
    except (OSError, ValueError) as e:
        return f"{path.name}: {e}"
    if info.format != plan["format"] or list(info.size) != list(plan["size"]):
        made = f"{info.format} {info.width}×{info.height}"
        return f"{path.name}: {made}, the plan says {plan['format']} {plan['size']}"
    return None


def run_inprocess(bench: Path, images: Path, work: Path, cfg: InprocessConfig) -> dict[str, Any]:
    env = dict(os.environ)
    env.update({"VIPS_CONCURRENCY": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE)})
    outputs = work / "renditions"
    outputs.mkdir(parents=True, exist_ok=True)
    everywhere = os.sched_getaffinity(0)
    if cfg.cpu is not None:
        os.sched_setaffinity(0, {cfg.cpu})
    part: dict[str, Any] = {"load1_before": machine.load1(), "config": asdict(cfg), "cells": []}
    log(f"in-process part, load {part['load1_before']:.2f}, pinned to CPU {cfg.cpu}")
    ref_image = images / "photo_2000x1500.jpg"
    try:
        for image_name in cfg.images:
            for spec in cfg.specs:
                part["cells"].append(run_cell(bench, images / image_name, spec, outputs, env, cfg, ref_image))
    finally:
        os.sched_setaffinity(0, everywhere)
    return part


def run_cell(
    bench: Path,
    image: Path,
    spec: str,
    outputs: Path,
    env: dict[str, str],
    cfg: InprocessConfig,
    ref_image: Path,
) -> dict[str, Any]:
    plan = run_json([str(bench), "plan", str(image), spec], env, cfg.cpu)
    load = machine.load1()
    stem = f"{image.stem}.{spec.replace('|', '.')}"
    results: dict[str, list[dict[str, Any]]] = {e: [] for e in cfg.engines}
    refs: list[float] = []
    files: dict[str, Path] = {}
    with machine.OtherLoad(cpu=cfg.cpu) as other:
        for r in range(cfg.rounds):
            if cfg.reference:
                refs.append(engines.reference_ms(ref_image))
            n = len(cfg.engines)
            order = cfg.engines[r % n :] + cfg.engines[: r % n]
            for engine in order:
                out = None
                if engine != "floor" and r == cfg.rounds - 1:
                    out = files[engine] = outputs / f"{stem}.{engine}.{plan['format']}"
                    out.unlink(missing_ok=True)
                results[engine].append(run_json(engine_argv(engine, bench, plan, cfg, out), env, cfg.cpu))
    scores: dict[str, Any] = {}
    if any(e in PEERS for e in cfg.engines):
        # SSIM needs scikit-image: only with the peers' virtualenv.
        scores = run_json(
            [sys.executable, "-m", "comparelib.engines", "ssim", json.dumps(plan), *map(str, files.values())],
            env,
            cfg.cpu,
        )
    cell: dict[str, Any] = {
        "image": image.name,
        "spec": spec,
        "plan": plan,
        "load1_before": load,
        "other_cores": other.cores,
        "ref_ms": statistics.median(refs) if refs else None,
        "engines": {},
        "problems": [],
    }
    for engine in cfg.engines:
        summary = summarize(results[engine])
        if engine in files:
            problem = check_output(files[engine], plan)
            summary["output_ok"] = problem is None
            if problem:
                cell["problems"].append(f"{image.name} {spec} {engine}: {problem}")
            if str(files[engine]) in scores:
                summary["ssim"] = scores[str(files[engine])]["ssim"]
        cell["engines"][engine] = summary
    base = cell["engines"]["renditiond"]["cpu_ms"]
    cell["ratios"] = {e: cell["engines"][e]["cpu_ms"] / base for e in cfg.engines if e != "renditiond"}
    e = cell["engines"]
    cpu = "  ".join(f"{LABELS[x].split()[0]} {e[x]['cpu_ms']:.1f}" for x in cfg.engines)
    ssims = "/".join(f"{e[x]['ssim']:.4f}" for x in cfg.engines if "ssim" in e[x])
    log(
        f"  {image.name:28} {spec:28} {cpu} ms (shrink 1/{plan['shrink']})  ssim {ssims or '–'}"
        f"  other {other.cores or 0:.2f} cores  load {load:.2f}"
    )
    for problem in cell["problems"]:
        log(f"  PROBLEM: {problem}")
    return cell
