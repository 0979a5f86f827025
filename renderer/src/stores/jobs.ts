// Every job the app knows about, kept current from 'job' events. After a reload or a reconnect the store re-attaches:
// it follows events first, then reads jobs.list, and keeps whichever copy of a job is newer.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';

import type { JobInfo, JobStartParams } from '../../../contract/index.js';
import { useBridge } from '../composables/useBridge.js';
import { isFinished, isNewer } from '../jobs/job-order.js';
import { errorMessage } from '../transport/call-error.js';

export type JobsSyncState = 'idle' | 'running' | 'error';

export const useJobsStore = defineStore('jobs', () => {
  const bridge = useBridge();
  const byId = ref<Record<string, JobInfo>>({});
  const syncState = ref<JobsSyncState>('idle');
  const syncError = ref<string | null>(null);
  /** Finished jobs the user dismissed from the tray (local only). */
  const dismissed = ref<Set<string>>(new Set());

  const all = computed<JobInfo[]>(() => Object.values(byId.value).sort((x, y) => y.createdAt - x.createdAt));
  const visible = computed<JobInfo[]>(() => all.value.filter((j) => !dismissed.value.has(j.id)));
  const active = computed<JobInfo[]>(() => all.value.filter((j) => !isFinished(j.state)));

  function apply(job: JobInfo): void {
    if (isNewer(byId.value[job.id], job)) byId.value[job.id] = job;
  }

  async function sync(): Promise<void> {
    syncState.value = 'running';
    syncError.value = null;
    try {
      for (const job of await bridge.call('jobs.list', {})) apply(job);
      syncState.value = 'idle';
    } catch (err) {
      syncError.value = errorMessage(err);
      syncState.value = 'error';
    }
  }

  let attached = false;
  /** Follow events, then read the current list; again after every reconnect (events may have been missed). */
  function attach(): void {
    if (attached) return;
    attached = true;
    bridge.onEvent((event) => {
      if (event.type === 'job') apply(event.job);
    });
    bridge.onConnectionChange((s) => {
      if (s === 'open') void sync();
    });
    void sync();
  }

  async function start(job: JobStartParams): Promise<string> {
    const { jobId } = await bridge.call('jobs.start', job);
    return jobId;
  }

  async function cancel(jobId: string): Promise<boolean> {
    const { cancelled } = await bridge.call('jobs.cancel', { jobId });
    return cancelled;
  }

  function dismissFinished(): void {
    const next = new Set(dismissed.value);
    for (const j of all.value) if (isFinished(j.state)) next.add(j.id);
    dismissed.value = next;
  }

  return { byId, all, visible, active, syncState, syncError, attach, sync, start, cancel, dismissFinished };
});
