// Open the packaged player the way the APK's WebView does, in headless Debian Chromium.
//
//   node page_check.mjs <routes.json> <screenshot.png> <start url> [<next url> ...]
//                                       (also writes <screenshot>_portrait.png)
//
// routes.json maps each URL of the virtual site (origin + path) to what the APK's AssetClient
// answered for it on the JVM ({status, mime, charset, reason, body: file}); every request of the
// page is fulfilled from that map, anything else is refused and reported. The viewport is a phone's
// and is turned by 90 degrees midway, as a rotation with configChanges does (resize, no reload).
// Each next URL is then opened in the same page, as PlayerActivity does for a document the user
// picks, and reported in `next` as {url, ready, error, text} (text: the page's visible text).
// Prints one JSON object: {ready, error, consoleErrors, unrouted, framesBefore, framesAfter, reloaded, next}.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WEB = path.resolve(HERE, '..', '..', 'web_player');
const { chromium } = createRequire(path.join(WEB, 'package.json'))('playwright-core');

const [routesFile, shot, startUrl, ...nextUrls] = process.argv.slice(2);
const routes = JSON.parse(readFileSync(routesFile, 'utf8'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hb-apk-page-'));
const browser = await chromium.launch({
  executablePath: process.env.HB_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
    '--disable-quic',
  ],
  env: { ...process.env, TMPDIR: tmp },
});
const result = { ready: false, error: null, consoleErrors: [], unrouted: [], framesBefore: 0, framesAfter: 0, reloaded: false, next: [] };
try {
  const page = await browser.newPage({ viewport: { width: 412, height: 860 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  page.on('console', (m) => { if (m.type() === 'error') result.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => result.consoleErrors.push(`pageerror: ${e.message}`));
  let loads = 0;
  page.on('load', () => { loads += 1; });
  await page.route('**/*', async (route) => {
    const u = new URL(route.request().url());
    const r = routes[u.origin + u.pathname];
    if (!r) {
      result.unrouted.push(route.request().url());
      await route.abort('blockedbyclient');
      return;
    }
    const type = r.charset && r.charset !== 'null' ? `${r.mime}; charset=${r.charset}` : r.mime;
    await route.fulfill({ status: r.status, headers: { 'content-type': type }, body: readFileSync(r.body) });
  });
  await page.goto(startUrl);
  const settled = () => page.waitForFunction(() => window.__hb && !window.__hb.loading && (window.__hb.ready || window.__hb.error), null, { timeout: 180000 });
  await settled();
  const state = () => page.evaluate(() => ({ ready: window.__hb.ready, error: window.__hb.error, frames: window.__hb.frames }));
  let s = await state();
  result.ready = s.ready;
  result.error = s.error;
  if (s.ready) {
    await page.waitForFunction(() => window.__hb.frames >= 3, null, { timeout: 120000 });
    result.framesBefore = (await state()).frames;
    await page.screenshot({ path: shot.replace(/\.png$/, '_portrait.png') });
    await page.setViewportSize({ width: 860, height: 412 });  // the phone turns
    await page.waitForFunction((n) => window.__hb.frames >= n + 3, result.framesBefore, { timeout: 120000 });
    s = await state();
    result.framesAfter = s.frames;
    result.error = s.error;
    await page.screenshot({ path: shot });
  }
  result.reloaded = loads > 1;
  for (const url of nextUrls) {
    await page.goto(url);
    await settled();
    const t = await state();
    result.next.push({ url, ready: t.ready, error: t.error, text: await page.evaluate(() => document.body.innerText) });
  }
} catch (e) {
  result.error = result.error ?? `page_check: ${e.message}`;
} finally {
  await browser.close();
  rmSync(tmp, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
