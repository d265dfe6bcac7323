// Vite config: relative base so dist/ works from file:///android_asset; the dev server also
// serves the bundle named by env HB_BUNDLE at /bundle.glb (see scripts/dev.mjs).
import { defineConfig } from 'vite';
import { bundlePlugin } from './scripts/bundle_plugin.mjs';

export default defineConfig({
  base: './',
  plugins: [bundlePlugin()],
  build: { outDir: 'dist', target: 'es2022', assetsInlineLimit: 0, sourcemap: false },
  server: { host: '127.0.0.1' },
});
