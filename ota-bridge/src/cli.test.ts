import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDeadLetters } from './cli.ts';
import { OtaStore } from './store.ts';

describe('ota-bridge dead-letters', () => {
  it('lists what was set aside with its reason, clears one or all, and refuses a bad action id', () => {
    const store = new OtaStore(fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-dl-')));
    const lines: string[] = [];
    const run = (...argv: string[]) => runDeadLetters(argv, store, (l) => lines.push(l));
    try {
      expect(run()).toBe(0);
      expect(lines.splice(0)).toEqual(['no dead letters']);
      store.addDeadLetter({ actionId: 7, controllerId: 'dev-1', reason: 'ThingsBoard: device gone (404)', at: Date.UTC(2026, 10, 1) });
      store.addDeadLetter({ actionId: 9, controllerId: 'dev-2', reason: 'no ThingsBoard device in the directory', at: Date.UTC(2026, 10, 2) });
      run();
      expect(lines.splice(0)).toEqual([
        '2026-11-01T00:00:00.000Z  action 7  dev-1  ThingsBoard: device gone (404)',
        '2026-11-02T00:00:00.000Z  action 9  dev-2  no ThingsBoard device in the directory',
        '2 dead letter(s)',
      ]);
      expect(() => run('clear', 'x7')).toThrow(/action id/);
      expect(() => run('purge')).toThrow(/unknown dead-letters command purge/);
      run('clear', '7');
      expect(store.deadLetters().map((d) => d.actionId)).toEqual([9]);
      run('clear');
      expect(lines.splice(0)).toEqual(['1 dead letter(s) cleared', '1 dead letter(s) cleared']);
      expect(store.deadLetterCount()).toBe(0);
    } finally {
      store.close();
    }
  });
});
