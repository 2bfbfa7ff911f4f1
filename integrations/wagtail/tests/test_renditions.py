"""Renditions from renditiond, beside Wagtail's own on the same images."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import willow
from django.core.files.storage import FileSystemStorage
from django.template import Context, Template
from PIL import Image as PILImage
from wagtail.images import get_image_model
from wagtail.images.api.fields import ImageRenditionField
from wagtail.images.exceptions import InvalidFilterSpecError
from wagtail.images.models import AbstractImage
from wagtail.rich_text import expand_db_html
from willow.registry import UnroutableOperationError

from wagtail_renditiond.renditions import RenditiondRendition

from .conftest import make_image
from .frontend import RecordingBackend

pytestmark = pytest.mark.django_db(transaction=True)

IMAGES = [
    # file, focal point (x, y, width, height) or None
    ("photo-baseline.jpg", (420, 160, 80, 60)),
    ("alpha.png", None),
    ("animated.gif", None),
    ("photo.webp", (100, 200, 40, 40)),
    ("orientation-6.jpg", (30, 40, 10, 10)),
    ("orientation-8.jpg", None),
    ("svg/benign.svg", None),
]

SPECS = [
    "original",
    "width-100",
    "height-80",
    "max-120x120",
    "min-90x90",
    "scale-33",
    "fill-100x100",
    "fill-100x100-c50",
    "fill-300x200-c80",
    "fill-50x200",
    "width-200|height-80",
    "width-160|format-webp",
    "width-160|format-png|preserve-svg",
    "fill-80x80|format-jpeg|jpegquality-40|preserve-svg",
]

TEMPLATE = """{% load wagtailimages_tags %}
<p>{% image img fill-200x100 class="hero" loading="lazy" %}</p>
<p>{% image img width-120 as r %}{{ r.url }} {{ r.width }}x{{ r.height }} {{ r.alt }} {{ r.attrs }}</p>
<p>{% image img max-90x90 as r %}<div style="{{ r.background_position_style }}">{{ r.img_tag }}</div></p>
<p>{% srcset_image img width-{80,160,240} sizes="50vw" alt="" %}</p>
<p>{% picture img format-{avif,webp,jpeg} width-{100,200} sizes="100vw" %}</p>
<p>{% picture img width-{100,200} format-webp %}</p>
"""


class Activity:
    """What Django did to images meanwhile: Willow opens, files saved, rows written."""

    def __init__(self) -> None:
        self.opened = 0
        self.saved: list[str] = []
        self.rows_before = self.rows()

    @staticmethod
    def rows() -> int:
        return get_image_model().get_rendition_model().objects.count()

    @property
    def rows_written(self) -> int:
        return self.rows() - self.rows_before


@contextmanager
def watch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Activity]:
    """Counts every Willow open and storage save while the block runs."""
    activity = Activity()
    real_open, real_save = willow.Image.open, FileSystemStorage.save

    def counting_open(*args: Any, **kwargs: Any) -> Any:
        activity.opened += 1
        return real_open(*args, **kwargs)

    def counting_save(storage: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        activity.saved.append(name)
        return real_save(storage, name, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(willow.Image, "open", staticmethod(counting_open))
        m.setattr(FileSystemStorage, "save", counting_save)
        yield activity


def described(data: bytes) -> tuple[tuple[int, int], str, Any]:
    """Pixel size, format and (for JPEG, where the quality shows in them)
    quantization tables of an image file."""
    if data.lstrip().startswith(b"<"):
        return (0, 0), "svg", None
    with PILImage.open(io.BytesIO(data)) as picture:
        return picture.size, (picture.format or "").lower(), getattr(picture, "quantization", None)


def served(renditiond: Any, url: str) -> tuple[int, tuple[int, int], str]:
    """Status, pixel size and format of what renditiond serves at ``url``."""
    status, _, body = renditiond.get(url.removeprefix(renditiond.url))
    if status != 200:
        return status, (0, 0), ""
    size, fmt, _ = described(body)
    return status, size, fmt


def wagtail_rendition(image: Any, spec: str) -> Any:
    """Wagtail's own rendition (it opens, resizes and writes the file)."""
    return AbstractImage.get_rendition(image, spec)


