// The report's plots: vega-lite specs (pure data, built here from the
// summary), compiled by vega-lite, rendered to SVG by vega (renderer 'none':
// no canvas, no native addon) and to PNG by resvg-wasm, with the DejaVu Sans
// TrueType files of the dejavu-fonts-ttf package (resvg-wasm sees no system
// fonts, so without them the PNGs would have no text).
//
// vega, vega-lite and resvg-wasm load on the first renderPlots call, through
// an import whose specifier is not a literal: nothing else in the library
// (and no bundler following the package entry) loads them.
import type { ReportSummary, ModelSummary, Stat } from './report.js';
import { nodeFs } from '../io/node.js';

/** A vega-lite spec, as plain JSON. */
export type VegaLiteSpec = Record<string, unknown>;

export interface PlotSpec {
  /** file name without extension */
  name: string;
  spec: VegaLiteSpec;
}

export interface RenderedPlot {
  name: string;
  svg: string;
  png: Uint8Array;
}

/** The font family the plots name (DejaVu Sans is loaded into resvg for the PNGs; a browser showing the SVG falls back to its sans-serif). */
export const PLOT_FONT = 'DejaVu Sans';
/** PNG pixels per SVG unit (2: sharp on high-density screens, text still legible when shown at half size). */
export const PNG_ZOOM = 2;

const CONFIG = {
  font: `${PLOT_FONT}, sans-serif`,
  background: 'white',
  padding: 12,
  title: { fontSize: 16, subtitleFontSize: 12, subtitleColor: '#444', anchor: 'start', offset: 12 },
  axis: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal', gridColor: '#e4e4e4' },
  legend: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal', labelLimit: 260, symbolStrokeWidth: 2.5 },
  header: { labelFontSize: 14, titleFontSize: 14 },
  view: { stroke: '#bbb' },
  concat: { spacing: 48 },
};

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Method names in order of first appearance over all models. */
function methodOrder(summary: ReportSummary): string[] {
  return [...new Set(summary.models.flatMap((m) => m.methods.map((x) => x.method)))];
}

function colour(methods: string[]): Record<string, unknown> {
  return { domain: methods, scheme: methods.length <= 10 ? 'tableau10' : 'tableau20' };
}

/** Past ten methods the colours come in dark/light pairs (tableau20): the light one of each pair is dashed. */
function dashes(methods: string[]): Record<string, unknown> {
  if (methods.length <= 10) return {};
  return {
    strokeDash: {
      field: 'method',
      type: 'nominal',
      title: 'method',
      sort: methods,
      scale: { domain: methods, range: methods.map((_, i) => (i % 2 ? [5, 3] : [1, 0])) },
    },
  };
}

const modelLabel = (m: ModelSummary): string => m.model ?? 'results';

/** lo/hi of mean ± se (the mean itself where se is undefined). */
function band(s: Stat): { mean: number; lo: number; hi: number } {
  const mean = s.mean!;
  const se = s.se ?? 0;
  return { mean, lo: mean - se, hi: mean + se };
}

function curvesSpec(summary: ReportSummary, methods: string[]): VegaLiteSpec | null {
  const MIF = 'MIF: most important pixels blurred first';
  const LIF = 'LIF: least important pixels blurred first';
  const values = summary.models.flatMap((m) =>
    m.methods.flatMap((x) =>
      x.curves
        ? x.curves.x.flatMap((px, k) => [
            { model: modelLabel(m), method: x.method, curve: MIF, x: px, logit: x.curves!.mif[k] },
            { model: modelLabel(m), method: x.method, curve: LIF, x: px, logit: x.curves!.lif[k] },
          ])
        : [],
    ),
  );
  if (values.length === 0) return null;
  const n = Math.max(...summary.models.flatMap((m) => m.methods.map((x) => x.curves?.n ?? 0)));
  const points = summary.models.flatMap((m) => m.methods).find((x) => x.curves)!.curves!.x.length;
  return {
    $schema: SCHEMA,
    title: {
      text: 'Mean MIF and LIF curves per method',
      subtitle: `logit of the target class as pixels are blurred, ${points} points, mean over up to ${n} (image, class) records per method`,
    },
    data: { values },
    facet: {
      column: { field: 'curve', type: 'nominal', sort: [MIF, LIF], title: null },
      ...(summary.models.length > 1 ? { row: { field: 'model', type: 'nominal', title: null, sort: summary.models.map(modelLabel) } } : {}),
    },
    spec: {
      width: 380,
      height: 280,
      mark: { type: 'line', strokeWidth: 2 },
      encoding: {
        x: {
          field: 'x',
          type: 'quantitative',
          title: 'pixels blurred (% of the image)',
          scale: { domain: [0, 100], nice: false },
          axis: { values: [0, 20, 40, 60, 80, 100] },
        },
        y: { field: 'logit', type: 'quantitative', title: 'mean logit of the target class', scale: { zero: false } },
        color: { field: 'method', type: 'nominal', title: 'method', sort: methods, scale: colour(methods) },
        ...dashes(methods),
      },
    },
    config: CONFIG,
  };
}

