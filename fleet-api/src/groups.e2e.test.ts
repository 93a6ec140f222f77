import { enroll, type DeviceIdentity, type Fleet } from '@cdm/device';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fleetScene } from './e2e.test-helpers.ts';

/**
 * A group operation through the fleet API on the real ThingsBoard, against simulated devices that
 * enrolled through enroll-bridge and speak the agent protocol over their own mutual-TLS MQTT
 * sessions. Ten devices are offline when it starts: their commands wait queued and are delivered
 * when they connect.
 */
const DEVICES = Number(process.env.FLEET_E2E_DEVICES ?? 1000);
const OFFLINE = 10;
const CONCURRENCY = 50;
const stack = inject('stack');
const scene = await fleetScene(stack, 'groups');
const { call, until } = scene;
const log = (l: string) => process.stderr.write(`  groups-e2e: ${l}\n`);
let online: Fleet;
let late: Fleet | undefined;
let identities: DeviceIdentity[] = [];

beforeAll(async () => {
  const t0 = Date.now();
  const claim = await scene.claim(DEVICES);
  const ids = Array.from({ length: DEVICES }, (_, i) => `GRP${scene.run.toUpperCase()}${String(i).padStart(5, '0')}`);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        identities.push(await enroll(scene.enrollUrl, claim, id));
      }
    }),
  );
  identities = identities.sort((a, b) => a.id.localeCompare(b.id));
  log(`${DEVICES} devices enrolled in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  online = scene.simulate(identities.slice(OFFLINE));
  const t1 = Date.now();
  await online.start();
  log(`${online.stats().connected} devices connected in ${((Date.now() - t1) / 1000).toFixed(1)} s (${online.stats().connectFailures} failures)`);
  expect(online.stats().connected).toBe(DEVICES - OFFLINE);
  late = scene.simulate(identities.slice(0, OFFLINE));
}, 900_000);

afterAll(async () => {
  await online?.stop();
  await late?.stop();
  await scene.close();
}, 300_000);

describe(`group operation on ${DEVICES} simulated devices`, () => {
  it('needs confirmation above the threshold, then reboots them all with a concurrency limit, progress and outcomes; offline ones on return', async () => {
    const body = { tenant: scene.group, selector: {}, operation: 'reboot', concurrency: CONCURRENCY, expiresInSeconds: 900 };
    const refused = await call('operator', 'POST', '/groups/operations', body);
    expect(refused).toMatchObject({ status: 422, body: { error: expect.stringMatching(new RegExp(`matches ${DEVICES} devices`)) } });
    expect((await call('oncall', 'POST', '/groups/operations', { ...body, operation: 'factory-reset', confirm: true })).status).toBe(403);

    const t0 = Date.now();
    const started = await call('operator', 'POST', '/groups/operations', { ...body, confirm: true });
    expect(started).toMatchObject({ status: 202, body: { progress: { total: DEVICES, pending: DEVICES } } });
    const id = started.body.group.id as string;
    const seen: string[] = [];
    let maxInProgress = 0;
    const progress = await until(
      'every online device done',
      async () => {
        const p = (await call('oncall', 'GET', `/groups/operations/${id}`)).body.progress;
        maxInProgress = Math.max(maxInProgress, p['in-progress']);
        const line = `done ${p.done}, in progress ${p['in-progress']}, pending ${p.pending}, offline-queued ${p['offline-queued']}, failed ${p.failed}`;
        if (seen.at(-1) !== line) seen.push(line);
        return p;
      },
      (p) => p.done + p.failed === DEVICES - OFFLINE && p.pending === 0,
      600_000,
      1000,
    );
    const allOnline = (Date.now() - t0) / 1000;
    log(`progress: ${seen.slice(0, 3).join(' | ')} … ${seen.at(-1)}`);
    log(`${DEVICES - OFFLINE} online devices rebooted in ${allOnline.toFixed(1)} s; at most ${maxInProgress} in progress at a poll`);
    expect(progress).toMatchObject({ done: DEVICES - OFFLINE, failed: 0, 'offline-queued': OFFLINE });
    expect(maxInProgress).toBeLessThanOrEqual(CONCURRENCY);
    expect(seen.length).toBeGreaterThan(2); // progress was visible on the way

    // The devices that were offline come back and take their queued command.
    await late!.start();
    const final = await until(
      'offline devices done on return',
      async () => (await call('oncall', 'GET', `/groups/operations/${id}`)).body,
      (v) => v.group.state === 'finished',
      120_000,
      1000,
    );
    log(`all ${DEVICES} outcomes in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(final.progress).toMatchObject({ total: DEVICES, done: DEVICES });
    expect(final.devices.every((d: { outcome: string }) => d.outcome === 'done')).toBe(true);
    // Each device ran the operation exactly once.
    const s = online.stats();
    const l = late!.stats();
    expect(s.rpcs + l.rpcs).toBe(DEVICES);
    expect(s.reboots + l.reboots).toBe(DEVICES);
  });
});
