"""Reading formats and sizes from headers, on the repository's test images
(sizes as test-images/README.md and `file` give them) and on made-up bytes."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from comparelib import imageinfo

IMAGES = Path(__file__).resolve().parents[3] / "test-images"


@pytest.mark.parametrize(
    ("name", "fmt", "size", "progressive"),
    [
        ("photo-baseline.jpg", "jpeg", (600, 400), False),
        ("photo-progressive.jpg", "jpeg", (451, 300), True),
        ("grey.jpg", "jpeg", (512, 512), False),
        ("orientation-6.jpg", "jpeg", (160, 240), False),
        ("alpha.png", "png", (400, 400), False),
        ("photo.webp", "webp", (320, 213), False),
        ("photo.avif", "avif", (451, 300), False),
    ],
)
def test_test_images(name: str, fmt: str, size: tuple[int, int], progressive: bool) -> None:
    info = imageinfo.sniff((IMAGES / name).read_bytes())
    assert (info.format, info.size, info.progressive) == (fmt, size, progressive)


def jpeg(sof: int, width: int, height: int, extra: bytes = b"") -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + bytes(9)
    frame = b"\xff" + bytes([sof]) + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + extra + app0 + frame + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\xff\xd9"


def test_jpeg_frames() -> None:
    assert imageinfo.sniff(jpeg(0xC0, 7, 5)) == imageinfo.ImageInfo("jpeg", 7, 5, False)
    assert imageinfo.sniff(jpeg(0xC2, 4000, 3000)).progressive
    # Fill bytes before a marker are allowed.
    assert imageinfo.sniff(jpeg(0xC1, 3, 2, extra=b"\xff\xff")).size == (3, 2)


def test_jpeg_without_frame_or_cut_short() -> None:
    with pytest.raises(ValueError, match="frame"):
        imageinfo.sniff(b"\xff\xd8\xff\xd9")
    with pytest.raises(ValueError, match="frame"):
        imageinfo.sniff(jpeg(0xC0, 7, 5)[:22])


def test_webp_lossless_and_extended() -> None:
    bits = (99 - 1) | ((49 - 1) << 14)
    lossless = b"RIFF\x00\x00\x00\x00WEBPVP8L\x00\x00\x00\x00\x2f" + bits.to_bytes(4, "little")
    assert imageinfo.sniff(lossless).size == (99, 49)
    extended = b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00" + bytes(4)
    extended += (1999).to_bytes(3, "little") + (1499).to_bytes(3, "little")
    assert imageinfo.sniff(extended).size == (2000, 1500)


def test_not_an_image() -> None:
    with pytest.raises(ValueError, match="not an image"):
        imageinfo.sniff(b"<html>503</html>")
    with pytest.raises(ValueError, match="not an image"):
        imageinfo.sniff(b"")