function boxesSpec(summary: ReportSummary, methods: string[]): VegaLiteSpec | null {
  const values = summary.models.flatMap((m) =>
    m.methods.flatMap((x) =>
      x.boxR.filter((b) => b.r.mean !== null).map((b) => ({ model: modelLabel(m), method: x.method, size: b.size, n: b.r.n, ...band(b.r) })),
    ),
  );
  if (values.length === 0) return null;
  const sizes = summary.boxSizes;
  const x = {
    field: 'size',
    type: 'quantitative',
    title: 'box side s (pixels)',
    scale: { domain: [Math.min(...sizes) - 4, Math.max(...sizes) + 4], nice: false },
    axis: { values: sizes },
  };
  const color = { field: 'method', type: 'nominal', title: 'method', sort: methods, scale: colour(methods), legend: { symbolType: 'stroke', symbolSize: 300 } };
  const layer = [
    {
      mark: { type: 'errorbar', ticks: { size: 6 } },
      encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'mean Pearson r(s) (± s.e.)' }, y2: { field: 'hi' }, color },
    },
    {
      mark: { type: 'line', strokeWidth: 2, point: { filled: true, size: 40 } },
      encoding: { x, y: { field: 'mean', type: 'quantitative' }, color, ...dashes(methods) },
    },
  ];
  const inner = { width: 420, height: 280, layer };
  return {
    $schema: SCHEMA,
    title: {
      text: 'Box sensitivity r(s) per method',
      subtitle: "Pearson r between the map's sum in a blurred box and the logit drop, mean ± s.e. over images",
    },
    data: { values },
    ...(summary.models.length > 1
      ? { facet: { column: { field: 'model', type: 'nominal', title: null, sort: summary.models.map(modelLabel) } }, spec: inner }
      : inner),
    config: CONFIG,
  };
}

function discriminationSpec(summary: ReportSummary, methods: string[]): VegaLiteSpec | null {
  const stats = [
    { key: 'dLifMif' as const, title: 'ΔA_LIF-MIF', axis: 'ΔA_LIF-MIF (logit × % of pixels)', decimals: 1 },
    { key: 'dBox' as const, title: 'ΔA_box', axis: 'ΔA_box (r × pixels)', decimals: 2 },
  ];
  const withData = summary.models.filter((m) => m.methods.some((x) => x.discrimination.dLifMif.n > 0));
  if (withData.length === 0) return null;
  const panel = (m: ModelSummary, st: (typeof stats)[number]) => {
    const rows = m.methods
      .filter((x) => x.discrimination[st.key].n > 0)
      .map((x) => {
        const b = band(x.discrimination[st.key]);
        return { method: x.method, n: x.discrimination[st.key].n, ...b, label: b.mean.toFixed(st.decimals), at: Math.max(b.hi, 0) };
      });
    const y = { field: 'method', type: 'nominal', title: null, sort: methods.filter((k) => rows.some((r) => r.method === k)) };
    return {
      title: { text: withData.length > 1 ? `${st.title} (${modelLabel(m)})` : st.title, fontSize: 14, fontWeight: 'normal' },
      width: 300,
      height: { step: 24 },
      data: { values: rows },
      layer: [
        {
          mark: { type: 'bar', color: '#4c78a8', height: { band: 0.7 } },
          encoding: { y, x: { field: 'mean', type: 'quantitative', title: st.axis, axis: { tickCount: 5 } } },
        },
        {
          mark: { type: 'errorbar', ticks: { size: 8 }, color: '#222' },
          encoding: { y, x: { field: 'lo', type: 'quantitative', title: st.axis }, x2: { field: 'hi' } },
        },
        { mark: { type: 'rule', color: '#222' }, encoding: { x: { datum: 0 } } },
        {
          mark: { type: 'text', align: 'left', baseline: 'middle', dx: 5, fontSize: 11, color: '#333' },
          encoding: { y, x: { field: 'at', type: 'quantitative' }, text: { field: 'label' } },
        },
      ],
    };
  };
  const n = Math.max(...withData.flatMap((m) => m.methods.map((x) => x.discrimination.dLifMif.n)));
  const twoClass = Math.max(...withData.map((m) => m.twoClassImages));
  const rowsOf = (m: ModelSummary) => ({ hconcat: stats.map((st) => panel(m, st)), resolve: { scale: { x: 'independent' } } });
  return {
    $schema: SCHEMA,
    title: {
      text: 'Class discrimination per method',
      subtitle: `right-class map minus wrong-class map, both on the right class's logit; mean ± s.e. over ${n} (image, direction) pairs from ${twoClass} two-class image${twoClass === 1 ? '' : 's'}`,
    },
    ...(withData.length > 1 ? { vconcat: withData.map(rowsOf) } : rowsOf(withData[0]!)),
    config: CONFIG,
  };
}

