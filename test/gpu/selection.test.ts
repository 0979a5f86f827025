// Backend selection: adapter detection and the recommendation rule, the status service the Settings view reads, and
// the `gpu.status` / `settings.update` handlers (a backend the user picks sticks; until then detection decides).
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, test } from 'vitest';

import type { GpuStatus, Settings } from '../../contract/index.js';
import { appHandlers } from '../../main/app/handlers/app.js';
import { NetworkAudit } from '../../main/app/network-audit.js';
import { SettingsStore } from '../../main/app/settings-store.js';
import { detectGpu, detectGpuInChild, recommend, type DetectedAdapter } from '../../main/gpu/detect.js';
import { GpuStatusService } from '../../main/gpu/status.js';
import { useSwiftShader } from './gpu-test-device.js';

const hw: DetectedAdapter = {
  vendor: 'nvidia',
  architecture: 'ada',
  description: 'RTX 4090',
  software: false,
  maxBufferMb: 4096,
};
const sw: DetectedAdapter = {
  vendor: 'google',
  architecture: 'swiftshader',
  description: 'SwiftShader Device (Subzero)',
  software: true,
  maxBufferMb: 1024,
};

describe('backend selection', () => {
  test('the rule: a hardware adapter with a device -> webgpu; software only or no device -> cpu with the reason', () => {
    expect(recommend([hw, sw], true, null)).toMatchObject({ recommended: 'webgpu', reason: null });
    const s = recommend([sw], true, null);
    expect(s.recommended).toBe('cpu');
    expect(s.reason).toMatch(/only software adapters were found \(SwiftShader Device \(Subzero\)\)/);
    expect(recommend([], false, 'No WebGPU adapter is available')).toMatchObject({
      recommended: 'cpu',
      reason: 'No WebGPU adapter is available',
    });
  });

  test('detection on this machine lists SwiftShader as a software adapter and recommends the CPU', async () => {
    useSwiftShader();
    const d = await detectGpu();
    expect(d.adapters.length).toBeGreaterThan(0);
    if (process.env['SSM_GPU_TEST_DRIVER'] !== 'system') {
      expect(d.adapters.every((a) => a.software)).toBe(true);
      expect(d.usable).toBe(true);
      expect(d.recommended).toBe('cpu');
      expect(d.reason).toMatch(/only software adapters/);
    }
  });

  test('child-process detection reports a failure as a reason, never a throw', async () => {
    const d = await detectGpuInChild(path.join(os.tmpdir(), 'no-such-detector.js'), 10_000);
    expect(d.recommended).toBe('cpu');
    expect(d.reason).toMatch(/GPU detection (process ended|could not start)/);
  });

  test('status service: detecting, then ready; the app follows the recommendation until the user picks', async () => {
    const store = new SettingsStore(mkdtempSync(path.join(os.tmpdir(), 'ssm-gpu-settings-')));
    let resolve: (d: ReturnType<typeof recommend>) => void = () => {};
    const svc = new GpuStatusService(
      () => new Promise((r) => (resolve = r)),
      (st) => {
        if (!store.get().backendChosen) void store.update({ backend: st.recommended });
      },
    );
    expect(svc.get().state).toBe('detecting');
    let changed: Settings | null = null;
    const handlers = appHandlers({
      mode: 'browser',
      version: '0',
      settings: store,
      network: new NetworkAudit(),
      engine: () => ({ loaded: false, reason: 'test' }),
      engineThreads: () => 1,
      onSettingsChanged: (s) => (changed = s),
      gpu: () => svc.get(),
    });
    resolve(recommend([hw], true, null));
    await svc.done;
    const st: GpuStatus = await handlers['gpu.status']({}, { transport: 'test' });
    expect(st).toMatchObject({ state: 'ready', recommended: 'webgpu', usable: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(store.get().backend).toBe('webgpu'); // followed the recommendation
    const next = await handlers['settings.update']({ backend: 'cpu' }, { transport: 'test' });
    expect(next).toMatchObject({ backend: 'cpu', backendChosen: true });
    expect(changed).toMatchObject({ backend: 'cpu' });
  });
});
