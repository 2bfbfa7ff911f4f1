#!/usr/bin/env python3
"""renditiond as a drop-in for a real Wagtail site's /images/ route.

A minimal Wagtail site (e2e_site/) on the database given (SQLite or
PostgreSQL), with originals on the filesystem or in S3 through
django-storages, gets images created through Wagtail's own models. Then
renditiond is started on the same database (read-only where the URL says so)
and storage, and for every image x spec:

* the URL comes from Wagtail's `generate_image_url`;
* renditiond answers 200 with the size Wagtail's `get_rendition` records, the
  same format and file name, and pixels close to Wagtail's (PSNR >= 40 dB for PNG; JPEG and
  WebP reported); where Wagtail refuses the spec, renditiond answers 400;
* a tampered signature, an unknown id, a deleted original and a bad spec give
  the same status from renditiond as from Wagtail's own serve view;
* with RENDITIOND_ACTION=redirect (filesystem run), the Location serves the
  same bytes.

    python e2e.py --binary target/debug/renditiond --database sqlite:///tmp/x.db [--renditiond-database URL] [--s3]
"""

import argparse
import http.client
import io
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "e2e-secret-key-of-the-wagtail-site"
PNG_MIN_PSNR = 40.0

IMAGES = [
    # file, focal point (x, y, width, height) or None
    ("photo-baseline.jpg", (420, 160, 80, 60)),
    ("alpha.png", None),
    ("animated.gif", None),
    ("photo.webp", (100, 200, 40, 40)),
    ("photo-hevc.heic", (150, 100, 40, 30)),
    ("orientation-6.jpg", (30, 40, 10, 10)),
    ("svg/benign.svg", None),
]

SPECS = [
    "original",
    "width-100",
    "width-1000",
    "height-80",
    "max-120x120",
    "max-2000x2000",
    "min-90x90",
    "scale-33",
    "scale-150",
    "fill-100x100",
    "fill-100x100-c0",
    "fill-100x100-c50",
    "fill-100x100-c100",
    "fill-300x200",
    "fill-300x200-c80",
    "fill-50x200",
    "fill-2000x100",
    "width-200|height-80",
    "fill-200x200|height-150",
    "width-160|format-png",
    "width-160|format-jpeg",
    "width-160|format-jpeg|jpegquality-40",
    "width-160|format-webp",
    "width-160|format-webp|webpquality-50",
    "width-160|format-webp-lossless",
    "width-160|format-gif",
    "width-160|bgcolor-ff0000",
    "width-160|bgcolor-fff|format-jpeg",
    "fill-120x90|format-png|preserve-svg",
    "max-64x64|preserve-svg",
    "fill-80x80|format-avif",
    "width-160|format-heic",
    "bad-filter-spec",
    "fill-0x0",
    "width-100|format-png",
]