/** The report's plots, by name (each one written as NAME.svg and NAME.png; left out when it has no data). */
const PLOTS = {
  curves: curvesSpec,
  boxes: boxesSpec,
  discrimination: discriminationSpec,
} satisfies Record<string, (summary: ReportSummary, methods: string[]) => unknown>;
export const PLOT_NAMES = Object.keys(PLOTS) as (keyof typeof PLOTS)[];
/** Every file a report's plots may write. */
export const PLOT_FILES = PLOT_NAMES.flatMap((p) => [`${p}.svg`, `${p}.png`]);

/** The report's vega-lite specs, in PLOT_NAMES order. */
export function plotSpecs(summary: ReportSummary): PlotSpec[] {
  const methods = methodOrder(summary);
  return PLOT_NAMES.flatMap((name) => {
    const spec = PLOTS[name](summary, methods);
    return spec ? [{ name, spec }] : [];
  });
}

// ---------------------------------------------------------------- rendering

type Vega = typeof import('vega');
type VegaLite = typeof import('vega-lite');
type ResvgWasm = typeof import('@resvg/resvg-wasm');

interface Libraries {
  vega: Vega;
  vl: VegaLite;
  resvg: ResvgWasm;
  fonts: Uint8Array[];
}

/** Advance widths of a TrueType font by code point (cmap format 4, hmtx), in em. */
export interface FontMetrics {
  advance(codePoint: number): number;
}

/**
 * Reads the advance widths of a TrueType file: the Unicode BMP cmap
 * (platform 3 encoding 1, or platform 0, format 4) and hmtx, scaled by
 * head.unitsPerEm. Enough to lay out plot text as resvg will draw it
 * (kerning aside).
 */
