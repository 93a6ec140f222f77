import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeviceDirectoryClient, KeycloakClient, UpstreamError } from '@cdm/common';
import { createPerson } from '@cdm/stack';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { recordEnrolled, serveDirectory } from './directory.test-helpers.ts';
import { Store } from './store.ts';

/**
 * The device directory against the real Keycloak: only a service account whose tokens carry the
 * directory's audience may ask; people's tokens and no token are refused; answers hold identity,
 * never certificates or keys.
 */
const stack = inject('stack');
const kcUrl = stack.keycloak!.url;
const run = crypto.randomBytes(3).toString('hex');
const store = await Store.open({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-dir-')), poolCidr: '10.98.0.0/16' });
const directory = await serveDirectory(store, `${kcUrl}/realms/cdm`);
const service = new KeycloakClient({ baseURL: kcUrl, realm: 'cdm', clientId: stack.keycloak!.extra!.bridgeClientId!, clientSecret: stack.keycloak!.extra!.bridgeClientSecret! });
const kcAdmin = new KeycloakClient({ baseURL: kcUrl, realm: 'cdm', authRealm: 'master', clientId: 'admin-cli', username: 'admin', password: 'admin' });
const people: string[] = [];
afterAll(async () => {
  directory.close();
  await store.close();
  for (const id of people) await kcAdmin.deleteUser(id).catch(() => undefined);
});

describe('device directory (enroll-bridge, read-only for other services)', () => {
  it('answers a service account with identity only: tenant, status, address, host key, ThingsBoard device', async () => {
    await recordEnrolled(store, { deviceId: `dir-${run}-1`, tenantId: 'tenant-a', tbDeviceId: 'tb-1' });
    await store.update(`dir-${run}-1`, { certPem: '-----BEGIN CERTIFICATE-----x', sshHostKey: 'ssh-ed25519 AAAA' });
    const client = new DeviceDirectoryClient({ baseURL: directory.url, token: () => service.accessToken() });
    const d = await client.get(`dir-${run}-1`);
    expect(d).toEqual({ deviceId: `dir-${run}-1`, tenantId: 'tenant-a', status: 'active', wgIp: expect.stringMatching(/^10\.98\./), sshHostKey: 'ssh-ed25519 AAAA', tbDeviceId: 'tb-1' });
    expect(await client.get(`dir-${run}-none`)).toBeUndefined();
    const many = await client.lookup([`dir-${run}-1`, `dir-${run}-none`]);
    expect([...many.keys()]).toEqual([`dir-${run}-1`]);
  });

  it('attack: a person’s token (another audience), a forged one, or none get nothing', async () => {
    const password = `pw-${crypto.randomBytes(6).toString('hex')}`;
    people.push(await createPerson(kcAdmin, { username: `dir-${run}`, password, groups: [] }));
    const r = await fetch(`${kcUrl}/realms/cdm/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', client_id: 'cdm-console', username: `dir-${run}`, password }),
    });
    const personToken = ((await r.json()) as { access_token: string }).access_token;
    for (const token of [personToken, `${(await service.accessToken()).slice(0, -4)}AAAA`, '']) {
      const client = new DeviceDirectoryClient({ baseURL: directory.url, token: async () => token });
      const err = await client.get(`dir-${run}-1`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UpstreamError);
      expect((err as UpstreamError).status).toBe(401);
    }
  });
});
