// The render layer: colour maps, display ranges, upsampling, overlays with a
// colour bar, grids, the bitmap font and PNG output.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RgbImage } from '../src/io/image.js';
import { decodeImage } from '../src/io/image.js';
import { expectError } from './support/expect.js';
import {
  GLYPH_HEIGHT,
  LINE_HEIGHT,
  MAX_ROW_PANELS,
  colorFor,
  createImage,
  displayRange,
  drawText,
  formatTick,
  glyphRows,
  gridLayout,
  renderGrid,
  renderImagePanel,
  renderOverlay,
  rowLength,
  textWidth,
  toPng,
  upsampleNearest,
  wrapGroups,
  wrapText,
  type Rgb,
  type ScoreMap,
} from '../src/render/index.js';

const px = (img: RgbImage, x: number, y: number): Rgb => {
  const o = 3 * (y * img.width + x);
  if (!(Number.isInteger(o) && o >= 0 && o + 3 <= img.data.length)) throw new Error(`pixel (${x}, ${y}) is outside the ${img.width}x${img.height} image`);
  return [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!];
};

function grey(w: number, h: number, v = 128): RgbImage {
  return { width: w, height: h, data: new Uint8Array(w * h * 3).fill(v) };
}

function map14(f: (r: number, c: number) => number): ScoreMap {
  const values = new Float32Array(14 * 14);
  for (let r = 0; r < 14; r++) for (let c = 0; c < 14; c++) values[r * 14 + c] = f(r, c);
  return { rows: 14, cols: 14, values };
}

// ---------------------------------------------------------------------------
// Colour maps

test('signed colour map: white at 0, red at +max, blue at -max, clamped', () => {
  const [r0, g0, b0] = colorFor(0, 'signed');
  assert.ok(r0 >= 245 && g0 >= 245 && b0 >= 245, `centre ${[r0, g0, b0]}`);
  const [rp, gp, bp] = colorFor(1, 'signed');
  assert.ok(rp > gp + 80 && rp > bp + 80, `+max ${[rp, gp, bp]}`);
  const [rn, gn, bn] = colorFor(-1, 'signed');
  assert.ok(bn > rn + 80 && bn > gn + 40, `-max ${[rn, gn, bn]}`);
  assert.equal(colorFor(7, 'signed'), colorFor(1, 'signed'));
  assert.equal(colorFor(-7, 'signed'), colorFor(-1, 'signed'));
  // Moving away from 0 only ever gets darker (more saturated) on both sides.
  const lum = (c: Rgb) => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
  for (let i = 1; i <= 10; i++) {
    assert.ok(lum(colorFor(i / 10, 'signed')) <= lum(colorFor((i - 1) / 10, 'signed')) + 0.5);
    assert.ok(lum(colorFor(-i / 10, 'signed')) <= lum(colorFor(-(i - 1) / 10, 'signed')) + 0.5);
  }
  assert.equal(colorFor(NaN, 'signed'), [128, 128, 128]);
});

test('unsigned colour map (inferno): black to pale yellow, monotone lightness', () => {
  assert.equal(colorFor(0, 'unsigned'), [0, 0, 4]);
  assert.equal(colorFor(1, 'unsigned'), [252, 255, 164]);
  // inferno's entry 128 of 256 (t = 128/255) is #bc3754.
  assert.equal(colorFor(128 / 255, 'unsigned'), [188, 55, 84]);
  const lum = (c: Rgb) => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
  for (let i = 1; i <= 20; i++) assert.ok(lum(colorFor(i / 20, 'unsigned')) > lum(colorFor((i - 1) / 20, 'unsigned')));
});

// ---------------------------------------------------------------------------
// Display range

