#!/usr/bin/env python3
"""renditiond's animated renditions against references made with Pillow.

Animations are written here with Pillow: GIFs whose later frames Pillow
stores cropped to what changed (so they must be composited), one with
transparency, and a WebP. Each is rendered by `renditiond render --animate`
for a few specs, and then:

* the frame count and every frame's delay are the original's;
* the number of plays is the original's, as browsers count them (a GIF's
  NETSCAPE count n plays n + 1 times, a WebP's count n plays n times);
* the middle frame's pixels are those of Pillow's own rendition of that
  frame (composited, cropped and resized with LANCZOS), within the error
  of a 256-colour palette or of lossy WebP, and nearer to it than to the
  frames beside it.

    python compare_animation.py --binary target/debug/renditiond
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageStat

DELAYS = [100, 50, 70, 80, 90, 100, 120, 200, 60]


def frames(mode):
    """Nine 320x240 frames: a ball crossing a still background."""
    out = []
    for i in range(len(DELAYS)):
        background = (0, 0, 0, 0) if mode == "RGBA" else (40, 120, 200)
        im = Image.new(mode, (320, 240), background)
        draw = ImageDraw.Draw(im)
        draw.rectangle((0, 180, 320, 240), fill=(30, 160, 60))
        draw.ellipse((10 + 30 * i, 60, 90 + 30 * i, 140), fill=(250, 220, 20))
        draw.text((5 + 3 * i, 5), f"frame {i}", fill=(255, 255, 255))
        out.append(im)
    return out


def originals(workdir):
    """(path, source format, plays as browsers count them)."""
    made = []
    still = frames("RGB")
    gif = workdir / "ball.gif"
    still[0].save(gif, save_all=True, append_images=still[1:], duration=DELAYS, loop=2, optimize=True)
    made.append((gif, "GIF", 3))
    once = workdir / "once.gif"
    still[0].save(once, save_all=True, append_images=still[1:], duration=DELAYS)
    made.append((once, "GIF", 1))
    clear = frames("RGBA")
    transparent = workdir / "transparent.gif"
    clear[0].save(transparent, save_all=True, append_images=clear[1:], duration=DELAYS, loop=0, disposal=2)
    made.append((transparent, "GIF", 0))
    webp = workdir / "ball.webp"
    still[0].save(webp, save_all=True, append_images=still[1:], duration=DELAYS, loop=4, quality=95)
    made.append((webp, "WEBP", 4))
    return made


# (spec, output format, Pillow's crop box of the 320x240 canvas, size)
SPECS = [
    ("width-160", None, (0, 0, 320, 240), (160, 120)),
    ("fill-100x100", None, (40, 0, 280, 240), (100, 100)),
    ("height-90|format-webp", "WEBP", (0, 0, 320, 240), (120, 90)),
    ("max-200x200|format-gif", "GIF", (0, 0, 320, 240), (200, 150)),
]


def plays(im):
    """How many times `im` plays as browsers count it (0: forever)."""
    loop = im.info.get("loop")
    if im.format == "GIF":
        return 1 if loop is None else (0 if loop == 0 else loop + 1)
    return loop


def reference(path, index, box, size):
    with Image.open(path) as im:
        im.seek(index)
        return im.convert("RGBA").resize(size, Image.Resampling.LANCZOS, box=box)


def rendered_frames(path):
    out = []
    with Image.open(path) as im:
        for i in range(im.n_frames):
            im.seek(i)
            im.load()
            out.append((im.convert("RGBA"), im.info.get("duration")))
        return im.format, im.size, out, plays(im)


def difference(a, b):
    """Mean absolute difference over the four channels, colour counted only where visible."""
    a, b = a.copy(), b.copy()
    for im in (a, b):
        alpha = im.getchannel("A")
        black = Image.new("RGBA", im.size, (0, 0, 0, 0))
        im.paste(black, mask=ImageChops.invert(alpha).point(lambda v: 255 if v > 127 else 0))
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 4


def check(binary, path, source_format, source_plays, spec, output, box, size, target):
    problems = []
    name = f"{path.name} {spec}"
    proc = subprocess.run([binary, "render", "--animate", str(path), spec, "-o", str(target)], capture_output=True, text=True)
    if proc.returncode != 0:
        return [f"{name}: renditiond failed: {proc.stderr.strip()}"]
    fmt, got_size, got, got_plays = rendered_frames(target)
    want_format = output or source_format
    if (fmt, got_size) != (want_format, size):
        problems.append(f"{name}: {fmt} {got_size}, expected {want_format} {size}")
    if len(got) != len(DELAYS):
        return problems + [f"{name}: {len(got)} frames, expected {len(DELAYS)}"]
    delays = [d for _, d in got]
    if delays != DELAYS:
        problems.append(f"{name}: delays {delays}, expected {DELAYS}")
    if got_plays != source_plays:
        problems.append(f"{name}: plays {got_plays}, expected {source_plays}")
    middle = len(DELAYS) // 2
    ours = got[middle][0]
    near = difference(ours, reference(path, middle, box, size))
    beside = min(difference(ours, reference(path, i, box, size)) for i in (middle - 1, middle + 1))
    # GIF's palette, and its all-or-nothing alpha at the edges of transparency.
    tolerance = 3.0 if want_format == "WEBP" else 8.0 if "transparent" in path.name else 4.0
    if near > tolerance or near >= beside:
        problems.append(f"{name}: middle frame differs from Pillow's by {near:.2f} (frames beside it: {beside:.2f})")
    print(f"{name}: {fmt} {got_size}, {len(got)} frames, plays {got_plays}, middle frame off by {near:.2f} (beside {beside:.2f})")
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for path, source_format, source_plays in originals(workdir):
            for spec, output, box, size in SPECS:
                problems += check(args.binary, path, source_format, source_plays, spec, output, box, size, workdir / "out")
    for problem in problems:
        print("DIFFERENT:", problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
