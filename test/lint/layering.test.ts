// The layering by runtime is enforced by lint, not by good intentions: these imports must be rejected.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

import { ROOT } from '../../main/app/paths.js';

const eslint = new ESLint({ cwd: ROOT });

async function restrictedMessages(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, filePath) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layering lint rule', () => {
  it('rejects an import from renderer/ into main/', async () => {
    const msgs = await restrictedMessages(
      "import { Router } from '../../main/ipc/router.js';\nexport const r = Router;\n",
      'renderer/src/bad-import.ts',
    );
    expect(msgs.join('\n')).toMatch(/Bad layering: the renderer never imports main\//);
  });

  it('rejects native/, electron and Node built-ins in the renderer', async () => {
    for (const spec of ['../../native/build/Release/ssm_engine.node', 'electron', 'node:fs']) {
      const msgs = await restrictedMessages(`import x from '${spec}';\nexport const y = x;\n`, 'renderer/src/bad.ts');
      expect(msgs.length, spec).toBeGreaterThan(0);
    }
  });

  it('allows electron only in main/electron/', async () => {
    const code = "import { app } from 'electron';\nexport const a = app;\n";
    expect(await restrictedMessages(code, 'main/jobs/bad.ts')).not.toHaveLength(0);
    expect(await restrictedMessages(code, 'main/electron/window.ts')).toHaveLength(0);
  });

  it('keeps the contract free of imports', async () => {
    expect(
      await restrictedMessages("import { z } from 'zod';\nexport const s = z;\n", 'contract/bad.ts'),
    ).not.toHaveLength(0);
    expect(await restrictedMessages("export type * from './jobs.js';\n", 'contract/ok.ts')).toHaveLength(0);
  });
});

describe('Electron security settings', () => {
  it('no main-process source weakens the renderer sandbox', () => {
    const files = readdirSync(path.join(ROOT, 'main'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    );
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const src = readFileSync(path.join(ROOT, 'main', f), 'utf8');
      expect(src, f).not.toMatch(/nodeIntegration:\s*true/);
      expect(src, f).not.toMatch(/contextIsolation:\s*false/);
      expect(src, f).not.toMatch(/webSecurity:\s*false/);
      expect(src, f).not.toMatch(/sandbox:\s*false/);
    }
  });
});
