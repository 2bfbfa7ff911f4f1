"""Settings of the end-to-end Wagtail site, from the environment e2e.py sets:

E2E_SECRET_KEY, E2E_DATABASE_URL (sqlite:///PATH or postgres://USER@HOST:PORT/DB),
E2E_MEDIA_ROOT, and for originals in S3 (django-storages) E2E_S3_ENDPOINT,
E2E_S3_BUCKET, E2E_S3_KEY, E2E_S3_SECRET, E2E_S3_PREFIX.
"""

import os
from urllib.parse import urlsplit

import wagtail_env

SECRET_KEY = os.environ["E2E_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "e2e_site.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
WAGTAIL_SITE_NAME = "renditiond e2e"
WAGTAILADMIN_BASE_URL = "http://testserver"
WAGTAILIMAGES_EXTENSIONS = ["avif", "gif", "heic", "jpg", "jpeg", "png", "webp", "svg"]

INSTALLED_APPS = wagtail_env.INSTALLED_APPS
MIDDLEWARE = []
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]


def _database(url):
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": parts.path}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": parts.username or "",
        "PASSWORD": parts.password or "",
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


DATABASES = {"default": _database(os.environ["E2E_DATABASE_URL"])}

MEDIA_ROOT = os.environ["E2E_MEDIA_ROOT"]
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if os.environ.get("E2E_S3_ENDPOINT"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["E2E_S3_BUCKET"],
            "endpoint_url": os.environ["E2E_S3_ENDPOINT"],
            "access_key": os.environ["E2E_S3_KEY"],
            "secret_key": os.environ["E2E_S3_SECRET"],
            "location": os.environ["E2E_S3_PREFIX"],
            "region_name": "us-east-1",
            "addressing_style": "path",
            "signature_version": "s3v4",
            "file_overwrite": False,
        },
    }
