// WGSL helper functions shared by the kernels.
//
// WGSL has no erf, and SwiftShader's built-in sin/cos are accurate only to ~2e-4, so we carry our own:
// - `erfc_pos(x)`, x >= 0: Numerical Recipes' Chebyshev fit (fractional error < 1.2e-7 in exact arithmetic);
//   `erf_f(x)` uses a Maclaurin series for |x| < 0.5 (so small arguments keep full relative precision).
// - `sincos_f(x)`: Cody–Waite reduction by pi/2 in three parts (exact for |x| < ~5e4) and Cephes' single-precision
//   minimax polynomials on [-pi/4, pi/4]. Returns vec2(sin, cos), accurate to a few ulp.

export const WGSL_MATH = /* wgsl */ `
fn erfc_pos(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * x);
  let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
             t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  // exp(-x^2) with x^2 split exactly: z keeps 12 significant bits, so z*z is exact in float32 (as fdlibm's erfc).
  let z = bitcast<f32>(bitcast<u32>(x) & 0xfffff000u);
  return t * exp(-z * z) * exp((z - x) * (z + x) + poly);
}

fn erf_f(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.5) {
    let z = x * x;
    // 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320)
    let s = 1.0 + z * (-1.0 / 3.0 + z * (0.1 + z * (-1.0 / 42.0 + z * (1.0 / 216.0 + z * (-1.0 / 1320.0)))));
    return 1.1283791670955126 * x * s;
  }
  let e = 1.0 - erfc_pos(a);
  return select(-e, e, x >= 0.0);
}

/** 1 + erf(x), without cancellation for negative x. */
fn one_plus_erf(x: f32) -> f32 {
  if (x < -0.5) { return erfc_pos(-x); }
  return 1.0 + erf_f(x);
}

fn sincos_f(x: f32) -> vec2<f32> {
  let q = round(x * 0.63661977236758134);
  // pi/2 = P1 + P2 + P3, P1 with 8 significant bits so q*P1 is exact.
  let r = ((x - q * 1.5703125) - q * 4.837512969970703125e-4) - q * 7.54978995489188216e-8;
  let z = r * r;
  let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  let quadrant = i32(q) & 3;
  if (quadrant == 0) { return vec2<f32>(s, c); }
  if (quadrant == 1) { return vec2<f32>(c, -s); }
  if (quadrant == 2) { return vec2<f32>(-s, -c); }
  return vec2<f32>(-c, s);
}

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

fn cconj(a: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(a.x, -a.y);
}

fn cdiv(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let d = b.x * b.x + b.y * b.y;
  return vec2<f32>(a.x * b.x + a.y * b.y, a.y * b.x - a.x * b.y) / d;
}

/** exp(z) for complex z, with the accurate sin/cos. */
fn cexp(z: vec2<f32>) -> vec2<f32> {
  let sc = sincos_f(z.y);
  return exp(z.x) * vec2<f32>(sc.y, sc.x);
}
`;

/** Index of a thread in a 1-D problem dispatched with `grid1d` (workgroup size 256). */
export const WGSL_GID = /* wgsl */ `
fn flat_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}
`;
