// The Results view's state, kept across navigation: the model chosen per task and the last evaluation of each kind.
import { defineStore } from 'pinia';
import { markRaw, reactive } from 'vue';

import type { ModelTask } from '../../../contract/index.js';
import { useEvaluation } from '../composables/useEvaluation.js';

export const useResultsStore = defineStore('results', () => {
  const model = reactive<Record<ModelTask, string>>({ classify: '', segment: '', interpolate: '' });
  // markRaw: the store's reactive wrapper would otherwise unwrap the evaluations' refs.
  const classify = markRaw(useEvaluation('results.classify'));
  const segment = markRaw(useEvaluation('results.segment'));
  const interpolate = markRaw(useEvaluation('results.interpolate'));
  return { model, classify, segment, interpolate };
});
