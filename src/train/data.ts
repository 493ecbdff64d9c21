// Datasets for training: a list of image paths with a class or regression
// targets, read from a torchvision ImageFolder tree or from a table (CSV or
// JSON lines). Reading a dataset only lists files: images are opened by
// loadBatch (./batch.ts). Every bad row is an error naming the file and line;
// nothing is skipped silently, so a typo cannot quietly shrink the data.
import { InputError } from '../io/errors.js';
import { nodeFs, nodePath, readRegularFile } from '../io/node.js';

export interface DatasetItem {
  /** the image file to open (relative paths are joined to the table's folder) */
  path: string;
  /** class index into `classes` (classification) */
  label?: number;
  /** regression targets, in the order of `targetNames` */
  targets?: number[];
  /** where the item came from, for error messages: "FILE:LINE" for a table row, the image path for an ImageFolder */
  source: string;
}

export interface Dataset {
  /** the ImageFolder's folder, or the table's folder */
  root: string;
  items: DatasetItem[];
  /** class names, sorted; item.label indexes them */
  classes?: string[];
  /** the target columns, in the order of item.targets */
  targetNames?: string[];
  kind: 'classification' | 'regression';
}

/** Extensions read as images (what io/image.ts decodes), lower case. */
const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];
/**
 * Image extensions torchvision's ImageFolder accepts that cdam cannot decode:
 * such a file is an error rather than ignored, since ignoring it would drop
 * part of a class without a word.
 */
const UNSUPPORTED_IMAGE_EXTENSIONS = ['.gif', '.bmp', '.webp', '.tif', '.tiff', '.ppm', '.pgm', '.pbm', '.pnm'];

const extOf = (name: string): string => {
  const i = name.lastIndexOf('.');
  return i <= 0 ? '' : name.slice(i).toLowerCase();
};

/** Code-unit order, as Python's sorted() on names (torchvision sorts classes so). Locale order would differ between machines. */
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A torchvision ImageFolder: every sub-folder of `dir` is a class (classes
 * sorted by name, so the label indices equal torchvision's), and its images
 * (.png .jpg .jpeg, any case, in sub-folders too) are that class's items, in
 * sorted path order. Hidden entries (names starting with ".") are skipped, as
 * are files of other extensions; files directly in `dir` are ignored, as
 * torchvision ignores them.
 */
export function readImageFolder(dir: string): Dataset {
  const fs = nodeFs('readImageFolder');
  const path = nodePath('readImageFolder');
  let st;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new InputError(dir, `${dir}: no such folder (an ImageFolder: one sub-folder of images per class)`);
  }
  if (!st.isDirectory()) throw new InputError(dir, `${dir}: not a folder (an ImageFolder: one sub-folder of images per class)`);
  const classes = fs
    .readdirSync(dir)
    .filter((n) => !n.startsWith('.') && isDir(fs, path.join(dir, n)))
    .sort(byName);
  if (classes.length === 0) throw new InputError(dir, `${dir}: no class folders (an ImageFolder has one sub-folder of images per class)`);
  const items: DatasetItem[] = [];
  classes.forEach((cls, label) => {
    const found: string[] = [];
    listImages(fs, path, path.join(dir, cls), found, new Set(), dir);
    if (found.length === 0) throw new InputError(dir, `${dir}: class folder ${cls} has no images (.png, .jpg, .jpeg)`);
    for (const p of found.sort(byName)) items.push({ path: p, label, source: p });
  });
  return { root: dir, items, classes, kind: 'classification' };
}

function isDir(fs: ReturnType<typeof nodeFs>, p: string): boolean {
  try {
    return fs.statSync(p).isDirectory(); // follows symbolic links, as torchvision's os.walk(followlinks=True)
  } catch {
    return false; // a dangling link is neither a class nor an image
  }
}

function listImages(fs: ReturnType<typeof nodeFs>, path: ReturnType<typeof nodePath>, d: string, out: string[], seen: Set<string>, root: string): void {
  // a link back up the tree would recurse forever: each real folder is walked once
  const real = fs.realpathSync(d);
  if (seen.has(real)) return;
  seen.add(real);
  for (const name of fs.readdirSync(d)) {
    if (name.startsWith('.')) continue;
    const p = path.join(d, name);
    if (isDir(fs, p)) {
      listImages(fs, path, p, out, seen, root);
      continue;
    }
    const ext = extOf(name);
    if (IMAGE_EXTENSIONS.includes(ext)) out.push(p);
    else if (UNSUPPORTED_IMAGE_EXTENSIONS.includes(ext))
      throw new InputError(p, `${root}: ${p}: ${ext.slice(1).toUpperCase()} images are not supported (only PNG and JPEG); convert or remove it`);
  }
}

