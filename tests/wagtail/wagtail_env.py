"""Wagtail configured in-process, without a project or database, and both
sides of a rendition comparison: Wagtail's `Filter.run` and `renditiond render`.

Only unsaved `Image` objects are used, so no query is ever made; the
settings are Wagtail's defaults with the `SECRET_KEY` of Wagtail's own tests.
"""

import io
import subprocess
import tempfile

import django
from django.conf import settings


# The apps of a minimal Wagtail site with images (the end-to-end site uses them too).
INSTALLED_APPS = [
    "wagtail.images",
    "wagtail.documents",
    "wagtail.users",
    "wagtail.admin",
    "wagtail.search",
    "wagtail",
    "modelcluster",
    "taggit",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
]


def setup():
    """Configures Django once for this process."""
    if settings.configured:
        return
    settings.configure(
        SECRET_KEY="not needed",
        INSTALLED_APPS=INSTALLED_APPS,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        MEDIA_ROOT=tempfile.mkdtemp(prefix="renditiond-wagtail-"),
        MEDIA_URL="/media/",
        STATIC_URL="/static/",
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
    )
    django.setup()


def image(size, focal_point, filename):
    """An unsaved Wagtail image; `focal_point` is (x, y, width, height) or None."""
    from wagtail.images.models import Image

    fields = {"width": size[0], "height": size[1], "file": f"original_images/{filename}", "collection_id": 1}
    if focal_point is not None:
        x, y, w, h = focal_point
        fields.update(focal_point_x=x, focal_point_y=y, focal_point_width=w, focal_point_height=h)
    return Image(**fields)


def clean_filter(img, spec):
    """Wagtail's Filter for `spec` after its preserve-svg cleaning for `img`."""
    from wagtail.images.models import Filter

    return img.clean_filter_for_svg(Filter(spec=spec))


def wagtail_render(path, spec, focal):
    """Wagtail's rendition of the file at `path`: (bytes, format name)."""
    from django.core.files import File

    img = image((1, 1), focal, path.name)
    flt = clean_filter(img, spec)
    with open(path, "rb") as f:
        out = flt.run(img, io.BytesIO(), source=File(f, name=path.name))
    return out.f.getvalue(), out.format_name


def renditiond_render(binary, path, spec, focal, target):
    """renditiond's rendition, written to `target`: (bytes, None) or (None, error)."""
    cmd = [binary, "render", str(path), spec, "-o", str(target)]
    if focal is not None:
        cmd += ["--focal-point", ",".join(map(str, focal))]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return None, proc.stderr.strip()
    return target.read_bytes(), None