test('displayRange: quantile clipping ignores a single huge outlier', () => {
  const v = new Float32Array(1001);
  for (let i = 0; i < 1000; i++) v[i] = ((i % 200) - 100) / 100; // [-1, 0.99]
  v[1000] = 1e6;
  const s = displayRange(v, true);
  assert.ok(s.hi > 0.9 && s.hi <= 1, `signed hi ${s.hi}`);
  assert.is(s.lo, -s.hi);
  const u = displayRange(v, false);
  assert.ok(u.hi <= 1 && u.lo >= -1 && u.lo < -0.9, `unsigned ${u.lo}..${u.hi}`);
  const full = displayRange(v, true, { quantile: 1 });
  assert.is(full.hi, 1e6);
});

test('displayRange: constant, all-zero, empty and NaN maps give a finite range', () => {
  const mostlyZeros = [...new Array<number>(1000).fill(0), 0.5];
  const cases: [number[], boolean][] = [
    [[0, 0, 0, 0], true],
    [[0, 0, 0, 0], false],
    [[3, 3, 3], false],
    [[-2, -2], false],
    [[-2, -2], true],
    [[], true],
    [[NaN, Infinity, 1, 2], false],
    [mostlyZeros, true],
  ];
  for (const [v, signed] of cases) {
    const r = displayRange(v, signed);
    assert.ok(Number.isFinite(r.lo) && Number.isFinite(r.hi) && r.hi > r.lo, `${JSON.stringify(v)} ${signed}: ${r.lo}..${r.hi}`);
  }
  assert.equal(displayRange([3, 3, 3], false), { lo: 0, hi: 3 });
  // Mostly zeros: the 99% quantile of |s| is 0, fall back to the max.
  assert.equal(displayRange(mostlyZeros, true), { lo: -0.5, hi: 0.5 });
});

test('constant and all-zero maps render without NaN artefacts', () => {
  const img = grey(28, 28, 100);
  const zero = renderOverlay(img, { rows: 2, cols: 2, values: [0, 0, 0, 0] }, { signed: true });
  const r = zero.imageRect;
  // A signed all-zero map leaves the (greyscale) image untouched: uniform grey.
  const ref = px(zero, r.x, r.y);
  for (let y = r.y; y < r.y + r.height; y += 3) for (let x = r.x; x < r.x + r.width; x += 3) assert.equal(px(zero, x, y), ref);
  assert.ok(ref[0] === ref[1] && ref[1] === ref[2] && ref[0] > 90);
  for (const values of [
    [5, 5, 5, 5],
    [0, 0, 0, 0],
    [-2, -2, -2, -2],
  ]) {
    for (const signed of [true, false]) {
      const out = renderOverlay(img, { rows: 2, cols: 2, values }, { signed });
      assert.ok(Number.isFinite(out.range.lo) && Number.isFinite(out.range.hi));
      const q = out.imageRect;
      const c = px(out, q.x, q.y);
      for (let y = q.y; y < q.y + q.height; y += 5) for (let x = q.x; x < q.x + q.width; x += 5) assert.equal(px(out, x, y), c, `uniform for ${values}`);
    }
  }
  // NaN scores leave their pixels as the base image.
  const withNaN = renderOverlay(img, { rows: 2, cols: 2, values: [NaN, 1, 2, 3] });
  assert.equal(px(withNaN, withNaN.imageRect.x + 1, withNaN.imageRect.y + 1), ref);
});

// ---------------------------------------------------------------------------
// Upsampling

test('upsampleNearest copies each patch to its 16x16 block exactly', () => {
  const m = map14((r, c) => r * 100 + c + 0.25);
  const up = upsampleNearest(m, 224, 224);
  assert.is(up.length, 224 * 224);
  for (let r = 0; r < 14; r++) {
    for (let c = 0; c < 14; c++) {
      assert.is(up[(16 * r + 5) * 224 + 16 * c + 7], m.values[r * 14 + c]);
      assert.is(up[16 * r * 224 + 16 * c], m.values[r * 14 + c]);
      assert.is(up[(16 * r + 15) * 224 + 16 * c + 15], m.values[r * 14 + c]);
    }
  }
});

