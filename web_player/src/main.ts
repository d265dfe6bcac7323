/**
 * Entry point. URL parameters:
 *   bundle=<url>     the .glb to open (default: ./bundle.glb when the server has one)
 *   frame=<n>        show keyframe n of the animation (implies paused)
 *   anim=<i>         animation index
 *   camera=train     the training camera (the default; orbit offsets reset)
 *   paused=1         do not advance time; fixedclock=1 advances exactly 1/25 s per frame
 *   size=<px>        displayed width (training camera scaled); default: its own size
 *   debug=normals|uv|alpha|coef, mode=neural|mesh, bilinear=exact|hw, theta=ubo|texture
 *   morphnormals=off leave out the normal morph targets (debug: what they change)
 * Test hooks live on `window.__hb`.
 */
import { BundleError } from './loader/errors';
import { Player } from './player';
import { Panel } from './ui/panel';
import type { DebugView } from './render/renderer';

const q = new URLSearchParams(location.search);
const canvas = document.getElementById('view') as HTMLCanvasElement;
const stage = document.getElementById('stage')!;
const errorBox = document.getElementById('error')!;
const hint = document.getElementById('hint')!;
const progress = document.getElementById('progress')!;
const hud = document.getElementById('hud')!;

interface Hooks {
  ready: boolean;
  loading: boolean;
  error: string | null;
  player: Player | null;
  frames: number;
}
const hooks: Hooks = { ready: false, loading: false, error: null, player: null, frames: 0 };
(window as unknown as { __hb: Hooks }).__hb = hooks;

function showError(msg: string): void {
  hooks.error = msg;
  errorBox.textContent = msg;
  errorBox.hidden = false;
}

function setProgress(f: number, label: string): void {
  progress.hidden = f >= 1;
  (progress.querySelector('.fill') as HTMLElement).style.width = `${Math.round(100 * f)}%`;
  (progress.querySelector('.label') as HTMLElement).textContent = label;
}

let player: Player;
try {
  player = new Player(canvas, { fixedClock: q.get('fixedclock') === '1', size: q.has('size') ? Number(q.get('size')) : undefined });
  hooks.player = player;
} catch (e) {
  showError((e as Error).message);
  throw e;
}

const frameParam = q.has('frame') ? Number(q.get('frame')) : undefined;
const paused = q.get('paused') === '1' || frameParam !== undefined;
const panel = new Panel(document.getElementById('panel')!, player, (f) => void openFile(f));

// narrow screens (style.css): the panel sits below the canvas and this button shows or hides it
const panelToggle = document.getElementById('panel-toggle')!;
panelToggle.addEventListener('click', () => {
  const collapsed = panel.root.classList.toggle('collapsed');
  panelToggle.setAttribute('aria-expanded', String(!collapsed));
});

function applyParams(): void {
  const s = player.state!;
  const dbg = q.get('debug');
  if (dbg) s.debug = dbg as DebugView;
  if (q.get('mode') === 'mesh') s.mode = 'mesh';
  if (q.get('bilinear') === 'hw') s.exactBilinear = false;
  if (q.get('morphnormals') === 'off') s.morphNormals = false;
  const th = q.get('theta');
  if (th === 'texture' || th === 'ubo' || th === 'const') s.thetaSource = th;
  if (q.has('anim')) player.animIndex = Math.min(Number(q.get('anim')), Math.max(0, player.avatar!.animations.length - 1));
  if (q.get('camera') === 'train') player.resetCamera();
  player.playing = !paused;
}

function sizeCanvas(): void {
  const cam = player.camera();
  canvas.width = cam.width;
  canvas.height = cam.height;
  canvas.style.width = `${cam.width}px`;
  canvas.style.height = `${cam.height}px`;
  placeCanvas();
}

/** Centre the canvas at whole-pixel offsets (a half-pixel offset would resample screenshots). */
function placeCanvas(): void {
  canvas.style.left = `${Math.max(0, Math.floor((stage.clientWidth - canvas.width) / 2))}px`;
  canvas.style.top = `${Math.max(0, Math.floor((stage.clientHeight - canvas.height) / 2))}px`;
}
window.addEventListener('resize', placeCanvas);

async function open(loader: () => Promise<unknown>): Promise<void> {
  hooks.loading = true;
  hooks.ready = false;
  hooks.error = null;
  errorBox.hidden = true;
  hint.hidden = true;
  try {
    await loader();
    applyParams();
    sizeCanvas();
    panel.build(player.avatar!);
    panel.syncPlaying();
    player.pinnedFrame = frameParam;
    if (paused) {
      player.stop();
      player.renderNow();
    } else player.start();
    hooks.ready = true;
  } catch (e) {
    const msg = e instanceof BundleError ? e.message : `Could not open the bundle: ${(e as Error).message ?? e}`;
    showError(msg);
    if (!player.avatar) hint.hidden = false;
    else if (!paused) player.start();
  } finally {
    setProgress(1, '');
    hooks.loading = false;
  }
}

async function openFile(f: File): Promise<void> {
  await open(async () => player.load(await f.arrayBuffer(), f.name, setProgress));
}

// drag and drop
stage.addEventListener('dragover', (e) => {
  e.preventDefault();
  stage.classList.add('dragover');
});
stage.addEventListener('dragleave', () => stage.classList.remove('dragover'));
stage.addEventListener('drop', (e) => {
  e.preventDefault();
  stage.classList.remove('dragover');
  const f = e.dataTransfer?.files?.[0];
  if (f) void openFile(f);
});

// orbit camera
let drag: { x: number; y: number; yaw: number; pitch: number } | null = null;
canvas.addEventListener('pointerdown', (e) => {
  drag = { x: e.clientX, y: e.clientY, yaw: player.orbit.yaw, pitch: player.orbit.pitch };
  canvas.setPointerCapture(e.pointerId);
});
canvas.addEventListener('pointermove', (e) => {
  if (!drag) return;
  player.orbit.yaw = drag.yaw + (e.clientX - drag.x) * 0.01;
  player.orbit.pitch = Math.max(-1.2, Math.min(1.2, drag.pitch + (e.clientY - drag.y) * 0.01));
  player.requestRender();
});
canvas.addEventListener('pointerup', () => (drag = null));
canvas.addEventListener('wheel', (e) => {
  e.preventDefault();
  player.orbit.zoom = Math.max(0.3, Math.min(5, player.orbit.zoom * Math.exp(-e.deltaY * 0.001)));
  player.requestRender();
}, { passive: false });

player.onFrame = () => {
  hooks.frames = player.frameCount;
  panel.updateScrub();
  hud.textContent = `${player.stats.fps.toFixed(1)} fps | frame ${player.stats.cpuMs.toFixed(2)} ms (MLP ${player.stats.frameMlpMs.toFixed(2)} ms)`;
};

const bundle = q.get('bundle');
if (bundle) void open(() => player.loadUrl(bundle, setProgress));
else {
  // a dev server started with HB_BUNDLE (or an app that ships one) serves ./bundle.glb
  fetch('bundle.glb', { method: 'HEAD' })
    .then((r) => {
      if (r.ok) void open(() => player.loadUrl('bundle.glb', setProgress));
    })
    .catch(() => {});
}
