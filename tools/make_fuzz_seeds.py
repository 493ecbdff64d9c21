# Seed JPEGs for the fuzz suite (test/fuzz.test.ts): the kinds jpeg-js's own
# encoder cannot write (progressive, greyscale, 4:4:4, EXIF orientation),
# each a few hundred bytes.
# Run: /usr/bin/python3 tools/make_fuzz_seeds.py
from pathlib import Path
from PIL import Image

out = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "fuzz"
out.mkdir(parents=True, exist_ok=True)
img = Image.new("RGB", (24, 16))
img.putdata([((x * 11) % 256, (y * 17) % 256, ((x + y) * 7) % 256) for y in range(16) for x in range(24)])
img.save(out / "baseline420.jpg", quality=80, subsampling=2)
img.save(out / "baseline444.jpg", quality=80, subsampling=0)
img.save(out / "progressive.jpg", quality=80, progressive=True)
img.convert("L").save(out / "grey.jpg", quality=80)
exif = Image.Exif()
exif[0x0112] = 6
img.save(out / "exif6.jpg", quality=80, exif=exif.tobytes())
for p in sorted(out.glob("*.jpg")):
    print(p.name, p.stat().st_size)