test('upsampleNearest: non-multiples use floor(x*cols/width); pixel maps are identity', () => {
  const up = upsampleNearest({ rows: 1, cols: 3, values: [1, 2, 3] }, 10, 2);
  assert.equal([...up.subarray(0, 10)], [1, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
  assert.equal([...up.subarray(10)], [...up.subarray(0, 10)]);
  const pix = { rows: 3, cols: 4, values: Array.from({ length: 12 }, (_, i) => i) };
  assert.equal([...upsampleNearest(pix, 4, 3)], pix.values);
  assert.throws(() => upsampleNearest({ rows: 2, cols: 2, values: [1, 2, 3] }, 4, 4), /2x2 but has 3 values/);
});

// ---------------------------------------------------------------------------
// Overlay

test('overlay size includes the colour bar and the title', () => {
  const img = grey(224, 224);
  const m = map14((r, c) => r - c);
  const plain = renderOverlay(img, m, { colorbar: false });
  assert.is(plain.scale, 2); // default: image at least 448 px wide
  assert.equal({ ...plain.imageRect, x: 0, y: 0 }, { x: 0, y: 0, width: 448, height: 448 });
  assert.is(plain.width, plain.imageRect.width + 2 * plain.imageRect.x);
  assert.is(plain.height, plain.imageRect.height + 2 * plain.imageRect.y);
  const bar = renderOverlay(img, m);
  assert.is(bar.height, plain.height);
  assert.ok(bar.width > plain.width + 40, `colour bar adds width: ${bar.width} vs ${plain.width}`);
  const titled = renderOverlay(img, m, { title: 'CDAM class 285' });
  assert.is(titled.width, bar.width);
  assert.ok(titled.height >= bar.height + LINE_HEIGHT * 2, `title adds a line: ${titled.height} vs ${bar.height}`);
  assert.is(titled.imageRect.y - bar.imageRect.y, titled.height - bar.height);
  // A title too long for one line wraps instead of widening the panel.
  const long = renderOverlay(img, m, { title: 'a very long title '.repeat(8).trim() });
  assert.is(long.width, bar.width);
  assert.ok(long.height > titled.height);
  assert.is(renderOverlay(img, m, { scale: 1 }).imageRect.width, 224);
  assert.is(data32(renderOverlay(img, m).data), data32(bar.data)); // deterministic
});

function data32(d: Uint8Array): number {
  let h = 2166136261;
  for (const v of d) h = Math.imul(h ^ v, 16777619);
  return h >>> 0;
}

test('signed map: positive left half is reddish, negative right half bluish', () => {
  const img = grey(224, 224);
  const m = map14((_, c) => (c < 7 ? 1 + 0.01 * c : -1 - 0.01 * c));
  const out = renderOverlay(img, m);
  assert.is(out.signed, true);
  const R = out.imageRect;
  for (const y of [R.y + 20, R.y + R.height / 2, R.y + R.height - 20]) {
    const [lr, lg, lb] = px(out, R.x + Math.floor(R.width / 4), y);
    assert.ok(lr > lb + 30 && lr > lg + 30, `left ${[lr, lg, lb]}`);
    const [rr, rg, rb] = px(out, R.x + Math.floor((3 * R.width) / 4), y);
    assert.ok(rb > rr + 30 && rb > rg, `right ${[rr, rg, rb]}`);
  }
  // Colour bar right of the image: red at the top, blue at the bottom.
  let bx = R.x + R.width + 1;
  while (bx < out.width && px(out, bx, R.y + 5).every((v) => v === 255)) bx++;
  bx += 4;
  const top = px(out, bx, R.y + 3);
  const bot = px(out, bx, R.y + R.height - 4);
  assert.ok(top[0] > top[2] + 60, `bar top ${top}`);
  assert.ok(bot[2] > bot[0] + 60, `bar bottom ${bot}`);
  // Near-zero scores leave the photo visible (opacity proportional to |s|).
  const faint = renderOverlay(
    img,
    map14((_, c) => (c === 0 ? 1 : 0.02)),
  );
  const p = px(faint, faint.imageRect.x + 200, faint.imageRect.y + 200);
  assert.ok(Math.abs(p[0] - p[2]) <= 3, `near-zero pixel stays grey ${p}`);
});

test('unsigned map uses the sequential map and keeps photo colours when asked', () => {
  const img = grey(56, 56);
  const m = map14((r) => r);
  const out = renderOverlay(img, m);
  assert.is(out.signed, false);
  assert.equal(out.range, displayRange(m.values, false));
  const R = out.imageRect;
  const low = px(out, R.x + 5, R.y + 2);
  const high = px(out, R.x + 5, R.y + R.height - 2);
  const lum = (c: Rgb) => c[0] + c[1] + c[2];
  assert.ok(lum(high) > lum(low) + 100, `${low} vs ${high}`);
  const red: RgbImage = { width: 14, height: 14, data: new Uint8Array(14 * 14 * 3) };
  for (let i = 0; i < red.data.length; i += 3) red.data[i] = 200;
  const keep = renderOverlay(red, { rows: 1, cols: 1, values: [0] }, { signed: true, grayscale: false, scale: 1, colorbar: false });
  assert.equal(px(keep, keep.imageRect.x, keep.imageRect.y), [200, 0, 0]);
});

test('formatTick: short labels', () => {
  assert.is(formatTick(0), '0');
  assert.is(formatTick(0.5), '0.5');
  assert.is(formatTick(0.00296), '2.96e-3');
  assert.is(formatTick(-0.00296), '-2.96e-3');
  assert.is(formatTick(0.0031, true), '+3.1e-3');
  assert.is(formatTick(12), '12');
  assert.is(formatTick(123.456), '123');
  assert.is(formatTick(25000), '2.5e4');
  assert.is(formatTick(0.0125), '0.0125');
});

// ---------------------------------------------------------------------------
// Grid

test('grid size arithmetic and panel placement', () => {
  const mk = (w: number, h: number, v: number): RgbImage => grey(w, h, v);
  const panels = [
    { image: mk(30, 20, 10), label: 'a' },
    { image: mk(50, 25, 20), label: 'b' },
    { image: mk(40, 22, 30), label: 'c' },
    { image: mk(20, 30, 40), label: '' },
    { image: mk(10, 10, 50), label: 'e' },
  ];
  const g = renderGrid(panels, { columns: 2, gap: 10, margin: 5, textScale: 1 });
  // columns: widths max(30, 40, 10) = 40 and max(50, 20) = 50; rows of 2, 2, 1.
  const L1 = LINE_HEIGHT;
  assert.is(g.width, 5 + 40 + 10 + 50 + 5);
  assert.is(g.height, 5 + (L1 + 25) + 10 + (L1 + 30) + 10 + (L1 + 10) + 5);
  const L = gridLayout(panels, { columns: 2, gap: 10, margin: 5, textScale: 1 });
  assert.equal([L.rows, L.columns], [3, 2]);
  assert.equal(L.columnWidths, [40, 50]);
  assert.equal(L.panels[1], { x: 5 + 40 + 10, y: 5 + L1, width: 50, height: 25 });
  panels.forEach((p, i) => {
    const r = L.panels[i]!; // one rect per panel
    const colour = px(p.image, 0, 0); // a plain grey panel
    assert.equal(px(g, r.x + 1, r.y + 1), colour, `panel ${i}`);
    assert.equal(px(g, r.x + r.width - 1, r.y + r.height - 1), colour);
  });
  // One row by default; a title adds lines + gap.
  const row = renderGrid(panels.slice(0, 3), { gap: 10, margin: 5, textScale: 1 });
  assert.is(row.width, 5 + 30 + 10 + 50 + 10 + 40 + 5);
  const titled = renderGrid(panels.slice(0, 3), { gap: 10, margin: 5, textScale: 1, title: 'T' });
  assert.is(titled.height, row.height + L1 + 10);
  // White background.
  assert.equal(px(row, 0, 0), [255, 255, 255]);
});

test('grid labels are drawn and centred on an overlay panel image', () => {
  const ov = renderOverlay(
    grey(28, 28),
    map14((r, c) => r - c),
  );
  const inp = renderImagePanel(grey(28, 28));
  assert.is(inp.imageRect.y, ov.imageRect.y);
  assert.is(inp.height, ov.height);
  const g = renderGrid([
    { image: inp, label: 'input' },
    { image: ov, label: 'CDAM' },
  ]);
  const L = gridLayout([
    { image: inp, label: 'input' },
    { image: ov, label: 'CDAM' },
  ]);
  const u = L.textScale;
  // Ink in the label block of panel 1, centred on its image.
  let minX = Infinity;
  let maxX = -Infinity;
  // two panels in one row
  const r = L.panels[1]!;
  const cell = L.cells[1]!;
  for (let y = r.y - L.labelHeights[0]!; y < r.y; y++) {
    for (let x = cell.x; x < cell.x + cell.width; x++) {
      if (px(g, x, y)[0] < 128) {
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
      }
    }
  }
  assert.is(maxX - minX + 1, textWidth('CDAM', u));
  const centre = r.x + ov.imageRect.x + ov.imageRect.width / 2;
  assert.ok(Math.abs((minX + maxX + 1) / 2 - centre) <= 1, `label centre ${(minX + maxX + 1) / 2} vs image centre ${centre}`);
});

// ---------------------------------------------------------------------------
// Font

test('drawText changes pixels inside the box textWidth predicts', () => {
  for (const scale of [1, 2, 3]) {
    const img = createImage(300, 40);
    const text = 'H0-1.5e:(x)|=';
    const end = drawText(img, text, 7, 5, { color: [0, 0, 0], scale });
    let minX = Infinity;
    let maxX = -Infinity;
    let minY = Infinity;
    let maxY = -Infinity;
    let n = 0;
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        if (px(img, x, y)[0] !== 255) {
          n++;
          minX = Math.min(minX, x);
          maxX = Math.max(maxX, x);
          minY = Math.min(minY, y);
          maxY = Math.max(maxY, y);
        }
      }
    }
    assert.ok(n > 0);
    assert.is(minX, 7); // 'H' has ink in its first column
    assert.is(maxX - minX + 1, textWidth(text, scale)); // '=' has ink in its last column
    assert.is(minY, 5);
    assert.ok(maxY < 5 + GLYPH_HEIGHT * scale);
    assert.is(end, 7 + text.length * 6 * scale);
  }
  assert.is(textWidth('', 2), 0);
  assert.is(textWidth('abc', 2), (3 * 6 - 1) * 2);
  // Clipped drawing never throws.
  drawText(createImage(5, 5), 'clipped text', -3, -4, { scale: 2 });
});

