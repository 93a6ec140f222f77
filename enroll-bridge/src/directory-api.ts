import express, { type NextFunction, type Request, type Response } from 'express';
import { authenticate, AuthError, DIRECTORY_VERSION, LookupRequest, type DirectoryDevice, type Logger, type TokenUser } from '@cdm/common';
import type { DeviceRecord, Store } from './store.ts';

export interface DirectoryApiOptions {
  /** Validates the caller's service-account token (audience cdm-directory). */
  verifier: { verify(token: string | undefined): Promise<TokenUser> };
  store: Store;
  logger: Logger;
}

/** A device as other services may know it (no certificate body, no WireGuard key). */
export const directoryView = (d: DeviceRecord): DirectoryDevice => ({
  deviceId: d.deviceId,
  tenantId: d.tenantId,
  status: d.status,
  ...(d.wgIp ? { wgIp: d.wgIp } : {}),
  ...(d.sshHostKey ? { sshHostKey: d.sshHostKey } : {}),
  ...(d.tbDeviceId && d.status !== 'decommissioned' ? { tbDeviceId: d.tbDeviceId } : {}),
  ...(d.certSerial && d.status !== 'decommissioned' ? { certSerial: d.certSerial } : {}),
  ...(d.certNotAfter && d.status !== 'decommissioned' ? { certNotAfter: d.certNotAfter } : {}),
});

/**
 * The device directory (read-only): how the terminal gateway and ota-bridge learn a device's
 * tenant, tunnel address, host key and ThingsBoard device from its owner instead of opening this
 * bridge's store. Mounted on the internal health port, behind a Keycloak service-account token.
 */
export function directoryRouter(o: DirectoryApiOptions): express.Router {
  const r = express.Router();
  r.use('/v1/directory', authenticate(o.verifier));
  r.get('/v1/directory/devices/:id', async (req, res) => {
    const d = await o.store.getDevice(String(req.params.id));
    if (!d) return void res.status(404).json({ error: `no device ${String(req.params.id)}` });
    res.json({ version: DIRECTORY_VERSION, device: directoryView(d) });
  });
  r.post('/v1/directory/lookup', express.json({ limit: 128 * 1024 }), async (req, res) => {
    const body = LookupRequest.safeParse(req.body);
    if (!body.success) return void res.status(400).json({ error: `send {"ids": [<up to 1000 device ids>]}: ${body.error.issues[0]?.message}` });
    const devices: ReturnType<typeof directoryView>[] = [];
    for (const id of body.data.ids) {
      const d = await o.store.getDevice(id);
      if (d) devices.push(directoryView(d));
    }
    res.json({ version: DIRECTORY_VERSION, devices });
  });
  r.use('/v1/directory', (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (err instanceof AuthError) return void res.status(err.status).json({ error: err.message });
    next(err);
  });
  return r;
}
