// Evaluation metrics: top-k softmax, accuracy, Dice on thresholded sigmoid masks, PSNR and SSIM of frames.

/** Softmax of one row of logits. */
export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  const e = Array.from({ length: logits.length }, (_, i) => Math.exp((logits[i] as number) - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if ((row[i] as number) > (row[best] as number)) best = i;
  return best;
}

/** Dice of (logits > 0) against (targets > 0.5); 1 when both are empty. */
export function dice(logits: Float32Array, targets: Float32Array): number {
  let inter = 0,
    p = 0,
    t = 0;
  for (let i = 0; i < logits.length; i++) {
    const a = (logits[i] as number) > 0 ? 1 : 0;
    const b = (targets[i] as number) > 0.5 ? 1 : 0;
    inter += a * b;
    p += a;
    t += b;
  }
  return p + t === 0 ? 1 : (2 * inter) / (p + t);
}

/** PSNR in dB of two signals on a [0, peak] scale. */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>, peak = 1): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    se += d * d;
  }
  const mse = se / Math.max(1, a.length);
  return mse === 0 ? 100 : 10 * Math.log10((peak * peak) / mse);
}

/**
 * Mean SSIM of two (C, H, W) images on a [0, peak] scale, over 7×7 uniform windows with stride 2 (Wang et al. 2004
 * constants K1 = 0.01, K2 = 0.03).
 */
export function ssim(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  channels: number,
  h: number,
  w: number,
  peak = 1,
): number {
  const c1 = (0.01 * peak) ** 2;
  const c2 = (0.03 * peak) ** 2;
  const win = Math.min(7, h, w);
  let total = 0,
    count = 0;
  for (let c = 0; c < channels; c++) {
    const base = c * h * w;
    for (let y = 0; y + win <= h; y += 2) {
      for (let x = 0; x + win <= w; x += 2) {
        let sa = 0,
          sb = 0,
          saa = 0,
          sbb = 0,
          sab = 0;
        for (let dy = 0; dy < win; dy++) {
          for (let dx = 0; dx < win; dx++) {
            const i = base + (y + dy) * w + x + dx;
            const va = a[i] as number;
            const vb = b[i] as number;
            sa += va;
            sb += vb;
            saa += va * va;
            sbb += vb * vb;
            sab += va * vb;
          }
        }
        const n = win * win;
        const ma = sa / n,
          mb = sb / n;
        const va = saa / n - ma * ma,
          vb = sbb / n - mb * mb,
          cov = sab / n - ma * mb;
        total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
        count++;
      }
    }
  }
  return count === 0 ? 1 : total / count;
}
