/**
 * Headless Debian Chromium (playwright-core, SwiftShader WebGL2) + a Vite dev server for the
 * player; shared by the browser tests and `npm run bench`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
// @ts-expect-error plain ESM helper shared with vite.config.ts
import { bundlePlugin } from '../../scripts/bundle_plugin.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REPO = path.resolve(ROOT, '..');
export const CHROMIUM = process.env.HB_CHROMIUM ?? '/usr/bin/chromium';

export interface Server {
  url: string;
  close(): Promise<void>;
}

/** Vite dev server on a free loopback port; `files` are served at /files/<name>. */
export async function startServer(files: Record<string, string>): Promise<Server> {
  const server: ViteDevServer = await createServer({
    root: ROOT,
    configFile: false,
    base: './',
    logLevel: 'error',
    plugins: [bundlePlugin({ files })],
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await server.listen();
  const addr = server.httpServer!.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}/`, close: () => server.close() };
}

export interface BrowserHandle {
  browser: Browser;
  close(): Promise<void>;
}

/** Chromium with DESIGN.md's flags; playwright gives it a fresh temporary profile (--user-data-dir). */
export async function launchBrowser(): Promise<BrowserHandle> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hb-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
      '--disable-quic',
    ],
    env: { ...process.env, TMPDIR: dir },
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PlayerPage {
  page: Page;
  consoleErrors: string[];
}

/** Open the player with `query` and wait until it is ready or shows an error. */
export async function openPlayer(b: Browser, base: string, query: string, viewport = { width: 1200, height: 800 }): Promise<PlayerPage> {
  const page = await b.newPage({ viewport, deviceScaleFactor: 1 });
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  await page.goto(`${base}?${query}`);
  await page.waitForFunction(() => {
    const h = (window as unknown as { __hb?: { ready: boolean; error: string | null; loading: boolean } }).__hb;
    return !!h && !h.loading && (h.ready || h.error !== null);
  }, undefined, { timeout: 180_000 });
  return { page, consoleErrors };
}

/** PSNR in dB between two RGB(A) byte images of equal size (alpha ignored). */
export function psnr(a: Uint8Array, b: Uint8Array, channels = 4): number {
  if (a.length !== b.length) throw new Error(`images differ in size: ${a.length} vs ${b.length}`);
  let se = 0, n = 0;
  for (let i = 0; i < a.length; i += channels)
    for (let c = 0; c < 3; c++) {
      const d = (a[i + c] - b[i + c]) / 255;
      se += d * d;
      n++;
    }
  const mse = se / n;
  return mse === 0 ? Infinity : -10 * Math.log10(mse);
}
