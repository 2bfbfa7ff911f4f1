#!/usr/bin/env python3
"""renditiond's renditions against Wagtail's own, pixel for pixel.

For every raster test image and every spec of tests/data/render-specs.txt
(fill specs also with a focal point), Wagtail renders through its real
`Filter.run` (Willow + Pillow) and renditiond through `renditiond render`.
Then:

* both succeed, or Wagtail crashes where renditiond succeeds (reported), or
  both refuse; renditiond never refuses what Wagtail renders;
* the outputs have the same format and the same size, always;
* PNG outputs reach a PSNR of at least 40 dB against Wagtail's; the PSNR of
  the other formats is reported per format (lossy encoders differ).

Transparent outputs are composited over white before comparing, as a viewer
would see them.

    python compare_renders.py --binary target/debug/renditiond [--report FILE]
"""

import argparse
import io
import math
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageChops, ImageOps, ImageStat

import wagtail_env

ROOT = Path(__file__).resolve().parents[2]
PNG_MIN_PSNR = 40.0


def specs():
    lines = (ROOT / "tests/data/render-specs.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def images():
    skip = {".py", ".md", ".svg"}
    return sorted(p for p in (ROOT / "test-images").iterdir() if p.is_file() and p.suffix not in skip)


def focal_for(path):
    """A focal point in the upper left third, in Wagtail's database form."""
    w, h = ImageOps.exif_transpose(Image.open(path)).size
    return (w * 3 // 10, h * 4 // 10, max(1, w // 10), max(1, h // 10))


def visible(img):
    """RGB as seen on white."""
    img.load()
    if img.mode.startswith("I"):
        # 16-bit grey: scale to 8 bits (Pillow's RGB conversion would clip it).
        return img.convert("I").point(lambda v: v * (1 / 257)).convert("L").convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def psnr(a, b):
    diff = ImageChops.difference(visible(a), visible(b))
    mse = sum(ImageStat.Stat(diff).sum2) / (3 * a.size[0] * a.size[1])
    return math.inf if mse == 0 else 10 * math.log10(255 * 255 / mse)


PIL_FORMATS = {"JPEG": "jpeg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "AVIF": "avif", "ICO": "ico", "HEIF": "heic"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--report", help="also write the summary to this file")
    args = parser.parse_args()
    wagtail_env.setup()

    failures, improvements, by_format = [], [], defaultdict(list)
    cases = 0
    with tempfile.TemporaryDirectory() as workdir:
        for path in images():
            for spec in specs():
                for focal in ([None, focal_for(path)] if "fill" in spec else [None]):
                    cases += 1
                    label = f"{path.name} {spec!r}" + (f" focal={focal}" if focal else "")
                    try:
                        expected, expected_format = wagtail_env.wagtail_render(path, spec, focal)
                        wagtail_error = None
                    except Exception as e:  # noqa: BLE001 - Wagtail's failures are data here
                        expected, wagtail_error = None, f"{type(e).__name__}: {e}"
                    ours, our_error = wagtail_env.renditiond_render(args.binary, path, spec, focal, Path(workdir) / "out")
                    if ours is None:
                        if wagtail_error is None:
                            failures.append(f"{label}: renditiond refused ({our_error}), Wagtail rendered")
                        continue
                    if wagtail_error is not None:
                        improvements.append(f"{label}: Wagtail fails ({wagtail_error}); renditiond renders")
                        continue
                    a, b = Image.open(io.BytesIO(expected)), Image.open(io.BytesIO(ours))
                    our_format = PIL_FORMATS.get(b.format, b.format)
                    if our_format != expected_format:
                        failures.append(f"{label}: format {our_format} != Wagtail's {expected_format}")
                        continue
                    if a.size != b.size:
                        failures.append(f"{label}: size {b.size} != Wagtail's {a.size}")
                        continue
                    if Image.open(path).mode.startswith("I") and our_format != "png":
                        # Pillow clips 16-bit grey to 8 bits for every format but PNG.
                        improvements.append(f"{label}: Wagtail clips 16-bit grey; renditiond scales it")
                        continue
                    quality = psnr(a, b)
                    by_format[our_format].append((quality, label))
                    if our_format == "png" and quality < PNG_MIN_PSNR:
                        failures.append(f"{label}: PSNR {quality:.1f} dB < {PNG_MIN_PSNR} dB")

    lines = [f"compare_renders: {cases} cases, {len(failures)} failures, {len(improvements)} where only Wagtail fails"]
    lines.append("| output | renditions | min PSNR dB | median PSNR dB | worst case |")
    lines.append("|---|---:|---:|---:|---|")
    for fmt, rows in sorted(by_format.items()):
        values = [q for q, _ in rows]
        worst = min(rows)
        lines.append(f"| {fmt} | {len(rows)} | {min(values):.1f} | {statistics.median(values):.1f} | {worst[1]} |")
    lines += ["", *improvements, *(f"FAIL {f}" for f in failures)]
    summary = "\n".join(lines)
    print(summary)
    if args.report:
        Path(args.report).write_text(summary + "\n")
    return 1 if failures or not by_format else 0


if __name__ == "__main__":
    sys.exit(main())
