/**
 * Figure grids: already-rendered panels side by side on a white background,
 * each with a label, plus an optional title over the whole figure.
 */
import type { RgbImage } from '../io/image.js';
import type { Rgb } from './colormap.js';
import { LINE_HEIGHT, drawText, textWidth, wrapText } from './font.js';
import { TEXT_COLOR, WHITE, blit, createImage, textScaleFor, type Rect } from './overlay.js';

export interface GridPanel {
  /** A panel; if it carries an `imageRect` (renderOverlay / renderImagePanel), the label is centred on that. */
  image: RgbImage & { imageRect?: Rect };
  label: string;
}

export interface GridOptions {
  /** Panels per row (default: all in one row). */
  columns?: number;
  /** Title over the whole figure, word-wrapped. */
  title?: string;
  /** Integer text scale (default from the panel size: 1 per ~224 px of panel width, at least 1). */
  textScale?: number;
  /** Space between cells in pixels (default 8 * text scale). */
  gap?: number;
  /** Outer margin in pixels (default 6 * text scale). */
  margin?: number;
  /** Labels above (default) or below their panel. */
  labelPosition?: 'above' | 'below';
  /**
   * Horizontal placement of a panel narrower than its cell: 'start' (default:
   * left edges line up, so panels with and without a colour bar keep their
   * images aligned) or 'center'.
   */
  align?: 'start' | 'center';
  background?: Rgb;
}

