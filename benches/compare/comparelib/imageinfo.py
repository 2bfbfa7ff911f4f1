"""What an encoded image is, read from its headers alone (no decoder): the
format, pixel size and, for JPEG, whether it is progressive. Enough to check
every response and rendition the harness gets without Pillow."""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    progressive: bool = False

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


# JPEG start-of-frame markers (all but DHT C4, JPG C8 and DAC CC); C2, C6,
# CA and CE are progressive.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_PROGRESSIVE = {0xC2, 0xC6, 0xCA, 0xCE}


def sniff(data: bytes) -> ImageInfo:
    """The format and size of `data`; ValueError when it is none of JPEG,
    PNG, WebP or AVIF, or its headers are cut short."""
    if data.startswith(b"\xff\xd8"):
        return _jpeg(data)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise ValueError("PNG without IHDR")
        width, height = struct.unpack(">II", data[16:24])
        return ImageInfo("png", width, height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return _avif(data)
    raise ValueError(f"not an image this harness knows ({data[:12]!r})")


def _jpeg(data: bytes) -> ImageInfo:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError(f"JPEG: no marker at byte {i}")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF:
            if i + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return ImageInfo("jpeg", width, height, marker in _PROGRESSIVE)
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame
            break
        i += 2 + length
    raise ValueError("JPEG without a frame header")


def _webp(data: bytes) -> ImageInfo:
    chunk = data[12:16]
    body = data[20:]
    if chunk == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", body[6:10])
        return ImageInfo("webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:
        bits = int.from_bytes(body[1:5], "little")
        return ImageInfo("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(body) >= 10:
        width = int.from_bytes(body[4:7], "little") + 1
        height = int.from_bytes(body[7:10], "little") + 1
        return ImageInfo("webp", width, height)
    raise ValueError(f"WebP with an unknown first chunk {chunk!r}")


def _avif(data: bytes) -> ImageInfo:
    """The first `ispe` (image spatial extent) property: the primary image's
    size in the files encoders write (one image, no grid)."""
    at = data.find(b"ispe")
    # box: size(4) 'ispe'(4) version+flags(4) width(4) height(4)
    if at < 4 or at + 16 > len(data):
        raise ValueError("AVIF without an ispe property")
    width, height = struct.unpack(">II", data[at + 8 : at + 16])
    return ImageInfo("avif", width, height)
