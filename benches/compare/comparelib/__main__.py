"""benches/compare's harness (started by benches/compare/run, which installs
and builds what it names here). Exits 0 when every run completed and every
check passed, 1 when the report lists problems."""

from __future__ import annotations

import argparse
import datetime
import json
import secrets
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from . import http_bench, imageinfo, inprocess, machine, report, servers


@dataclass(frozen=True)
class Mode:
    """How long and how much one run measures."""

    name: str
    http_warmup_s: float
    http_duration_s: float
    http_rounds: int
    srcset_originals: int
    inprocess_rounds: int
    inprocess_runs: int
    inprocess_min_seconds: float
    # Smoke: renditiond, nginx and the render timer only, on the subject
    # alone (no Python engines, no thumbor, no machine-speed reference).
    smoke: bool = False


MODES = {
    "full": Mode("full", 3.0, 15.0, 2, 8, 3, 5, 1.0),
    "quick": Mode("quick (a check that the harness runs, not figures)", 1.0, 3.0, 1, 2, 1, 2, 0.05),
    "smoke": Mode("smoke (renditiond and nginx only: a check, not figures)", 1.0, 1.0, 1, 1, 1, 1, 0.0, True),
}


def version_of(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except OSError as e:
        return f"? ({e})"
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0].strip() if text else "?"


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="benches/compare/run")
    p.add_argument("--mode", choices=sorted(MODES), default="full")
    p.add_argument("--parts", default="http,inprocess", help="http, inprocess or both (default)")
    p.add_argument("--scenarios", help=f"of {','.join(http_bench.SCENARIOS)} (default: all)")
    p.add_argument("--images", type=Path, required=True, help="the folder of shared/images")
    p.add_argument(
        "--subject", type=Path, help="the HTTP scenarios' original (default: IMAGES/photo_12mp.jpg)"
    )
    p.add_argument("--out", type=Path, required=True, help="folder for report.md and results.json")
    p.add_argument("--work", type=Path, required=True, help="folder for originals, lists, logs")
    p.add_argument("--renditiond", type=Path, required=True)
    p.add_argument("--render-times", type=Path, required=True)
    p.add_argument("--thumbor-venv", type=Path)
    p.add_argument("--wrk", type=Path, required=True)
    p.add_argument("--nginx", type=Path, required=True)
    p.add_argument("--commit", default="?")
    p.add_argument("--build", default="release")
    p.add_argument("--cpu", default="1", help="CPU the in-process engines are pinned to, or 'none'")
    p.add_argument("--rounds", type=int, help="rounds per part (default: the mode's)")
    p.add_argument("--duration", type=int, help="seconds per wrk run (default: the mode's)")
    return p.parse_args(argv)


def stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def settings_text(
    args: argparse.Namespace, settings: servers.RenditiondSettings, mode: Mode, systems: tuple[str, ...]
) -> dict[str, str]:
    out = {
        "renditiond": f"{args.build} build of {args.commit}; "
        + ", ".join(f"`{k}={v}`" for k, v in settings.shown().items())
        + " (signing key and API token random per run)",
    }
    if "thumbor" in systems and args.thumbor_venv:
        out["thumbor"] = (
            version_of(
                [
                    str(args.thumbor_venv / "bin" / "python"),
                    "-c",
                    "import thumbor, PIL; print('thumbor', thumbor.__version__, 'Pillow', PIL.__version__)",
                ]
            )
            + ", `--processes 2`, file loader, `no_storage`, file result storage emptied before each run "
            "(stores unsafe), `QUALITY = 76`, `PROGRESSIVE_JPEG = True` (thumbor always optimizes JPEG), "
            "`WEBP_QUALITY = 80`, `AVIF_QUALITY = 61`"
        )
    out["nginx"] = (
        version_of([str(args.nginx), "-v"]) + ", 2 workers, `sendfile`, `open_file_cache`, keep-alive"
    )
    out["wrk"] = version_of([str(args.wrk), "-v"])
    if not mode.smoke:
        import PIL

        from . import engines

        out["in-process"] = (
            f"Pillow {PIL.__version__}; "
            + json.dumps(engines.vips_setup())
            + "; `VIPS_CONCURRENCY=1`, libvips operation cache off; every engine gets renditiond's plan "
            "(crop, size, shrink-on-load factor, encoder settings: see the plan column of results.json)"
        )
        out["SSIM"] = (
            "scikit-image `structural_similarity` (Gaussian window σ 1.5, population covariance, "
            "range 255) on BT.601 luma, against the original decoded whole (no draft) and resized with "
            "Pillow's LANCZOS to the planned crop and size"
        )
    out["images"] = str(args.images)
    return out


