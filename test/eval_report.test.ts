// `cdam report`: the aggregates of a small hand-made results set checked
// against numbers worked out by hand below, the tables in report.md, the CSV,
// the plots (SVG that parses as XML with its titles and axis texts, PNG that
// decodes, has text and is not blank), and the command's errors.
//
// The set: two methods (cdam first in the file, then attention), image A
// with one target (1) and image B with two (2, 3), so cdam has one record on
// A and the four pairings (2,2) (3,2) (3,3) (2,3) on B; attention the same.
// Box sizes 16 and 32, curves of three points (x = 0, 50, 100 %).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, readdirSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { DOMParser } from '@xmldom/xmldom';
import { build } from 'esbuild';
import {
  parseResults,
  summarizeResults,
  reportMarkdown,
  reportCsv,
  meanSe,
  formatStat,
  writeReport,
  type ResultRecord,
  type MethodSummary,
  type Stat,
} from '../src/eval/report.js';
import { plotSpecs, fontMetrics, textWidth } from '../src/eval/plots.js';
import { repoPath } from './support/fixtures.js';
import { runCli } from './support/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'cdam-report-'));

/** A record; fields the report does not read for a pairing are given plausible values. */
function rec(method: string, image: string, line: number, mapTarget: number, logitTarget: number, v: Partial<ResultRecord>): ResultRecord {
  return {
    image,
    line,
    method,
    mapTarget,
    logitTarget,
    aMif: 0,
    aLif: 0,
    aLifMif: 0,
    boxSizes: [16, 32],
    boxR: [0, 0],
    aBox: 0,
    compactness: 0,
    curves: { mif: [0, 0, 0], lif: [0, 0, 0] },
    ...v,
  };
}

const RECORDS: ResultRecord[] = [
  rec('cdam', 'a.png', 1, 1, 1, { aMif: 10, aLif: 30, aLifMif: 20, boxR: [0.5, 0.3], aBox: 12, compactness: 0.8, curves: { mif: [3, 2, 1], lif: [3, 3, 2] } }),
  rec('attention', 'a.png', 1, 1, 1, {
    aMif: 50,
    aLif: 70,
    aLifMif: 20,
    boxR: [0.1, 0.0],
    aBox: 2,
    compactness: 0.4,
    curves: { mif: [3, 3, 2], lif: [3, 3, 3] },
  }),
  rec('cdam', 'b.png', 2, 2, 2, { aMif: 20, aLif: 50, aLifMif: 30, boxR: [0.7, 0.1], aBox: 16, compactness: 0.6, curves: { mif: [5, 1, 0], lif: [5, 4, 3] } }),
  rec('cdam', 'b.png', 2, 3, 2, { aMif: 35, aLif: 45, aLifMif: 10, boxR: [0.1, 0.0], aBox: 4, compactness: 0.5 }),
  rec('cdam', 'b.png', 2, 3, 3, { aMif: 40, aLif: 60, aLifMif: 20, boxR: [0.3, 0.2], aBox: 8, compactness: 0.5, curves: { mif: [4, 0, -1], lif: [4, 4, 4] } }),
  rec('cdam', 'b.png', 2, 2, 3, { aMif: 50, aLif: 55, aLifMif: 5, boxR: [0.0, 0.1], aBox: 2, compactness: 0.6 }),
  // attention's map is the same for both targets: each wrong-class record equals the right-class one
  rec('attention', 'b.png', 2, 2, 2, {
    aMif: 30,
    aLif: 70,
    aLifMif: 40,
    boxR: [0.2, 0.1],
    aBox: 6,
    compactness: 0.4,
    curves: { mif: [5, 2, 1], lif: [5, 5, 4] },
  }),
  rec('attention', 'b.png', 2, 3, 2, { aMif: 30, aLif: 70, aLifMif: 40, boxR: [0.2, 0.1], aBox: 6, compactness: 0.4 }),
  rec('attention', 'b.png', 2, 3, 3, {
    aMif: 20,
    aLif: 80,
    aLifMif: 60,
    boxR: [0.3, 0.2],
    aBox: 10,
    compactness: 0.4,
    curves: { mif: [4, 1, 0], lif: [4, 4, 4] },
  }),
  rec('attention', 'b.png', 2, 2, 3, { aMif: 20, aLif: 80, aLifMif: 60, boxR: [0.3, 0.2], aBox: 10, compactness: 0.4 }),
];
const JSONL = RECORDS.map((r) => JSON.stringify(r)).join('\n') + '\n';

