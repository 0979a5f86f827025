import { readonly, ref, type DeepReadonly, type Ref } from 'vue';

import { errorMessage } from '../transport/call-error.js';

export type RequestState = 'idle' | 'running' | 'error';

export interface Request<A extends unknown[], R> {
  state: DeepReadonly<Ref<RequestState>>;
  /** The last failure's message while state is 'error'. */
  error: DeepReadonly<Ref<string | null>>;
  /** Runs the request; resolves to undefined on failure (the failure is in `error`). */
  run(...args: A): Promise<R | undefined>;
}

/** One async action with an explicit state, for buttons and forms. */
export function useRequest<A extends unknown[], R>(fn: (...args: A) => Promise<R>): Request<A, R> {
  const state = ref<RequestState>('idle');
  const error = ref<string | null>(null);
  async function run(...args: A): Promise<R | undefined> {
    state.value = 'running';
    error.value = null;
    try {
      const result = await fn(...args);
      state.value = 'idle';
      return result;
    } catch (err) {
      error.value = errorMessage(err);
      state.value = 'error';
      return undefined;
    }
  }
  return { state: readonly(state), error: readonly(error), run };
}
