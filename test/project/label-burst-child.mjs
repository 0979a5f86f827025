// Child process for crash.test.ts: a labeling burst against a project, printing the index of every committed edit.
// Edit i sets item (i mod n) to class "c<i>" and, every 5th edit, a mask. The parent SIGKILLs this process mid-burst.
import { writeSync } from 'node:fs';

const [, , distStore, projectDir] = process.argv;
const { ProjectStore } = await import(distStore);
const store = ProjectStore.open(projectDir);
const items = store.items(0, 1_000_000);
const n = items.length;
for (let i = 0; ; i += 1) {
  const item = items[i % n];
  store.setLabel(item.id, `c${i}`);
  if (i % 5 === 0)
    store.setMask(item.id, 2, 0, {
      width: item.width,
      height: item.height,
      data: new Uint8Array(item.width * item.height).fill(i % 250),
    });
  writeSync(1, `${i}\n`); // synchronous: a printed index is a committed edit
}
