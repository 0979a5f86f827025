// The model zoo: spec builders for every architecture the app trains. Each returns an engine ModelSpec
// (see main/engine/spec.ts); `size` is the training (base) resolution, which fixes S4ND's l_max. At run time an
// S4ND model takes other sizes with rate = base size / input size; the Conv2D baselines have no such notion.
import type { Model } from '../engine/model.js';
import type { LayerSpec, ModelSpec } from '../engine/spec.js';

export type ZooTask = 'classify' | 'segment' | 'interpolate';

export type ZooArchitecture =
  | 's4nd-isotropic'
  | 's4nd-convnext'
  | 'conv2d'
  | 's4nd-unet2d'
  | 'conv-unet2d'
  | 's4nd-classifier3d'
  | 'conv3d-classifier'
  | 's4nd-unet3d'
  | 'conv-unet3d'
  | 's4nd-interpolator'
  | 'conv-interpolator';

export interface ZooOptions {
  /**
   * Input channels (1 grey, 3 RGB; the interpolator takes 10: frames a and b, their linear blend at t and a constant
   * plane holding t, see interpolationInput in dataset.ts).
   */
  channels: number;
  /** Training resolution per spatial axis (2 or 3 axes). */
  size: number[];
  /** Classes (classify), foreground classes (segment, one sigmoid channel each), output channels (interpolate). */
  outputs: number;
  /** Feature width; each architecture has a small default that trains in minutes on 2 cores. */
  width?: number;
  /** S4ND state size (default 16). */
  dState?: number;
  /** Blocks per stage (default 2). */
  depth?: number;
  /**
   * The input normalisation (x - mean) / std the model will be trained with (the card's `input.normalize`). The
   * S4ND interpolator's s4nd_time layer reads t from the normalised t plane and undoes it; default mean 0, std 1.
   */
  normalize?: { mean: number; std: number };
}

export interface ZooEntry {
  architecture: ZooArchitecture;
  task: ZooTask;
  /** Spatial axes the architecture works on. */
  dims: 2 | 3;
  /** Whether S4ND layers make it resolution-flexible (rate = base / input size). */
  s4nd: boolean;
  /** Input sizes must be a multiple of this (downsampling stages). */
  multiple: number;
  /** Peak learning rate that trains it well (AdamW, warmup + cosine). */
  lr: number;
  description: string;
  build(o: ZooOptions): ModelSpec;
  /** Adjusts a freshly created model's initial parameters (see blendInit). */
  init?(model: Model): void;
}

/**
 * Interpolators start as linear blending. Their input is [frame a, frame b, (1 - t)·a + t·b, t] (see
 * interpolationInput in dataset.ts: 10 channels) and the last 1×1 conv reads [features, that input]; its weights are
 * set to 1 on the blend channels and 0 elsewhere, so the untrained model outputs the linear blend at the requested t
 * (exact in normalised units too, as every channel shares the normalisation) and training learns a t-dependent
 * correction from there. Legacy midpoint-only interpolators (6 input channels: a, b) get 0.5 on each frame.
 */
export function blendInit(model: Model): void {
  const last = model.spec.layers.length - 1;
  const name = `layers.${last}.weight`;
  const w = model.getParam(name); // (3, F + frames, 1, 1)
  const inC = w.length / 3;
  const frames = model.spec.input.channels;
  const feats = inC - frames;
  w.fill(0);
  for (let c = 0; c < 3; c++) {
    if (frames >= 10) w[c * inC + feats + 6 + c] = 1;
    else {
      w[c * inC + feats + c] = 0.5;
      w[c * inC + feats + 3 + c] = 0.5;
    }
  }
  model.setParam(name, w);
  model.setParam(`layers.${last}.bias`, new Float32Array(3));
}

const s4ndBlock = (dState: number): LayerSpec => ({
  type: 'residual',
  layers: [{ type: 'layernorm' }, { type: 's4nd', d_state: dState }],
});

const repeat = <T>(n: number, f: () => T): T[] => Array.from({ length: n }, f);

const CLASSIFY_LOSS = { type: 'cross_entropy', label_smoothing: 0.1 } as const;
const OPTIMIZER = { weight_decay: 0.01, clip_grad_norm: 5 } as const;