const close = (a: number | null, b: number, what: string, tol = 1e-9) =>
  assert.ok(a !== null && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} != ${b}`);
function stat(s: Stat, mean: number, se: number | null, n: number, what: string): void {
  assert.is(s.n, n, `${what}: n`);
  close(s.mean, mean, `${what}: mean`);
  if (se === null) assert.is(s.se, null, `${what}: se`);
  else close(s.se, se, `${what}: se`);
}

const summary = summarizeResults(parseResults(JSONL, 'results.jsonl'));
const method = (name: string): MethodSummary => summary.models[0]!.methods.find((m) => m.method === name)!;

test('mean and standard error: sample std (n - 1) over sqrt n; n = 1 has no s.e.', () => {
  // 2, 4, 9: mean 5, deviations -3 -1 4, sum of squares 26, variance 13, se sqrt(13/3)
  stat(meanSe([2, 4, 9]), 5, Math.sqrt(13 / 3), 3, '2 4 9');
  stat(meanSe([7]), 7, null, 1, 'one value');
  assert.equal(meanSe([]), { mean: null, se: null, n: 0 });
  assert.is(formatStat(meanSe([7]), 1), '7.0 ± –');
  assert.is(formatStat(meanSe([]), 1), '–');
  assert.is(formatStat({ mean: -0.2, se: 0.05, n: 2 }, 2), '−0.20 ± 0.05');
});

test('counts and the order of methods (first appearance in the file, not alphabetical)', () => {
  assert.is(summary.records, 10);
  assert.is(summary.images, 2);
  assert.is(summary.twoClassImages, 1);
  assert.equal(summary.boxSizes, [16, 32]);
  assert.is(summary.models.length, 1);
  assert.is(summary.models[0]!.model, null);
  assert.equal(
    summary.models[0]!.methods.map((m) => m.method),
    ['cdam', 'attention'],
  );
});

test('correctness: over the records with map target = logit target, by hand', () => {
  const c = method('cdam').correctness;
  // A(1,1), B(2,2), B(3,3)
  // aMif 10 20 40: mean 70/3, squares (40/3)^2 + (10/3)^2 + (50/3)^2 = 4200/9, variance 2100/9, se sqrt(700/9)
  stat(c.aMif, 70 / 3, Math.sqrt(700 / 9), 3, 'cdam aMif');
  // aLif 30 50 60: mean 140/3, squares (50/3)^2 + (10/3)^2 + (40/3)^2 = 4200/9, the same se
  stat(c.aLif, 140 / 3, Math.sqrt(700 / 9), 3, 'cdam aLif');
  // aLifMif 20 30 20: mean 70/3, squares 100/9 + 400/9 + 100/9 = 600/9, variance 300/9, se 10/3
  stat(c.aLifMif, 70 / 3, 10 / 3, 3, 'cdam aLifMif');
  // aBox 12 16 8: mean 12, squares 0 16 16, variance 16, se 4/sqrt 3
  stat(c.aBox, 12, 4 / Math.sqrt(3), 3, 'cdam aBox');
  const a = method('attention').correctness;
  // aMif 50 30 20: mean 100/3, squares (50/3)^2 + (10/3)^2 + (40/3)^2, se sqrt(700/9)
  stat(a.aMif, 100 / 3, Math.sqrt(700 / 9), 3, 'attention aMif');
  // aLifMif 20 40 60: mean 40, variance 400, se 20/sqrt 3
  stat(a.aLifMif, 40, 20 / Math.sqrt(3), 3, 'attention aLifMif');
});

test('r(s) per box size, and the mean curves, over the same records', () => {
  const b = method('cdam').boxR;
  assert.equal(
    b.map((e) => e.size),
    [16, 32],
  );
  // 16 px: 0.5 0.7 0.3, mean 0.5, variance 0.04, se 0.2/sqrt 3; 32 px: 0.3 0.1 0.2, mean 0.2, se 0.1/sqrt 3
  stat(b[0]!.r, 0.5, 0.2 / Math.sqrt(3), 3, 'r(16)');
  stat(b[1]!.r, 0.2, 0.1 / Math.sqrt(3), 3, 'r(32)');
  const cv = method('cdam').curves!;
  assert.is(cv.n, 3);
  assert.equal(cv.x, [0, 50, 100]);
  // mif (3 2 1) (5 1 0) (4 0 -1) -> 4 1 0; lif (3 3 2) (5 4 3) (4 4 4) -> 4 11/3 3
  cv.mif.forEach((v, k) => close(v, [4, 1, 0][k]!, `mif[${k}]`));
  cv.lif.forEach((v, k) => close(v, [4, 11 / 3, 3][k]!, `lif[${k}]`));
});

test('class discrimination: both directions of the two-class image, by hand', () => {
  const d = method('cdam').discrimination;
  // right 2, wrong 3: aLifMif(2,2) - aLifMif(3,2) = 30 - 10 = 20, aBox 16 - 4 = 12
  // right 3, wrong 2: aLifMif(3,3) - aLifMif(2,3) = 20 - 5 = 15, aBox 8 - 2 = 6
  // two values: mean (a + b)/2, se |a - b|/2
  stat(d.dLifMif, 17.5, 2.5, 2, 'cdam dA_LIF-MIF');
  stat(d.dBox, 9, 3, 2, 'cdam dA_box');
  // attention: blind to the class, 0 in both directions
  stat(method('attention').discrimination.dLifMif, 0, 0, 2, 'attention dA_LIF-MIF');
  stat(method('attention').discrimination.dBox, 0, 0, 2, 'attention dA_box');
});

test('compactness: one value per distinct (image, method, map target)', () => {
  // cdam maps: A/1 0.8, B/2 0.6, B/3 0.5 (the wrong-logit records repeat them): mean 1.9/3,
  // squares (0.5/3)^2 + (0.1/3)^2 + (0.4/3)^2 = 0.42/9, variance 0.21/9, se sqrt(0.07/9)
  stat(method('cdam').compactness, 1.9 / 3, Math.sqrt(0.07 / 9), 3, 'cdam compactness');
  stat(method('attention').compactness, 0.4, 0, 3, 'attention compactness');
});

test('one image alone: n = 1, the s.e. shown as – in the table', () => {
  const one = summarizeResults(RECORDS.filter((r) => r.image === 'a.png'));
  const c = one.models[0]!.methods[0]!;
  stat(c.correctness.aMif, 10, null, 1, 'aMif');
  assert.is(c.discrimination.dLifMif.n, 0);
  const md = reportMarkdown(one, { sources: ['x/results.jsonl'] });
  assert.ok(md.includes('| `cdam` | 1 | 10.0 ± – | 30.0 ± – | 20.0 ± – | 12.00 ± – |'), md);
  assert.ok(md.includes('(no two-class images)'));
  assert.not.match(md, /NaN|null|undefined/);
  assert.equal(
    plotSpecs(one).map((p) => p.name),
    ['curves', 'boxes'],
    'no discrimination plot without two-class images',
  );
});

test('report.md: the three tables laid out like the paper, the paper beside ours', () => {
  const md = reportMarkdown(summary, { sources: ['run/results.jsonl'], plots: ['curves', 'boxes', 'discrimination'] });
  assert.match(md, /From `run\/results\.jsonl`: 10 records, 2 images \(1 with two classes\), 2 methods \(`cdam`, `attention`\)/);
  for (const h of ['## Correctness', '## Class discrimination', '## Compactness', '## Box sensitivity r(s)', '## Curves']) assert.ok(md.includes(h), h);
  // 70/3 = 23.3, sqrt(700/9) = 8.8; 140/3 = 46.7; se 10/3 = 3.3; 12 ± 4/sqrt 3 = 2.31
  assert.ok(md.includes('| method | n | A_MIF ↓ | A_LIF ↑ | A_LIF-MIF ↑ | A_box ↑ |'));
  assert.ok(md.includes('| `cdam` | 3 | 23.3 ± 8.8 | 46.7 ± 8.8 | 23.3 ± 3.3 | 12.00 ± 2.31 |'), md);
  assert.ok(md.includes('| `cdam` | 2 | 17.5 ± 2.5 | 9.00 ± 3.00 |'));
  assert.ok(md.includes('| `attention` | 2 | 0.0 ± 0.0 | 0.00 ± 0.00 |'));
  assert.ok(md.includes('| `cdam` | 3 | 0.633 ± 0.088 |'));
  assert.ok(md.includes('| `cdam` | 3 | 0.500 ± 0.115 | 0.200 ± 0.058 |'), 'r(s) table');
  assert.ok(md.indexOf('`cdam` | 3') < md.indexOf('`attention` | 3'), 'rows in file order');
  // the paper's DINO ViT-S/8 numbers (spec, last section)
  assert.ok(md.includes('| CDAM (`cdam`) | 404 | 1038 | 632 | 12.2 |'));
  assert.ok(md.includes('| Smooth CDAM (`smooth-cdam`) | – | – | 827 | – |'));
  assert.ok(md.includes('| CDAM (`cdam`) | 739 | 14.6 |'));
  assert.ok(md.includes('| attention map (`attention`) | 0 | −0.2 |'));
  assert.ok(md.includes('| relevance propagation (`relevance`) | 0.48 |'));
  for (const p of ['curves', 'boxes', 'discrimination']) assert.ok(md.includes(`](${p}.png)`), p);
});

/** RFC 4180 fields (quotes doubled inside quoted fields). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let f = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (q) {
      if (ch === '"' && text[i + 1] === '"') {
        f += '"';
        i++;
      } else if (ch === '"') q = false;
      else f += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') {
      row.push(f);
      f = '';
    } else if (ch === '\n') {
      row.push(f);
      rows.push(row);
      row = [];
      f = '';
    } else f += ch;
  }
  assert.is(f, '', 'the CSV ends with a newline');
  return rows;
}

test('report.csv: one row per method, every statistic as mean, se and n', () => {
  const rows = parseCsv(reportCsv(summary));
  const [head, ...body] = rows;
  assert.is(body.length, 2);
  for (const r of body) assert.is(r.length, head!.length);
  const col = (row: string[], name: string) => row[head!.indexOf(name)]!;
  assert.equal(
    body.map((r) => col(r, 'method')),
    ['cdam', 'attention'],
  );
  const cdam = body[0]!;
  close(Number(col(cdam, 'aMif_mean')), 70 / 3, 'aMif_mean');
  close(Number(col(cdam, 'aMif_se')), Math.sqrt(700 / 9), 'aMif_se');
  assert.is(col(cdam, 'aMif_n'), '3');
  close(Number(col(cdam, 'dLifMif_mean')), 17.5, 'dLifMif_mean');
  close(Number(col(cdam, 'dBox_se')), 3, 'dBox_se');
  assert.is(col(cdam, 'dBox_n'), '2');
  close(Number(col(cdam, 'r16_mean')), 0.5, 'r16_mean');
  close(Number(col(cdam, 'compactness_mean')), 1.9 / 3, 'compactness_mean');
  // a model name with a comma survives quoting
  const named = parseCsv(reportCsv(summarizeResults(RECORDS.map((r) => ({ ...r, model: 'ViT-Ti, "AugReg"' })))));
  assert.is(named[1]![0], 'ViT-Ti, "AugReg"');
});

test('records of two models: one summary each, in order', () => {
  const two = summarizeResults([...RECORDS.map((r) => ({ ...r, model: 'vit-ti' })), ...RECORDS.map((r) => ({ ...r, model: 'deit-ti', aMif: r.aMif + 1 }))]);
  assert.equal(
    two.models.map((m) => m.model),
    ['vit-ti', 'deit-ti'],
  );
  close(two.models[1]!.methods[0]!.correctness.aMif.mean, 70 / 3 + 1, 'deit-ti aMif');
  const md = reportMarkdown(two, { sources: ['r.jsonl'] });
  assert.ok(md.includes('**vit-ti**') && md.includes('**deit-ti**'));
});

test('parseResults: a bad line is named by file and line number; duplicates are refused', () => {
  const lines = JSONL.trim().split('\n');
  const bad = [lines[0], '{"image": "a.png", "method": "cdam"', lines[1]].join('\n');
  assert.throws(
    () => parseResults(bad, 'r/results.jsonl'),
    (e: Error) => /^r\/results\.jsonl: line 2: /.test(e.message),
  );
  const noNumber = [lines[0], lines[1]!.replace('"aMif":50', '"aMif":null')].join('\n');
  assert.throws(
    () => parseResults(noNumber, 'f'),
    (e: Error) => /line 2: "aMif" must be a finite number/.test(e.message),
  );
  assert.throws(
    () => parseResults([lines[0], lines[1], lines[0]].join('\n'), 'f'),
    (e: Error) => /line 3: the same image, method and targets as line 1/.test(e.message),
  );
  assert.is(parseResults('\n' + lines[0] + '\n\n', 'f').length, 1, 'blank lines are skipped');
});

test('the font metrics: DejaVu Sans advance widths from the TTF', () => {
  const ttf = new Uint8Array(readFileSync(repoPath('node_modules/dejavu-fonts-ttf/ttf/DejaVuSans.ttf')));
  const m = fontMetrics(ttf);
  // DejaVu Sans (2048 units per em): space 651, "0" 1303, "M" 1767
  close(m.advance(32), 651 / 2048, 'space');
  close(m.advance(48), 1303 / 2048, '0');
  close(m.advance(77), 1767 / 2048, 'M');
  close(textWidth(m, '00', 10), (2 * 1303 * 10) / 2048, 'width of "00" at 10 px');
});

const out = join(tmp, 'lib');
mkdirSync(out);

test('writeReport: report.md, report.csv, summary.json and three plots, SVG and PNG', async () => {
  const r = await writeReport(out, RECORDS, { sources: ['results.jsonl'] });
  const names = ['report.md', 'report.csv', 'summary.json', 'curves.svg', 'curves.png', 'boxes.svg', 'boxes.png', 'discrimination.svg', 'discrimination.png'];
  assert.equal(
    r.files.map((f) => f.slice(out.length + 1)),
    names,
  );
  assert.equal(readdirSync(out).sort(), [...names].sort(), 'no temporary files left');
  const json = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  close(json.models[0].methods[0].discrimination.dLifMif.mean, 17.5, 'summary.json dLifMif');
  assert.is(json.paper.methods[0].aLifMif, 632);
});

const PLOTS: Record<string, string[]> = {
  curves: [
    'Mean MIF and LIF curves per method',
    'MIF: most important pixels blurred first',
    'LIF: least important pixels blurred first',
    'pixels blurred (% of the image)',
    'mean logit of the target class',
    'cdam',
    'attention',
  ],
  boxes: ['Box sensitivity r(s) per method', 'box side s (pixels)', 'mean Pearson r(s) (± s.e.)', '16', '32'],
  discrimination: ['Class discrimination per method', 'ΔA_LIF-MIF', 'ΔA_box', 'ΔA_LIF-MIF (logit × % of pixels)', 'ΔA_box (r × pixels)', 'cdam', 'attention'],
};

for (const [name, texts] of Object.entries(PLOTS)) {
  test(`${name}.svg parses as XML and carries its title and axis texts`, () => {
    const svg = readFileSync(join(out, `${name}.svg`), 'utf8');
    const doc = new DOMParser({
      onError: (level, msg) => {
        throw new Error(`${level}: ${msg}`);
      },
    }).parseFromString(svg, 'image/svg+xml');
    assert.is(doc.documentElement!.nodeName, 'svg');
    const all = Array.from(doc.getElementsByTagName('text')).map((t) => t.textContent ?? '');
    for (const t of texts) assert.ok(all.includes(t), `${name}: "${t}" in ${JSON.stringify(all)}`);
    assert.match(svg, /font-family="DejaVu Sans, sans-serif"/);
  });

  test(`${name}.png decodes at a sensible size, is not blank and has its text drawn`, () => {
    const png = PNG.sync.read(readFileSync(join(out, `${name}.png`)));
    assert.ok(png.width >= 800 && png.width <= 3000 && png.height >= 300 && png.height <= 2000, `${png.width}x${png.height}`);
    const px = png.width * png.height;
    let ink = 0;
    const colours = new Set<number>();
    for (let i = 0; i < px; i++) {
      const [r, g, b] = [png.data[4 * i]!, png.data[4 * i + 1]!, png.data[4 * i + 2]!];
      if (r + g + b < 600) ink++;
      colours.add((r << 16) | (g << 8) | b);
    }
    assert.ok(ink / px > 0.01 && ink / px < 0.6, `ink ${ink / px}`);
    assert.ok(colours.size > 20, `${colours.size} colours`);
    // the title: black glyphs in the top band, where nothing but the title is drawn (without a font, resvg draws no text)
    let dark = 0;
    for (let y = 0; y < 70; y++) for (let x = 0; x < png.width; x++) if (png.data[4 * (y * png.width + x)]! < 60) dark++;
    assert.ok(dark > 500, `title pixels: ${dark}`);
  });
}

test('the CLI: writes into DIR or --out, prints what it wrote, --quiet prints nothing', () => {
  const dir = join(tmp, 'run');
  mkdirSync(dir);
  writeFileSync(join(dir, 'results.jsonl'), JSONL);
  const r = runCli('report', dir);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^report: 10 records, 2 images \(1 with two classes\), 2 methods, 1 model\n/);
  for (const f of ['report.md', 'report.csv', 'summary.json', 'curves.svg', 'curves.png', 'boxes.png', 'discrimination.png']) {
    assert.ok(r.out.includes(`wrote ${join(dir, f)}\n`), f);
    assert.ok(existsSync(join(dir, f)), f);
  }
  assert.is(
    readFileSync(join(dir, 'report.md'), 'utf8'),
    readFileSync(join(out, 'report.md'), 'utf8').replace('`results.jsonl`', `\`${join(dir, 'results.jsonl')}\``),
  );
  const other = join(tmp, 'other');
  mkdirSync(other);
  const q = runCli('report', dir, '--out', other, '--quiet');
  assert.is(q.code, 0, q.err);
  assert.is(q.out, '');
  assert.ok(existsSync(join(other, 'discrimination.png')));
  assert.match(runCli('report', '--help').out, /usage: cdam report DIR/);
  assert.match(runCli('--help').out, /report +tables and plots/);
});

