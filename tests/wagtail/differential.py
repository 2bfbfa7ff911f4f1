#!/usr/bin/env python3
"""Differential test: `renditiond plan` against real Wagtail on random cases.

Each case is a random source (size, focal point, format) and a random spec,
valid or not, with Wagtail's odd number forms mixed in. Wagtail computes what
its serve view would do (spec cleaning, parsing, focal point key, the folded
transform and the crop Willow applies); renditiond's CLI must agree on every
case: the same crop, output size, output format and focal point key, or an
error where Wagtail has one.

    python differential.py --binary target/debug/renditiond --cases 5000 [--seed N]

Exits 1 and lists the mismatches (with the command that reproduces each).
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import wagtail_env

RASTER_FORMATS = ["png", "jpeg", "gif", "webp", "avif", "bmp"]
OUTPUT_FORMATS = ["jpeg", "png", "gif", "webp", "avif", "ico", "heic"]
UNICODE_DIGIT_ZEROS = [0x660, 0x966, 0xFF10, 0x1D7CE]


def decorate(number, rng):
    """Writes an integer the way a hand-signed URL might: usually plain, sometimes odd."""
    text = str(number)
    roll = rng.random()
    if roll < 0.80:
        return text
    if roll < 0.84:
        return "+" + text
    if roll < 0.88:
        return "0" + text
    if roll < 0.91 and len(text) > 1:
        return text[0] + "_" + text[1:]
    if roll < 0.94:
        zero = rng.choice(UNICODE_DIGIT_ZEROS)
        return "".join(chr(zero + int(d)) for d in text)
    if roll < 0.985:
        return " " + text
    if roll < 0.9925:
        return text + "x"  # not a number
    return ""  # missing


def dimension(rng, low=1):
    """A size from 1 px to a few thousand, log-uniform, with zero now and then."""
    if rng.random() < 0.01:
        return 0
    return max(low, int(round(10 ** rng.uniform(0, 3.7))))


def transform_op(rng):
    kind = rng.choice(["fill", "fill", "fill", "max", "min", "width", "height", "scale", "original"])
    if kind == "fill":
        op = f"fill-{decorate(dimension(rng), rng)}x{decorate(dimension(rng), rng)}"
        for _ in range(rng.choice([0, 0, 1, 1, 1, 2])):
            op += f"-c{decorate(rng.choice([0, 10, 25, 33, 50, 75, 90, 100, 150, rng.randint(0, 200)]), rng)}"
        return op
    if kind in ("max", "min"):
        return f"{kind}-{decorate(dimension(rng), rng)}x{decorate(dimension(rng), rng)}"
    if kind in ("width", "height"):
        return f"{kind}-{decorate(dimension(rng), rng)}"
    if kind == "scale":
        return "scale-" + rng.choice(
            [decorate(rng.randint(0, 300), rng), f"{rng.uniform(0.1, 200):.{rng.randint(0, 4)}f}", "1e2", ".5", "33.3", "0.1", "5e-1", "1_0.5"]
        )
    return "original"


def filter_op(rng):
    kind = rng.choice(["format", "format", "jpegquality", "webpquality", "avifquality", "bgcolor"])
    if kind == "format":
        op = "format-" + rng.choice(OUTPUT_FORMATS * 4 + ["jpg", "svg", "bmp"])
        if rng.random() < 0.3:
            op += "-" + rng.choice(["lossless", "foo", "lossless-x", ""])
        return op
    if kind == "bgcolor":
        return "bgcolor-" + rng.choice(["fff", "000", "f0a", "ff8000", "FFAA00", "abcd", "ggg", "12", "+f+f+f"])
    return f"{kind}-{decorate(rng.choice([0, 1, 40, 60, 76, 80, 100, 101, 150]), rng)}"


def invalid_op(rng):
    return rng.choice(["", "unknown-100", "Width-100", "fill-100X100", "width", "fill", "original-1", "max-800", "scale-nan", "scale-inf", "bad-filter-spec"])


def random_spec(rng):
    parts = [transform_op(rng) for _ in range(rng.choice([1, 1, 1, 2, 2, 3]))]
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        parts.insert(rng.randint(0, len(parts)), filter_op(rng))
    if rng.random() < 0.04:
        parts.insert(rng.randint(0, len(parts)), invalid_op(rng))
    if rng.random() < 0.12:
        parts.insert(rng.randint(0, len(parts)), "preserve-svg")
    return "|".join(parts)


def random_case(rng):
    source_format = "svg" if rng.random() < 0.1 else rng.choice(RASTER_FORMATS)
    if rng.random() < 0.15:
        size = [rng.randint(1, 12), rng.randint(1, 12)]
    else:
        size = [max(1, dimension(rng)), max(1, dimension(rng))]
    if source_format == "svg" and rng.random() < 0.5:
        size = [round(s + rng.random(), rng.choice([1, 2])) for s in size]
    focal = None
    if rng.random() < 0.6:
        w, h = int(size[0]), int(size[1])
        focal = [
            rng.randint(0, w + w // 5),
            rng.randint(0, h + h // 5),
            rng.randint(0, max(0, int(w * rng.choice([0.05, 0.3, 1.2])))),
            rng.randint(0, max(0, int(h * rng.choice([0.05, 0.3, 1.2])))),
        ]
    return {"size": size, "focal_point": focal, "source_format": source_format, "spec": random_spec(rng)}


def output_format(flt, source_format):
    """The format Filter.run picks: Wagtail's own filter operations fill the
    environment; the defaults are those of Wagtail 8 (bmp and still gif to png)."""
    from wagtail.images.image_operations import BackgroundColorOperation

    env = {}
    for op in flt.filter_operations:
        if source_format == "svg" and isinstance(op, BackgroundColorOperation):
            raise AttributeError("SvgImage has no set_background_color_rgb")  # what Filter.run hits
        if not isinstance(op, BackgroundColorOperation):
            op.run(None, None, env)
    fmt = env.get("output-format") or {"bmp": "png", "gif": "png", "heic": "jpeg"}.get(source_format, source_format)
    if source_format == "svg" and fmt != "svg":
        raise ValueError("format-* on an SVG")  # Filter.run's InvalidFilterSpecError
    return fmt


def wagtail_plan(case):
    size, fmt = case["size"], case["source_format"]
    img = wagtail_env.image(size, case["focal_point"], "source." + ("jpg" if fmt == "jpeg" else fmt))
    try:
        flt = wagtail_env.clean_filter(img, case["spec"])
        key = flt.get_cache_key(img)
        transform = flt.get_transform(img, tuple(size))
        left, top, right, bottom = (int(v) for v in transform.get_rect().round())
        if fmt != "svg":
            # Willow's Pillow crop: refuse a rect off the image, else clamp it.
            if left >= right or left >= size[0] or right <= 0 or top >= bottom or top >= size[1] or bottom <= 0:
                raise ValueError("invalid crop")
            left, top, right, bottom = max(0, left), max(0, top), min(right, size[0]), min(bottom, size[1])
        out = output_format(flt, fmt)
    except Exception as e:  # noqa: BLE001 - every failure is an expected error
        return {"error": type(e).__name__}
    return {"crop": [left, top, right, bottom], "size": list(transform.size), "format": out, "focal_point_key": key}


def command(binary, case):
    size = "x".join(repr(s) if isinstance(s, float) else str(s) for s in case["size"])
    cmd = [binary, "plan", "--size", size, "--source-format", case["source_format"]]
    if case["focal_point"] is not None:
        cmd += ["--focal-point", ",".join(map(str, case["focal_point"]))]
    return cmd + ["--", case["spec"]]


def renditiond_plan(binary, case):
    proc = subprocess.run(command(binary, case), capture_output=True, text=True)
    try:
        out = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {"crash": f"status {proc.returncode}: {proc.stdout!r} {proc.stderr!r}"}
    if "error" in out:
        return {"error": out["error"]} if proc.returncode == 2 else {"crash": f"error with status {proc.returncode}"}
    return out


def agree(wagtail, ours):
    if "crash" in ours:
        return False
    if "error" in wagtail or "error" in ours:
        return ("error" in wagtail) == ("error" in ours)
    return all(float(a) == float(b) for a, b in zip(wagtail["size"], ours["size"])) and all(
        wagtail[k] == ours[k] for k in ("crop", "format", "focal_point_key")
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("RENDITIOND_TEST_SEED", time.time_ns() % 2**32)))
    args = parser.parse_args()
    wagtail_env.setup()

    rng = random.Random(args.seed)
    cases = [random_case(rng) for _ in range(args.cases)]
    expected = [wagtail_plan(c) for c in cases]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        got = list(pool.map(lambda c: renditiond_plan(args.binary, c), cases))

    mismatches = [(c, w, o) for c, w, o in zip(cases, expected, got) if not agree(w, o)]
    errors = sum("error" in w for w in expected)
    print(f"differential: {len(cases)} cases (seed {args.seed}), {errors} refused by Wagtail, {len(mismatches)} mismatches")
    for case, wagtail, ours in mismatches[:40]:
        print(f"  {json.dumps(case, ensure_ascii=False)}\n    wagtail: {wagtail}\n    renditiond: {ours}\n    $ {' '.join(map(repr, command(args.binary, case)))}")
    if errors == 0 or errors == len(cases):
        print("the generator produced no mix of valid and invalid specs")
        return 1
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
