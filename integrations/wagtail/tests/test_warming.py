"""Warming: manage.py renditiond_warm, and warming on save."""

from __future__ import annotations

import json
import os
import re
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.template import Context, Template

from .conftest import make_image

pytestmark = pytest.mark.django_db(transaction=True)

SPECS = ["width-100", "fill-50x50|format-webp"]


def warm(state: Path, *args: str) -> str:
    out = StringIO()
    call_command("renditiond_warm", *args, "--state-file", str(state), stdout=out, stderr=out, no_color=True)
    return out.getvalue()


def spec_args() -> list[str]:
    return [arg for spec in SPECS for arg in ("--spec", spec)]


def test_warm_renders_once_then_every_page_is_a_cache_hit(renditiond: Any, tmp_path: Path) -> None:
    images = [make_image(name) for name in ("photo-baseline.jpg", "alpha.png", "orientation-6.jpg")]
    renders = renditiond.renders()
    output = warm(tmp_path / "state.json", *spec_args(), "--chunk-size", "2")
    rate = r", \d+\.\d images/s"
    lines = output.splitlines()
    assert len(lines) == 3, output
    assert re.fullmatch("2/3 images, 4 rendered, 0 cached, 0 failed" + rate, lines[0]), lines[0]
    assert re.fullmatch("3/3 images, 6 rendered, 0 cached, 0 failed" + rate, lines[1]), lines[1]
    assert lines[2] == "6 rendered, 0 already cached, 0 failed."
    assert renditiond.renders() == renders + 6
    assert not (tmp_path / "state.json").exists(), "a finished run leaves no state"

    # Every warmed rendition is a cache hit: pages make no render.
    template = Template(
        "{% load wagtailimages_tags %}" + "".join(f"{{% image img {s.replace('|', ' ')} %}}" for s in SPECS)
    )
    for image in images:
        html = template.render(Context({"img": image}))
        for url in re.findall(r'src="([^"]+)"', html):
            assert renditiond.get(url.removeprefix(renditiond.url))[0] == 200
    assert renditiond.renders() == renders + 6

    again = warm(tmp_path / "state.json", *spec_args())
    assert again.splitlines()[-1] == "0 rendered, 6 already cached, 0 failed."


def test_warming_adds_the_negotiated_formats_it_is_given(
    renditiond: Any, tmp_path: Path, settings: Any
) -> None:
    settings.RENDITIOND_WARM_FORMATS = ["webp", "avif"]
    image = make_image("photo-baseline.jpg")
    renders = renditiond.renders()
    output = warm(tmp_path / "state.json", *spec_args())
    # width-100 as JPEG, WebP and AVIF; fill-50x50|format-webp is WebP whatever the browser.
    assert output.splitlines()[-1] == "4 rendered, 0 already cached, 0 failed.", output
    assert renditiond.renders() == renders + 4
    # A browser that takes AVIF finds it warm.
    html = Template("{% load wagtailimages_tags %}{% image img width-100 %}").render(Context({"img": image}))
    (url,) = re.findall(r'src="([^"]+)"', html)
    status, headers, _ = renditiond.get(url.removeprefix(renditiond.url), {"Accept": "image/avif,*/*"})
    assert (status, headers["Content-Type"], headers["Vary"]) == (200, "image/avif", "Accept")
    assert renditiond.renders() == renders + 4


def test_warm_resumes_after_an_interrupt(renditiond: Any, tmp_path: Path) -> None:
    first, *_ = (make_image("alpha.png") for _ in range(3))
    state = tmp_path / "state.json"
    # As if a run had stopped after the first image: only the others are walked.
    scope = json.dumps([["width-21"], None, None])
    state.write_text(json.dumps({"scope": scope, "after": first.pk}))
    output = warm(state, "--spec", "width-21", "--chunk-size", "1")
    assert output.splitlines()[0] == f"Resuming after image {first.pk}: 2 images to go."
    assert output.splitlines()[-1] == "2 rendered, 0 already cached, 0 failed."
    # Another scope's state is not taken for this one's.
    state.write_text(json.dumps({"scope": scope, "after": first.pk}))
    fresh = warm(state, "--spec", "width-22")
    assert fresh.splitlines()[-1] == "3 rendered, 0 already cached, 0 failed."


def test_warm_exits_non_zero_when_an_image_fails(renditiond: Any, tmp_path: Path) -> None:
    make_image("alpha.png")
    gone = make_image("photo-baseline.jpg")
    os.remove(gone.file.path)
    with pytest.raises(CommandError) as failure:
        warm(tmp_path / "state.json", "--spec", "width-30")
    assert failure.value.returncode == 1
    assert str(failure.value) == "1 rendered, 0 already cached, 1 failed."


def test_saving_an_image_warms_its_specs_in_the_background(
    renditiond: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.RENDITIOND_WARM_SPECS = ["width-70", "width-71"]
    renders = renditiond.renders()
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        image = make_image("photo-baseline.jpg", (420, 160, 80, 60))
    assert time.monotonic() - started < 1, "the save does not wait for renditiond"
    deadline = time.monotonic() + 15
    while renditiond.renders() < renders + 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert renditiond.renders() == renders + 2
    # Moving the focal point warms again: fill specs change, these do not.
    image.focal_point_x = 100
    with django_capture_on_commit_callbacks(execute=True):
        image.save(update_fields=["title"])
    time.sleep(1.5)
    assert renditiond.renders() == renders + 2, "a save that changes no rendition warms nothing"


def test_with_django_tasks_the_warm_is_a_task(
    renditiond: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.RENDITIOND_WARM_SPECS = ["width-72"]
    renders = renditiond.renders()
    with django_capture_on_commit_callbacks(execute=True):
        make_image("alpha.png")
    # The immediate backend runs the task as the save commits.
    assert renditiond.renders() == renders + 1


def test_warm_walks_only_a_collection_or_a_tag(renditiond: Any, tmp_path: Path) -> None:
    from wagtail.models import Collection

    make_image("alpha.png")
    tagged = make_image("alpha.png")
    tagged.tags.add("hero")
    root = Collection.get_first_root_node()
    products = root.add_child(name="Products")
    in_collection = make_image("alpha.png")
    in_collection.collection = products
    in_collection.save()
    by_name = warm(tmp_path / "a.json", "--spec", "width-31", "--collection", "Products")
    assert by_name.splitlines()[-1] == "1 rendered, 0 already cached, 0 failed."
    by_id = warm(tmp_path / "b.json", "--spec", "width-31", "--collection", str(products.pk))
    assert by_id.splitlines()[-1] == "0 rendered, 1 already cached, 0 failed."
    by_tag = warm(tmp_path / "c.json", "--spec", "width-32", "--tag", "hero")
    assert by_tag.splitlines()[-1] == "1 rendered, 0 already cached, 0 failed."
