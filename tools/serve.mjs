// Serve the repository on 127.0.0.1 with the cross-origin isolation headers
// (COOP/COEP) the wasm backend's threads need, for the demo page:
//   npm run build && node tools/serve.mjs [--port N] [--no-isolation]
// then open the printed /web/ address. --no-isolation serves without the
// headers (the one-thread fallback); --port picks the port (default: a free one).
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serveStatic } from './static-server.mjs';

const usage = 'usage: node tools/serve.mjs [--port N] [--no-isolation]';
let values;
try {
  ({ values } = parseArgs({ options: { port: { type: 'string' }, 'no-isolation': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
} catch (e) {
  console.error(`tools/serve.mjs: ${e.message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const port = values.port === undefined ? 0 : Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`tools/serve.mjs: --port must be an integer in [0, 65535], got "${values.port}"\n${usage}`);
  process.exit(2);
}
const isolated = !values['no-isolation'];
try {
  const s = await serveStatic(fileURLToPath(new URL('..', import.meta.url)), isolated, port);
  console.log(`demo page: ${s.url}web/${isolated ? '' : ' (not cross-origin isolated)'}; Ctrl-C stops`);
} catch (e) {
  console.error(`tools/serve.mjs: cannot listen on 127.0.0.1:${port}: ${e.code ?? e.message}`);
  process.exit(1);
}
