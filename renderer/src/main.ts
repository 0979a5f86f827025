import { createPinia } from 'pinia';
import { createApp } from 'vue';

import App from './App.vue';
import { createAppRouter } from './router.js';
import './styles/base.css';
import './styles/workbench.css';
import { BRIDGE, createBridge } from './transport/bridge.js';

// Browser mode: the access token has done its job (the server set a session cookie); keep it out of the address
// bar, history and bookmarks.
const url = new URL(location.href);
if (url.searchParams.has('token')) {
  url.searchParams.delete('token');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}

const app = createApp(App);
app.provide(BRIDGE, createBridge());
app.use(createPinia());
app.use(createAppRouter());
app.mount('#app');
