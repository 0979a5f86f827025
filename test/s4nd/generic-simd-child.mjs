// Child process for generic-simd.test.ts: with SSM_FORCE_GENERIC_SIMD set, runs published layer cases through the
// addon's portable (non-AVX2) kernels and prints {case, y, du, grads} max relative errors vs the float32 reference.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const s4nd = createRequire(import.meta.url)(path.join(root, 'native/build/Release/ssm_engine.node')).s4nd;

const rel = (a, b) => {
  let n = 0;
  let d = 0;
  for (let i = 0; i < b.length; i++) {
    n = Math.max(n, Math.abs(a[i] - b[i]));
    d = Math.max(d, Math.abs(b[i]));
  }
  return n / d;
};

const out = { gemm: s4nd.info().gemm, cases: [] };
for (const [file, conv] of process.argv.slice(2).map((a) => a.split(':'))) {
  const c = JSON.parse(readFileSync(file, 'utf8'));
  const kw = c.spec.constructor_kwargs;
  const spec = {
    dim: 2,
    d_model: kw.d_model,
    d_state: kw.d_state,
    channels: kw.channels,
    bidirectional: kw.bidirectional,
    mode: (kw.mode ?? kw.kernel) === 'diag' ? 's4d' : 'dplr',
    init: 'diag-lin',
    l_max: kw.l_max,
    bandlimit: 0,
    linear: true,
    dt_min: 0.1,
    dt_max: 1,
    conv,
  };
  const layout = s4nd.paramLayout(spec);
  const params = new Float32Array(layout.reduce((n, p) => n + p.size, 0));
  for (const p of layout) params.set(c.params[p.name].data, p.offset);
  const lk = [0, 1].map((a) => c.params[`kernel.${a}.l_kernel`]?.data[0] ?? 0);
  const u = c.inputs.u;
  const r = await s4nd.run(
    spec,
    params,
    lk,
    Float32Array.from(u.data),
    u.shape[0],
    u.shape.slice(2),
    c.spec.rate,
    Float32Array.from(c.inputs.G.data),
  );
  let grads = 0;
  for (const p of layout)
    grads = Math.max(grads, rel(r.dparams.subarray(p.offset, p.offset + p.size), c.grads.float32[p.name].data));
  out.cases.push({
    case: c.case,
    conv,
    y: rel(r.y, c.outputs.float32.y.data),
    du: rel(r.du, c.grads.float32.u.data),
    grads,
  });
}
console.log(JSON.stringify(out));
