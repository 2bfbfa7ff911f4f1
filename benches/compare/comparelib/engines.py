"""The Python engines of the in-process comparison, run one per process:

    python -m comparelib.engines pillow|vips PLAN_JSON [--runs N] [--min-seconds S] [--out FILE]
    python -m comparelib.engines ssim PLAN_JSON OUTPUT...

`pillow` and `vips` render the original of PLAN_JSON (a line of
`render_times plan`) with its geometry and encoder settings, once untimed and
then at least N times and S seconds, and print one JSON line with the CPU
and wall time of every render (the shape `render_times` prints). `ssim`
prints the SSIM of each OUTPUT against one reference. Also the machine's
speed reference (`reference_ms`), as anchors-bench.md timed it.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Plan = dict[str, Any]


def _usage() -> tuple[float, float, int]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return time.process_time(), ru.ru_stime, ru.ru_minflt


def timed(render: Callable[[], bytes], runs: int, min_seconds: float) -> tuple[dict[str, list[float]], bytes]:
    """One untimed render, then at least `runs` and `min_seconds` of CPU."""
    out = render()
    cpu: list[float] = []
    wall: list[float] = []
    sys_ms: list[float] = []
    faults: list[float] = []
    while len(cpu) < max(runs, 1) or (sum(cpu) < min_seconds * 1000 and len(cpu) < 500):
        c0, s0, f0 = _usage()
        w0 = time.perf_counter()
        out = render()
        w1 = time.perf_counter()
        c1, s1, f1 = _usage()
        cpu.append((c1 - c0) * 1000)
        wall.append((w1 - w0) * 1000)
        sys_ms.append((s1 - s0) * 1000)
        faults.append(f1 - f0)
    return {"cpu_ms": cpu, "wall_ms": wall, "sys_ms": sys_ms, "minor_faults": faults}, out


# Pillow -------------------------------------------------------------------


def pillow_render(data: bytes, plan: Plan) -> bytes:
    """Pillow with `draft`: the JPEG decoded at renditiond's shrink-on-load
    factor, cropped and resized in one LANCZOS pass (`resize(box=...)`)."""
    from PIL import Image

    src_w, src_h = plan["source"]
    left, top, right, bottom = plan["crop"]
    width, height = plan["size"]
    shrink = plan["shrink"]
    im = Image.open(io.BytesIO(data))
    if shrink > 1:
        im.draft("RGB", (int(src_w) // shrink, int(src_h) // shrink))
    fx, fy = src_w / im.width, src_h / im.height
    if im.mode != "RGB":
        im = im.convert("RGB")
    box = (left / fx, top / fy, right / fx, bottom / fy)
    out = im.resize((width, height), Image.Resampling.LANCZOS, box=box)
    return pillow_encode(out, plan)


def pillow_encode(im: Any, plan: Plan) -> bytes:
    enc = plan["encoder"]
    buf = io.BytesIO()
    fmt = plan["format"]
    if fmt == "jpeg":
        im.save(
            buf,
            "JPEG",
            quality=enc["quality"],
            progressive=enc["progressive"],
            optimize=enc["optimize"],
            subsampling="4:2:0",
        )
    elif fmt == "webp":
        im.save(buf, "WEBP", quality=enc["quality"], method=enc["method"], lossless=enc["lossless"])
    elif fmt == "avif":
        im.save(
            buf,
            "AVIF",
            quality=enc["quality"],
            speed=enc["speed"],
            subsampling=enc["subsampling"],
            max_threads=1,
        )
    else:
        raise ValueError(f"no Pillow settings for {fmt}")
    return buf.getvalue()


# libvips ------------------------------------------------------------------


def vips_render(data: bytes, plan: Plan) -> bytes:
    """libvips `thumbnail` (its own shrink-on-load) to the planned size; a crop
    that is not the whole image is made by thumbnailing the whole image to
    the crop's scale and cutting the planned region out."""
    import pyvips

    src_w, src_h = plan["source"]
    left, top, right, bottom = plan["crop"]
    width, height = plan["size"]
    if (left, top, right, bottom) == (0, 0, src_w, src_h):
        im = pyvips.Image.thumbnail_buffer(data, width, height=height, size="force")
    else:
        sx, sy = width / (right - left), height / (bottom - top)
        im = pyvips.Image.thumbnail_buffer(data, round(src_w * sx), height=round(src_h * sy), size="force")
        im = im.crop(round(left * sx), round(top * sy), width, height)
    enc = plan["encoder"]
    fmt = plan["format"]
    if fmt == "jpeg":
        return bytes(
            im.jpegsave_buffer(
                Q=enc["quality"],
                interlace=enc["progressive"],
                optimize_coding=enc["optimize"],
                subsample_mode="on",
                keep="none",
            )
        )
    if fmt == "webp":
        return bytes(
            im.webpsave_buffer(Q=enc["quality"], effort=enc["method"], lossless=enc["lossless"], keep="none")
        )
    if fmt == "avif":
        # libvips' effort is 9 - libaom's speed.
        return bytes(
            im.heifsave_buffer(
                Q=enc["quality"],
                compression="av1",
                effort=9 - enc["speed"],
                bitdepth=8,
                subsample_mode="on",
                keep="none",
            )
        )
    raise ValueError(f"no libvips settings for {fmt}")