export function fontMetrics(ttf: Uint8Array): FontMetrics {
  const v = new DataView(ttf.buffer, ttf.byteOffset, ttf.byteLength);
  const tables = new Map<string, number>();
  const numTables = v.getUint16(4);
  for (let i = 0; i < numTables; i++) {
    const at = 12 + 16 * i;
    tables.set(String.fromCharCode(ttf[at]!, ttf[at + 1]!, ttf[at + 2]!, ttf[at + 3]!), v.getUint32(at + 8));
  }
  const table = (tag: string): number => {
    const t = tables.get(tag);
    if (t === undefined) throw new Error(`font: no ${tag} table`);
    return t;
  };
  const unitsPerEm = v.getUint16(table('head') + 18);
  const nMetrics = v.getUint16(table('hhea') + 34);
  const hmtx = table('hmtx');
  const cmap = table('cmap');
  let sub = -1;
  for (let i = 0; i < v.getUint16(cmap + 2); i++) {
    const rec = cmap + 4 + 8 * i;
    const platform = v.getUint16(rec);
    const encoding = v.getUint16(rec + 2);
    const off = cmap + v.getUint32(rec + 4);
    if (v.getUint16(off) === 4 && ((platform === 3 && encoding === 1) || platform === 0)) {
      sub = off;
      break;
    }
  }
  if (sub < 0) throw new Error('font: no Unicode BMP cmap (format 4)');
  const segCount = v.getUint16(sub + 6) / 2;
  const ends = sub + 14;
  const starts = ends + 2 * segCount + 2;
  const deltas = starts + 2 * segCount;
  const ranges = deltas + 2 * segCount;
  const glyph = (c: number): number => {
    for (let i = 0; i < segCount; i++) {
      if (c > v.getUint16(ends + 2 * i)) continue;
      const start = v.getUint16(starts + 2 * i);
      if (c < start) return 0;
      const delta = v.getInt16(deltas + 2 * i);
      const ro = v.getUint16(ranges + 2 * i);
      if (ro === 0) return (c + delta) & 0xffff;
      const g = v.getUint16(ranges + 2 * i + ro + 2 * (c - start));
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
  const cache = new Map<number, number>();
  return {
    advance(c: number): number {
      let w = cache.get(c);
      if (w === undefined) {
        const g = Math.min(glyph(c), nMetrics - 1);
        w = v.getUint16(hmtx + 4 * g) / unitsPerEm;
        cache.set(c, w);
      }
      return w;
    },
  };
}

/** The width of `text` in pixels at `size` px. */
export function textWidth(m: FontMetrics, text: string, size: number): number {
  let w = 0;
  for (const ch of text) w += m.advance(ch.codePointAt(0)!);
  return w * size;
}

// not a literal specifier: bundlers leave it alone, Node resolves it from this package
const load = (id: string): Promise<unknown> => import(id);
let libraries: Promise<Libraries> | undefined;

function resolveFile(specifier: string): URL {
  const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
  if (typeof resolve !== 'function') throw new Error('the report plots need Node.js 20.6 or later (import.meta.resolve)');
  return new URL(resolve(specifier));
}

async function loadLibraries(): Promise<Libraries> {
  const fs = nodeFs('renderPlots');
  const [vega, vl, resvg] = (await Promise.all([load('vega'), load('vega-lite'), load('@resvg/resvg-wasm')])) as [Vega, VegaLite, ResvgWasm];
  await resvg.initWasm(fs.readFileSync(resolveFile('@resvg/resvg-wasm/index_bg.wasm')));
  const fonts = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => new Uint8Array(fs.readFileSync(resolveFile(`dejavu-fonts-ttf/ttf/${f}`))));
  // vega without a canvas guesses 0.8 em per character; measure with the font resvg will draw
  const [regular, bold] = fonts.map(fontMetrics) as [FontMetrics, FontMetrics];
  const metrics = (vega as unknown as { textMetrics: unknown }).textMetrics as {
    width: (item: { fontSize?: number; fontWeight?: string | number }, text: unknown) => number;
  };
  metrics.width = (item, text) => {
    const size = item.fontSize != null ? +item.fontSize || 0 : 11;
    const w = item.fontWeight;
    const heavy = w === 'bold' || w === 'bolder' || (typeof w === 'number' && w >= 600) || (typeof w === 'string' && +w >= 600);
    return textWidth(heavy ? bold : regular, text == null ? '' : String(text).trim(), size);
  };
  return { vega, vl, resvg, fonts };
}

/** A vega-lite spec compiled and rendered to SVG text (vega, headless). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const { vega, vl } = await (libraries ??= loadLibraries());
  const compiled = vl.compile(spec as unknown as Parameters<VegaLite['compile']>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** SVG text rendered to PNG bytes by resvg-wasm with the DejaVu Sans fonts. */
export async function svgToPng(svg: string, zoom = PNG_ZOOM): Promise<Uint8Array> {
  const { resvg, fonts } = await (libraries ??= loadLibraries());
  const r = new resvg.Resvg(svg, {
    font: { fontBuffers: fonts, defaultFontFamily: PLOT_FONT, sansSerifFamily: PLOT_FONT },
    fitTo: { mode: 'zoom', value: zoom },
    background: 'white',
  });
  try {
    const img = r.render();
    try {
      return img.asPng();
    } finally {
      img.free();
    }
  } finally {
    r.free();
  }
}

/** Each spec as SVG and PNG. */
export async function renderPlots(specs: PlotSpec[]): Promise<RenderedPlot[]> {
  const out: RenderedPlot[] = [];
  for (const s of specs) {
    const svg = await renderSvg(s.spec);
    out.push({ name: s.name, svg, png: await svgToPng(svg) });
  }
  return out;
}
