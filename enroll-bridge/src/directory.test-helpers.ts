import type { AddressInfo } from 'node:net';
import express from 'express';
import { createLogger, DIRECTORY_AUDIENCE, KeycloakTokenVerifier } from '@cdm/common';
import { directoryRouter } from './directory-api.ts';
import type { Store } from './store.ts';

/** enroll-bridge's device directory over a store, as its health port serves it (for other services' tests). */
export async function serveDirectory(store: Store, issuer: string): Promise<{ url: string; close: () => void }> {
  const app = express().use(directoryRouter({ verifier: new KeycloakTokenVerifier({ issuer, audience: DIRECTORY_AUDIENCE }), store, logger: createLogger('directory', { level: 'silent' }) }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => void server.close() };
}

/** A device as enroll-bridge records it once enrolled (the fields other services ask for). */
export async function recordEnrolled(store: Store, d: { deviceId: string; tenantId: string; tbDeviceId: string; wgPublicKey?: string }): Promise<void> {
  const identity = { deviceId: d.deviceId, tenantId: d.tenantId, keySha256: 'test', wgPublicKey: d.wgPublicKey ?? `wg-${d.deviceId}` };
  if (await store.getDevice(d.deviceId)) await store.restartDevice(identity);
  else await store.createDevice(identity);
  await store.update(d.deviceId, { tbDeviceId: d.tbDeviceId, status: 'active' });
}
