import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDeadLetters, runHold } from './cli.ts';
import { OtaStore } from './store.ts';

describe('ota-bridge dead-letters', () => {
  it('lists what was set aside with its reason, clears one or all, and refuses a bad action id', async () => {
    const store = await OtaStore.open({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-dl-')) });
    const lines: string[] = [];
    const run = (...argv: string[]) => runDeadLetters(argv, store, (l) => lines.push(l));
    try {
      expect(await run()).toBe(0);
      expect(lines.splice(0)).toEqual(['no dead letters']);
      await store.addDeadLetter({ actionId: 7, controllerId: 'dev-1', reason: 'ThingsBoard: device gone (404)', at: Date.UTC(2026, 10, 1) });
      await store.addDeadLetter({ actionId: 9, controllerId: 'dev-2', reason: 'no ThingsBoard device in the directory', at: Date.UTC(2026, 10, 2) });
      await run();
      expect(lines.splice(0)).toEqual([
        '2026-11-01T00:00:00.000Z  action 7  dev-1  ThingsBoard: device gone (404)',
        '2026-11-02T00:00:00.000Z  action 9  dev-2  no ThingsBoard device in the directory',
        '2 dead letter(s)',
      ]);
      await expect(run('clear', 'x7')).rejects.toThrow(/action id/);
      await expect(run('purge')).rejects.toThrow(/unknown dead-letters command purge/);
      await run('clear', '7');
      expect((await store.deadLetters()).map((d) => d.actionId)).toEqual([9]);
      await run('clear');
      expect(lines.splice(0)).toEqual(['1 dead letter(s) cleared', '1 dead letter(s) cleared']);
      expect(await store.deadLetterCount()).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe('ota-bridge hold', () => {
  it("changes a rollout's holds from now on and keeps who changed them; refuses what is not an id and a duration", async () => {
    const store = await OtaStore.open({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-hold-')) });
    const lines: string[] = [];
    const run = (by: string, ...argv: string[]) => runHold(argv, store, { by, now: 1_000, out: (l) => lines.push(l) });
    try {
      expect(await run('alice', '42', '2h')).toBe(0);
      expect(await store.holdOverride(42)).toEqual({ holdSeconds: 7200, by: 'alice', at: 1_000 });
      await run('bob', '42', '0');
      expect(lines).toEqual(['rollout 42: stages held 7200 s from now on; changed by alice', 'rollout 42: stages held 0 s from now on (was 7200 s, set by alice); changed by bob']);
      await expect(run('eve', 'x', '2h')).rejects.toThrow(/rollout id and a duration/);
      await expect(run('eve', '42', 'soon')).rejects.toThrow(/not a duration/);
      expect((await store.holdOverride(42))?.by).toBe('bob');
    } finally {
      await store.close();
    }
  });
});