test('font covers printable ASCII with distinct glyphs', () => {
  const seen = new Map<string, string>();
  for (let c = 33; c <= 126; c++) {
    const ch = String.fromCharCode(c);
    const key = [...glyphRows(ch)].join(',');
    assert.ok(key !== '0,0,0,0,0,0,0,0,0', `glyph ${ch} is blank`);
    assert.not.ok(seen.has(key), `glyph ${ch} looks like ${seen.get(key)}`);
    seen.set(key, ch);
  }
  assert.equal([...glyphRows(' ')], [0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(glyphRows('\u00e9'), glyphRows('?'));
});

test('wrapText breaks at spaces within the width', () => {
  const lines = wrapText('the quick brown fox jumps', textWidth('the quick', 1), 1);
  assert.equal(lines, ['the quick', 'brown fox', 'jumps']);
  assert.equal(wrapText('abcdefgh', textWidth('abc', 2), 2), ['abc', 'def', 'gh']);
  assert.equal(wrapText('a\nb', 100), ['a', 'b']);
});

// ---------------------------------------------------------------------------
// PNG

test('toPng round-trips through the PNG decoder', () => {
  const img = renderOverlay(
    grey(28, 28),
    map14((r, c) => r - c),
    { title: 'x' },
  );
  const png = toPng(img);
  assert.equal([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  const back = decodeImage(png, 'roundtrip');
  assert.is(back.width, img.width);
  assert.is(back.height, img.height);
  assert.ok(back.data.every((v, i) => v === img.data[i]));
});

test('grid wrapping: rows of at most MAX_ROW_PANELS filled evenly; each group starts a row', () => {
  assert.is(MAX_ROW_PANELS, 6);
  assert.equal(
    [1, 5, 6, 7, 12, 15].map((n) => rowLength(n)),
    [1, 5, 6, 4, 6, 5],
    '15 panels (the input and 14 methods): 3 rows of 5',
  );
  assert.is(rowLength(5, 2), 2);
  assert.is(rowLength(3, 10), 3);
  const p = (label: string) => ({ image: createImage(8, 8, [0, 0, 0]), label });
  const wrapped = wrapGroups(
    [
      [p('a'), p('b'), p('c')],
      [p('d'), p('e')],
    ],
    2,
  );
  assert.equal(
    wrapped.map((x) => x.label),
    ['a', 'b', 'c', '', 'd', 'e'],
  );
  assert.equal([wrapped[3]!.image.width, wrapped[3]!.image.height], [1, 1], 'a blank filler');
  const L = gridLayout(wrapped, { columns: 2, gap: 2, margin: 0, textScale: 1 });
  assert.is(L.rows, 3);
  assert.is(L.panels[4]!.x, 0, 'the second group starts a row');
  assert.ok(L.panels[4]!.y > L.panels[2]!.y);
  expectError(() => wrapGroups([[p('a')]], 0), 'columns must be a positive integer');
});

test('colour bar: an end the map goes beyond is a triangle; an unclipped end is square', () => {
  const image = createImage(32, 32, [150, 150, 150]);
  const vals = Array.from({ length: 16 }, (_, i) => (i - 7.5) / 10); // in [-0.75, 0.75]
  const range = { lo: -0.8, hi: 0.8 };
  const bar = (values: number[]) => renderOverlay(image, { rows: 4, cols: 4, values }, { signed: true, range });
  const plain = bar(vals);
  const hiOut = bar(vals.map((v, i) => (i === 0 ? 2 : v)));
  const bothOut = bar(vals.map((v, i) => (i === 0 ? 2 : i === 1 ? -2 : v)));
  assert.equal(plain.clipped, { lo: false, hi: false });
  assert.equal(hiOut.clipped, { lo: false, hi: true });
  assert.equal(bothOut.clipped, { lo: true, hi: true });
  const at = (o: typeof plain, x: number, y: number) => Array.from(o.data.subarray(3 * (y * o.width + x), 3 * (y * o.width + x) + 3));
  const b = plain.bar!;
  const corner = (o: typeof plain, top: boolean) => at(o, b.x, top ? b.y : b.y + b.height - 1);
  const mid = (o: typeof plain, top: boolean) => at(o, b.x + (b.width >> 1), top ? b.y + 1 : b.y + b.height - 2);
  const white = [255, 255, 255];
  // unclipped: the ramp fills the corners; clipped: the corner is background, the middle still the end colour
  assert.not.equal(corner(plain, true), white);
  assert.not.equal(corner(plain, false), white);
  assert.equal(corner(hiOut, true), white);
  assert.equal(corner(hiOut, false), corner(plain, false), 'the unclipped low end is unchanged');
  assert.equal(corner(bothOut, false), white);
  assert.equal(mid(hiOut, true), mid(plain, true));
  assert.equal(mid(bothOut, false), mid(plain, false));
  // a NaN is no clipping; an unsigned map clipped at the top only
  assert.equal(bar(vals.map((v, i) => (i === 0 ? NaN : v))).clipped, { lo: false, hi: false });
  const un = renderOverlay(image, { rows: 4, cols: 4, values: vals.map((v) => v + 1) }, { signed: false, range: { lo: 0, hi: 1.5 } });
  assert.equal(un.clipped, { lo: false, hi: true });
  assert.equal(at(un, un.bar!.x, un.bar!.y), white);
});

test.run();
