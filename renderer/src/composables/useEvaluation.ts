// One evaluation request with an explicit state. Each run gets a version; a reply that was overtaken by a newer run
// is dropped, so a slow evaluation of the previous selection never replaces the current one.
import { ref, shallowRef, type Ref, type ShallowRef } from 'vue';

import type { Method, Params, Result } from '../../../contract/index.js';
import { errorMessage } from '../transport/call-error.js';
import { useBridge } from './useBridge.js';

export type EvaluationState = 'idle' | 'running' | 'error';

export interface Evaluation<M extends Method> {
  state: Ref<EvaluationState>;
  error: Ref<string | null>;
  result: ShallowRef<Result<M> | null>;
  /** The params of the shown result. */
  params: ShallowRef<Params<M> | null>;
  run(params: Params<M>): Promise<Result<M> | null>;
  clear(): void;
}

export function useEvaluation<M extends Method>(method: M): Evaluation<M> {
  const bridge = useBridge();
  const state = ref<EvaluationState>('idle');
  const error = ref<string | null>(null);
  const result = shallowRef<Result<M> | null>(null);
  const params = shallowRef<Params<M> | null>(null);
  let version = 0;

  async function run(p: Params<M>): Promise<Result<M> | null> {
    const v = ++version;
    state.value = 'running';
    error.value = null;
    try {
      const r = await bridge.call(method, p);
      if (v !== version) return null;
      result.value = r;
      params.value = p;
      state.value = 'idle';
      return r;
    } catch (err) {
      if (v !== version) return null;
      error.value = errorMessage(err);
      state.value = 'error';
      return null;
    }
  }

  function clear(): void {
    version++;
    result.value = null;
    params.value = null;
    state.value = 'idle';
    error.value = null;
  }

  return { state, error, result, params, run, clear };
}