export interface TableOptions {
  /** the class column: a classification dataset */
  label?: string;
  /** the target columns: a regression dataset */
  targets?: string[];
  /** the image column; by default "path", else "image" */
  pathColumn?: string;
  /** refuse a file larger than this (bytes; 64 MiB) */
  maxBytes?: number;
  /** refuse a line longer than this (characters, each at least one byte of UTF-8; 1 Mi) */
  maxLineChars?: number;
}

export const TABLE_LIMITS = { maxBytes: 64 << 20, maxLineChars: 1 << 20 } as const;

/** One row: its cells by column, and the line it starts on. */
interface Row {
  line: number;
  cells: Map<string, unknown>;
}

/**
 * A table of images: CSV (.csv: a header row, RFC 4180 quoting, CRLF or LF)
 * or JSON lines (.jsonl, .json-lines: one object per line). Paths are relative
 * to the table's folder (or absolute). With `label` it is a classification
 * dataset whose classes are the label values as strings, sorted in code-unit
 * order (so "10" sorts before "2": labels are names, never re-read as numbers,
 * so a class keeps the same index whatever the other labels are); with
 * `targets`, a regression dataset whose targets must be finite numbers.
 * Blank lines are skipped (they are not rows); every other problem is an error
 * naming the file and line.
 */
export function readTable(file: string, opts: TableOptions): Dataset {
  const path = nodePath('readTable');
  const ext = extOf(path.basename(file));
  const format = ext === '.csv' ? 'csv' : ext === '.jsonl' || ext === '.json-lines' ? 'jsonl' : undefined;
  if (!format) throw new InputError(file, `${file}: a table must be .csv or .jsonl (.json-lines), not ${ext ? `"${ext}"` : 'a file without an extension'}`);
  if (opts.label !== undefined && opts.targets !== undefined) throw new Error('readTable: give label (classification) or targets (regression), not both');
  if (opts.label === undefined && opts.targets === undefined) throw new Error('readTable: give label (classification) or targets (regression)');
  if (opts.targets !== undefined && opts.targets.length === 0) throw new Error('readTable: targets names no column');
  const bytes = readRegularFile(file, 'a table', opts.maxBytes ?? TABLE_LIMITS.maxBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); // strips a byte-order mark
  } catch {
    throw new InputError(file, `${file}: not UTF-8 text`);
  }
  checkLineLengths(text, file, opts.maxLineChars ?? TABLE_LIMITS.maxLineChars);
  const { columns, headerLine, rows } = format === 'csv' ? parseCsv(text, file) : parseJsonLines(text, file);
  if (rows.length === 0) throw new InputError(file, `${file}: the table has no rows`);

  const where = (r: Row) => `${file}:${r.line}`;
  const cell = (r: Row, col: string): unknown => {
    if (!r.cells.has(col)) {
      const have = [...r.cells.keys()].map((c) => JSON.stringify(c)).join(', ');
      throw new InputError(file, `${where(r)}: no column "${col}" (the columns are ${have || 'none'})`);
    }
    return r.cells.get(col);
  };
  // the default image column: "path", else "image" (by the header, or the first row of JSON lines)
  const names = columns ?? [...rows[0]!.cells.keys()];
  const pathCol = opts.pathColumn ?? (names.includes('path') ? 'path' : names.includes('image') ? 'image' : 'path');
  // a CSV's columns are its header's: a missing one is reported on the header line
  if (columns) {
    for (const col of [pathCol, ...(opts.label !== undefined ? [opts.label] : opts.targets!)])
      if (col === '' || !columns.includes(col))
        throw new InputError(file, `${file}:${headerLine}: no column "${col}" (the columns are ${columns.map((c) => JSON.stringify(c)).join(', ')})`);
  }
  const root = path.dirname(file);
  const items: DatasetItem[] = rows.map((r) => {
    const p = cell(r, pathCol);
    if (typeof p !== 'string' || p === '')
      throw new InputError(file, `${where(r)}: column "${pathCol}" must be a non-empty image path, got ${JSON.stringify(p)}`);
    return { path: path.isAbsolute(p) ? p : path.join(root, p), source: where(r) };
  });

  if (opts.label !== undefined) {
    const col = opts.label;
    const labels = rows.map((r) => {
      const v = cell(r, col);
      // JSON numbers are labels too, by their text (3 and "3" are one class)
      if (typeof v === 'number' && Number.isFinite(v)) return String(v);
      if (typeof v !== 'string' || v === '')
        throw new InputError(file, `${where(r)}: column "${col}" must be a non-empty class label, got ${JSON.stringify(v)}`);
      return v;
    });
    const classes = [...new Set(labels)].sort(byName);
    const index = new Map(classes.map((c, i) => [c, i]));
    items.forEach((it, i) => (it.label = index.get(labels[i]!)!));
    return { root, items, classes, kind: 'classification' };
  }
  const targetNames = [...opts.targets!];
  rows.forEach((r, i) => {
    items[i]!.targets = targetNames.map((col) => {
      const v = cell(r, col);
      const x = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v) ? Number(v) : NaN;
      if (!Number.isFinite(x)) throw new InputError(file, `${where(r)}: column "${col}" is ${JSON.stringify(v)}, not a number`);
      return x;
    });
  });
  return { root, items, targetNames, kind: 'regression' };
}