def vips_setup() -> dict[str, Any]:
    import pyvips

    pyvips.cache_set_max(0)
    pyvips.cache_set_max_mem(0)
    pyvips.cache_set_max_files(0)
    return {"libvips": f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}", "api": pyvips.API_mode}


# Checks and quality -------------------------------------------------------


def decoded(data: bytes) -> Any:
    from PIL import Image

    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def reference_luma(plan: Plan) -> Any:
    """The reference every output is scored against: the original decoded
    whole (no draft), the planned crop resized with LANCZOS, as BT.601 luma."""
    from PIL import Image

    im = Image.open(plan["image"])
    im = im.convert("RGB")
    out = im.resize(tuple(plan["size"]), Image.Resampling.LANCZOS, box=tuple(plan["crop"]))
    return out.convert("L")


def ssim(reference: Any, image: Any) -> float:
    """SSIM on luma: scikit-image's, with the Gaussian window of Wang et al.
    (sigma 1.5, population covariance), data range 255."""
    import numpy as np
    from skimage.metrics import structural_similarity

    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(image.convert("RGB").convert("L"), dtype=np.float64)
    return float(
        structural_similarity(
            a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255.0
        )
    )


def reference_ms(image: Path, repeats: int = 5) -> float:
    """The machine-speed reference of anchors-bench.md: Pillow + draft,
    photo_2000x1500.jpg -> fill-400x300 (JPEG q76), median CPU ms."""
    from PIL import Image

    data = image.read_bytes()
    times = []
    for _ in range(repeats + 1):
        c0 = time.process_time()
        im = Image.open(io.BytesIO(data))
        im.draft("RGB", (1000, 750))
        out = im.resize((400, 300), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        out.save(buf, "JPEG", quality=76, progressive=True, optimize=True)
        times.append((time.process_time() - c0) * 1000)
    return statistics.median(times[1:])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="comparelib.engines")
    parser.add_argument("engine", choices=["pillow", "vips", "ssim"])
    parser.add_argument("plan", help="a JSON line of render_times plan")
    parser.add_argument("outputs", nargs="*", help="ssim: the renditions to score")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=0.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    plan: Plan = json.loads(args.plan)

    if args.engine == "ssim":
        ref = reference_luma(plan)
        scores = {}
        for path in args.outputs:
            im = decoded(Path(path).read_bytes())
            scores[path] = {"ssim": ssim(ref, im), "size": list(im.size)}
        print(json.dumps(scores))
        return 0

    data = Path(plan["image"]).read_bytes()
    info: dict[str, Any] = {}
    if args.engine == "pillow":
        import PIL

        info = {"pillow": PIL.__version__}

        def render() -> bytes:
            return pillow_render(data, plan)

    else:
        info = vips_setup()

        def render() -> bytes:
            return vips_render(data, plan)

    times, out = timed(render, args.runs, args.min_seconds)
    if args.out:
        args.out.write_bytes(out)
    check = decoded(out)
    result = dict(plan)
    result.update(
        {
            "engine": args.engine,
            "versions": info,
            "bytes": len(out),
            "output_size": list(check.size),
            "output_format": (check.format or "").lower(),
            "times": times,
        }
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
