// The app's view of the GPU: detection runs once in the background at start (a child process, see detect.ts) and
// the result is served to the Settings view. Until the user picks a backend, the app picks it from the detection.
import type { GpuDetection } from './detect.js';

export type GpuStatusState = 'detecting' | 'ready';

export interface GpuStatusSnapshot extends GpuDetection {
  state: GpuStatusState;
}

export class GpuStatusService {
  private current: GpuStatusSnapshot = {
    state: 'detecting',
    adapters: [],
    usable: false,
    recommended: 'cpu',
    reason: 'GPU detection is still running',
  };
  readonly done: Promise<GpuStatusSnapshot>;

  /** Starts `detect` at once without waiting; `onReady` runs when it settles. */
  constructor(detect: () => Promise<GpuDetection>, onReady: (s: GpuStatusSnapshot) => void = () => {}) {
    this.done = detect().then(
      (d) => this.settle({ ...d, state: 'ready' }, onReady),
      (e: unknown) =>
        this.settle(
          {
            state: 'ready',
            adapters: [],
            usable: false,
            recommended: 'cpu',
            reason: `GPU detection failed: ${e instanceof Error ? e.message : String(e)}`,
          },
          onReady,
        ),
    );
  }

  private settle(s: GpuStatusSnapshot, onReady: (s: GpuStatusSnapshot) => void): GpuStatusSnapshot {
    this.current = s;
    try {
      onReady(s);
    } catch {
      // a listener's failure must not change the detection result
    }
    return s;
  }

  get(): GpuStatusSnapshot {
    return { ...this.current, adapters: [...this.current.adapters] };
  }
}
