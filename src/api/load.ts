// loadViT: one call for every way a model arrives. No argument: the embedded
// default (ViT-Ti/16, ImageNet); a folder path or file: URL (Node); an http(s)
// URL of a folder (fetched); or the bytes and config themselves.
import { isNode } from '../io/node.js';
import { EMBEDDED_MODEL_URL, loadViTFolder, loadViTFromBytes, type ModelBytes } from '../vit/load.js';
import type { ViT } from '../vit/model.js';

export type ModelSource = string | URL | ModelBytes;

export interface LoadViTOptions {
  /** a safetensors head (weight [C, D], bias [C]) for a headless backbone: a path (Node) or its bytes */
  head?: string | ArrayBuffer | Uint8Array;
}

async function fetchBytes(url: URL): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url.href}: HTTP ${r.status} ${r.statusText}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function fetchFolder(base: URL, opts: LoadViTOptions): Promise<ViT> {
  const dir = base.href.endsWith('/') ? base : new URL(`${base.href}/`);
  const [safetensors, config] = await Promise.all([fetchBytes(new URL('model.safetensors', dir)), fetchBytes(new URL('config.json', dir))]);
  const text = new TextDecoder().decode(config);
  let preprocessorConfig: string | undefined;
  if (/"hidden_size"\s*:/.test(text)) {
    // a Hugging Face config: its preprocessor config sits beside it
    const r = await fetch(new URL('preprocessor_config.json', dir));
    if (r.ok) preprocessorConfig = await r.text();
  }
  if (typeof opts.head === 'string') throw new Error('a head given by path needs Node; pass its bytes instead');
  return loadViTFromBytes({ safetensors, config: text, preprocessorConfig, head: opts.head, name: dir.href });
}

/**
 * Load a ViT. With no source, the embedded ViT-Ti/16 (Node reads it from the
 * package; a browser fetches it next to the module).
 */
export async function loadViT(source?: ModelSource, opts: LoadViTOptions = {}): Promise<ViT> {
  if (source === undefined) source = EMBEDDED_MODEL_URL;
  if (typeof source === 'object' && !(source instanceof URL)) {
    if (typeof opts.head === 'string') throw new Error('loadViT from bytes takes the head as bytes too');
    return loadViTFromBytes({ ...source, head: source.head ?? opts.head });
  }
  const url = source instanceof URL ? source : null;
  if (url && url.protocol !== 'file:') return fetchFolder(url, opts);
  if (!isNode) {
    if (url) throw new Error(`${url.href}: file: URLs need Node; in a browser give an http(s) URL or the bytes`);
    return fetchFolder(new URL(source, (globalThis as { location?: { href: string } }).location?.href), opts);
  }
  if (opts.head !== undefined && typeof opts.head !== 'string') throw new Error('loadViT from a folder takes the head as a file path');
  return loadViTFolder(source, opts.head ? { headFile: opts.head } : {});
}
