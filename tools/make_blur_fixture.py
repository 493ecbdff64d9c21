#!/usr/bin/python3
"""Pillow's GaussianBlur(radius=14), the evaluation's blur, on the sample photos,
for test/eval_blur.test.ts (src/eval/blur.ts must match it).

Run with:  /usr/bin/python3 tools/make_blur_fixture.py   (Debian python3-pil)
Writes test/fixtures/eval/<photo>_blur14.png (lossless) and blur.json (the Pillow version).
"""
import json
import os

import PIL
from PIL import Image, ImageFilter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "eval")
PHOTOS = ["catcoffee_224.png", "chelsea.png"]  # square, and one that is not


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in PHOTOS:
        img = Image.open(os.path.join(ROOT, "examples", name)).convert("RGB")
        out = img.filter(ImageFilter.GaussianBlur(radius=14))
        path = os.path.join(OUT, name.replace(".png", "_blur14.png"))
        out.save(path, optimize=True)
        print(f"wrote {os.path.relpath(path, ROOT)} ({img.size[0]}x{img.size[1]})")
    with open(os.path.join(OUT, "blur.json"), "w") as f:
        json.dump({"generator": "tools/make_blur_fixture.py", "pillow": PIL.__version__, "radius": 14, "photos": PHOTOS}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