MIME = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "heic": "image/heic",
    "svg": "image/svg+xml",
    "ico": "image/x-icon",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(base, path, follow=False):
    """(status, headers, body) of a GET, without following redirects."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    headers = {k.lower(): v for k, v in response.getheaders()}
    conn.close()
    return response.status, headers, body


class Renditiond:
    """A running `renditiond serve` for this site."""

    def __init__(self, binary, env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full = {k: v for k, v in os.environ.items() if not k.startswith(("RENDITIOND_", "AWS_"))}
        full.update(env)
        full.update({"RENDITIOND_LISTEN": f"127.0.0.1:{self.port}", "RENDITIOND_SIGNING_KEYS": "e2e-signing-key-0123456789"})
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen([binary, "serve"], env=full, stdout=subprocess.DEVNULL, stderr=self.log)
        for _ in range(300):
            try:
                if get(self.base, "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise SystemExit("renditiond did not start: " + self.output())

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def psnr(ours, theirs):
    from PIL import Image, ImageChops, ImageStat

    def visible(data):
        img = Image.open(io.BytesIO(data))
        img.seek(0)
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")

    a, b = visible(ours), visible(theirs)
    if a.size != b.size:
        return -1.0
    mse = statistics.mean(v * v for v in ImageStat.Stat(ImageChops.difference(a, b)).rms)
    return math.inf if mse == 0 else 10 * math.log10(255 * 255 / mse)


def size_of(body, mime):
    if mime == "image/svg+xml":
        root = ElementTree.fromstring(body)
        return int(float(root.get("width"))), int(float(root.get("height")))
    from PIL import Image

    return Image.open(io.BytesIO(body)).size


def create_images():
    from django.core.files.images import ImageFile
    from wagtail.images.models import Image
    from willow.image import Image as WillowImage

    images = []
    for name, focal in IMAGES:
        path = ROOT / "test-images" / name
        with open(path, "rb") as f:
            img = Image(title=path.stem, file=ImageFile(f, name=path.name))
            if path.suffix == ".svg":
                f.seek(0)
                img.width, img.height = (int(v) for v in WillowImage.open(f).get_size())
                f.seek(0)
            if focal:
                img.focal_point_x, img.focal_point_y, img.focal_point_width, img.focal_point_height = focal
            img._set_image_file_metadata()
            img.save()
        images.append(Image.objects.get(pk=img.pk))
    return images


def wagtail_status(client, path):
    return client.get(path).status_code


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--database", required=True, help="the site's database URL")
    parser.add_argument("--renditiond-database", help="renditiond's (read-only) URL; default: --database")
    parser.add_argument("--s3", action="store_true", help="originals in S3 (RENDITIOND_TEST_S3_* variables)")
    args = parser.parse_args()

    media = tempfile.mkdtemp(prefix="renditiond-e2e-media-")
    env = {"E2E_SECRET_KEY": SECRET_KEY, "E2E_DATABASE_URL": args.database, "E2E_MEDIA_ROOT": media}
    renditiond_env = {
        "RENDITIOND_WAGTAIL_SECRET_KEY": f"an-old-key,{SECRET_KEY}",
        "RENDITIOND_WAGTAIL_DATABASE_URL": args.renditiond_database or args.database,
        "RENDITIOND_ORIGINALS": media,
        "RUST_LOG": "warn",
    }
    if args.s3:
        prefix = f"e2e-{os.getpid()}"
        s3 = {k: os.environ[f"RENDITIOND_TEST_S3_{k}"] for k in ("ENDPOINT", "BUCKET", "KEY", "SECRET")}
        env.update({f"E2E_S3_{k}": v for k, v in s3.items()}, E2E_S3_PREFIX=prefix)
        renditiond_env.update(
            RENDITIOND_ORIGINALS=f"s3://{s3['BUCKET']}/{prefix}",
            AWS_ENDPOINT=s3["ENDPOINT"],
            AWS_ALLOW_HTTP="true",
            AWS_ACCESS_KEY_ID=s3["KEY"],
            AWS_SECRET_ACCESS_KEY=s3["SECRET"],
            AWS_REGION="us-east-1",
        )
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "e2e_site.settings"
    sys.path.insert(0, str(Path(__file__).parent))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from wagtail.images.exceptions import InvalidFilterSpecError
    from wagtail.images.utils import generate_signature
    from wagtail.images.views.serve import generate_image_url

    call_command("migrate", verbosity=0)
    reader = urlsplit(args.renditiond_database or "").username
    if reader and args.database.startswith("postgres"):
        # renditiond's role may read the image table, nothing else.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f'GRANT SELECT ON wagtailimages_image TO "{reader}"')
    images = create_images()
    server = Renditiond(args.binary, renditiond_env)
    client = Client(raise_request_exception=False)
    failures, psnrs, compared, refused = [], {}, 0, 0
    served = {}
    try:
        for img in images:
            for spec in SPECS:
                url = generate_image_url(img, spec)
                label = f"{img.file.name} {spec}"
                status, headers, body = get(server.base, url)
                try:
                    rendition = img.get_rendition(spec)
                except InvalidFilterSpecError:
                    rendition, expected_status = None, 400
                except Exception:  # noqa: BLE001 - Wagtail's 500s: renditiond answers a clean 400
                    rendition, expected_status = None, 400
                if rendition is None:
                    refused += 1
                    if status != expected_status:
                        failures.append(f"{label}: {status}, expected {expected_status} ({body[:80]!r})")
                    continue
                compared += 1
                if status != 200:
                    failures.append(f"{label}: {status} {body[:100]!r}")
                    continue
                extension = rendition.file.name.rsplit(".", 1)[-1]
                mime = MIME[extension]
                if headers.get("content-type") != mime:
                    failures.append(f"{label}: {headers.get('content-type')}, Wagtail {mime}")
                    continue
                disposition = f'inline; filename="{rendition.file.name.rsplit("/", 1)[-1]}"'
                if headers.get("content-disposition") != disposition:
                    failures.append(f"{label}: {headers.get('content-disposition')}, Wagtail {disposition}")
                size = size_of(body, mime)
                if size != (rendition.width, rendition.height):
                    failures.append(f"{label}: {size}, Wagtail {(rendition.width, rendition.height)}")
                served[url] = body
                if mime in ("image/png", "image/jpeg", "image/webp"):
                    with rendition.file.open("rb") as f:
                        theirs = f.read()
                    value = psnr(body, theirs)
                    psnrs.setdefault(extension, []).append(value)
                    if extension == "png" and value < PNG_MIN_PSNR:
                        failures.append(f"{label}: PNG PSNR {value:.1f} dB")

        # Error statuses, next to Wagtail's own serve view.
        first = images[0]
        good = generate_image_url(first, "width-100")
        sig = good.split("/")[2]
        tampered = good.replace(sig, ("A" if sig[0] != "A" else "B") + sig[1:])
        unknown = f"/images/{generate_signature(999999, 'width-100')}/999999/width-100/none.jpg"
        bad_spec = generate_image_url(first, "bad-filter-spec")
        gone = create_images_gone()
        gone_url = generate_image_url(gone, "width-33")
        gone.file.storage.delete(gone.file.name)
        for name, path, expected in [
            ("tampered signature", tampered, 403),
            ("unknown id", unknown, 404),
            ("bad spec", bad_spec, 400),
            ("deleted original", gone_url, 410),
        ]:
            ours, theirs = get(server.base, path)[0], wagtail_status(client, path)
            if not (ours == theirs == expected):
                failures.append(f"{name}: renditiond {ours}, Wagtail {theirs}, expected {expected}")
    finally:
        server.stop()

    redirects = 0
    if not args.s3:
        redirects = check_redirects(args.binary, renditiond_env, served, failures)

    for failure in failures:
        print(failure)
    summary = {ext: f"min {min(v):.1f} median {statistics.median(v):.1f}" for ext, v in sorted(psnrs.items())}
    print(
        f"{args.database.split(':')[0]}{' + S3' if args.s3 else ''}: {compared} renditions compared with "
        f"Wagtail's, {refused} refusals matched, {redirects} redirects followed; PSNR dB {json.dumps(summary)}; "
        f"{len(failures)} failures"
    )
    shutil.rmtree(media, ignore_errors=True)
    return 1 if failures else 0


def create_images_gone():
    """An image whose original is about to be deleted."""
    from django.core.files.images import ImageFile
    from wagtail.images.models import Image

    with open(ROOT / "test-images" / "palette.png", "rb") as f:
        img = Image(title="gone", file=ImageFile(f, name="gone.png"))
        img._set_image_file_metadata()
        img.save()
    return img


def check_redirects(binary, renditiond_env, served, failures):
    """Redirect mode: each Location, fetched from the rendition store, gives the served bytes."""
    store = tempfile.mkdtemp(prefix="renditiond-e2e-store-")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=store))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    public = f"http://127.0.0.1:{httpd.server_address[1]}"
    env = dict(renditiond_env, RENDITIOND_ACTION="redirect", RENDITIOND_RENDITIONS=store, RENDITIOND_PUBLIC_URL=public)
    server = Renditiond(binary, env)
    followed = 0
    try:
        for url, body in list(served.items())[:12]:
            status, headers, _ = get(server.base, url)
            location = headers.get("location", "")
            if status != 302 or not location.startswith(public):
                failures.append(f"redirect {url}: {status} {location!r}")
                continue
            with urllib.request.urlopen(location, timeout=30) as response:
                if response.read() != body:
                    failures.append(f"redirect {url}: the stored rendition differs from the served one")
            followed += 1
    finally:
        server.stop()
        httpd.shutdown()
        shutil.rmtree(store, ignore_errors=True)
    return followed


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


if __name__ == "__main__":
    sys.exit(main())
