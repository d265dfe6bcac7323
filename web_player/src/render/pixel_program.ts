/**
 * The generated chunk `pixel_model.glsl`: the bundle's per-pixel ONNX graph as an unrolled GLSL
 * function `hb_pixel_model(in float z[PIXEL_IN], out float coef[NUM_BASIS])`.
 * Per-frame weights theta come from a uniform block (default) or, with THETA_TEXTURE, from a
 * float texture; each vec4 is loaded once into a local (right before its first use), then used
 * with constant indices.
 */
import { generateGlsl } from '../onnx/glsl';
import { OnnxError, type OnnxModel } from '../onnx/model';

export interface PixelChunk {
  source: string;
  nTheta: number;
  pixelIn: number;
  nOut: number;
  statements: number;
}

/** Generate the chunk. Input names: the model's inputs, in the order of the extension (z, theta). */
export function pixelModelChunk(
  model: OnnxModel,
  where: string,
  names: { z: string; theta: string; coef?: string } = { z: 'z', theta: 'theta' },
  /** Bake these per-frame weights into the code as constants (the THETA_CONST variant). */
  constTheta?: ArrayLike<number>,
): PixelChunk {
  const zin = model.inputs.find((i) => i.name === names.z);
  const tin = model.inputs.find((i) => i.name === names.theta);
  if (!zin || !tin) throw new OnnxError(`${where}: the per-pixel model must have inputs '${names.z}' and '${names.theta}'; it has ${model.inputs.map((i) => i.name).join(', ')}`);
  const pixelIn = Number(zin.shape?.[zin.shape.length - 1]);
  const nTheta = Number(tin.shape?.[tin.shape.length - 1]);
  if (!Number.isInteger(pixelIn) || !Number.isInteger(nTheta)) throw new OnnxError(`${where}: inputs need static last dimensions (z: ${JSON.stringify(zin.shape)}, theta: ${JSON.stringify(tin.shape)})`);
  const used = new Set<number>();
  const gen = generateGlsl(model, {
    [names.z]: { dims: [1, pixelIn], element: (i) => `z[${i}]` },
    [names.theta]: {
      dims: [1, nTheta],
      element: (i) => {
        if (constTheta) return constTheta[i];
        used.add(i >> 2);
        return `th${i >> 2}.${'xyzw'[i & 3]}`;
      },
    },
  });
  const outName = names.coef ?? model.outputs[0].name;
  const out = gen.outputs[outName];
  if (!out) throw new OnnxError(`${where}: output '${outName}' not produced`);
  const nOut = out.elements.length;
  const vec4s = Math.ceil(nTheta / 4);
  // each theta vec4 is loaded right before the first statement that reads it (not all up front:
  // with THETA_TEXTURE that would keep every fetched vec4 live at once)
  const loaded = new Set<number>();
  const withLoads = (line: string): string[] => {
    const loads: string[] = [];
    for (const m of line.matchAll(/\bth(\d+)\./g)) {
      const k = Number(m[1]);
      if (!used.has(k) || loaded.has(k)) continue;
      loaded.add(k);
      loads.push(`vec4 th${k} = HB_THETA(${k});`);
    }
    return [...loads, line];
  };
  const body = [...gen.body.split('\n').filter((l) => l), ...out.elements.map((e, k) => `coef[${k}] = ${e};`)].flatMap(withLoads);
  const source = [
    `// pixel_model.glsl — GENERATED at load time from ${where} (${gen.statements} statements).`,
    `// Do not edit: src/onnx/glsl.ts traces the ONNX graph for one pixel.${constTheta ? ' theta baked in as constants.' : ''}`,
    `#define THETA_VEC4S ${vec4s}`,
    `#ifdef THETA_TEXTURE`,
    `uniform highp sampler2D u_thetaTex;`,
    `#define HB_THETA(i) texelFetch(u_thetaTex, ivec2(i, 0), 0)`,
    `#else`,
    `layout(std140) uniform HbTheta { vec4 u_theta[THETA_VEC4S]; };`,
    `#define HB_THETA(i) u_theta[i]`,
    `#endif`,
    `void hb_pixel_model(in float z[PIXEL_IN], out float coef[NUM_BASIS]) {`,
    ...body.map((l) => `  ${l}`),
    `}`,
  ].join('\n');
  return { source, nTheta, pixelIn, nOut, statements: gen.statements };
}
