import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import {
  HawkbitClient,
  HawkbitDdiClient,
  InfluxClient,
  ThingsBoardClient,
  createLogger,
  loadConfig,
  rolloutBody,
  startWhenReady,
  targetDescription,
  type Alarm,
  type EntityId,
  type MgmtRollout,
} from '@cdm/common';
import { bridgeEnv, defaultContext, repoDir, tenantBucketFor, thingsboardTenant, type Endpoint } from '@cdm/stack';
import { recordEnrolled, serveDirectory } from '../../enroll-bridge/src/directory.test-helpers.ts';
import { Store } from '../../enroll-bridge/src/store.ts';
import { composeOtaBridge } from './compose.ts';
import { otaBridgeConfig } from './config.ts';

/** The ota-bridge command line (main.ts) with this environment, as ops run it: its exit code and output. */
export const otaCli = (env: Record<string, string>, ...args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(repoDir, 'ota-bridge', 'src', 'main.ts'), ...args], { env: { ...process.env, ...env }, timeout: 300_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );

/**
 * What an ota-bridge e2e test needs on the local stack: a tenant as tenant-sync and enroll-bridge
 * leave it (ThingsBoard tenant with its bridge admin and devices, hawkBit targets naming the
 * tenant, the tenant's bucket, enroll-bridge's directory), devices driven through hawkBit's DDI API
 * as a RAUC client would, and ota-bridge composed as main.ts does, with a clock the test can move
 * (boot windows, holds) and restart.
 */
