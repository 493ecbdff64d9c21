#!/usr/bin/env python3
"""Pillow resize reference for src/vit/preprocess.ts (resizeRgb).

Usage: /usr/bin/python3 tools/make_resize_fixtures.py
Writes test/fixtures/resize.json: a 40x30 RGB crop of ../shared/images/chelsea.png
(taken at a fixed offset, stored so the test needs no shared files) and its
Pillow resizes to 17x13 (down) and 57x45 (up) with BILINEAR and BICUBIC, as
uint8 RGB (HWC, row-major).
"""
import json
from PIL import Image
import numpy as np

src = Image.open('../shared/images/chelsea.png').convert('RGB').crop((200, 60, 240, 90))
arr = np.asarray(src)
out = {'generator': 'tools/make_resize_fixtures.py', 'pillow': Image.__version__ if hasattr(Image, '__version__') else 'PIL',
       'source': {'width': 40, 'height': 30, 'data': arr.reshape(-1).tolist()}, 'cases': []}
for (w, h) in [(17, 13), (57, 45)]:
    for name, flt in [('bilinear', Image.BILINEAR), ('bicubic', Image.BICUBIC)]:
        r = np.asarray(src.resize((w, h), flt))
        out['cases'].append({'mode': name, 'width': w, 'height': h, 'data': r.reshape(-1).tolist()})
with open('test/fixtures/resize.json', 'w') as f:
    json.dump(out, f, separators=(',', ':'))
