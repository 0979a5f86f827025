// Spec validation of the 3-D pooling / upsampling forms: accepted shapes are inferred, bad ones rejected with a
// message naming the layer and the reason.
import { describe, expect, it } from 'vitest';

import { SpecError, validateSpec } from '../../main/engine/index.js';

const vol = (layers: unknown[], size = [8, 8, 8]): unknown => ({
  input: { channels: 1, size },
  layers,
  loss: { type: 'bce_with_logits' },
});

describe('validateSpec: 3-D pooling and upsampling', () => {
  it('infers the shapes of a 3-D U-Net step (max/avg pool 2, trilinear and nearest x2, concat)', () => {
    const v = validateSpec(
      vol([
        { type: 'conv3d', out: 4, kernel: 3, padding: 1 },
        { type: 'save', name: 'a' },
        { type: 'max_pool', kernel: 2 }, // (4, 4, 4, 4)
        { type: 'avg_pool', kernel: 3, stride: 1 }, // (4, 2, 2, 2)
        { type: 'upsample', scale: 2, mode: 'nearest' }, // (4, 4, 4, 4)
        { type: 'upsample', scale: 2, mode: 'trilinear' }, // (4, 8, 8, 8)
        { type: 'concat', with: 'a' }, // (8, 8, 8, 8)
        { type: 'conv3d', out: 2, kernel: 1 },
      ]),
    );
    expect(v.output).toEqual({ kind: 'spatial', channels: 2, size: [8, 8, 8] });
    expect(v.spec.layers[2]).toEqual({ type: 'max_pool', kernel: 2, stride: 2 });
    expect(v.spec.layers[5]).toEqual({ type: 'upsample', scale: 2, mode: 'trilinear' });
  });

  it('rejects trilinear on images and bilinear on volumes, naming the layer and the fix', () => {
    expect(() =>
      validateSpec({
        input: { channels: 1, size: [8, 8] },
        layers: [{ type: 'upsample', mode: 'trilinear' }],
        loss: { type: 'mse' },
      }),
    ).toThrow(/layers\[0\] \(upsample\): mode 'trilinear' needs 3 spatial dims but gets \(1, 8, 8\); use 'bilinear'/);
    expect(() => validateSpec(vol([{ type: 'upsample', mode: 'bilinear' }]))).toThrow(
      /mode 'bilinear' needs 2 spatial dims but gets \(1, 8, 8, 8\); use 'trilinear'/,
    );
    expect(() => validateSpec(vol([{ type: 'upsample', mode: 'cubic' }]))).toThrow(
      /Option 'mode' in layers\[0\] \(upsample\) must be one of nearest, bilinear, trilinear/,
    );
  });

  it('rejects a 3-D pooling kernel that does not fit one axis, and 1-D pooling', () => {
    expect(() => validateSpec(vol([{ type: 'max_pool', kernel: 3 }], [8, 2, 8]))).toThrow(
      /layers\[0\] \(max_pool\): kernel 3 does not fit input \(1, 8, 2, 8\)/,
    );
    expect(() => validateSpec(vol([{ type: 'avg_pool', kernel: 2 }], [8]))).toThrow(
      /layers\[0\] \(avg_pool\) pools 2 or 3 spatial dims but gets \(1, 8\)/,
    );
    expect(() => validateSpec(vol([{ type: 'upsample' }], [8]))).toThrow(SpecError);
  });
});