export interface GridLayout {
  width: number;
  height: number;
  textScale: number;
  gap: number;
  margin: number;
  columns: number;
  rows: number;
  /** Width of each column: its widest panel. */
  columnWidths: number[];
  /** Height of each row: its label block + its tallest panel. */
  rowHeights: number[];
  /** Height of each row's label block. */
  labelHeights: number[];
  titleLines: string[];
  titleHeight: number;
  /** Where each panel goes. */
  panels: Rect[];
  /** Each panel's cell (column width x row height). */
  cells: Rect[];
  /** Wrapped label lines of each panel. */
  labels: string[][];
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Most panels in a row of a wrapped grid by default (14 methods side by side made a 9000-px-wide picture). */
export const MAX_ROW_PANELS = 6;

/**
 * Panels per row for groups of `n` panels: `columns` if given, else the
 * fewest rows of at most MAX_ROW_PANELS, filled evenly (15 -> 3 rows of 5).
 */
export function rowLength(n: number, columns?: number): number {
  if (columns !== undefined) return Math.min(n, columns);
  return Math.ceil(n / Math.ceil(n / MAX_ROW_PANELS));
}

/**
 * Groups of panels (e.g. one per target) laid out `columns` to a row, each
 * group starting on a new row: the last row of a group is filled up with
 * blank cells. Returns the panels for renderGrid with the same `columns`.
 */
export function wrapGroups(groups: GridPanel[][], columns: number, background: Rgb = WHITE): GridPanel[] {
  if (!Number.isInteger(columns) || columns < 1) throw new Error(`wrapGroups: columns must be a positive integer, got ${columns}`);
  const blank = (): GridPanel => ({ image: createImage(1, 1, background), label: '' });
  return groups.flatMap((g) => [...g, ...Array.from({ length: (columns - (g.length % columns)) % columns }, blank)]);
}

/**
 * Computes the grid's geometry without drawing (what renderGrid uses):
 *   width  = 2*margin + sum(columnWidths) + (columns-1)*gap
 *   height = 2*margin + titleHeight + sum(rowHeights) + (rows-1)*gap
 * where titleHeight = lines*LINE_HEIGHT*u + gap (0 without a title) and a
 * row's label block is (its most wrapped label's lines)*LINE_HEIGHT*u.
 */
export function gridLayout(panels: GridPanel[], opts: GridOptions = {}): GridLayout {
  if (panels.length === 0) throw new Error('renderGrid: no panels');
  const n = panels.length;
  const columns = Math.min(n, opts.columns ?? n);
  if (!Number.isInteger(columns) || columns < 1) throw new Error(`renderGrid: columns must be a positive integer, got ${opts.columns}`);
  const rows = Math.ceil(n / columns);
  const colOf = (i: number) => i % columns;
  const rowOf = (i: number) => Math.floor(i / columns);
  const columnWidths = Array.from({ length: columns }, (_, c) => Math.max(...panels.filter((_, i) => colOf(i) === c).map((p) => p.image.width)));
  const panelHeights = Array.from({ length: rows }, (_, r) => Math.max(...panels.filter((_, i) => rowOf(i) === r).map((p) => p.image.height)));
  const refW = Math.max(...panels.map((p) => p.image.width));
  const refH = Math.max(...panelHeights);
  const u = opts.textScale ?? textScaleFor(Math.min(refW, refH * 1.25));
  if (!Number.isInteger(u) || u < 1) throw new Error(`renderGrid: textScale must be a positive integer, got ${u}`);
  const gap = opts.gap ?? 8 * u;
  const margin = opts.margin ?? 6 * u;
  if (!(gap >= 0 && margin >= 0)) throw new Error('renderGrid: gap and margin must be >= 0');
  const line = LINE_HEIGHT * u;
  // Below, colOf(i) < columns and rowOf(i) < rows index columnWidths and the per-row arrays.
  const labels = panels.map((p, i) => (p.label ? wrapText(p.label, columnWidths[colOf(i)]!, u) : []));
  const labelHeights = Array.from({ length: rows }, (_, r) => line * Math.max(...labels.filter((_, i) => rowOf(i) === r).map((l) => l.length)));
  const rowHeights = panelHeights.map((h, r) => h + labelHeights[r]!);
  const innerW = sum(columnWidths) + (columns - 1) * gap;
  const titleLines = opts.title ? wrapText(opts.title, innerW, u) : [];
  const titleHeight = titleLines.length ? titleLines.length * line + gap : 0;
  const width = 2 * margin + innerW;
  const height = 2 * margin + titleHeight + sum(rowHeights) + (rows - 1) * gap;
  const below = opts.labelPosition === 'below';
  const cells: Rect[] = [];
  const rects = panels.map((p, i) => {
    const c = colOf(i);
    const r = rowOf(i);
    const colW = columnWidths[c]!;
    const cx = margin + sum(columnWidths.slice(0, c)) + c * gap;
    const cy = margin + titleHeight + sum(rowHeights.slice(0, r)) + r * gap;
    cells.push({ x: cx, y: cy, width: colW, height: rowHeights[r]! });
    return {
      x: cx + (opts.align === 'center' ? Math.floor((colW - p.image.width) / 2) : 0),
      y: below ? cy : cy + labelHeights[r]!,
      width: p.image.width,
      height: p.image.height,
    };
  });
  return {
    width,
    height,
    textScale: u,
    gap,
    margin,
    columns,
    rows,
    columnWidths,
    rowHeights,
    labelHeights,
    titleLines,
    titleHeight,
    panels: rects,
    cells,
    labels,
  };
}

/**
 * Lays panels out in a grid (row-major), each centred in its cell with its
 * label centred above (or below) it; the title is centred on top.
 */
export function renderGrid(panels: GridPanel[], opts: GridOptions = {}): RgbImage {
  const L = gridLayout(panels, opts);
  const u = L.textScale;
  const line = LINE_HEIGHT * u;
  const out = createImage(L.width, L.height, opts.background ?? WHITE);
  L.titleLines.forEach((t, i) => {
    drawText(out, t, Math.floor((L.width - textWidth(t, u)) / 2), L.margin + i * line, { color: TEXT_COLOR, scale: u });
  });
  const below = opts.labelPosition === 'below';
  panels.forEach((p, i) => {
    // gridLayout gives one rect, cell and label list per panel and a label height per row.
    const r = L.panels[i]!;
    const cell = L.cells[i]!;
    blit(out, p.image, r.x, r.y);
    // Label centred on the panel's image (or the whole panel), kept in the cell;
    // above: bottom-aligned in the label block; below: under the row's tallest panel.
    const ir = p.image.imageRect ?? { x: 0, y: 0, width: r.width, height: r.height };
    const centre = r.x + ir.x + ir.width / 2;
    const lines = L.labels[i]!;
    const labelH = L.labelHeights[Math.floor(i / L.columns)]!;
    const y0 = below ? cell.y + cell.height - labelH : r.y - lines.length * line;
    lines.forEach((t, k) => {
      const tw = textWidth(t, u);
      const x = Math.min(Math.max(cell.x, Math.round(centre - tw / 2)), cell.x + cell.width - tw);
      drawText(out, t, x, y0 + k * line, { color: TEXT_COLOR, scale: u });
    });
  });
  return out;
}
