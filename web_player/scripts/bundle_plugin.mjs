// Vite plugin: serves local .glb files to the player during development and tests.
//   GET /bundle.glb         -> the file named by env HB_BUNDLE (relative to the repo root or cwd)
//   GET /files/<name>       -> files registered with bundlePlugin({ files: { name: path } })
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Resolve HB_BUNDLE: absolute, else relative to where npm was invoked (INIT_CWD, e.g. the repo
 * root for `npm --prefix web_player run dev`), the current directory, or the repo root.
 */
export function resolveBundlePath(p) {
  if (!p) return null;
  if (path.isAbsolute(p)) return p;
  for (const base of [process.env.INIT_CWD, process.cwd(), REPO]) {
    if (base && fs.existsSync(path.resolve(base, p))) return path.resolve(base, p);
  }
  return path.resolve(process.env.INIT_CWD ?? REPO, p);
}

function sendFile(res, file) {
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) {
      res.statusCode = 404;
      res.end(`not found: ${path.basename(file)}`);
      return;
    }
    res.setHeader('Content-Type', 'model/gltf-binary');
    res.setHeader('Content-Length', String(st.size));
    res.setHeader('Cache-Control', 'no-store');
    fs.createReadStream(file).pipe(res);
  });
}

export function bundlePlugin(options = {}) {
  const files = options.files ?? {};
  return {
    name: 'headbake-bundle',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = (req.url ?? '').split('?')[0];
        if (url === '/bundle.glb') {
          const p = resolveBundlePath(process.env.HB_BUNDLE);
          if (!p) {
            res.statusCode = 404;
            res.end('HB_BUNDLE is not set');
            return;
          }
          sendFile(res, p);
          return;
        }
        if (url.startsWith('/files/')) {
          const name = decodeURIComponent(url.slice('/files/'.length));
          if (!(name in files)) {
            res.statusCode = 404;
            res.end(`not registered: ${name}`);
            return;
          }
          sendFile(res, files[name]);
          return;
        }
        next();
      });
    },
  };
}
