import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@cdm/common';
import { CommandRunner, statusFromRpc } from './commands.ts';
import { FakeThingsBoard } from './fleet.test-helpers.ts';
import { FleetStore, type Command } from './store.ts';

const log = createLogger('commands-test', { level: 'silent' });

async function scene() {
  const tb = new FakeThingsBoard();
  tb.add('T', 'd1');
  const store = await FleetStore.open({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-commands-')) });
  const runner = new CommandRunner({ store, gateway: tb, logger: log });
  const now = Date.now();
  const c: Command = {
    id: 'c-1',
    tenantId: 'T',
    deviceId: 'd1',
    tbDeviceId: 'tb-d1',
    operation: 'reboot',
    params: {},
    requestedBy: 'u',
    requestedByName: 'u',
    status: 'sending',
    createdAt: now,
    expiresAt: now + 60_000,
    updatedAt: now,
    checkedAt: now,
  };
  await store.insertCommand(c);
  return { tb, store, runner, c };
}

describe('command runner', () => {
  it('a status read while the first send is still on its way waits for it: the device gets the command once', async () => {
    const { tb, runner, c, store } = await scene();
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const send = tb.sendRpc.bind(tb);
    tb.sendRpc = async (...a) => (await slow, send(...a));
    const sending = runner.send(c);
    // The loop (or the API's read-through) looks at the same `sending` command meanwhile.
    const reading = runner.refresh(c);
    await new Promise((r) => setTimeout(r, 20));
    release();
    await Promise.all([sending, reading]);
    expect(tb.sends.get('c-1')).toBe(1);
    expect((await store.getCommand('c-1'))!.status).toBe('delivered');
  });

  it("reads the agent's answer: ok → successful with the result, a refusal → failed with its reason, anything else → failed naming it", () => {
    const rpc = { id: { id: 'r', entityType: 'RPC' as const }, createdTime: 0, deviceId: { id: 'd', entityType: 'DEVICE' as const }, expirationTime: 0 };
    expect(statusFromRpc({ ...rpc, status: 'SUCCESSFUL', response: { ok: true, result: { x: 1 } } })).toEqual({ status: 'successful', result: { x: 1 } });
    expect(statusFromRpc({ ...rpc, status: 'SUCCESSFUL', response: { ok: false, error: 'no' } })).toEqual({ status: 'failed', error: 'no' });
    expect(statusFromRpc({ ...rpc, status: 'SUCCESSFUL', response: 'rebooting' }).error).toMatch(/outside the agent protocol/);
    expect(statusFromRpc({ ...rpc, status: 'EXPIRED' }).status).toBe('expired');
    expect(statusFromRpc({ ...rpc, status: 'DELETED' }).status).toBe('cancelled');
  });
});
