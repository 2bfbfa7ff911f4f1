"""A real Wagtail site for the adapter's tests.

RENDITIOND_TEST_DATABASE_URL picks the database: unset for SQLite (a file,
so renditiond can read it too), or ``postgres://USER@HOST:PORT/NAME``; the
test database is ``test_NAME`` there. renditiond itself is started by
``conftest.py`` on the port chosen here.
"""

import os
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SCRATCH = Path(tempfile.mkdtemp(prefix="wagtail-renditiond-"))
SECRET_KEY = "the-secret-key-of-the-adapter-test-site"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
WAGTAIL_SITE_NAME = "wagtail-renditiond tests"
WAGTAILADMIN_BASE_URL = "http://testserver"
WAGTAILIMAGES_EXTENSIONS = ["avif", "gif", "jpg", "jpeg", "png", "webp", "svg"]
# Output settings of the site's own, which renditiond is given too.
WAGTAILIMAGES_FORMAT_CONVERSIONS = {"gif": "webp"}
WAGTAILIMAGES_JPEG_QUALITY = 70

INSTALLED_APPS = [
    "wagtail_renditiond",
    "tests.testapp",
    "wagtail.contrib.frontend_cache",
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
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
if os.environ.get("RENDITIOND_TEST_IMAGE_MODEL") == "custom":
    WAGTAILIMAGES_IMAGE_MODEL = "testapp.CustomImage"


def _database(url: str | None) -> dict:
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SCRATCH / "site.sqlite3"),
            "TEST": {"NAME": str(SCRATCH / "test.sqlite3")},
        }
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": parts.username or "",
        "PASSWORD": parts.password or "",
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


DATABASES = {"default": _database(os.environ.get("RENDITIOND_TEST_DATABASE_URL"))}
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
    "renditions": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "renditions"},
}

MEDIA_ROOT = str(SCRATCH / "media")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"

WAGTAILFRONTENDCACHE = {"recording": {"BACKEND": "tests.frontend.RecordingBackend"}}

RENDITIOND_URL = f"http://127.0.0.1:{_free_port()}"
RENDITIOND_API_TOKEN = "the-api-token-of-the-test-service"
RENDITIOND_TIMEOUT = 2.0
