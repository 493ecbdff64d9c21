/**
 * A tiny built-in bitmap font for labels: printable ASCII 32-126.
 *
 * Each glyph is 5 pixels wide on a 9-row box: rows 0-6 sit on the baseline
 * (capitals and digits are 7 rows tall, lowercase x-height is 5 rows) and
 * rows 7-8 hold descenders (g j p q y , ;). Glyphs advance 6 pixels (one
 * blank column between letters); lines advance 11 pixels. Everything scales
 * by an integer factor, pixel-doubled, so text stays crisp.
 */
import type { RgbImage } from '../io/image.js';
import type { Rgb } from './colormap.js';

export const GLYPH_WIDTH = 5;
/** Rows per glyph box (7 above the baseline + 2 descender rows). */
export const GLYPH_HEIGHT = 9;
/** Rows above the baseline (cap height). */
export const CAP_HEIGHT = 7;
/** Horizontal advance per character, unscaled. */
export const ADVANCE = 6;
/** Vertical advance per line of text, unscaled. */
export const LINE_HEIGHT = 11;

// Rows top to bottom, '#' = ink. 7 rows, or 9 for glyphs with descenders.
const GLYPHS: Record<string, string> = {
  ' ': '..... ..... ..... ..... ..... ..... .....',
  '!': '..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..',
  '"': '.#.#. .#.#. .#.#. ..... ..... ..... .....',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.',
  $: '..#.. .#### #.#.. .###. ..#.# ####. ..#..',
  '%': '##... ##..# ...#. ..#.. .#... #..## ...##',
  '&': '.##.. #..#. #.#.. .#... #.#.# #..#. .##.#',
  "'": '..#.. ..#.. .#... ..... ..... ..... .....',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '*': '..... ..#.. #.#.# .###. #.#.# ..#.. .....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  ',': '..... ..... ..... ..... ..... .##.. .##.. ..#.. .#...',
  '-': '..... ..... ..... ##### ..... ..... .....',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  '/': '..... ....# ...#. ..#.. .#... #.... .....',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  ';': '..... .##.. .##.. ..... .##.. .##.. ..#.. .#... .....',
  '<': '...#. ..#.. .#... #.... .#... ..#.. ...#.',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '>': '.#... ..#.. ...#. ....# ...#. ..#.. .#...',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  '@': '.###. #...# ....# .##.# #.#.# #.#.# .###.',
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '###.. #..#. #...# #...# #...# #..#. ###..',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  '[': '.###. .#... .#... .#... .#... .#... .###.',
  '\\': '..... #.... .#... ..#.. ...#. ....# .....',
  ']': '.###. ...#. ...#. ...#. ...#. ...#. .###.',
  '^': '..#.. .#.#. #...# ..... ..... ..... .....',
  _: '..... ..... ..... ..... ..... ..... ..... ##### .....',
  '`': '.#... ..#.. ...#. ..... ..... ..... .....',
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... #.##. ##..# #...# #...# ####.',
  c: '..... ..... .###. #.... #.... #...# .###.',
  d: '....# ....# .##.# #..## #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..##. .#..# .#... ###.. .#... .#... .#...',
  g: '..... ..... .#### #...# #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  j: '...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#',
  n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# #...# .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .###. #.... .###. ....# ####.',
  t: '.#... .#... ###.. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####',
  '{': '...#. ..#.. ..#.. .#... ..#.. ..#.. ...#.',
  '|': '..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. .....',
  '}': '.#... ..#.. ..#.. ...#. ..#.. ..#.. .#...',
  '~': '..... ..... .#... #.#.# ...#. ..... .....',
};

