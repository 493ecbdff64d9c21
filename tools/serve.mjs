// Serve the repository on 127.0.0.1 with the cross-origin isolation headers
// (COOP/COEP) the wasm backend's threads need, for the demo page:
//   npm run build && node tools/serve.mjs     then open the printed /web/ address
// --no-isolation serves without them (the one-thread fallback).
import { fileURLToPath } from 'node:url';
import { serveStatic } from '../build/test/support/server.js';

const isolated = !process.argv.includes('--no-isolation');
const s = await serveStatic(fileURLToPath(new URL('..', import.meta.url)), isolated);
console.log(`demo page: ${s.url}web/${isolated ? '' : ' (not cross-origin isolated)'}; Ctrl-C stops`);