export const ZOO: Record<ZooArchitecture, ZooEntry> = {
  's4nd-isotropic': {
    architecture: 's4nd-isotropic',
    task: 'classify',
    dims: 2,
    s4nd: true,
    multiple: 2,
    lr: 1e-2,
    description:
      'S4ND isotropic classifier: 2×2 patchify, residual LayerNorm→S4ND blocks at one width, global pool, linear head',
    build: (o) => ({
      input: { channels: o.channels, size: o.size },
      layers: [
        { type: 'conv2d', out: o.width ?? 24, kernel: 2, stride: 2 }, // (w, H/2, W/2)
        ...repeat(o.depth ?? 2, () => s4ndBlock(o.dState ?? 16)),
        { type: 'layernorm' },
        { type: 'global_avg_pool' }, // (w)
        { type: 'linear', out: o.outputs },
      ],
      loss: CLASSIFY_LOSS,
      optimizer: OPTIMIZER,
    }),
  },
  's4nd-convnext': {
    architecture: 's4nd-convnext',
    task: 'classify',
    dims: 2,
    s4nd: true,
    multiple: 4,
    lr: 1e-2,
    description:
      'ConvNeXt-style S4ND classifier: stem, two stages of S4ND blocks (S4ND in place of the 7×7 depthwise conv) with a LayerNorm + 2×2 strided-conv downsampling between them',
    build: (o) => {
      const w = o.width ?? 16;
      const d = o.depth ?? 1;
      return {
        input: { channels: o.channels, size: o.size },
        layers: [
          { type: 'conv2d', out: w, kernel: 2, stride: 2 }, // stem (w, H/2, W/2)
          ...repeat(d, () => s4ndBlock(o.dState ?? 16)),
          { type: 'layernorm' },
          { type: 'conv2d', out: 2 * w, kernel: 2, stride: 2 }, // downsample (2w, H/4, W/4)
          ...repeat(d, () => s4ndBlock(o.dState ?? 16)),
          { type: 'layernorm' },
          { type: 'global_avg_pool' },
          { type: 'linear', out: o.outputs },
        ],
        loss: CLASSIFY_LOSS,
        optimizer: OPTIMIZER,
      };
    },
  },
  conv2d: {
    architecture: 'conv2d',
    task: 'classify',
    dims: 2,
    s4nd: false,
    multiple: 4,
    lr: 2e-3,
    description:
      'Conv2D baseline classifier: three 3×3 conv + ReLU layers with 2×2 max pooling, global pool, linear head',
    build: (o) => {
      const w = o.width ?? 24;
      return {
        input: { channels: o.channels, size: o.size },
        layers: [
          { type: 'conv2d', out: w, kernel: 3, padding: 1 },
          { type: 'relu' },
          { type: 'max_pool', kernel: 2 }, // (w, H/2, W/2)
          { type: 'conv2d', out: 2 * w, kernel: 3, padding: 1 },
          { type: 'relu' },
          { type: 'max_pool', kernel: 2 }, // (2w, H/4, W/4)
          { type: 'conv2d', out: 2 * w, kernel: 3, padding: 1 },
          { type: 'relu' },
          { type: 'global_avg_pool' },
          { type: 'linear', out: o.outputs },
        ],
        loss: CLASSIFY_LOSS,
        optimizer: OPTIMIZER,
      };
    },
  },
  's4nd-unet2d': {
    architecture: 's4nd-unet2d',
    task: 'segment',
    dims: 2,
    s4nd: true,
    multiple: 2,
    lr: 1e-2,
    description:
      'S4ND 2-D U-Net: S4ND blocks at full and half resolution, max-pool down, bilinear up, skip concatenation, one sigmoid channel per foreground class',
    build: (o) => {
      const w = o.width ?? 12;
      const ds = o.dState ?? 16;
      return {
        input: { channels: o.channels, size: o.size },
        layers: [
          { type: 'conv2d', out: w, kernel: 3, padding: 1 }, // (w, H, W)
          s4ndBlock(ds),
          { type: 'save', name: 'enc1' },
          { type: 'max_pool', kernel: 2 }, // (w, H/2, W/2)
          { type: 'conv2d', out: 2 * w, kernel: 1 },
          s4ndBlock(ds),
          s4ndBlock(ds),
          { type: 'upsample', scale: 2, mode: 'bilinear' }, // (2w, H, W)
          { type: 'concat', with: 'enc1' }, // (3w, H, W)
          { type: 'conv2d', out: w, kernel: 3, padding: 1 },
          { type: 'gelu' },
          s4ndBlock(ds),
          { type: 'conv2d', out: o.outputs, kernel: 1 },
        ],
        loss: { type: 'bce_with_logits' },
        optimizer: OPTIMIZER,
      };
    },
  },
  'conv-unet2d': {
    architecture: 'conv-unet2d',
    task: 'segment',
    dims: 2,
    s4nd: false,
    multiple: 2,
    lr: 5e-3,
    description:
      'Conv2D U-Net baseline: the same layout as the S4ND U-Net with 3×3 conv + GELU in place of S4ND blocks',
    build: (o) => {
      const w = o.width ?? 12;
      const conv = (out: number): LayerSpec[] => [{ type: 'conv2d', out, kernel: 3, padding: 1 }, { type: 'gelu' }];
      return {
        input: { channels: o.channels, size: o.size },
        layers: [
          ...conv(w),
          ...conv(w),
          { type: 'save', name: 'enc1' },
          { type: 'max_pool', kernel: 2 },
          ...conv(2 * w),
          ...conv(2 * w),
          { type: 'upsample', scale: 2, mode: 'bilinear' },
          { type: 'concat', with: 'enc1' },
          ...conv(w),
          { type: 'conv2d', out: o.outputs, kernel: 1 },
        ],
        loss: { type: 'bce_with_logits' },
        optimizer: OPTIMIZER,
      };
    },
  },
  's4nd-classifier3d': {
    architecture: 's4nd-classifier3d',
    task: 'classify',
    dims: 3,
    s4nd: true,
    multiple: 2,
    lr: 1e-2,
    description:
      'S4ND 3-D classifier: 2×2×2 patchify (conv3d), residual S4ND blocks over (D, H, W), global pool, linear head',
    build: (o) => ({
      input: { channels: o.channels, size: o.size },
      layers: [
        { type: 'conv3d', out: o.width ?? 12, kernel: 2, stride: 2 },
        ...repeat(o.depth ?? 2, () => s4ndBlock(o.dState ?? 8)),
        { type: 'layernorm' },
        { type: 'global_avg_pool' },
        { type: 'linear', out: o.outputs },
      ],
      loss: CLASSIFY_LOSS,
      optimizer: OPTIMIZER,
    }),
  },
  'conv3d-classifier': {
    architecture: 'conv3d-classifier',
    task: 'classify',
    dims: 3,
    s4nd: false,
    multiple: 2,
    lr: 3e-3,
    description:
      'Conv3D baseline clip / volume classifier: 3×3×3 conv + ReLU, a 2×2×2 strided conv, two 3×3×3 conv + ReLU, global pool, linear head',
    build: (o) => {
      const w = o.width ?? 4; // ~2.2k parameters on 1 channel, as s4nd-classifier3d
      return {
        input: { channels: o.channels, size: o.size },
        layers: [
          { type: 'conv3d', out: w, kernel: 3, padding: 1 }, // (w, D, H, W)
          { type: 'relu' },
          { type: 'conv3d', out: 2 * w, kernel: 2, stride: 2 }, // (2w, D/2, H/2, W/2)
          { type: 'relu' },
          { type: 'conv3d', out: 2 * w, kernel: 3, padding: 1 },
          { type: 'relu' },
          { type: 'global_avg_pool' }, // (2w)
          { type: 'linear', out: o.outputs },
        ],
        loss: CLASSIFY_LOSS,
        optimizer: OPTIMIZER,
      };
    },
  },
  's4nd-unet3d': {
    architecture: 's4nd-unet3d',
    task: 'segment',
    dims: 3,
    s4nd: true,
    multiple: 2,
    lr: 1e-2,
    description:
      'S4ND 3-D U-Net: the 2-D U-Net layout on volumes (conv3d stem, S4ND blocks over (D, H, W) at full and half resolution, 2×2×2 max-pool down, trilinear up, skip concatenation), one sigmoid channel per foreground class',
    build: (o) => {
      const w = o.width ?? 8;
      const ds = o.dState ?? 8;
      return {
        input: { channels: o.channels, size: o.size },
        layers: [
          { type: 'conv3d', out: w, kernel: 3, padding: 1 }, // (w, D, H, W)
          s4ndBlock(ds),
          { type: 'save', name: 'enc1' },
          { type: 'max_pool', kernel: 2 }, // (w, D/2, H/2, W/2)
          { type: 'conv3d', out: 2 * w, kernel: 1 },
          s4ndBlock(ds),
          s4ndBlock(ds),
          { type: 'upsample', scale: 2, mode: 'trilinear' }, // (2w, D, H, W)
          { type: 'concat', with: 'enc1' }, // (3w, D, H, W)
          { type: 'conv3d', out: w, kernel: 3, padding: 1 },
          { type: 'gelu' },
          s4ndBlock(ds),
          { type: 'conv3d', out: o.outputs, kernel: 1 }, // (classes, D, H, W)
        ],
        loss: { type: 'bce_with_logits' },
        optimizer: OPTIMIZER,
      };
    },
  },
  'conv-unet3d': {
    architecture: 'conv-unet3d',
    task: 'segment',
    dims: 3,
    s4nd: false,
    multiple: 2,
    lr: 5e-3,
    description:
      'Conv3D U-Net baseline: the same layout as the S4ND 3-D U-Net with 3×3×3 conv + GELU in place of S4ND blocks',
    build: (o) => {
      const w = o.width ?? 6;
      const conv = (out: number): LayerSpec[] => [{ type: 'conv3d', out, kernel: 3, padding: 1 }, { type: 'gelu' }];
      return {
        input: { channels: o.channels, size: o.size },
        layers: [
          ...conv(w), // (w, D, H, W)
          ...conv(w),
          { type: 'save', name: 'enc1' },
          { type: 'max_pool', kernel: 2 }, // (w, D/2, H/2, W/2)
          ...conv(2 * w),
          ...conv(2 * w),
          { type: 'upsample', scale: 2, mode: 'trilinear' }, // (2w, D, H, W)
          { type: 'concat', with: 'enc1' }, // (3w, D, H, W)
          ...conv(w),
          { type: 'conv3d', out: o.outputs, kernel: 1 }, // (classes, D, H, W)
        ],
        loss: { type: 'bce_with_logits' },
        optimizer: OPTIMIZER,
      };
    },
  },
  's4nd-interpolator': {
    architecture: 's4nd-interpolator',
    task: 'interpolate',
    dims: 2,
    s4nd: true,
    multiple: 1,
    lr: 5e-3,
    description:
      'S4ND frame interpolator with the continuous-time kernel along time: S4ND blocks on features of both frames, an s4nd_time layer evaluates the bidirectional SSM kernel at t (forward kernel at t on frame a, backward kernel at 1 - t on frame b), S4ND blocks, then a 1×1 conv over [features, input] predicts the frame at any t in (0, 1) (linear blending plus a learned t-dependent correction)',
    build: (o) => {
      const w = o.width ?? 16;
      const dState = o.dState ?? 16;
      return {
        input: { channels: o.channels, size: o.size },
        layers: [
          { type: 'save', name: 'frames' },
          { type: 'conv2d', out: 2 * w, kernel: 3, padding: 1 }, // (2w, H, W): [features at tau = 0 | at tau = 1]
          ...repeat(o.depth ?? 1, () => s4ndBlock(dState)),
          // (w, H, W) = K+(t)·u0 + K-(1 - t)·u1; t from the input's t plane (channel 9, see interpolationInput).
          {
            type: 's4nd_time',
            d_state: dState,
            dt_min: 0.1,
            dt_max: 1,
            time: { from: 'frames', channel: o.channels - 1, ...(o.normalize ?? { mean: 0, std: 1 }) },
          },
          ...repeat(o.depth ?? 1, () => s4ndBlock(dState)),
          { type: 'layernorm' },
          { type: 'concat', with: 'frames' },
          { type: 'conv2d', out: o.outputs, kernel: 1 },
        ],
        loss: { type: 'l1' },
        optimizer: { weight_decay: 0, clip_grad_norm: 5 },
      };
    },
    init: blendInit,
  },
  'conv-interpolator': {
    architecture: 'conv-interpolator',
    task: 'interpolate',
    dims: 2,
    s4nd: false,
    multiple: 1,
    lr: 3e-3,
    description:
      'Time-conditioned Conv2D frame interpolator baseline: the same input and layout with 3×3 conv + GELU layers in place of S4ND blocks',
    build: (o) => {
      const w = o.width ?? 16;
      return {
        input: { channels: o.channels, size: o.size },
        layers: [
          { type: 'save', name: 'frames' },
          { type: 'conv2d', out: w, kernel: 3, padding: 1 },
          { type: 'gelu' },
          ...repeat(o.depth ?? 2, () => ({
            type: 'residual' as const,
            layers: [{ type: 'conv2d' as const, out: w, kernel: 3, padding: 1 }, { type: 'gelu' as const }],
          })),
          { type: 'concat', with: 'frames' },
          { type: 'conv2d', out: o.outputs, kernel: 1 },
        ],
        loss: { type: 'l1' },
        optimizer: { weight_decay: 0, clip_grad_norm: 5 },
      };
    },
    init: blendInit,
  },
};

export function zooEntry(architecture: string): ZooEntry {
  const e = (ZOO as Record<string, ZooEntry | undefined>)[architecture];
  if (!e) throw new Error(`unknown architecture '${architecture}' (known: ${Object.keys(ZOO).join(', ')})`);
  return e;
}

/** The default architecture of a task. */
export const DEFAULT_ARCHITECTURE: Record<ZooTask, ZooArchitecture> = {
  classify: 's4nd-isotropic',
  segment: 's4nd-unet2d',
  interpolate: 's4nd-interpolator',
};

/**
 * S4ND rate for an input of `size` on a model trained at `base`: base / size. The engine takes one rate for all axes,
 * so a non-uniform rescale (a 40×30 image on a 28×28 model) uses the geometric mean of the per-axis ratios.
 */
export function rateFor(base: number[], size: number[]): number {
  const logs = base.map((b, i) => Math.log(b / (size[i] ?? b)));
  return Math.exp(logs.reduce((a, b) => a + b, 0) / Math.max(1, logs.length));
}
