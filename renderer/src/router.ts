// Hash history: the same URLs work from file:// (Electron) and from the browser-mode server.
import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';

import { NAV_ITEMS } from './navigation.js';
import LabelView from './views/LabelView.vue';
import LibraryView from './views/LibraryView.vue';
import ModelsView from './views/ModelsView.vue';
import ResultsView from './views/ResultsView.vue';
import SettingsView from './views/SettingsView.vue';
import TrainView from './views/TrainView.vue';

const components = {
  library: LibraryView,
  label: LabelView,
  train: TrainView,
  results: ResultsView,
  models: ModelsView,
  settings: SettingsView,
} as const;

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/library' },
  ...NAV_ITEMS.map((item) => ({ path: item.path, name: item.name, component: components[item.name] })),
  { path: '/:unknown(.*)*', redirect: '/library' },
];

export function createAppRouter() {
  return createRouter({ history: createWebHashHistory(), routes });
}
