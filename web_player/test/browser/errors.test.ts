/** A damaged bundle and a plain (non-headbake) glTF each show a clear message, no uncaught error. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchBrowser, openPlayer, startServer, type BrowserHandle, type Server } from './harness';

const OUT = inject('hbOut');
let server: Server;
let chrome: BrowserHandle;

/** A valid glTF 2.0 binary with one triangle and no headbake extension. */
function plainGlb(): Uint8Array {
  const bin = new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0]);
  const json = JSON.stringify({
    asset: { version: '2.0', generator: 'a plain exporter' },
    scene: 0, scenes: [{ nodes: [0] }], nodes: [{ mesh: 0 }],
    meshes: [{ primitives: [{ attributes: { POSITION: 0 } }] }],
    accessors: [{ bufferView: 0, componentType: 5126, count: 3, type: 'VEC3', min: [0, 0, 0], max: [1, 1, 0] }],
    bufferViews: [{ buffer: 0, byteLength: 36 }],
    buffers: [{ byteLength: 36 }],
  });
  const jb = new TextEncoder().encode(json.padEnd(Math.ceil(json.length / 4) * 4, ' '));
  const out = new Uint8Array(12 + 8 + jb.length + 8 + 36);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0x46546c67, true);
  dv.setUint32(4, 2, true);
  dv.setUint32(8, out.length, true);
  dv.setUint32(12, jb.length, true);
  dv.setUint32(16, 0x4e4f534a, true);
  out.set(jb, 20);
  dv.setUint32(20 + jb.length, 36, true);
  dv.setUint32(24 + jb.length, 0x004e4942, true);
  out.set(new Uint8Array(bin.buffer), 28 + jb.length);
  return out;
}

beforeAll(async () => {
  const good = new Uint8Array(readFileSync(path.join(OUT, 'test.glb')));
  // a download cut in half
  writeFileSync(path.join(OUT, 'truncated.glb'), good.subarray(0, good.length >> 1));
  // header patched to the cut length: the BIN chunk then runs past the end of the file
  const cut = good.slice(0, good.length - 5000);
  new DataView(cut.buffer).setUint32(8, cut.length, true);
  writeFileSync(path.join(OUT, 'cut_bin.glb'), cut);
  writeFileSync(path.join(OUT, 'plain.glb'), plainGlb());
  server = await startServer({
    'truncated.glb': path.join(OUT, 'truncated.glb'),
    'cut_bin.glb': path.join(OUT, 'cut_bin.glb'),
    'plain.glb': path.join(OUT, 'plain.glb'),
  });
  chrome = await launchBrowser();
});
afterAll(async () => {
  await chrome?.close();
  await server?.close();
});

describe('clear messages for bad files', () => {
  const cases: [string, RegExp][] = [
    ['truncated.glb', /truncated\.glb: header says \d+ bytes but the file has \d+ \(truncated or damaged download\?\)/],
    ['cut_bin.glb', /cut_bin\.glb: the second chunk must be BIN and fit in the file/],
    ['plain.glb', /plain\.glb: this glTF file \(made by "a plain exporter"\) is not a headbake avatar bundle: it has no HB_neural_shading extension/],
  ];
  for (const [file, pattern] of cases) {
    it(file, async () => {
      const { page, consoleErrors } = await openPlayer(chrome.browser, server.url, `bundle=files/${file}&paused=1`);
      const box = page.locator('#error');
      expect(await box.isVisible()).toBe(true);
      expect(await box.textContent()).toMatch(pattern);
      expect(await page.evaluate(() => (window as any).__hb.ready)).toBe(false);
      // handled, not thrown: no page error, no console error
      expect(consoleErrors).toEqual([]);
      await page.close();
    });
  }
});
