#!/usr/bin/env python3
"""Regenerate renditiond's test images from public-domain / CC0 photographs.

The photographs come from the scikit-image 0.26.0 wheel on PyPI (its
`skimage/data` folder); their licences are listed in test-images/README.md.
Everything else (formats, orientations, profiles, animations, alpha) is
derived here, deterministically.

    pip install pillow==13.0.0 pillow-heif==1.9.0
    python test-images/generate.py            # downloads the wheel with pip
    python test-images/generate.py WHEEL.whl  # or uses a wheel you have

Needs Pillow 13 (AVIF and WebP support built in) and pillow-heif 1.9 (HEIC).
"""

import io
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

from PIL import Image, ImageCms, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
WHEEL = "scikit-image==0.26.0"
SOURCES = ["astronaut.png", "chelsea.png", "coffee.png", "camera.png", "rocket.jpg"]


def load_sources(wheel):
    if wheel is None:
        tmp = tempfile.mkdtemp(prefix="skimage-wheel-")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "-d", tmp, WHEEL],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
    with zipfile.ZipFile(wheel) as z:
        return {name: Image.open(io.BytesIO(z.read(f"skimage/data/{name}"))).copy() for name in SOURCES}


def exif_with_orientation(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "renditiond test-images"  # Make
    return exif.tobytes()


# The transpose that, applied to the upright image, gives what a camera stores
# for each EXIF orientation (the inverse of what a viewer applies).
STORE = {
    1: [],
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],
}


def png16(path, rgb8):
    """A 16-bit RGB PNG (Pillow cannot write one): each sample v becomes v*257 + a ramp."""
    w, h = rgb8.size
    px = rgb8.load()
    rows = []
    for y in range(h):
        row = bytearray(b"\x00")
        for x in range(w):
            for c in px[x, y]:
                row += struct.pack(">H", min(65535, c * 257 + (x * 31 + y * 17) % 200))
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
    path.write_bytes(data)


def heic(image, path, **options):
    """Writes HEIC through pillow-heif (Willow's HEIC support)."""
    from pillow_heif import register_heif_opener

    register_heif_opener()
    image.save(path, format="HEIF", **options)


def feathered_ellipse(size, inset, blur):
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((inset, inset, size[0] - inset, size[1] - inset), fill=255)
    return mask.filter(ImageFilter.GaussianBlur(blur))


