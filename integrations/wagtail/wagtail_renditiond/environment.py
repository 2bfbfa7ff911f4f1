"""The renditiond environment that matches this site: its secret key,
database (read-only), image table, media, API token, and the Wagtail
settings that decide what renditions are written as."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connections

from .conf import get_settings

#: What a secret is printed as unless it is asked for.
HIDDEN = "<hidden: --show-secrets prints it>"


def database_url(alias: str = "default") -> str:
    """The URL renditiond takes for the site's database (``postgres://``,
    ``mysql://``, ``sqlite://``); a read-only user is better (README)."""
    db = connections[alias].settings_dict
    engine = db["ENGINE"].rsplit(".", 1)[-1]
    if engine == "sqlite3":
        return f"sqlite://{db['NAME']}"
    scheme = {"postgresql": "postgres", "mysql": "mysql"}.get(engine)
    if scheme is None:
        raise ValueError(f"renditiond does not read {db['ENGINE']} databases")
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"{scheme}://{auth}{db.get('HOST') or 'localhost'}{port}/{quote(db['NAME'], safe='')}"


def originals() -> str:
    """Where Django's default storage keeps ``original_images/``."""
    storage: Any = default_storage
    if isinstance(storage, FileSystemStorage):
        return str(storage.location)
    bucket = getattr(storage, "bucket_name", None)
    if bucket:
        location = getattr(storage, "location", "").strip("/")
        return f"s3://{bucket}/{location}".rstrip("/")
    raise ValueError(f"renditiond cannot read originals from {storage.__class__.__name__}")


#: The site's output settings and the variables renditiond reads them from.
QUALITIES = {
    "WAGTAILIMAGES_JPEG_QUALITY": "RENDITIOND_WAGTAIL_JPEG_QUALITY",
    "WAGTAILIMAGES_WEBP_QUALITY": "RENDITIOND_WAGTAIL_WEBP_QUALITY",
    "WAGTAILIMAGES_AVIF_QUALITY": "RENDITIOND_WAGTAIL_AVIF_QUALITY",
    "WAGTAILIMAGES_HEIC_QUALITY": "RENDITIOND_WAGTAIL_HEIC_QUALITY",
}


def wagtail_version() -> str:
    """This site's Wagtail line, ``major.minor``."""
    import wagtail

    major, minor = wagtail.VERSION[:2]
    return f"{major}.{minor}"


def keeps_animation() -> bool:
    """Whether Willow keeps this site's animated GIFs animated: it does with
    its Wand (ImageMagick) backend, when Wand is installed and loads."""
    from willow.plugins.wand import WandImage

    try:
        WandImage.check()
    except Exception:  # noqa: BLE001 - Willow's own test: any failure means no Wand
        return False
    return True


def output_settings() -> dict[str, str]:
    """The variables that give renditiond this site's output settings: its
    Wagtail version, each ``WAGTAILIMAGES_*`` output setting it sets, and
    whether animations are kept (as they are with Wand installed)."""
    env = {"RENDITIOND_WAGTAIL_VERSION": wagtail_version()}
    if keeps_animation():
        env["RENDITIOND_ANIMATION"] = "true"
    conversions = getattr(settings, "WAGTAILIMAGES_FORMAT_CONVERSIONS", None)
    if conversions:
        env["RENDITIOND_WAGTAIL_FORMAT_CONVERSIONS"] = json.dumps(conversions, sort_keys=True)
    for setting, variable in QUALITIES.items():
        value = getattr(settings, setting, None)
        if value is not None:
            env[variable] = str(value)
    return env


def environment(show_secrets: bool = False) -> dict[str, str]:
    """Variable → value, in the order renditiond's README lists them."""
    from wagtail.images import get_image_model

    def secret(value: str) -> str:
        return value if show_secrets else HIDDEN

    env = {
        "RENDITIOND_ORIGINALS": originals(),
        "RENDITIOND_WAGTAIL_SECRET_KEY": secret(settings.SECRET_KEY),
        "RENDITIOND_WAGTAIL_DATABASE_URL": database_url(),
        "RENDITIOND_WAGTAIL_IMAGE_TABLE": get_image_model()._meta.db_table,
    }
    if not show_secrets and "@" in env["RENDITIOND_WAGTAIL_DATABASE_URL"]:
        scheme, _, rest = env["RENDITIOND_WAGTAIL_DATABASE_URL"].partition("://")
        auth, _, host = rest.rpartition("@")
        if ":" in auth:
            env["RENDITIOND_WAGTAIL_DATABASE_URL"] = f"{scheme}://{auth.split(':', 1)[0]}:{HIDDEN}@{host}"
    configured = get_settings()
    if configured.enabled:
        env["RENDITIOND_API_TOKEN"] = secret(configured.api_token)
    env.update(output_settings())
    return env
