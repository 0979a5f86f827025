// The one contract for everything that crosses a process boundary. Types only: this module imports nothing at run time.
export type * from './app.js';
export type * from './errors.js';
export type * from './jobs.js';
export type * from './job-worker.js';
export type * from './json.js';
export type * from './media.js';
export type * from './messages.js';
export type * from './models.js';
export type * from './project.js';
export type * from './results.js';
export type * from './results-worker.js';