function checkLineLengths(text: string, file: string, max: number): void {
  let start = 0;
  for (let line = 1; start <= text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end - start > max) throw new InputError(file, `${file}:${line}: a line of ${end - start} characters is longer than the ${max}-character limit`);
    start = end + 1;
  }
}

/**
 * RFC 4180: fields separated by commas, records by CRLF or LF; a field in
 * double quotes may hold commas, line breaks and doubled quotes (""). Strict:
 * a quote inside an unquoted field, or text after a closing quote, is an error.
 * Header names are trimmed (a header "path, label" names "label"); cells are
 * kept as written. An empty header name is allowed (pandas writes one for its
 * index column) but cannot be asked for.
 */
function parseCsv(text: string, file: string): { columns: string[]; headerLine: number; rows: Row[] } {
  const records: { line: number; fields: string[] }[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const startLine = line;
    // a blank line is no record
    if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] === '\n')) {
      i += text[i] === '\r' ? 2 : 1;
      line++;
      continue;
    }
    const fields: string[] = [];
    for (;;) {
      let f = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new InputError(file, `${file}:${startLine}: a quoted field is not closed (a " is missing)`);
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              f += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          f += c;
          i++;
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n'))
          throw new InputError(file, `${file}:${line}: text after a closing quote (a field is either all quoted or not at all)`);
      } else {
        const s = i;
        while (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) i++;
        f = text.slice(s, i);
        if (f.includes('"'))
          throw new InputError(file, `${file}:${line}: a quote inside an unquoted field (quote the whole field and double the quote: "a ""b""")`);
      }
      fields.push(f);
      if (i < n && text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    records.push({ line: startLine, fields });
    if (i < n) {
      i += text[i] === '\r' ? 2 : 1;
      line++;
    }
  }
  if (records.length === 0) throw new InputError(file, `${file}: the table is empty (no header row)`);
  const header = records[0]!;
  const columns = header.fields.map((c) => c.trim());
  const seen = new Set<string>();
  for (const c of columns) {
    if (c !== '' && seen.has(c)) throw new InputError(file, `${file}:${header.line}: the header names column "${c}" twice`);
    seen.add(c);
  }
  const rows = records.slice(1).map((r) => {
    if (r.fields.length !== columns.length)
      throw new InputError(
        file,
        `${file}:${r.line}: ${r.fields.length} fields, the header has ${columns.length} (${columns.map((c) => JSON.stringify(c)).join(', ')})`,
      );
    return { line: r.line, cells: new Map(columns.map((c, k) => [c, r.fields[k]] as const).filter(([c]) => c !== '')) };
  });
  return { columns, headerLine: header.line, rows };
}

/** One JSON object per non-blank line; its keys are the columns (other keys are ignored, as other CSV columns are). */
function parseJsonLines(text: string, file: string): { columns: undefined; headerLine: 0; rows: Row[] } {
  const rows: Row[] = [];
  text.split('\n').forEach((raw, k) => {
    const src = raw.trim();
    if (src === '') return;
    const line = k + 1;
    let v: unknown;
    try {
      v = JSON.parse(src);
    } catch (e) {
      throw new InputError(file, `${file}:${line}: not JSON (${(e as Error).message})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InputError(file, `${file}:${line}: expected a JSON object {"path": ..., ...}`);
    rows.push({ line, cells: new Map(Object.entries(v as Record<string, unknown>)) });
  });
  return { columns: undefined, headerLine: 0, rows };
}
