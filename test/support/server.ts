// The static server of tools/static-server.mjs (one implementation for the
// demo server, these tests and the browser bench), typed for the tests.
import { pathToFileURL } from 'node:url';
import { repoPath } from './files.js';

export interface StaticServer {
  url: string;
  close: () => Promise<void>;
}

type Serve = (root: string, isolated?: boolean, port?: number) => Promise<StaticServer>;

export async function serveStatic(root: string, isolated = true): Promise<StaticServer> {
  const { serveStatic: serve } = (await import(pathToFileURL(repoPath('tools/static-server.mjs')).href)) as { serveStatic: Serve };
  return serve(root, isolated);
}
