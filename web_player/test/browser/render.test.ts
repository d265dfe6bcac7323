/**
 * The player in headless Chromium (SwiftShader) vs the Python reference renderer
 * (bake/baked_render.py) on the same bundle: screenshots of the canvas from the training camera
 * at given keyframes must reach >= 40 dB PSNR, for the plain test bundle and for one whose layers
 * carry normal morph targets; the per-frame MLP must match onnxruntime; an animation must play
 * with no console errors.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchBrowser, openPlayer, psnr, startServer, type BrowserHandle, type Server } from './harness';
import { decodePng, encodePng } from './png';

const OUT = inject('hbOut');
const meta = JSON.parse(readFileSync(path.join(OUT, 'reference.json'), 'utf8'));
let server: Server;
let chrome: BrowserHandle;

beforeAll(async () => {
  server = await startServer({ 'test.glb': path.join(OUT, 'test.glb'), 'normals.glb': path.join(OUT, 'normals', 'test.glb') });
  chrome = await launchBrowser();
});
afterAll(async () => {
  await chrome?.close();
  await server?.close();
});

describe('player vs Python reference render', () => {
  for (const f of meta.frames as number[]) {
    it(`keyframe ${f} from the training camera: >= 40 dB`, async () => {
      const { page, consoleErrors } = await openPlayer(chrome.browser, server.url, `bundle=files/test.glb&frame=${f}&camera=train&paused=1`);
      expect(await page.evaluate(() => (window as any).__hb.error)).toBeNull();
      const shot = decodePng(await page.locator('#view').screenshot());
      expect([shot.width, shot.height]).toEqual([meta.width, meta.height]);
      const ref = new Uint8Array(readFileSync(path.join(OUT, `ref_${f}.rgb`)));
      const ref4 = new Uint8Array(shot.data.length);
      for (let i = 0; i < meta.width * meta.height; i++) ref4.set([ref[3 * i], ref[3 * i + 1], ref[3 * i + 2], 255], 4 * i);
      const db = psnr(shot.data, ref4);
      writeFileSync(path.join(OUT, `player_${f}.png`), encodePng(shot));
      console.log(`keyframe ${f}: PSNR ${db.toFixed(2)} dB`);
      // the avatar must actually be there: a white canvas would also be "close" on the background
      let covered = 0;
      for (let i = 0; i < ref4.length; i += 4) if (ref4[i] + ref4[i + 1] + ref4[i + 2] < 3 * 250) covered++;
      expect(covered).toBeGreaterThan(0.1 * meta.width * meta.height);
      expect(db).toBeGreaterThanOrEqual(40);
      expect(consoleErrors).toEqual([]);
      await page.close();
    });
  }

  it('per-frame MLP (JS interpreter) matches onnxruntime on the bundle', async () => {
    const { page } = await openPlayer(chrome.browser, server.url, `bundle=files/test.glb&frame=${meta.theta.frame}&paused=1`);
    const theta: number[] = await page.evaluate(() => Array.from((window as any).__hb.player.renderer.frameTheta));
    const ref: number[] = meta.theta.values;
    expect(theta.length).toBe(ref.length);
    let err = 0;
    for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(theta[i] - ref[i]));
    console.log(`theta max abs error vs onnxruntime: ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
    await page.close();
  });
});

describe('player vs Python reference render, bundle with normal morph targets', () => {
  const nmeta = JSON.parse(readFileSync(path.join(OUT, 'normals', 'reference.json'), 'utf8'));
  it('keyframes from the training camera: >= 40 dB; leaving the normal deltas out fails that', async () => {
    const { page, consoleErrors } = await openPlayer(chrome.browser, server.url, `bundle=files/normals.glb&frame=${nmeta.frames[0]}&camera=train&paused=1`);
    expect(await page.evaluate(() => (window as any).__hb.error)).toBeNull();
    expect(await page.evaluate(() => (window as any).__hb.player.avatar.layers.every((L: any) => L.normalTargets !== null))).toBe(true);
    const ignored: number[] = [];
    for (const f of nmeta.frames as number[]) {
      // the framebuffer (row 0 = image row 0, as the reference) with and without the normal deltas
      const [withN, withoutN] = (await page.evaluate((f) => {
        const p = (window as any).__hb.player;
        const out = [true, false].map((on) => {
          p.state.morphNormals = on;
          p.renderNow(f);
          return Array.from(p.readImage().data as Uint8Array);
        });
        p.state.morphNormals = true;
        return out;
      }, f)) as number[][];
      expect(withN.length).toBe(4 * nmeta.width * nmeta.height);
      const ref = new Uint8Array(readFileSync(path.join(OUT, 'normals', `ref_${f}.rgb`)));
      const ref4 = new Uint8Array(withN.length);
      for (let i = 0; i < nmeta.width * nmeta.height; i++) ref4.set([ref[3 * i], ref[3 * i + 1], ref[3 * i + 2], 255], 4 * i);
      const db = psnr(Uint8Array.from(withN), ref4);
      const dbIgnored = psnr(Uint8Array.from(withoutN), ref4);
      ignored.push(dbIgnored);
      writeFileSync(path.join(OUT, 'normals', `player_${f}.png`), encodePng({ width: nmeta.width, height: nmeta.height, data: Uint8Array.from(withN) }));
      console.log(`normal morph targets, keyframe ${f}: PSNR ${db.toFixed(2)} dB (${dbIgnored.toFixed(2)} dB with the normal deltas left out)`);
      expect(db, `keyframe ${f}`).toBeGreaterThanOrEqual(40);
    }
    // the normal deltas matter: without them keyframe 7 is at 31.4 dB (5: 39.5 dB) from the
    // reference, so a player ignoring them would fail the 40 dB gate above
    expect(Math.min(...ignored)).toBeLessThan(35);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });
});

describe('shader variants', () => {
  it('every debug view, mode and theta/filter variant compiles and draws', async () => {
    const { page, consoleErrors } = await openPlayer(chrome.browser, server.url, 'bundle=files/test.glb&frame=5&paused=1');
    const out = await page.evaluate(() => {
      const p = (window as any).__hb.player;
      const variants = [
        { debug: 'none', mode: 'neural', thetaSource: 'ubo', exactBilinear: true },
        { debug: 'none', mode: 'neural', thetaSource: 'texture', exactBilinear: false },
        { debug: 'normals' }, { debug: 'uv' }, { debug: 'alpha' }, { debug: 'coef' },
        { debug: 'none', mode: 'mesh' },
      ];
      const base = { ...p.state };
      return variants.map((v) => {
        Object.assign(p.state, base, v);
        p.renderNow(5);
        const im = p.readImage();
        let covered = 0, hash = 0;
        for (let i = 0; i < im.data.length; i += 4) {
          if (im.data[i] + im.data[i + 1] + im.data[i + 2] < 750) covered++;
          hash = (hash * 31 + im.data[i] + 7 * im.data[i + 1] + 13 * im.data[i + 2]) | 0;
        }
        return { v: JSON.stringify(v), covered, hash, err: p.gl.getError() };
      });
    });
    for (const r of out) {
      expect(r.err, r.v).toBe(0);
      expect(r.covered, r.v).toBeGreaterThan(1000);
    }
    // each view shows something different (variant 1 only changes how the same values are read)
    const views = out.filter((_: unknown, i: number) => i !== 1);
    expect(new Set(views.map((r: { hash: number }) => r.hash)).size).toBe(views.length);
    expect(Math.abs(out[1].covered - out[0].covered)).toBeLessThan(0.01 * out[0].covered);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });
});

describe('controls', () => {
  it('expression slider and layer toggle re-render a paused frame', async () => {
    const { page, consoleErrors } = await openPlayer(chrome.browser, server.url, 'bundle=files/test.glb&frame=5&paused=1');
    const img = async () => (await page.evaluate(() => Array.from((window as any).__hb.player.readImage().data as Uint8Array))) as number[];
    const diff = (a: number[], b: number[]) => a.reduce((n, x, i) => n + (Math.abs(x - b[i]) > 2 ? 1 : 0), 0);
    const wait = async (n0: number) => page.waitForFunction((n) => (window as any).__hb.frames > n, n0, { timeout: 60_000 });
    const a = await img();
    let n = await page.evaluate(() => (window as any).__hb.frames);
    await page.locator('#panel input[type=range]').nth(4).fill('1.5'); // expr 0 (after time, jaw, 2 eye sliders)
    await wait(n);
    const b = await img();
    expect(diff(a, b)).toBeGreaterThan(100);
    n = await page.evaluate(() => (window as any).__hb.frames);
    await page.locator('input[data-layer="2"]').uncheck();
    await wait(n);
    const c = await img();
    expect(diff(b, c)).toBeGreaterThan(100);
    expect(await page.evaluate(() => (window as any).__hb.player.playing)).toBe(false);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });
});

describe('playback', () => {
  it('an animation plays: pixels change over time, no console errors', async () => {
    const { page, consoleErrors } = await openPlayer(chrome.browser, server.url, 'bundle=files/test.glb&fixedclock=1');
    const canvas = page.locator('#view');
    const a = decodePng(await canvas.screenshot());
    // SwiftShader on shared cores renders a few frames a second: wait for new frames (the
    // compositor may show the previous one), up to 6 times
    let changed = 0;
    for (let attempt = 0; attempt < 6 && changed <= 50; attempt++) {
      const f0 = await page.evaluate(() => (window as any).__hb.frames);
      await page.waitForFunction((n) => (window as any).__hb.frames >= n + 2, f0, { timeout: 60_000 });
      const b = decodePng(await canvas.screenshot());
      changed = 0;
      for (let i = 0; i < a.data.length; i += 4) if (Math.abs(a.data[i] - b.data[i]) + Math.abs(a.data[i + 1] - b.data[i + 1]) + Math.abs(a.data[i + 2] - b.data[i + 2]) > 6) changed++;
    }
    console.log(`pixels changed between two moments of playback: ${changed}`);
    expect(changed).toBeGreaterThan(50);
    const t = await page.evaluate(() => (window as any).__hb.player.time);
    expect(t).toBeGreaterThan(0);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });
});

describe('layout', () => {
  it('on a phone-sized screen the canvas fills the width and the panel folds below it', async () => {
    const { page, consoleErrors } = await openPlayer(chrome.browser, server.url, 'bundle=files/test.glb&frame=5&paused=1', { width: 390, height: 800 });
    const box = async (sel: string) => page.locator(sel).boundingBox();
    const view = (await box('#view'))!;
    expect(view.x).toBe(0);
    expect(view.width).toBe(390);
    expect(view.height).toBeCloseTo((390 * meta.height) / meta.width, 0); // aspect kept
    const toggle = page.locator('#panel-toggle');
    expect(await toggle.isVisible()).toBe(true);
    const panel = (await box('#panel'))!;
    expect(panel.y).toBeGreaterThanOrEqual(view.y + view.height);
    expect(panel.width).toBe(390);
    await toggle.click();
    expect(await page.locator('#panel').isVisible()).toBe(false);
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    await toggle.click();
    expect(await page.locator('#panel').isVisible()).toBe(true);
    // a desktop-sized window keeps the side panel and the camera's pixel size
    await page.setViewportSize({ width: 1200, height: 800 });
    expect(await toggle.isVisible()).toBe(false);
    const wide = (await box('#view'))!;
    expect([wide.width, wide.height]).toEqual([meta.width, meta.height]);
    expect((await box('#panel'))!.x).toBeGreaterThanOrEqual(wide.x + wide.width);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });
});
