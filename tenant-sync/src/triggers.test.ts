import type { AdminEventRepresentation, KeycloakClient } from '@cdm/common';
import { createLogger } from '@cdm/common';
import { describe, expect, it } from 'vitest';
import type { TenantIndex } from './scope.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb } from '@cdm/common/db';
import { Lease } from '@cdm/common/lease';
import { Triggers } from './triggers.ts';

const index: TenantIndex = { tenantOfGroup: (id) => (id.startsWith('t') ? id : undefined), tenantsOfUser: () => [] };

function harness(passMs = 0, fullEveryMs = 3_600_000, lease?: Lease) {
  let events: AdminEventRepresentation[] = [];
  const passes: (string[] | 'full')[] = [];
  const keycloak = { recentAdminEvents: async (max: number) => events.slice(0, max) } as unknown as KeycloakClient;
  const t = new Triggers({
    keycloak,
    logger: createLogger('test', { level: 'silent' }),
    schedule: '0 0 1 1 *',
    fullEveryMs,
    eventsPollMs: 3_600_000,
    index: () => index,
    pass: async (tenants) => {
      passes.push(tenants ? [...tenants].sort() : 'full');
      await new Promise((r) => setTimeout(r, passMs));
    },
    lease,
  });
  const emit = (...xs: { path: string; time: number; type?: string; by?: string }[]) =>
    (events = [...xs.map((x) => ({ time: x.time, resourceType: x.type ?? 'GROUP', resourcePath: x.path, authDetails: { userId: x.by ?? 'someone' } })).reverse(), ...events]);
  return { t, passes, emit };
}

describe('Triggers', () => {
  it('runs a pass over the tenants new events name, once', async () => {
    const h = harness();
    h.emit({ path: 'groups/t1', time: 1 }, { path: 'users/u/groups/t2', time: 2, type: 'GROUP_MEMBERSHIP' }, { path: 'clients/c', time: 3, type: 'CLIENT' });
    await h.t.checkEvents();
    await h.t.checkEvents();
    expect(h.passes).toEqual([['t1', 't2']]);
  });

  it('names arriving while a pass runs get a pass of their own right after it', async () => {
    const h = harness(50);
    h.emit({ path: 'groups/t1', time: 1 });
    const first = h.t.checkEvents();
    await new Promise((r) => setTimeout(r, 10));
    h.emit({ path: 'groups/t2', time: 2 });
    await Promise.all([first, h.t.checkEvents()]);
    expect(h.passes).toEqual([['t1'], ['t2']]);
  });

  it('makes a scheduled pass full once FULL_SYNC_EVERY has passed, and reads listings only (no tenant named) in between', async () => {
    const h = harness(0, 60);
    await h.t.loop.trigger('schedule');
    await h.t.loop.trigger('schedule');
    await new Promise((r) => setTimeout(r, 70));
    await h.t.loop.trigger('schedule');
    expect(h.passes).toEqual(['full', [], 'full']);
  });

  it('runs a full pass when a check finds only new events (some may not have been read)', async () => {
    const h = harness();
    h.emit(...Array.from({ length: 100 }, (_, i) => ({ path: 'groups/t1', time: i + 1 })));
    await h.t.checkEvents();
    expect(h.passes).toEqual(['full']);
  });

  it('with replicas: only the lease holder runs passes, Keycloak changes included; the other takes over when it stops', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-triggers-'));
    const schema = { name: 'tenant-sync', sqlite: [], postgres: [] };
    const [da, db] = [await openDb({ dataDir, file: 'l.sqlite', schema }), await openDb({ dataDir, file: 'l.sqlite', schema })];
    const a = harness(0, 3_600_000, new Lease(da, 'tenant-sync:pass', 300, 'a'));
    const b = harness(0, 3_600_000, new Lease(db, 'tenant-sync:pass', 300, 'b'));
    await a.t.start();
    await new Promise((r) => setTimeout(r, 50));
    await b.t.start();
    for (const h of [a, b]) h.emit({ path: 'groups/t1', time: 1 });
    await Promise.all([a.t.checkEvents(), b.t.checkEvents()]);
    expect(a.passes).toEqual(['full', ['t1']]);
    expect(b.passes).toEqual([]);
    await a.t.stop();
    await new Promise((r) => setTimeout(r, 250));
    b.emit({ path: 'groups/t2', time: 2 });
    await b.t.checkEvents();
    // What it saw while standing by is not lost: its first pass as holder covers t1 too.
    expect(b.passes).toEqual([['t1', 't2']]);
    await b.t.stop();
    await Promise.all([da.close(), db.close()]);
  });
});