def main(argv: list[str]) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    mode = MODES[args.mode]
    parts = [p for p in args.parts.split(",") if p]
    subject = args.subject or args.images / "photo_12mp.jpg"
    if mode.smoke:
        systems: tuple[str, ...] = ("renditiond", "nginx")
        scenarios = ["cold-image", "srcset", "hot"]
        in_images: tuple[str, ...] = (subject.name,)
        images = subject.parent
    else:
        systems = ("renditiond", "thumbor", "nginx")
        scenarios = list(http_bench.SCENARIOS)
        in_images = inprocess.IMAGES
        images = args.images
    if args.scenarios:
        scenarios = [s for s in args.scenarios.split(",") if s]
    for path in [subject, *(images / name for name in in_images)]:
        if not path.is_file():
            raise SystemExit(f"{path}: missing (give the image folder with --images)")
    subject_info = imageinfo.sniff(subject.read_bytes())
    if subject_info.format != "jpeg":
        raise SystemExit(f"{subject}: the subject must be a JPEG")
    if "thumbor" in systems and "http" in parts and not args.thumbor_venv:
        raise SystemExit("--thumbor-venv is needed")
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)

    settings = servers.RenditiondSettings(
        binary=args.renditiond,
        originals=args.work / "originals",
        signing_key=secrets.token_urlsafe(24),
        api_token=secrets.token_urlsafe(24),
    )
    results: dict[str, Any] = {
        "machine": machine.describe(),
        "mode": mode.name,
        "subject": f"{subject.name}, {subject_info.width}×{subject_info.height}"
        + (" progressive" if subject_info.progressive else " baseline"),
        "settings": settings_text(args, settings, mode, systems),
    }

    try:
        if "http" in parts:
            cfg = http_bench.HttpConfig(
                warmup_s=mode.http_warmup_s,
                duration_s=args.duration or mode.http_duration_s,
                rounds=args.rounds or mode.http_rounds,
                srcset_originals=mode.srcset_originals,
                reference=not mode.smoke,
                # The smoke run's small subject renders in milliseconds.
                cold_max_rate=5000 if mode.smoke else http_bench.COLD_MAX_RATE,
            )
            copies = max(sum(http_bench.cold_list_lengths(cfg)), 2 * cfg.srcset_originals)
            http_bench.prepare_originals(subject, settings.originals, copies)
            setup = http_bench.Setup(
                work=args.work,
                originals=settings.originals,
                settings=settings,
                thumbor_venv=args.thumbor_venv,
                wrk=args.wrk,
                nginx=args.nginx,
                ref_image=None if mode.smoke else args.images / "photo_2000x1500.jpg",
                subject_size=subject_info.size,
                systems=systems,
            )
            results["http"] = http_bench.run_http(setup, cfg, scenarios)
        if "inprocess" in parts:
            icfg = inprocess.InprocessConfig(
                rounds=args.rounds or mode.inprocess_rounds,
                runs=mode.inprocess_runs,
                min_seconds=mode.inprocess_min_seconds,
                cpu=None if args.cpu == "none" else int(args.cpu),
                images=in_images,
                specs=("fill-400x300",) if mode.smoke else inprocess.SPECS,
                engines=("renditiond", "floor") if mode.smoke else inprocess.ENGINES,
                reference=not mode.smoke,
            )
            results["inprocess"] = inprocess.run_inprocess(args.render_times, images, args.work, icfg)
    finally:
        servers.stop_all()
        shutil.rmtree(settings.originals, ignore_errors=True)

    results["finished"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    results["loadavg_after"] = machine.loadavg()
    results["problems"] = report.problems(results)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    text = report.markdown(results)
    (args.out / "report.md").write_text(text)
    print(text)
    print(f"(written to {args.out}/report.md and results.json)", file=sys.stderr)
    if results["problems"]:
        print(f"{len(results['problems'])} problems: see the report", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
