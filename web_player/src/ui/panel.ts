/** The control panel: file picker, playback, camera, sliders, layer toggles, debug views. */
import type { Avatar } from '../loader/avatar';
import type { Player } from '../player';
import type { DebugView } from '../render/renderer';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

let changed: () => void = () => {};

function slider(parent: HTMLElement, name: string, min: number, max: number, step: number, value: number, onInput: (v: number) => void, id?: string): HTMLInputElement {
  const lab = el('label');
  lab.append(el('span', { class: 'name', title: name }, name));
  const input = el('input', { type: 'range', min: String(min), max: String(max), step: String(step), value: String(value), ...(id ? { id } : {}) });
  const val = el('span', { class: 'val' }, value.toFixed(2));
  input.addEventListener('input', () => {
    const v = Number(input.value);
    val.textContent = v.toFixed(2);
    onInput(v);
    changed();
  });
  lab.append(input, val);
  parent.append(lab);
  return input;
}

export class Panel {
  private dynamic = el('div');
  private scrub: HTMLInputElement | null = null;
  private playBtn: HTMLButtonElement | null = null;

  constructor(readonly root: HTMLElement, readonly player: Player, readonly onFile: (f: File) => void) {
    const file = el('input', { type: 'file', accept: '.glb,model/gltf-binary', id: 'file-input' });
    file.addEventListener('change', () => file.files?.[0] && this.onFile(file.files[0]));
    const h = el('h3', {}, 'Bundle');
    root.append(h, file, this.dynamic);
  }

  /** Rebuild the avatar-specific controls. */
  build(av: Avatar): void {
    const p = this.player;
    const d = this.dynamic;
    changed = () => p.requestRender();
    d.onchange = () => p.requestRender();
    d.replaceChildren();
    d.append(el('div', {}, `${av.source}: ${av.layers.length} layers, ${av.layers.reduce((s, l) => s + l.indices.length / 3, 0)} triangles, ${(av.byteLength / 1e6).toFixed(2)} MB`));

    d.append(el('h3', {}, 'Animation'));
    const row = el('div', { class: 'row' });
    const sel = el('select', { id: 'anim-select' });
    av.animations.forEach((a, i) => sel.append(el('option', { value: String(i) }, `${a.name} (${a.times.length} frames)`)));
    if (!av.animations.length) sel.append(el('option', {}, '(no animation)'));
    sel.addEventListener('change', () => {
      p.animIndex = Number(sel.value);
      p.time = 0;
      p.pinnedFrame = undefined;
      this.updateScrub();
    });
    this.playBtn = el('button', { id: 'play' }, p.playing ? 'Pause' : 'Play');
    this.playBtn.addEventListener('click', () => {
      p.setPlaying(!p.playing);
      this.playBtn!.textContent = p.playing ? 'Pause' : 'Play';
    });
    const speed = el('select', { id: 'speed' });
    for (const s of [0.25, 0.5, 1, 2]) speed.append(el('option', { value: String(s), ...(s === 1 ? { selected: '' } : {}) }, `${s}x`));
    speed.addEventListener('change', () => (p.speed = Number(speed.value)));
    row.append(sel, this.playBtn, speed);
    d.append(row);
    this.scrub = slider(d, 'time (s)', 0, Math.max(p.duration, 0.01), 0.001, 0, (v) => {
      p.time = v;
      p.pinnedFrame = undefined;
      p.setPlaying(false);
      this.playBtn!.textContent = 'Play';
    }, 'scrub');

    d.append(el('h3', {}, 'Camera'));
    const reset = el('button', { id: 'reset-camera' }, 'Reset to training camera');
    reset.addEventListener('click', () => {
      p.resetCamera();
      p.requestRender();
    });
    d.append(reset, el('div', {}, 'drag: orbit, wheel: zoom'));

    d.append(el('h3', {}, 'Jaw and eyes (offsets, rad)'));
    slider(d, 'jaw open', -0.2, 0.6, 0.01, 0, (v) => (p.poseOffset[6] = v));
    slider(d, 'eyes yaw', -0.5, 0.5, 0.01, 0, (v) => (p.poseOffset[10] = p.poseOffset[13] = v));
    slider(d, 'eyes pitch', -0.5, 0.5, 0.01, 0, (v) => (p.poseOffset[9] = p.poseOffset[12] = v));

    d.append(el('h3', {}, `Expression (offsets, ${av.spec.n_exp})`));
    for (let e = 0; e < av.spec.n_exp; e++) slider(d, `expr ${e}`, -2, 2, 0.01, 0, (v) => (p.exprOffset[e] = v));

    d.append(el('h3', {}, 'Layers'));
    av.layers.forEach((L, i) => {
      const lab = el('label');
      const cb = el('input', { type: 'checkbox', 'data-layer': String(i) });
      cb.checked = true;
      cb.addEventListener('change', () => (p.state!.layers[i] = cb.checked));
      lab.append(cb, el('span', {}, `${i}: ${L.name} (level ${L.level.toFixed(3)})`));
      d.append(lab);
    });

    d.append(el('h3', {}, 'View'));
    const dbg = el('select', { id: 'debug-view' });
    for (const [v, n] of [['none', 'shaded'], ['normals', 'normals'], ['uv', 'UVs'], ['alpha', 'layer alpha'], ['coef', 'MLP coefficients']])
      dbg.append(el('option', { value: v }, n));
    dbg.value = p.state!.debug;
    dbg.addEventListener('change', () => (p.state!.debug = dbg.value as DebugView));
    const mode = el('select', { id: 'mode' });
    mode.append(el('option', { value: 'neural' }, 'neural shading'), el('option', { value: 'mesh' }, 'plain textured mesh'));
    mode.value = p.state!.mode;
    mode.addEventListener('change', () => (p.state!.mode = mode.value as 'neural' | 'mesh'));
    const filt = el('select', { id: 'filtering' });
    filt.append(el('option', { value: 'exact' }, 'bilinear: float32 (exact)'), el('option', { value: 'hw' }, 'bilinear: hardware'));
    filt.value = p.state!.exactBilinear ? 'exact' : 'hw';
    filt.addEventListener('change', () => (p.state!.exactBilinear = filt.value === 'exact'));
    d.append(dbg, mode, filt);
    if (av.layers.some((L) => L.normalTargets)) {
      const lab = el('label');
      const cb = el('input', { type: 'checkbox', id: 'morph-normals' });
      cb.checked = p.state!.morphNormals;
      cb.addEventListener('change', () => (p.state!.morphNormals = cb.checked));
      lab.append(cb, el('span', {}, 'normal morph targets'));
      d.append(lab);
    }
  }

  updateScrub(): void {
    if (!this.scrub) return;
    this.scrub.max = String(Math.max(this.player.duration, 0.01));
    if (document.activeElement !== this.scrub) this.scrub.value = String(this.player.time);
  }

  syncPlaying(): void {
    if (this.playBtn) this.playBtn.textContent = this.player.playing ? 'Pause' : 'Play';
  }
}
