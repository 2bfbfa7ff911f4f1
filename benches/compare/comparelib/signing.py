"""`/r/` URL signatures, as README's snippet computes them."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote


def rendition_path(secret: str, spec: str, key: str) -> str:
    mac = hmac.new(secret.encode(), f"{spec}/{key}".encode(), hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    return f"/r/{signature}/{quote(spec, safe='')}/{quote(key, safe='/')}"
