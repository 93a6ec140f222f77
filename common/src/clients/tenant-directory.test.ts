import { SignJWT } from 'jose';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { TenantDirectory } from './tenant-directory.ts';
import { ThingsBoardClient } from './thingsboard.ts';
import { useMsw } from './testing.ts';

const base = 'http://tb.test';
const server = useMsw();
const jwt = () =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('15m')
    .sign(new TextEncoder().encode('k'.repeat(32)));
const tenant = (id: string, title: string, disabled?: boolean) => ({ id: { id: `tb-${id}`, entityType: 'TENANT' }, title, additionalInfo: { cdmId: id, ...(disabled ? { cdmDisabled: true } : {}) } });

function directory(tenants: object[]) {
  server.use(
    http.post(`${base}/api/auth/login`, async () => HttpResponse.json({ token: await jwt(), refreshToken: 'r' })),
    http.get(`${base}/api/tenants`, () => HttpResponse.json({ data: tenants, hasNext: false, totalPages: 1, totalElements: tenants.length })),
  );
  return new TenantDirectory(new ThingsBoardClient({ baseURL: base, username: 'sysadmin', password: 'pw', retries: 0 }), 0);
}

describe('TenantDirectory', () => {
  it('resolves a name to the live tenant, not a deleted group’s disabled one that kept the name', async () => {
    const d = directory([tenant('old-id', 'acme', true), tenant('new-id', 'acme'), { id: { id: 'x', entityType: 'TENANT' }, title: 'not ours' }]);
    expect(await d.find('acme')).toEqual({ cdmId: 'new-id', name: 'acme', disabled: false });
    expect(await d.find('old-id')).toEqual({ cdmId: 'old-id', name: 'acme', disabled: true });
    expect(await d.find('not ours')).toBeUndefined();
  });

  it('refuses a name two live tenants share, asking for the id', async () => {
    const d = directory([tenant('a1', 'acme'), tenant('a2', 'acme')]);
    await expect(d.find('acme')).rejects.toThrow(/two cdm tenants are named "acme" \(a1, a2\): name it by its id/);
    expect((await d.find('a2'))?.cdmId).toBe('a2');
  });
});
