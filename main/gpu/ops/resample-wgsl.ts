// WGSL pieces shared by the 2-D (nn.ts) and 3-D (resample3d.ts) pooling / upsampling kernels.

/**
 * Bindings 0..n-1 as storage arrays of f32 (the last one read_write, the others read), then the uniform `p: P` at
 * binding n. The kernel's `struct P` must be declared before it.
 */
export function ioBindings(...names: string[]): string {
  const last = names.length - 1;
  const arrays = names.map(
    (n, i) => `@group(0) @binding(${i}) var<storage, ${i === last ? 'read_write' : 'read'}> ${n}: array<f32>;`,
  );
  return `\n${arrays.join('\n')}\n@group(0) @binding(${names.length}) var<uniform> p: P;`;
}

/** align_corners=false source taps (native/src/ops/common.h LinearTap): (i0, i1, weight of i1). */
export const LINEAR_TAPS_WGSL = `
fn taps(o: u32, scale: u32, n: u32) -> vec3<f32> {
  var src = (f32(o) + 0.5) / f32(scale) - 0.5;
  if (src < 0.0) { src = 0.0; }
  var i0 = u32(src);
  if (i0 > n - 1u) { i0 = n - 1u; }
  let i1 = select(n - 1u, i0 + 1u, i0 + 1u < n);
  return vec3<f32>(f32(i0), f32(i1), src - f32(i0));
}`;

/** First pooled output whose window (kernel p.k, stride p.s, no padding) can hold input index i. Needs `p`. */
export const POOL_FIRST_OUT_WGSL = `
fn first_out(i: u32) -> u32 { return select(0u, (i - p.k + 1u + p.s - 1u) / p.s, i + 1u >= p.k); }`;

/** (x, y, z, plane) of flat index i in a row-major (planes, d, h, w) volume. */
export const UNFLAT3_WGSL = `
fn unflat3(i: u32, d: u32, h: u32, w: u32) -> vec4<u32> {
  return vec4<u32>(i % w, (i / w) % h, (i / (w * h)) % d, i / (w * h * d));
}`;
