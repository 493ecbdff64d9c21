/**
 * Rendering of explanation maps to pictures: colour maps, overlays with a
 * labelled colour bar, figure grids, a built-in bitmap font, PNG output.
 * Depends only on src/io; works in Node and in browsers.
 */
export { colorFor, colormapLut, displayRange, normalizeScore, type DisplayRange, type MapKind, type Rgb, type ScoreMap } from './colormap.js';
export { ADVANCE, CAP_HEIGHT, GLYPH_HEIGHT, GLYPH_WIDTH, LINE_HEIGHT, drawText, glyphRows, textWidth, wrapText, type TextOptions } from './font.js';
export {
  blit,
  createImage,
  fillRect,
  formatTick,
  renderImagePanel,
  renderOverlay,
  scaleImage,
  textScaleFor,
  toPng,
  upsampleNearest,
  type OverlayOptions,
  type OverlayResult,
  type PanelResult,
  type Rect,
} from './overlay.js';
export { MAX_ROW_PANELS, gridLayout, renderGrid, rowLength, wrapGroups, type GridLayout, type GridOptions, type GridPanel } from './grid.js';
