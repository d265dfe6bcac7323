// `npm run dev`: the Vite dev server; with env HB_BUNDLE=<file.glb> it serves that bundle and
// prints the URL that opens it.
import { createServer } from 'vite';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveBundlePath } from './bundle_plugin.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bundle = resolveBundlePath(process.env.HB_BUNDLE);
if (bundle && !fs.existsSync(bundle)) {
  console.error(`HB_BUNDLE=${process.env.HB_BUNDLE}: file not found (${bundle})`);
  process.exit(2);
}
const port = Number(process.env.PORT ?? 5173);
const server = await createServer({ root, configFile: path.join(root, 'vite.config.ts'), server: { port } });
await server.listen();
const base = server.resolvedUrls?.local?.[0] ?? `http://127.0.0.1:${port}/`;
console.log('');
if (bundle) {
  const rel = path.relative(process.env.INIT_CWD ?? process.cwd(), bundle);
  console.log(`headbake player: serving ${rel.startsWith('..') ? bundle : rel}`);
  console.log(`  open ${base}  (the page loads ./bundle.glb; ${base}?bundle=bundle.glb says so explicitly)`);
} else {
  console.log(`headbake player: ${base}  (drop a .glb on the page, or set HB_BUNDLE=<file.glb>)`);
}