/** Bitmaps for codes 32-126: GLYPH_HEIGHT row masks each, bit 4 = leftmost column. */
const BITMAPS: Uint8Array = (() => {
  const out = new Uint8Array(95 * GLYPH_HEIGHT);
  for (let code = 32; code <= 126; code++) {
    const ch = String.fromCharCode(code);
    const spec = GLYPHS[ch];
    if (spec === undefined) throw new Error(`font: missing glyph ${JSON.stringify(ch)}`);
    const rows = spec.split(' ');
    if (rows.length !== CAP_HEIGHT && rows.length !== GLYPH_HEIGHT) throw new Error(`font: glyph ${JSON.stringify(ch)} has ${rows.length} rows`);
    rows.forEach((row, r) => {
      if (row.length !== GLYPH_WIDTH) throw new Error(`font: glyph ${JSON.stringify(ch)} row ${r} is ${row.length} wide`);
      let m = 0;
      for (let c = 0; c < GLYPH_WIDTH; c++) if (row[c] === '#') m |= 1 << (GLYPH_WIDTH - 1 - c);
      out[(code - 32) * GLYPH_HEIGHT + r] = m;
    });
  }
  return out;
})();

/** Glyph index for a character; anything outside printable ASCII shows as '?'. */
function glyphIndex(ch: number): number {
  return ch >= 32 && ch <= 126 ? ch - 32 : '?'.charCodeAt(0) - 32;
}

/** Row masks of one character's glyph (GLYPH_HEIGHT entries, bit 4 = left). */
export function glyphRows(ch: string): Uint8Array {
  const i = glyphIndex(ch.charCodeAt(0));
  return BITMAPS.slice(i * GLYPH_HEIGHT, (i + 1) * GLYPH_HEIGHT);
}

/** Width in pixels of a single line of text (no trailing gap). */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * ADVANCE - 1) * scale;
}

export interface TextOptions {
  color?: Rgb;
  /** Integer pixel scale (default 1). */
  scale?: number;
}

/**
 * Draws one line of text with its glyph box's top-left corner at (x, y)
 * (the baseline is at y + CAP_HEIGHT*scale). Pixels outside the image are
 * clipped. Returns the x just after the text.
 */
export function drawText(img: RgbImage, text: string, x: number, y: number, opts: TextOptions = {}): number {
  const [r, g, b] = opts.color ?? [0, 0, 0];
  const s = Math.max(1, Math.round(opts.scale ?? 1));
  x = Math.round(x);
  y = Math.round(y);
  const { width: W, height: H, data } = img;
  for (let k = 0; k < text.length; k++) {
    const gx = x + k * ADVANCE * s;
    if (gx >= W) break;
    if (gx + GLYPH_WIDTH * s <= 0) continue;
    const base = glyphIndex(text.charCodeAt(k)) * GLYPH_HEIGHT;
    for (let row = 0; row < GLYPH_HEIGHT; row++) {
      const m = BITMAPS[base + row];
      if (!m) continue;
      for (let col = 0; col < GLYPH_WIDTH; col++) {
        if (!(m & (1 << (GLYPH_WIDTH - 1 - col)))) continue;
        for (let dy = 0; dy < s; dy++) {
          const py = y + row * s + dy;
          if (py < 0 || py >= H) continue;
          for (let dx = 0; dx < s; dx++) {
            const px = gx + col * s + dx;
            if (px < 0 || px >= W) continue;
            const o = 3 * (py * W + px);
            data[o] = r;
            data[o + 1] = g;
            data[o + 2] = b;
          }
        }
      }
    }
  }
  return x + text.length * ADVANCE * s;
}

/**
 * Splits text into lines no wider than maxWidth at this scale: explicit '\n'
 * breaks, then greedy word wrap at spaces; a word longer than a line is cut.
 */
export function wrapText(text: string, maxWidth: number, scale = 1): string[] {
  const maxChars = Math.max(1, Math.floor((maxWidth / scale + 1) / ADVANCE));
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    const words = para.split(' ').filter((w) => w.length > 0);
    let line = '';
    for (let w of words) {
      while (w.length > maxChars) {
        if (line) {
          lines.push(line);
          line = '';
        }
        lines.push(w.slice(0, maxChars));
        w = w.slice(maxChars);
      }
      if (!line) line = w;
      else if (line.length + 1 + w.length <= maxChars) line += ' ' + w;
      else {
        lines.push(line);
        line = w;
      }
    }
    lines.push(line);
  }
  return lines;
}
