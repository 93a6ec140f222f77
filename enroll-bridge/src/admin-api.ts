import express, { type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import { authenticate, AuthError, TenantNotFound, userOf, type KeycloakTenant, type Logger, type TenantAuthority, type TokenUser } from '@cdm/common';
import { createClaim, MAX_CLAIM_USES } from './claims.ts';
import type { Enroller } from './enroll.ts';
import { HttpError, StepFailed } from './errors.ts';
import { registerFactoryCa } from './factory-cas.ts';
import type { DeviceRecord, Store } from './store.ts';

export interface AdminApiOptions {
  verifier: { verify(token: string | undefined): Promise<TokenUser> };
  /** Who is admin of which tenant: Keycloak, by user id and group id. */
  authority: TenantAuthority;
  store: Store;
  enroller: Enroller;
  logger: Logger;
}

const ClaimBody = z
  .object({ tenant: z.string().min(1).max(200), uses: z.number().int().min(1).max(MAX_CLAIM_USES).default(1), expires: z.string().max(10).default('7d'), deviceId: z.string().max(64).optional() })
  .strict();
const FactoryCaBody = z
  .object({
    tenant: z.string().min(1).max(200),
    pem: z
      .string()
      .min(1)
      .max(16 * 1024),
    proof: z.string().max(2048).optional(),
  })
  .strict();

/** A device as admins see it: identity and state, not the certificate body. */
const view = (d: DeviceRecord) => ({
  deviceId: d.deviceId,
  tenantId: d.tenantId,
  status: d.status,
  wgIp: d.wgIp || undefined,
  certSerial: d.certSerial,
  certNotAfter: d.certNotAfter,
  done: d.done,
  lastError: d.lastError,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
});

/**
 * The admin API (mounted at /v1/admin): the CLI's claim, factory-CA, device and decommission
 * commands for tenant admins. Each call needs a Keycloak access token for this API's audience with
 * membership of the tenant's `admins` subgroup in Keycloak (TenantAuthority); a device or claim of a
 * tenant the caller is not admin of answers 404, as if it did not exist. Every change is logged with who made it.
 */
export function adminRouter(o: AdminApiOptions): express.Router {
  const r = express.Router();
  const audit = (req: Request, action: string, fields: object) => o.logger.info({ admin: userOf(req).username, action, ...fields }, 'admin action');

  r.use(
    rateLimit({ windowMs: 60_000, limit: 120, standardHeaders: 'draft-8', legacyHeaders: false, handler: (_q, s) => void s.status(429).json({ error: 'too many admin requests; retry in a minute' }) }),
  );
  r.use(authenticate(o.verifier));
  // Bare POSTs (revoke, decommission) carry no body and often no type; a typed body must be JSON.
  r.use((req, _res, next) => (req.get('content-type') && !req.is('application/json') ? next(new HttpError(415, 'send JSON (Content-Type: application/json)')) : next()));
  r.use(express.json({ limit: 32 * 1024, strict: true }));

  /** The tenant, if the caller is its admin; 404 for unknown tenants, 409 for an ambiguous name, 403 for others' (named by the caller). */
  const tenantFor = async (req: Request, idOrName: string | undefined): Promise<KeycloakTenant> => {
    if (!idOrName) throw new HttpError(400, 'name the tenant (tenant=<name or id>)');
    return o.authority.requireTenant(userOf(req).sub, idOrName, ['admin']);
  };
  /** Hides what belongs to tenants the caller does not administer. */
  const mayAdminister = (req: Request, cdmId: string): Promise<boolean> => o.authority.may(userOf(req).sub, ['admin'], cdmId);
  const wrap = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, s: Response, next: NextFunction) => void fn(req, s).catch(next);

  r.get(
    '/devices',
    wrap(async (req, s) => {
      const t = await tenantFor(req, typeof req.query.tenant === 'string' ? req.query.tenant : undefined);
      s.json({ tenant: t, devices: (await o.store.listDevices({ tenantId: t.cdmId })).map(view) });
    }),
  );
  r.get(
    '/devices/:id',
    wrap(async (req, s) => {
      const d = await o.store.getDevice(String(req.params.id));
      if (!d || !(await mayAdminister(req, d.tenantId))) throw new HttpError(404, `no device ${String(req.params.id)} in a tenant you administer`);
      s.json(view(d));
    }),
  );
  r.post(
    '/devices/:id/decommission',
    wrap(async (req, s) => {
      const id = String(req.params.id);
      const d = await o.store.getDevice(id);
      if (!d || !(await mayAdminister(req, d.tenantId))) throw new HttpError(404, `no device ${id} in a tenant you administer`);
      audit(req, 'decommission', { deviceId: id, tenantId: d.tenantId });
      try {
        s.json(view(await o.enroller.decommission(id)));
      } catch (err) {
        // The store keeps the device in 'decommissioning'; the repair pass or a repeat of this call resumes.
        const why = err instanceof StepFailed ? `${err.message}: ${(err.cause as Error).message}` : (err as Error).message;
        throw new HttpError(502, `decommission of ${id} stopped half-way (${why}); it resumes on the next repair pass or when you repeat the call`);
      }
    }),
  );

  r.get(
    '/claims',
    wrap(async (req, s) => {
      const t = await tenantFor(req, typeof req.query.tenant === 'string' ? req.query.tenant : undefined);
      s.json({ tenant: t, claims: await o.store.listClaims(t.cdmId) });
    }),
  );
  r.post(
    '/claims',
    wrap(async (req, s) => {
      const body = parsed(ClaimBody, req.body, 'claim');
      const t = await tenantFor(req, body.tenant);
      const made = await createClaim(o.store, { tenantId: t.cdmId, uses: body.uses, expires: body.expires, deviceId: body.deviceId });
      audit(req, 'claim create', { claimId: made.claim.id, tenantId: t.cdmId, uses: body.uses, deviceId: body.deviceId });
      // The token is shown once, here; only its hash is kept.
      s.status(201).json({ claim: made.claim, token: made.token });
    }),
  );
  r.post(
    '/claims/:id/revoke',
    wrap(async (req, s) => {
      const c = await o.store.getClaim(String(req.params.id));
      if (!c || !(await mayAdminister(req, c.tenantId))) throw new HttpError(404, `no claim ${String(req.params.id)} in a tenant you administer`);
      await o.store.revokeClaim(c.id);
      audit(req, 'claim revoke', { claimId: c.id, tenantId: c.tenantId });
      s.json(await o.store.getClaim(c.id));
    }),
  );

  r.get(
    '/factory-cas',
    wrap(async (req, s) => {
      const t = await tenantFor(req, typeof req.query.tenant === 'string' ? req.query.tenant : undefined);
      s.json({ tenant: t, factoryCas: await o.store.listFactoryCas(t.cdmId) });
    }),
  );
  r.post(
    '/factory-cas',
    wrap(async (req, s) => {
      const body = parsed(FactoryCaBody, req.body, 'factory CA');
      const t = await tenantFor(req, body.tenant);
      const ca = await registerFactoryCa(o.store, t.cdmId, body.pem, body.proof);
      audit(req, 'factory-ca add', { factoryCaId: ca.id, tenantId: t.cdmId, subject: ca.subject });
      s.status(201).json(ca);
    }),
  );
  r.post(
    '/factory-cas/:id/revoke',
    wrap(async (req, s) => {
      const c = (await o.store.listFactoryCas()).find((x) => x.id === String(req.params.id));
      if (!c || !(await mayAdminister(req, c.tenantId))) throw new HttpError(404, `no factory CA ${String(req.params.id)} in a tenant you administer`);
      await o.store.revokeFactoryCa(c.id);
      audit(req, 'factory-ca revoke', { factoryCaId: c.id, tenantId: c.tenantId });
      s.json({ ...c, revoked: true });
    }),
  );

  r.use((_req, s) => void s.status(404).json({ error: 'no such admin endpoint' }));
  r.use((err: unknown, _req: Request, s: Response, next: NextFunction) =>
    err instanceof AuthError || err instanceof TenantNotFound ? void s.status(err.status).json({ error: err.message }) : next(err),
  );
  return r;
}

/** The body as the schema reads it, or a 400 naming each problem. */
function parsed<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new HttpError(400, `invalid ${what}: ${r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
  return r.data;
}
