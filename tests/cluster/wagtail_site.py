"""The Wagtail side of the focal point scenario: a real Wagtail 8.0.1 site
(SQLite, originals in the cluster's bucket through django-storages, the
wagtail_renditiond adapter) run in the client's namespace:

    python wagtail_site.py create IMAGE X,Y,W,H      # migrate, make the image: {"id": ...}
    python wagtail_site.py url ID SPEC               # the adapter's URL and sizes
    python wagtail_site.py move ID X,Y,W,H SPEC      # move the focal point, then the same

Settings come from CLUSTER_* variables (see `configure`). Prints one JSON
object; `url` and `move` fail if the adapter fell back to Wagtail itself.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# renditiond reads a row again at most once a second per image.
ROW_REREAD = 1.2


def configure() -> None:
    sys.path[:0] = [str(ROOT / "integrations" / "wagtail"), str(ROOT / "tests" / "wagtail")]
    import django
    import wagtail_env
    from django.conf import settings

    env = os.environ
    settings.configure(
        SECRET_KEY=env["CLUSTER_SECRET_KEY"],
        INSTALLED_APPS=["wagtail_renditiond", *wagtail_env.INSTALLED_APPS],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": env["CLUSTER_DATABASE"]}},
        STORAGES={
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": env["CLUSTER_S3_BUCKET"],
                    "endpoint_url": env["CLUSTER_S3_ENDPOINT"],
                    "access_key": env["CLUSTER_S3_KEY"],
                    "secret_key": env["CLUSTER_S3_SECRET"],
                    "location": env["CLUSTER_S3_LOCATION"],
                    "region_name": "us-east-1",
                    "addressing_style": "path",
                    "signature_version": "s3v4",
                    "file_overwrite": False,
                },
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        MEDIA_URL="/media/",
        STATIC_URL="/static/",
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
        WAGTAILIMAGES_EXTENSIONS=["gif", "jpg", "jpeg", "png", "webp"],
        RENDITIOND_URL=env["CLUSTER_RENDITIOND_URL"],
        RENDITIOND_PUBLIC_URL=env["CLUSTER_PUBLIC_URL"],
        RENDITIOND_API_TOKEN=env["CLUSTER_API_TOKEN"],
        RENDITIOND_TIMEOUT=10.0,
    )
    django.setup()


def focal(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(","))


def create(path: str, point: str) -> dict[str, Any]:
    from django.core.files.images import ImageFile
    from django.core.management import call_command
    from wagtail.images.models import Image

    call_command("migrate", verbosity=0)
    with open(path, "rb") as f:
        image = Image(title=Path(path).stem, file=ImageFile(f, name=Path(path).name))
        x, y, w, h = focal(point)
        image.focal_point_x, image.focal_point_y, image.focal_point_width, image.focal_point_height = (
            x,
            y,
            w,
            h,
        )
        image._set_image_file_metadata()
        image.save()
    return {"id": image.pk, "file": image.file.name, "size": [image.width, image.height]}


def url(pk: int, spec: str) -> dict[str, Any]:
    from wagtail.images.models import Filter, Image
    from wagtail_renditiond.renditions import RenditiondRendition

    image = Image.objects.get(pk=pk)
    rendition = image.get_rendition(spec)
    if not isinstance(rendition, RenditiondRendition):
        raise SystemExit(f"the adapter fell back to Wagtail's own rendition: {rendition!r}")
    wagtail_size = Filter(spec=spec).get_transform(image).size
    return {
        "url": rendition.url,
        "width": rendition.width,
        "height": rendition.height,
        "wagtail_size": list(wagtail_size),
        "focal_point": [
            image.focal_point_x,
            image.focal_point_y,
            image.focal_point_width,
            image.focal_point_height,
        ],
    }


def move(pk: int, point: str, spec: str) -> dict[str, Any]:
    from wagtail.images.models import Image

    time.sleep(ROW_REREAD)
    image = Image.objects.get(pk=pk)
    image.focal_point_x, image.focal_point_y, image.focal_point_width, image.focal_point_height = focal(point)
    image.save()
    time.sleep(ROW_REREAD)
    return url(pk, spec)


def main(argv: list[str]) -> int:
    configure()
    command, *args = argv
    if command == "create":
        out = create(args[0], args[1])
    elif command == "url":
        out = url(int(args[0]), args[1])
    elif command == "move":
        out = move(int(args[0]), args[1], args[2])
    else:
        raise SystemExit(f"unknown command {command}")
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