test('the CLI: no results.jsonl, a bad line, a bad folder: exit 1 naming the file, nothing written', () => {
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  const none = runCli('report', empty);
  assert.is(none.code, 1);
  assert.match(none.err, new RegExp(`^cdam: ${join(empty, 'results.jsonl')}: no such file`));
  const bad = join(tmp, 'bad');
  mkdirSync(bad);
  const lines = JSONL.trim().split('\n');
  writeFileSync(join(bad, 'results.jsonl'), [lines[0], lines[1], lines[2]!.slice(0, 40), lines[3]].join('\n') + '\n');
  const b = runCli('report', bad);
  assert.is(b.code, 1);
  assert.match(b.err, new RegExp(`^cdam: ${join(bad, 'results.jsonl')}: line 3: `));
  assert.equal(readdirSync(bad), ['results.jsonl'], 'nothing written');
  assert.is(runCli('report', join(tmp, 'missing')).code, 1);
  assert.is(runCli('report', bad, '--out', join(tmp, 'missing')).code, 1);
  assert.is(runCli('report').code, 2, 'DIR is required');
  assert.is(runCli('report', bad, '--frobnicate').code, 2);
});

test('the browser bundle leaves vega, vega-lite and resvg out', async () => {
  const r = await build({
    entryPoints: [repoPath('build/src/browser.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    alias: { pngjs: 'pngjs/browser.js' },
    external: ['node:*'],
    logLevel: 'silent',
  });
  const inputs = Object.keys(r.metafile.inputs);
  const heavy = inputs.filter((f) => /node_modules\/(vega|@resvg|dejavu)/.test(f));
  assert.equal(heavy, []);
});

// the folder goes even when a test fails (uvu runs after-hooks in a finally)
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
