// Learning-rate schedule: linear warmup then cosine decay (the schedule the S4/S4ND references train with).

export interface WarmupCosine {
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  /** Steps of linear warmup from 0 (step 0 gets lr / warmup). */
  warmupSteps: number;
  /** Total steps; after it the rate stays at minLr. */
  totalSteps: number;
  /** Final learning rate (default 0). */
  minLr?: number;
}

/** Learning rate for 0-based `step`. */
export function warmupCosineLr(step: number, s: WarmupCosine): number {
  const minLr = s.minLr ?? 0;
  if (!(s.totalSteps > 0) || s.warmupSteps < 0 || s.warmupSteps > s.totalSteps) {
    throw new RangeError(`bad schedule: warmupSteps ${s.warmupSteps} must lie in [0, totalSteps ${s.totalSteps}]`);
  }
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (step >= s.totalSteps) return minLr;
  const span = s.totalSteps - s.warmupSteps;
  const progress = span === 0 ? 1 : (step - s.warmupSteps) / span;
  return minLr + 0.5 * (s.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}