export async function otaScene(stack: Record<string, Endpoint>, name: string, count: number, extraEnv: Record<string, string> = {}) {
  const run = crypto.randomBytes(3).toString('hex');
  const cdmId = `e2e-${name}-${run}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `cdm-${name}-`));
  const identity = await Store.open({ dataDir: path.join(tmp, 'enroll'), poolCidr: '10.99.0.0/16' });
  const directory = await serveDirectory(identity, `${stack.keycloak!.url}/realms/cdm`);
  const env = {
    ...bridgeEnv(stack, defaultContext().stateDir)['ota-bridge'],
    DIRECTORY_URL: directory.url,
    DATA_DIR: path.join(tmp, 'data'),
    LOG_LEVEL: 'warn',
    BOOT_WINDOW_SECONDS: '60',
    GATE_THRESHOLD_PERCENT: '20',
    ...extraEnv,
  };
  const config = loadConfig(otaBridgeConfig, env);
  const logger = createLogger(`${name}-e2e`, { level: 'silent' });
  const clock = { offset: 0 }; // added to Date.now(): boot windows and holds pass without waiting
  const compose = () => composeOtaBridge(config, logger, { now: () => Date.now() + clock.offset });
  let bridge = await compose();
  const tb = new ThingsBoardClient({ baseURL: config.THINGSBOARD_URL, username: config.THINGSBOARD_USERNAME, password: config.THINGSBOARD_PASSWORD });
  const hawkbit = new HawkbitClient({ baseURL: config.HAWKBIT_URL, username: config.HAWKBIT_USERNAME, password: config.HAWKBIT_PASSWORD });
  const influx = new InfluxClient({ baseURL: config.INFLUXDB_URL, token: config.INFLUXDB_TOKEN });
  const devices = Array.from({ length: count }, (_, i) => `${name}-${run}-${i}`);
  const ddi: Record<string, HawkbitDdiClient> = {};
  const tbIds: Record<string, string> = {};

  const { entity: tenantEntity, as } = await thingsboardTenant(tb, cdmId);
  await tenantBucketFor(influx, config.INFLUXDB_ORG, cdmId);
  await hawkbit.setConfig('authentication.targettoken.enabled', true);
  const targets = await hawkbit.createTargets(devices.map((d) => ({ controllerId: d, name: d, description: `cdm tenant ${cdmId}` })));
  for (const d of devices) {
    tbIds[d] = (await as.saveDevice({ name: d, type: 'default' })).id!.id;
    await recordEnrolled(identity, { deviceId: d, tenantId: cdmId, tbDeviceId: tbIds[d] });
    ddi[d] = new HawkbitDdiClient({ baseURL: config.HAWKBIT_URL, controllerId: d, securityToken: targets.find((x) => x.controllerId === d)!.securityToken });
    await ddi[d].poll(); // registered: hawkBit now knows it is alive
  }
  const rollouts: number[] = [];
  const dev = (d: string): EntityId => ({ id: tbIds[d]!, entityType: 'DEVICE' }) as EntityId;

  return {
    cdmId,
    tmp,
    env,
    config,
    clock,
    devices,
    ddi,
    /** Each device's hawkBit target token (what enrollment hands the device). */
    tokens: Object.fromEntries(targets.map((x) => [x.controllerId, x.securityToken])) as Record<string, string>,
    hawkbit,
    influx,
    as,
    tenantEntity,
    dev,
    /** The running ota-bridge; `restart` closes its store and composes a new one on the same data. */
    bridge: () => bridge,
    /** Another ota-bridge on the same configuration: with DATABASE_URL, a second replica. */
    replica: () => compose(),
    restart: async () => {
      await bridge.store.close();
      bridge = await compose();
      return bridge;
    },
    /** Rollouts the test made, deleted at the end (an open one would keep later bridges reporting it). */
    track: (rolloutId: number) => rollouts.push(rolloutId),
    /**
     * A started rollout of a new version over the tenant's devices, built by the shared rules (as
     * `publish` and the fleet API build it): stages of `groups` percent, the given success/error
     * percentages and hold between stages.
     */
    startRollout: async (version: string, o: { groups: number[]; successPct: number; errorPct: number; holdSeconds?: number }): Promise<MgmtRollout> => {
      const sm = await hawkbit.createSoftwareModule({ name: `rauc-${cdmId}`, version, type: 'os' });
      const ds = await hawkbit.createDistributionSet({ name: `firmware-${cdmId}`, version, type: 'os', description: targetDescription(cdmId), modules: [{ id: sm.id }] });
      const r = await hawkbit.createRollout(rolloutBody({ version, tenant: { cdmId, name: cdmId }, holdSeconds: 0, action: 'forced', ...o }, ds.id));
      rollouts.push(r.id);
      await startWhenReady(hawkbit, r);
      return r;
    },
    alarms: async (originator: EntityId, type: string): Promise<Alarm[]> => {
      const out: Alarm[] = [];
      for await (const p of as.alarmPages(originator, { searchStatus: 'ANY' })) out.push(...p.filter((a) => a.type === type));
      return out;
    },
    attrs: async (d: string): Promise<Record<string, unknown>> => Object.fromEntries((await as.getAttributes(dev(d), 'SERVER_SCOPE')).map((a) => [a.key, a.value])),
    /**
     * The device side of one deployment: poll (again, as a device does, while hawkBit's rollout
     * scheduler has not started its group yet), fetch the deployment, report each stage.
     */
    deploy: async (d: string, outcome: 'success' | 'failure'): Promise<number> => {
      let p = await ddi[d]!.poll();
      for (const deadline = Date.now() + 30_000; p.deploymentActionId === undefined && Date.now() < deadline; p = await ddi[d]!.poll()) await new Promise((r) => setTimeout(r, 500));
      expect(p.deploymentActionId, `${d} has a deployment`).toBeDefined();
      const id = p.deploymentActionId!;
      await ddi[d]!.getDeploymentBase(id);
      await ddi[d]!.sendFeedback(id, { execution: 'proceeding', finished: 'none', details: ['downloading bundle'] });
      await ddi[d]!.sendFeedback(id, {
        execution: 'closed',
        finished: outcome,
        details: outcome === 'success' ? ['rauc install: ok, rebooting'] : ['rauc install: signature check failed', 'staying on slot A'],
      });
      return id;
    },
    /** The device reports what it runs, as its telemetry would after boot. */
    reportVersion: (d: string, v: string) => as.saveTelemetry(dev(d), { sw_version: v }),
    close: async () => {
      await bridge.store.close();
      directory.close();
      await identity.close();
      for (const id of rollouts) await hawkbit.deleteRollout(id).catch(() => undefined);
      for (const d of devices) await hawkbit.deleteTarget(d).catch(() => undefined);
      await tb.deleteTenant(tenantEntity.id).catch(() => undefined);
    },
  };
}