def _outcome(make: Any, refusals: tuple[type[Exception], ...] = (InvalidFilterSpecError,)) -> Any:
    """What ``make()`` returns, or "refused"."""
    try:
        return make()
    except refusals:
        return "refused"


#: How Wagtail refuses: 7.1 and later with InvalidFilterSpecError; 7.0 fails
#: a format conversion of an SVG inside Willow instead.
WAGTAIL_REFUSALS = (InvalidFilterSpecError, UnroutableOperationError, AttributeError)


def test_renditions_are_wagtails_without_pixel_work(renditiond: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    images = [make_image(name, focal) for name, focal in IMAGES]
    ours: dict[tuple[int, str], Any] = {}
    with watch(monkeypatch) as activity:
        for image in images:
            for spec in SPECS:
                ours[image.pk, spec] = _outcome(lambda: image.get_rendition(spec))  # noqa: B023
    assert (activity.opened, activity.saved, activity.rows_written) == (0, [], 0)

    mismatches = []
    compared = 0
    for image in images:
        for spec in SPECS:
            rendition = ours[image.pk, spec]
            theirs = _outcome(lambda: wagtail_rendition(image, spec), WAGTAIL_REFUSALS)  # noqa: B023
            if rendition == "refused" or theirs == "refused":
                if rendition != theirs:
                    mismatches.append((image.file.name, spec, rendition, theirs))
                continue
            compared += 1
            assert isinstance(rendition, RenditiondRendition), (image.file.name, spec)
            assert rendition.url.startswith(renditiond.url + "/images/")
            mine = (rendition.width, rendition.height, rendition.alt, rendition.filter_spec)
            wagtails = (theirs.width, theirs.height, theirs.alt, theirs.filter_spec)
            status, _, body = renditiond.get(rendition.url.removeprefix(renditiond.url))
            with theirs.file.open("rb") as f:
                expected = described(f.read())
            got = described(body) if status == 200 else None
            if mine != wagtails or got != expected:
                mismatches.append(
                    (image.file.name, spec, mine, wagtails, status, got and got[:2], expected[:2])
                )
    assert mismatches == []
    assert compared > len(IMAGES) * len(SPECS) * 3 // 4


def test_batched_and_cached(renditiond: Any) -> None:
    image = make_image("photo-baseline.jpg", (420, 160, 80, 60))
    specs = ["width-100", "width-200", "fill-50x50", "width-100"]
    before = renditiond.counter("plan")
    renditions = image.get_renditions(*specs)
    assert list(renditions) == ["width-100", "width-200", "fill-50x50"]
    assert renditiond.counter("plan") == before + 1
    again = get_image_model().objects.get(pk=image.pk).get_renditions(*specs)
    assert again == renditions
    assert renditiond.counter("plan") == before + 1


def test_prefetch_renditions_plans_every_image_in_one_call(renditiond: Any) -> None:
    images = [make_image(name) for name in ("alpha.png", "photo.webp", "photo-baseline.jpg")]
    before = renditiond.counter("plan")
    fetched = list(
        get_image_model()
        .objects.filter(pk__in=[i.pk for i in images])
        .prefetch_renditions("width-50", "fill-20x20")
    )
    assert renditiond.counter("plan") == before + 1
    template = Template("{% load wagtailimages_tags %}{% image img width-50 %}{% image img fill-20x20 %}")
    for image in fetched:
        html = template.render(Context({"img": image}))
        assert html.count(renditiond.url + "/images/") == 2, html
    assert renditiond.counter("plan") == before + 1, "the page made no further request"


def _page(image: Any) -> str:
    return Template(TEMPLATE).render(Context({"img": image}))


URL = re.compile(r"(?:https?://[^\s\"',]+)?/(?:images|media)/[^\s\"',]+")


def test_templates_write_what_wagtail_writes(
    renditiond: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = make_image("orientation-6.jpg", (30, 40, 10, 10), title="A cat")
    before = renditiond.counter("plan")
    with watch(monkeypatch) as activity:
        ours = _page(image)
        plans = renditiond.counter("plan") - before
        second = _page(get_image_model().objects.get(pk=image.pk))
    assert (activity.opened, activity.saved, activity.rows_written) == (0, [], 0)
    assert plans == 6, "one plan call per tag"
    assert renditiond.counter("plan") - before == plans, "the second render makes no request"
    assert second == ours

    settings.RENDITIOND_ENABLED = False
    theirs = _page(image)
    our_urls, their_urls = URL.findall(ours), URL.findall(theirs)
    assert all(u.startswith(renditiond.url + "/images/") for u in our_urls), our_urls
    assert all(u.startswith("/media/images/") for u in their_urls), their_urls
    assert URL.sub("URL", ours) == URL.sub("URL", theirs)
    for url in set(our_urls):
        assert served(renditiond, url)[0] == 200, url


def test_rich_text_and_api(renditiond: Any, settings: Any) -> None:
    image = make_image("photo-baseline.jpg")
    embed = f'<embed embedtype="image" id="{image.pk}" format="left" alt="Coffee"/>'
    ours = expand_db_html(embed)
    field = ImageRenditionField("fill-100x100").to_representation(image)
    settings.RENDITIOND_ENABLED = False
    theirs = expand_db_html(embed)
    their_field = ImageRenditionField("fill-100x100").to_representation(image)
    assert re.search(rf'src="{re.escape(renditiond.url)}/images/', ours), ours
    assert URL.sub("URL", ours) == URL.sub("URL", theirs)
    assert served(renditiond, URL.findall(ours)[0])[:2] == (200, (500, 333))
    assert field["url"].startswith(renditiond.url + "/images/")
    assert field["full_url"] == field["url"]
    for name in ("width", "height", "alt"):
        assert field[name] == their_field[name], name


def test_a_new_url_after_the_focal_point_moves(
    renditiond: Any, django_capture_on_commit_callbacks: Any
) -> None:
    image = make_image("photo-baseline.jpg", (420, 160, 80, 60))
    first = image.get_rendition("fill-100x100")
    untouched = image.get_rendition("width-100")
    time.sleep(1.1)  # renditiond reads a row again at most once a second
    image.focal_point_x = 100
    RecordingBackend.purged.clear()
    with django_capture_on_commit_callbacks(execute=True):
        image.save()
    # The CDN forgets the old URLs.
    assert sorted(RecordingBackend.purged) == sorted([first.url, untouched.url])
    moved = get_image_model().objects.get(pk=image.pk)
    second = moved.get_rendition("fill-100x100")
    assert isinstance(second, RenditiondRendition)
    assert second.url != first.url
    resized = moved.get_rendition("width-100")
    assert resized.url != untouched.url
    assert served(renditiond, second.url)[:2] == (200, (100, 100))
    RecordingBackend.purged.clear()
    with django_capture_on_commit_callbacks(execute=True):
        moved.delete()
    assert sorted(RecordingBackend.purged) == sorted([second.url, resized.url])


def test_a_spec_wagtail_refuses_is_refused(renditiond: Any) -> None:
    image = make_image("alpha.png")
    with pytest.raises(InvalidFilterSpecError):
        image.get_rendition("fill-100")
    with pytest.raises(InvalidFilterSpecError):
        image.get_rendition("nosuchop-1")


def test_the_sites_own_operations_fall_back(renditiond: Any, caplog: pytest.LogCaptureFixture) -> None:
    image = make_image("alpha.png")
    renditions = image.get_renditions("width-50|grey", "width-50")
    assert renditions["width-50|grey"].url.startswith("/media/images/")
    assert isinstance(renditions["width-50"], RenditiondRendition)
    assert "the filter operation 'grey' is the site's own" in caplog.text
