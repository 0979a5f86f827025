// Tiny third-party-style ONNX models built with the graph builder, for the ONNX import tests.
import { rng } from '../../main/models/dataset.js';
import { GraphBuilder } from '../../main/onnx/graph.js';

/** (1, 1, 28, 28) -> Flatten -> Gemm (784 -> 3) -> Softmax: a fixed-size classifier with probabilities out. */
export function classifierBytes(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('pixels', 'float32', [1, 1, 28, 28]);
  const r = rng(3);
  const w = Array.from({ length: 784 * 3 }, () => (r() - 0.5) * 0.2);
  // Column 2 sums the pixels (bright), column 0 their negation (dark): a real dependence on the image.
  for (let i = 0; i < 784; i++) {
    w[i * 3] = (w[i * 3] as number) - 0.01;
    w[i * 3 + 2] = (w[i * 3 + 2] as number) + 0.01;
  }
  const f = g.op('Flatten', [x], { axis: { i: 1 } });
  const y = g.op('Gemm', [f, g.weight('fc.weight', w, [784, 3]), g.weight('fc.bias', [0.1, 0.3, -0.1], [3])]);
  g.output('probs', g.op('Softmax', [y], { axis: { i: 1 } }), 'float32', [1, 3]);
  return g.toBytes('third-party-test');
}

/** (n, h, w, 1) NHWC -> 1×1 conv to [background, a, b] -> NHWC out: a dynamic-size segmenter with background first. */
export function segmenterBytes(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('img', 'float32', ['n', 'h', 'w', 1]);
  const nchw = g.op('Transpose', [x], { perm: { ints: [0, 3, 1, 2] } });
  const conv = g.op('Conv', [nchw, g.weight('w', [0, 3, -3], [3, 1, 1, 1]), g.weight('b', [0, -1, -1], [3])]);
  g.output('seg', g.op('Transpose', [conv], { perm: { ints: [0, 2, 3, 1] } }), 'float32', ['n', 'h', 'w', 3]);
  return g.toBytes('third-party-test');
}
