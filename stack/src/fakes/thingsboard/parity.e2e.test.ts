import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ThingsBoardClient, UpstreamError, type EntityId } from '@cdm/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listen } from '../server.ts';
import { createThingsBoardFake } from './fake.ts';

/**
 * The ThingsBoard fake is a claim about ThingsBoard: the same scenario runs through cdm's client
 * against the fake and against the real ThingsBoard CE of the local stack, and what a client can
 * observe — answers, refusals, stored shapes — must be the same.
 */
const stack = inject('stack');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-parity-'));
let server: Server;
let fakeUrl: string;
beforeAll(async () => {
  ({ server, url: fakeUrl } = await listen(createThingsBoardFake().app));
});
afterAll(() => server.close());

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof UpstreamError ? e.status : String(e)),
  );
/** A device certificate as step-ca would issue it (self-signed here: ThingsBoard does not check the issuer on save). */
function certificate(cn: string): string {
  const key = path.join(tmp, `${cn}.key`);
  return execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', `/CN=${cn}`, '-days', '1'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

async function scenario(baseURL: string) {
  const run = crypto.randomBytes(3).toString('hex');
  const sys = new ThingsBoardClient({ baseURL, username: 'sysadmin@thingsboard.org', password: 'sysadmin', retries: 0 });
  const seen: Record<string, unknown> = {};
  const tenant = await sys.saveTenant({ title: `parity-${run}`, additionalInfo: { cdmId: `parity-${run}` } });
  try {
    seen.tenantInfoKept = JSON.stringify((await sys.getTenant(tenant.id!.id))?.additionalInfo) === JSON.stringify({ cdmId: `parity-${run}` });
    const admin = await sys.saveUser({ email: `admin-${run}@parity.invalid`, authority: 'TENANT_ADMIN', tenantId: { id: tenant.id!.id, entityType: 'TENANT' } });
    const as = await sys.actAs(admin.id!.id);
    seen.sysadminReadsDevices = await outcome(sys.findDeviceByName('x'));

    // People: who may delete whom.
    const customer = await as.saveCustomer({ title: `Operators ${run}` });
    seen.customerByTitle = (await as.findCustomerByTitle(`Operators ${run}`))?.id?.id === customer.id?.id;
    seen.missingCustomer = await as.findCustomerByTitle(`nobody ${run}`);
    const operator = await as.saveUser({ email: `op-${run}@parity.invalid`, authority: 'CUSTOMER_USER', customerId: customer.id! });
    seen.duplicateEmail = await outcome(as.saveUser({ email: `op-${run}@parity.invalid`, authority: 'CUSTOMER_USER', customerId: customer.id! }));
    seen.sysadminTokenForOperator = await outcome(sys.userToken(operator.id!.id));
    seen.sysadminDeletesOperator = await outcome(sys.deleteUser(operator.id!.id));
    seen.adminDeletesOperator = await outcome(as.deleteUser(operator.id!.id));
    seen.sysadminDeletesLastAdmin = await outcome(sys.deleteUser(admin.id!.id));

    // A device with an X.509 credential: stored without armour, identified by the SHA3-256 of that.
    const pem = certificate(`dev-${run}`);
    const device = await as.saveDeviceWithCredentials({ name: `dev-${run}`, type: 'default' }, { credentialsType: 'X509_CERTIFICATE', credentialsValue: pem });
    const creds = await as.getDeviceCredentials(device.id!.id);
    const der = new crypto.X509Certificate(pem).raw.toString('base64');
    seen.credentials = { type: creds?.credentialsType, valueIsBase64Der: creds?.credentialsValue === der, idIsSha3: creds?.credentialsId === crypto.createHash('sha3-256').update(der).digest('hex') };
    seen.missingDevice = await as.findDeviceByName(`none-${run}`);
    seen.deviceByName = (await as.findDeviceByName(`dev-${run}`))?.id?.id === device.id?.id;

    // Attributes and telemetry as the OTA mirror writes and reads them.
    const entity: EntityId = { id: device.id!.id, entityType: 'DEVICE' };
    await as.saveAttributes(entity, 'SERVER_SCOPE', { ota_status: 'success', ota_action_id: 7, ok: true, ratio: 0.5 });
    seen.attributes = (await as.getAttributes(entity, 'SERVER_SCOPE', ['ota_status', 'ota_action_id', 'ok', 'ratio', 'absent'])).map((a) => [a.key, a.value]).sort();
    seen.clientScopeEmpty = await as.getAttributes(entity, 'CLIENT_SCOPE', ['sw_version']);
    seen.clientScopeWrite = await outcome(as.saveAttributes(entity, 'CLIENT_SCOPE' as never, { x: 1 }));
    await as.saveTelemetry(entity, { sw_version: '2.1.0', battery: 87 });
    const latest = await as.getLatestTelemetry(entity, ['sw_version', 'battery', 'never_sent']);
    seen.telemetry = Object.fromEntries(Object.entries(latest).map(([k, v]) => [k, v[0]?.value]));

    // Alarms: one active alarm per originator and type; a new one only after clearing.
    const alarm = (severity: 'MAJOR' | 'CRITICAL') =>
      as.saveAlarm({ type: 'OTA Failure', name: 'OTA Failure', originator: entity, severity, status: 'ACTIVE_UNACK', acknowledged: false, cleared: false, details: { v: severity } });
    const a1 = await alarm('MAJOR');
    const a2 = await alarm('CRITICAL');
    seen.sameAlarm = a1.id?.id === a2.id?.id;
    const list = async (searchStatus: 'ACTIVE' | 'ANY') => {
      const out = [];
      for await (const p of as.alarmPages(entity, { searchStatus })) out.push(...p);
      return out.map((a) => ({ severity: a.severity, cleared: a.cleared, details: a.details }));
    };
    seen.activeAlarms = await list('ACTIVE');
    await as.clearAlarm(a1.id!.id);
    const a3 = await alarm('MAJOR');
    seen.newAlarmAfterClear = a3.id?.id !== a1.id?.id;
    seen.allAlarms = (await list('ANY')).map((a) => a.cleared).sort();
    seen.tenantAlarm = await outcome(
      as.saveAlarm({
        type: 'OTA Rollout Paused',
        name: 'OTA Rollout Paused',
        originator: { id: tenant.id!.id, entityType: 'TENANT' },
        severity: 'CRITICAL',
        status: 'ACTIVE_UNACK',
        acknowledged: false,
        cleared: false,
      }),
    );
    seen.sysadminRaisesAlarm = await outcome(sys.saveAlarm({ type: 'x', name: 'x', originator: entity, severity: 'MAJOR', status: 'ACTIVE_UNACK', acknowledged: false, cleared: false }));
    await as.deleteDevice(device.id!.id);
    seen.deletedDevice = await as.getDevice(device.id!.id);
  } finally {
    await sys.deleteTenant(tenant.id!.id);
  }
  seen.deletedTenant = await sys.getTenant(tenant.id!.id);
  return seen;
}

describe('ThingsBoard fake and real ThingsBoard CE agree', () => {
  it('on tenants, people and who may delete them, X.509 credentials, attributes, telemetry and alarms', async () => {
    const [onFake, onReal] = await Promise.all([scenario(fakeUrl), scenario(stack.thingsboard!.url)]);
    expect(onReal).toMatchObject({
      sysadminDeletesOperator: 403, // tenant-sync deletes operators as the tenant's admin
      credentials: { type: 'X509_CERTIFICATE', valueIsBase64Der: true, idIsSha3: true },
      sameAlarm: true,
    });
    expect(onFake).toEqual(onReal);
  });
});
