#!/usr/bin/env python3
"""renditiond's SVG renditions against Wagtail's own (Willow's SVG backend).

For every SVG of test-images/svg, plus documents written here to exercise
Willow's size rules (units, percentages, missing sizes, viewBox offsets,
every preserveAspectRatio), and every spec below (fill specs also with a
focal point), Wagtail renders through its real `Filter.run` and renditiond
through `renditiond render`. Then:

* both succeed or both refuse (where Wagtail crashes, renditiond refuses),
  except that Wagtail (defusedxml) refuses every DTD entity, where
  renditiond reads plain-text ones, as drawing programs write them: those
  cases are counted, not failed;
* the root `width`, `height` and `viewBox` are the same text exactly.

    python compare_svg.py --binary target/debug/renditiond
"""

import argparse
import io
import sys
import tempfile
from pathlib import Path
from xml.etree import ElementTree

import wagtail_env

ROOT = Path(__file__).resolve().parents[2]

SPECS = [
    "original",
    "width-100",
    "width-1000",
    "height-37",
    "max-64x64",
    "min-50x50",
    "scale-33.3",
    "scale-250",
    "fill-100x100",
    "fill-80x40-c50",
    "fill-300x200-c100",
    "fill-1000x10",
    "width-300|height-200|max-100x100",
    "max-200x200|jpegquality-20",
    "fill-60x60|format-webp|preserve-svg",
    "width-50|format-png",
    "width-50|bgcolor-fff",
]

ROOT_ATTRIBUTES = [
    'width="300" height="150"',
    'width="100.5" height="50.25" viewBox="0 0 201 100.5"',
    'viewBox="10 20 320 240"',
    "",
    'width="10cm" height="5cm"',
    'width="4in" height="72pt"',
    'width="12em" height="30ex"',
    'width="100%" height="100%" viewBox="0 0 640 480"',
    'width="50%" height="200"',
    'width="400" viewBox="0 0 40 30"',
    'width="300" height="100" viewBox="0 0 100 100" preserveAspectRatio="xMinYMax slice"',
    'width="300" height="100" viewBox="0 0 100 100" preserveAspectRatio="xMaxYMid"',
    'width="300" height="100" viewBox="-50 -50 100 100" preserveAspectRatio="none"',
    'width="3" height="2" viewBox="0,0,3,2"',
]


def documents(workdir):
    paths = sorted((ROOT / "test-images/svg").glob("*.svg"))
    for n, attributes in enumerate(ROOT_ATTRIBUTES):
        path = Path(workdir) / f"attributes-{n}.svg"
        path.write_text(f'<svg xmlns="http://www.w3.org/2000/svg" {attributes}><rect width="10" height="10"/></svg>')
        paths.append(path)
    return paths


def root_attributes(data):
    root = ElementTree.parse(io.BytesIO(data)).getroot()
    return {k: root.get(k) for k in ("width", "height", "viewBox")}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    wagtail_env.setup()
    failures, compared, entities = [], 0, 0
    with tempfile.TemporaryDirectory() as workdir:
        for path in documents(workdir):
            for spec in SPECS:
                for focal in [None, (20, 10, 8, 6)] if spec.startswith("fill") else [None]:
                    case = f"{path.name} {spec} focal={focal}"
                    try:
                        theirs, their_error = root_attributes(wagtail_env.wagtail_render(path, spec, focal)[0]), None
                    except Exception as e:  # noqa: BLE001 - any Wagtail failure is a refusal
                        theirs, their_error = None, f"{type(e).__name__}: {e}"
                    ours, our_error = wagtail_env.renditiond_render(
                        args.binary, path, spec, focal, Path(workdir) / "out.svg"
                    )
                    ours = ours and root_attributes(ours)
                    compared += 1
                    if their_error and their_error.startswith("EntitiesForbidden") and ours is not None:
                        entities += 1
                    elif (theirs is None) != (ours is None):
                        failures.append(f"{case}: Wagtail {theirs or their_error}, renditiond {ours or our_error}")
                    elif theirs != ours:
                        failures.append(f"{case}: Wagtail {theirs}, renditiond {ours}")
    for failure in failures:
        print(failure)
    print(
        f"{compared} SVG renditions compared with Wagtail, {len(failures)} differences; "
        f"{entities} served by renditiond where Wagtail refuses DTD entities"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
