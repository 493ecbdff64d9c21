#!/usr/bin/python3
"""Generate JPEG decoding fixtures: small JPEGs written by Pillow, and Pillow's decoding of them.

Run with:  /usr/bin/python3 tools/make_jpeg_fixtures.py   (Debian's python3-pil; jpegtran from
libjpeg-turbo-progs adds the restart-marker files, since Pillow 9.4 cannot write DRI)

Writes (all committed; the JS tests never need Python):
  test/fixtures/jpeg/<name>.jpg        a few KB each: 4:2:0, 4:2:2, 4:4:4, progressive, grayscale,
                                       restart markers, CMYK, EXIF orientation 6, odd sizes, 1x1,
                                       scrambled scan data (a libjpeg warning, decoded)
  test/fixtures/jpeg/<name>.rgb        Image.open(f).convert('RGB').tobytes(): raw RGB, HWC
  test/fixtures/jpeg/expected.json     per file: width, height, Pillow's mode, EXIF orientation,
                                       sha256 of the RGB bytes; and the sha256 of Pillow's RGB bytes
                                       of /work/shared/images/*.jpg (not copied), under "shared"
Reference: Image.open does not apply EXIF orientation, so the orientation-6 file decodes in its
stored orientation (width > height here).
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import PIL
from PIL import Image, features

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "jpeg")
SHARED = "/work/shared/images"


def picture(w, h, seed):
    """Smooth colour gradients, a few sharp edges and some noise: exercises chroma upsampling and the IDCT."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / max(w - 1, 1)
    g = 255 * y / max(h - 1, 1)
    b = 128 + 100 * np.sin((x + 2 * y) / 3.0)
    a = np.stack([r, g, b], -1)
    a[(x // 5 + y // 7) % 2 == 0] *= 0.6  # hard edges in a checker
    a += rng.normal(0, 12, a.shape)
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "RGB")


def exif_orientation(o):
    ex = Image.Exif()
    ex[0x0112] = o
    return ex.tobytes()


def jpegtran_restart(src, rows):
    """A lossless copy of a JPEG with a restart marker every `rows` MCU rows (DRI), or None without jpegtran."""
    exe = shutil.which("jpegtran")
    if not exe:
        return None
    return subprocess.run([exe, "-restart", str(rows), "-copy", "all"], input=src, capture_output=True, check=True).stdout


def corrupt_scan(data):
    """Scrambles bytes inside the entropy-coded data (no 0xFF, so the markers stay intact):
    libjpeg decodes through it with a warning, and Pillow returns the image."""
    b = bytearray(data)
    i = b.index(b"\xff\xda")
    at = i + 2 + ((b[i + 2] << 8) | b[i + 3])
    for j in range(at + 10, at + 200, 3):
        b[j] = (b[j] * 31 + 7) & 0x7F
    return bytes(b)


def save(img, **opts):
    b = io.BytesIO()
    img.save(b, "JPEG", **opts)
    return b.getvalue()


def cases():
    p = picture
    yield "s420_37x23", save(p(37, 23, 1), quality=85, subsampling=2)
    yield "s422_64x48", save(p(64, 48, 2), quality=90, subsampling=1)
    yield "s444_17x33", save(p(17, 33, 3), quality=92, subsampling=0)
    yield "s420_1x1", save(p(1, 1, 4), quality=75, subsampling=2)
    yield "s420_2x3", save(p(2, 3, 5), quality=75, subsampling=2)
    yield "progressive_420_41x29", save(p(41, 29, 6), quality=80, subsampling=2, progressive=True)
    yield "progressive_444_23x17", save(p(23, 17, 7), quality=95, subsampling=0, progressive=True)
    yield "optimized_420_33x21", save(p(33, 21, 8), quality=70, subsampling=2, optimize=True)
    yield "gray_31x19", save(p(31, 19, 9).convert("L"), quality=85)
    yield "gray_progressive_19x13", save(p(19, 13, 10).convert("L"), quality=85, progressive=True)
    yield "cmyk_21x15", save(p(21, 15, 11).convert("CMYK"), quality=90)
    yield "exif6_24x16", save(p(24, 16, 12), quality=85, exif=exif_orientation(6))
    yield "q100_444_16x16", save(p(16, 16, 13), quality=100, subsampling=0)
    yield "corrupt_scan_422_64x48", corrupt_scan(save(p(64, 48, 2), quality=90, subsampling=1))
    base = save(p(48, 40, 14), quality=85, subsampling=2)
    for rows in (1, 2):
        r = jpegtran_restart(base, rows)
        if r is not None:
            assert b"\xff\xdd" in r, "jpegtran wrote no DRI marker"
            yield f"restart{rows}_420_48x40", r


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    print(f"Pillow {PIL.__version__}, libjpeg {features.version('jpg')} (turbo: {features.check_feature('libjpeg_turbo')})")
    res = {"pillow": PIL.__version__, "libjpeg": features.version("jpg"),
           "reference": "Image.open(f).convert('RGB').tobytes(); EXIF orientation not applied", "files": {}, "shared": {}}
    for name, data in cases():
        with open(os.path.join(OUT, name + ".jpg"), "wb") as f:
            f.write(data)
        im = Image.open(io.BytesIO(data))
        rgb = im.convert("RGB").tobytes()
        with open(os.path.join(OUT, name + ".rgb"), "wb") as f:
            f.write(rgb)
        res["files"][name] = {"width": im.size[0], "height": im.size[1], "mode": im.mode,
                              "progressive": bool(im.info.get("progressive")),
                              "orientation": im.getexif().get(0x0112, 1),
                              "sha256": hashlib.sha256(rgb).hexdigest()}
        print(f"  {name}: {im.mode} {im.size[0]}x{im.size[1]}, {len(data)} bytes")
    if os.path.isdir(SHARED):
        for fn in sorted(os.listdir(SHARED)):
            if fn.lower().endswith(".jpg"):
                im = Image.open(os.path.join(SHARED, fn))
                res["shared"][fn] = {"width": im.size[0], "height": im.size[1],
                                     "sha256": hashlib.sha256(im.convert("RGB").tobytes()).hexdigest()}
    else:
        print(f"warning: {SHARED} missing, no shared-photo hashes", file=sys.stderr)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