def main(argv):
    src = load_sources(argv[1] if len(argv) > 1 else None)
    coffee, chelsea, astronaut = src["coffee.png"], src["chelsea.png"], src["astronaut.png"]
    camera, rocket = src["camera.png"], src["rocket.jpg"]
    out = HERE
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    # JPEG photographs
    coffee.save(out / "photo-baseline.jpg", quality=90, exif=exif_with_orientation(1))
    chelsea.save(out / "photo-progressive.jpg", quality=88, progressive=True)
    adobe = (out / "profiles" / "compatibleWithAdobeRGB1998.icc").read_bytes()
    wide = ImageCms.profileToProfile(
        astronaut, ImageCms.ImageCmsProfile(io.BytesIO(srgb)), ImageCms.ImageCmsProfile(io.BytesIO(adobe))
    )
    wide.save(out / "photo-icc.jpg", quality=90, icc_profile=adobe)
    rocket.save(out / "photo-444.jpg", quality=92, subsampling=0)
    camera.save(out / "grey.jpg", quality=90)
    coffee.resize((300, 200), Image.Resampling.LANCZOS).convert("CMYK").save(out / "cmyk.jpg", quality=90)
    # CMYK separated through a real press profile, embedded (see profiles/README.md)
    press = (out / "profiles" / "fogra39-test.icc").read_bytes()
    separated = ImageCms.profileToProfile(
        chelsea.resize((300, 200), Image.Resampling.LANCZOS),
        ImageCms.ImageCmsProfile(io.BytesIO(srgb)),
        ImageCms.ImageCmsProfile(io.BytesIO(press)),
        outputMode="CMYK",
    )
    separated.save(out / "cmyk-icc.jpg", quality=90, icc_profile=press)

    # EXIF orientations 1-8 of a non-square picture: each displays upright.
    upright = chelsea.resize((240, 160), Image.Resampling.LANCZOS)
    for orientation, ops in STORE.items():
        stored = upright
        for op in ops:
            stored = stored.transpose(op)
        stored.save(out / f"orientation-{orientation}.jpg", quality=90, exif=exif_with_orientation(orientation))
        if orientation == 6:
            # pillow-heif stores the orientation as the file's own rotation (irot).
            heic(stored, out / "orientation-6.heic", quality=70, exif=exif_with_orientation(6))

    # PNG: alpha, palette with transparency, grey, grey+alpha, 16-bit, tiny and thin
    cutout = astronaut.resize((400, 400), Image.Resampling.LANCZOS).convert("RGBA")
    cutout.putalpha(feathered_ellipse(cutout.size, 30, 12))
    cutout.save(out / "alpha.png", optimize=True)
    palette = chelsea.resize((225, 150), Image.Resampling.LANCZOS).quantize(colors=64)
    palette.info["transparency"] = 0
    palette.save(out / "palette.png", transparency=0)
    camera.resize((256, 256), Image.Resampling.LANCZOS).save(out / "grey.png")
    grey_alpha = camera.resize((200, 150), Image.Resampling.LANCZOS).convert("LA")
    grey_alpha.putalpha(feathered_ellipse(grey_alpha.size, 10, 6))
    grey_alpha.save(out / "grey-alpha.png")
    png16(out / "rgb16.png", coffee.resize((150, 100), Image.Resampling.LANCZOS))
    grey16 = camera.resize((128, 128), Image.Resampling.LANCZOS).convert("I").point(lambda v: v * 257 + 100).convert("I;16")
    grey16.save(out / "grey16.png")
    Image.new("RGB", (1, 1), (200, 30, 60)).save(out / "tiny-1x1.png")
    coffee.resize((1000, 3), Image.Resampling.LANCZOS).save(out / "strip-1000x3.png")

    # Animation: 8 panning crops
    frames = [coffee.crop((i * 40, 40, i * 40 + 240, 220)) for i in range(8)]
    frames[0].save(out / "animated.gif", save_all=True, append_images=frames[1:], duration=80, loop=0)
    frames[0].save(out / "animated.webp", save_all=True, append_images=frames[1:], duration=80, loop=0, quality=70)

    # Other formats
    rocket.resize((320, 213), Image.Resampling.LANCZOS).save(out / "photo.webp", quality=80)
    cutout.resize((200, 200), Image.Resampling.LANCZOS).save(out / "alpha.webp", quality=80)
    chelsea.save(out / "photo.avif", quality=60)
    chelsea.resize((160, 106), Image.Resampling.LANCZOS).save(out / "photo.bmp")
    heic(rocket.resize((320, 213), Image.Resampling.LANCZOS), out / "photo-hevc.heic", quality=70)
    heic(cutout.resize((200, 200), Image.Resampling.LANCZOS), out / "alpha.heic", quality=70)

    # Originals that must be refused with a clear error
    bad = out / "invalid"
    bad.mkdir(exist_ok=True)
    jpeg = (out / "photo-baseline.jpg").read_bytes()
    (bad / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (bad / "garbage.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    (bad / "not-an-image.txt").write_bytes(b"just some text, no pixels here\n")
    (bad / "empty.png").write_bytes(b"")
    huge = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    # Deflate turns 10.8 GB of zero rows into about 10 MB; the first rows are enough.
    idat = zlib.compress(b"\x00" * (1 + 60000 * 3) * 16, 9)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    (bad / "bomb-60000x60000.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", huge) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    chelsea.resize((64, 48)).save(bad / "unsupported.tif")
    print(f"wrote test images to {out}")


if __name__ == "__main__":
    main(sys.argv)
