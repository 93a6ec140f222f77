import crypto from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { LeaseBusy } from '@cdm/common/lease';
import { z } from 'zod';
import {
  authenticate,
  AuthError,
  bearerToken,
  OPERATIONS,
  parseOperation,
  SHADOW,
  TenantNotFound,
  UpstreamError,
  type DirectoryDevice,
  type KeycloakTenant,
  type Logger,
  type Operation,
  type TenantAuthority,
  type TenantRole,
  type TokenUser,
  userOf,
} from '@cdm/common';
import type { CommandRunner } from './commands.ts';
import { Selector, type FleetDevices } from './devices.ts';
import type { DeviceGateway } from './gateway.ts';
import { FIRST_PAGE, groupView, OUTCOMES, planGroup } from './groups.ts';
import { DeploymentBody, DeploymentRefused, type Deployments } from './deployments.ts';
import type { EnrollAdminClient } from './enroll-admin.ts';
import { ownerAssignment, qrPng, RegistrationBody } from './registration.ts';
import { openApiDocument } from './openapi.ts';
import { allowedActions, rolesFor, type Action } from './permissions.ts';
import { InvalidConfig, patchDesired, shadowView, StaleVersion } from './shadow.ts';
import { parseTags } from './thingsboard-devices.ts';
import { isFinal, type AuditEntry, type Command, type FleetStore } from './store.ts';

export interface FleetApiOptions {
  deployments: Deployments;
  /** enroll-bridge's admin API (claims), called with the person's own token. */
  enrollAdmin: Pick<EnrollAdminClient, 'createDeviceClaim'>;
  verifier: { verify(token: string | undefined): Promise<TokenUser> };
  authority: TenantAuthority;
  directory: { get(id: string): Promise<DirectoryDevice | undefined>; lookup(ids: readonly string[]): Promise<Map<string, DirectoryDevice>> };
  devices: FleetDevices;
  gateway: DeviceGateway;
  store: FleetStore;
  runner: CommandRunner;
  logger: Logger;
  limits: {
    /** A group operation selecting more devices than this needs `confirm: true`. */
    confirmAbove: number;
    /** No group operation selects more devices than this. */
    maxGroup: number;
    defaultExpirySeconds: number;
    maxExpirySeconds: number;
    maxConcurrency: number;
  };
  now?: () => number;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const issues = (e: z.ZodError) => e.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
const body = <T>(schema: z.ZodType<T>, v: unknown, what: string): T => {
  const r = schema.safeParse(v ?? {});
  if (!r.success) throw new HttpError(400, `invalid ${what}: ${issues(r.error)}`);
  return r.data;
};

const Metadata = z
  .object({
    region: z.string().min(1).max(200).nullable().optional(),
    site: z.string().min(1).max(200).nullable().optional(),
    owner: z.string().min(1).max(200).nullable().optional(),
    tags: z.array(z.string().min(1).max(64)).max(50).nullable().optional(),
  })
  .strict();
const DevicePatch = z.object({ metadata: Metadata }).strict();
const ShadowPatch = z.object({ version: z.number().int().min(0), desired: z.record(z.string(), z.unknown()) }).strict();
const expiresIn = (max: number) => z.number().int().min(1).max(max).optional();
const CommandBody = (max: number) => z.object({ operation: z.string().min(1).max(64), params: z.record(z.string(), z.unknown()).optional(), expiresInSeconds: expiresIn(max) }).strict();
const GroupBody = (max: number, maxConcurrency: number) =>
  z
    .object({
      tenant: z.string().min(1).max(200),
      selector: Selector,
      operation: z.string().min(1).max(64),
      params: z.record(z.string(), z.unknown()).optional(),
      concurrency: z.number().int().min(1).max(maxConcurrency).default(10),
      expiresInSeconds: expiresIn(max),
      confirm: z.boolean().default(false),
    })
    .strict();
const ListQuery = z
  .object({
    tenant: z.string().min(1).max(200),
    firmware: z.string().min(1).max(200).optional(),
    otaStatus: z.string().min(1).max(200).optional(),
    region: z.string().min(1).max(200).optional(),
    site: z.string().min(1).max(200).optional(),
    owner: z.string().min(1).max(200).optional(),
    tag: z.string().min(1).max(200).optional(),
    online: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional(),
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

const OutcomeQuery = z
  .object({
    outcome: z.enum(OUTCOMES).optional(),
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(10_000).default(FIRST_PAGE.limit),
  })
  .strict();

const commandView = (c: Command) => ({
  commandId: c.id,
  deviceId: c.deviceId,
  operation: c.operation,
  params: c.params,
  status: c.status,
  ...(c.result !== undefined ? { result: c.result } : {}),
  ...(c.error ? { error: c.error } : {}),
  requestedBy: c.requestedByName,
  ...(c.groupId ? { groupId: c.groupId } : {}),
  createdAt: new Date(c.createdAt).toISOString(),
  expiresAt: new Date(c.expiresAt).toISOString(),
  updatedAt: new Date(c.updatedAt).toISOString(),
});

/**
 * The fleet API (mounted at /v1): devices, shadow, commands and group operations for the systems
 * around the platform and for people with a Keycloak token for audience `cdm-fleet`. Who may do
 * what is PERMISSIONS, decided per tenant from Keycloak by immutable ids (TenantAuthority). A device
 * of a tenant the caller is not in answers 404, as if it did not exist. Every state-changing call is
 * audited (who, what, which devices, outcome), refusals included.
 */
export function fleetRouter(o: FleetApiOptions): express.Router {
  const r = express.Router();
  const now = o.now ?? Date.now;
  const wrap = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, s: Response, next: NextFunction) => void fn(req, s).catch(next);
  const audit = async (req: Request, e: Omit<AuditEntry, 'at' | 'actor' | 'actorName'>) => {
    const u = userOf(req);
    await o.store.audit({ at: now(), actor: u.sub, actorName: u.username, ...e });
    o.logger.info({ actor: u.username, action: e.action, tenantId: e.tenantId, devices: e.devices.length <= 10 ? e.devices : e.devices.length, outcome: e.outcome, detail: e.detail }, 'fleet action');
  };
  // Serialises shadow writes per device (read-compare-write must not interleave): queued within this
  // process, a lease across replicas.
  const busy = new Map<string, Promise<unknown>>();
  const exclusive = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = busy.get(key) ?? Promise.resolve();
    const run = prev
      .catch(() => undefined)
      .then(() => o.store.exclusive(`shadow:${key}`, fn))
      .catch((err: unknown) => {
        throw err instanceof LeaseBusy ? new HttpError(409, `${err.message}: another change of this device is running; retry`) : err;
      });
    busy.set(key, run);
    try {
      return await run;
    } finally {
      if (busy.get(key) === run) busy.delete(key);
    }
  };

  r.get('/openapi.json', (_req, s) => void s.json(openApiDocument()));

  r.use(rateLimit({ windowMs: 60_000, limit: 600, standardHeaders: 'draft-8', legacyHeaders: false, handler: (_q, s) => void s.status(429).json({ error: 'too many requests; retry in a minute' }) }));
  r.use(authenticate(o.verifier));
  r.use((req, _res, next) => (req.method !== 'GET' && req.get('content-type') && !req.is('application/json') ? next(new HttpError(415, 'send JSON (Content-Type: application/json)')) : next()));
  r.use(express.json({ limit: 2 * 1024 * 1024, strict: true }));

  /** The tenant named in the request, if the caller may do `action` there (404 unknown, 409 ambiguous, 403 otherwise). */
  const tenantFor = (req: Request, idOrName: string, action: Action): Promise<KeycloakTenant> => o.authority.requireTenant(userOf(req).sub, idOrName, rolesFor(action));

  /**
   * The roles the caller holds in the tenant owning a device, group or deployment, if `action` is
   * among what they allow: 404 (`missing`) when the thing does not exist or its tenant is not the
   * caller's — indistinguishable — and 403 naming the role, audited, when they are in the tenant.
   */
  const holding = async (req: Request, owner: { tenantId: string; devices: string[] } | undefined, action: Action, missing: string): Promise<ReadonlySet<TenantRole | 'member'>> => {
    const held = owner ? await o.authority.rolesIn(userOf(req).sub, owner.tenantId) : new Set<TenantRole>();
    if (!owner || !held.size) throw new HttpError(404, missing);
    const need = rolesFor(action);
    if (!need.some((x) => held.has(x))) {
      await audit(req, { action, tenantId: owner.tenantId, devices: owner.devices, outcome: 'refused', detail: `needs ${need.join(' or ')}` });
      throw new HttpError(403, `${action} needs the ${need.join(' or ')} role in this tenant`);
    }
    return held;
  };

  /** An active device the caller may do `action` on (see `holding`). */
  const deviceFor = async (req: Request, action: Action) => {
    const id = String(req.params.id);
    const found = await o.directory.get(id);
    const d = found && found.status !== 'decommissioned' && found.tbDeviceId ? (found as DirectoryDevice & { tbDeviceId: string }) : undefined;
    const held = await holding(req, d && { tenantId: d.tenantId, devices: [id] }, action, `no device ${id} in your tenants`);
    return { ...d!, held };
  };

  r.get(
    '/devices',
    wrap(async (req, s) => {
      const q = body(ListQuery, req.query, 'query');
      const t = await tenantFor(req, q.tenant, 'devices.read');
      const { tenant: _t, offset, limit, ...selector } = q;
      const all = await o.devices.select(t.cdmId, selector);
      s.json({ tenant: { id: t.cdmId, name: t.name }, total: all.length, offset, limit, devices: all.slice(offset, offset + limit) });
    }),
  );

  r.post(
    '/devices',
    wrap(async (req, s) => {
      const b = body(RegistrationBody, req.body, 'registration');
      const t = await tenantFor(req, b.tenant, 'devices.register');
      const known = await o.directory.get(b.deviceId);
      if (known && known.tenantId === t.cdmId && known.status === 'active') throw new HttpError(409, `device ${b.deviceId} is already enrolled in tenant ${t.name}`);
      let made;
      try {
        made = await o.enrollAdmin.createDeviceClaim(bearerToken(req)!, { tenant: t.cdmId, deviceId: b.deviceId, expires: b.expires });
      } catch (err) {
        // enroll-bridge decided (its own check of the person, its own rules): its 4xx is the answer.
        if (err instanceof UpstreamError && err.status && err.status >= 400 && err.status < 500) throw new HttpError(err.status === 401 ? 403 : err.status, err.message);
        throw err;
      }
      const content = ownerAssignment({ tenantId: t.cdmId, deviceId: b.deviceId, token: made.token });
      await audit(req, { action: 'devices.register', tenantId: t.cdmId, devices: [b.deviceId], outcome: 'done', detail: `claim ${made.claim.id}, expires ${made.claim.expiresAt}` });
      s.status(201).json({ deviceId: b.deviceId, tenantId: t.cdmId, claim: made.claim, token: made.token, ownerAssignment: { content, png: await qrPng(content) } });
    }),
  );

  r.get(
    '/devices/:id',
    wrap(async (req, s) => {
      const d = await deviceFor(req, 'devices.read');
      const [attrs, alarms] = await Promise.all([o.gateway.attributes(d.tenantId, d.tbDeviceId), o.gateway.openAlarms(d.tenantId, d.tbDeviceId)]);
      const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
      const last = Number(attrs.server.lastActivityTime ?? 0);
      const tags = Array.isArray(attrs.server.tags) ? (attrs.server.tags as string[]) : parseTags(str(attrs.server.tags));
      s.json({
        deviceId: d.deviceId,
        tenantId: d.tenantId,
        status: d.status,
        ...(d.wgIp ? { wgIp: d.wgIp } : {}),
        certificate: { serial: d.certSerial ?? null, notAfter: d.certNotAfter ?? null },
        firmware: str(attrs.client.current_sw_version) ?? null,
        online: attrs.server.active === true || attrs.server.active === 'true',
        lastSeen: last > 0 ? new Date(last).toISOString() : null,
        metadata: { region: str(attrs.server.region), site: str(attrs.server.site), owner: str(attrs.server.owner), tags },
        openAlarms: alarms.map((a) => ({ type: a.type, severity: a.severity, since: new Date(a.since).toISOString() })),
        // What the caller may do to this device, so a page can offer only those (the API enforces them regardless).
        allowed: allowedActions(d.held),
      });
    }),
  );

  r.patch(
    '/devices/:id',
    wrap(async (req, s) => {
      const patch = body(DevicePatch, req.body, 'device change');
      const d = await deviceFor(req, 'devices.metadata');
      const values: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(patch.metadata)) values[k] = k === 'tags' ? JSON.stringify(v ?? []) : (v ?? '');
      await o.gateway.saveServer(d.tenantId, d.tbDeviceId, values);
      await audit(req, { action: 'devices.metadata', tenantId: d.tenantId, devices: [d.deviceId], outcome: 'done', detail: JSON.stringify(patch.metadata).slice(0, 500) });
      s.json({ deviceId: d.deviceId, metadata: patch.metadata });
    }),
  );

  r.get(
    '/devices/:id/shadow',
    wrap(async (req, s) => {
      const d = await deviceFor(req, 'shadow.read');
      const a = await o.gateway.attributes(d.tenantId, d.tbDeviceId);
      s.json({ deviceId: d.deviceId, ...shadowView(a.shared, a.client) });
    }),
  );

  r.patch(
    '/devices/:id/shadow',
    wrap(async (req, s) => {
      const p = body(ShadowPatch, req.body, 'shadow change');
      const d = await deviceFor(req, 'shadow.write');
      const view = await exclusive(d.deviceId, async () => {
        const a = await o.gateway.attributes(d.tenantId, d.tbDeviceId);
        let next;
        try {
          next = patchDesired(shadowView(a.shared, a.client), p.version, p.desired);
        } catch (err) {
          if (err instanceof StaleVersion) throw new HttpError(409, err.message);
          if (err instanceof InvalidConfig) throw new HttpError(400, err.message);
          throw err;
        }
        const shared = { [SHADOW.desired]: next.config, [SHADOW.desiredVersion]: next.version };
        await o.gateway.saveShared(d.tenantId, d.tbDeviceId, shared);
        return shadowView({ ...a.shared, ...shared }, a.client);
      });
      await audit(req, { action: 'shadow.write', tenantId: d.tenantId, devices: [d.deviceId], outcome: 'done', detail: `version ${view.version}: ${JSON.stringify(p.desired).slice(0, 400)}` });
      s.json({ deviceId: d.deviceId, ...view });
    }),
  );

  r.post(
    '/devices/:id/command',
    wrap(async (req, s) => {
      const b = body(CommandBody(o.limits.maxExpirySeconds), req.body, 'command');
      const op = parseOperation(b.operation, b.params);
      if (!op.ok) throw new HttpError(400, op.error);
      const operation = b.operation as Operation;
      const d = await deviceFor(req, `command.${operation}`);
      const at = now();
      const u = userOf(req);
      const c: Command = {
        id: crypto.randomUUID(),
        tenantId: d.tenantId,
        deviceId: d.deviceId,
        tbDeviceId: d.tbDeviceId,
        operation,
        params: op.params,
        requestedBy: u.sub,
        requestedByName: u.username,
        status: 'sending',
        createdAt: at,
        expiresAt: at + (b.expiresInSeconds ?? o.limits.defaultExpirySeconds) * 1000,
        updatedAt: at,
        checkedAt: at,
      };
      await o.store.insertCommand(c);
      await o.runner.send(c);
      const out = (await o.store.getCommand(c.id))!;
      await audit(req, {
        action: `command.${operation}`,
        tenantId: d.tenantId,
        devices: [d.deviceId],
        outcome: out.status === 'failed' ? 'failed' : 'done',
        detail: `command ${c.id}${out.error ? `: ${out.error}` : ''}`,
      });
      s.status(202)
        .location(`/v1/devices/${encodeURIComponent(d.deviceId)}/commands/${c.id}`)
        .json(commandView(out));
    }),
  );

  r.get(
    '/devices/:id/commands',
    wrap(async (req, s) => {
      const d = await deviceFor(req, 'devices.read');
      s.json({ deviceId: d.deviceId, commands: (await o.store.deviceCommands(d.deviceId, 50)).map(commandView) });
    }),
  );

  r.get(
    '/devices/:id/commands/:commandId',
    wrap(async (req, s) => {
      const d = await deviceFor(req, 'devices.read');
      const c = await o.store.getCommand(String(req.params.commandId));
      if (!c || c.deviceId !== d.deviceId) throw new HttpError(404, `no command ${String(req.params.commandId)} for device ${d.deviceId}`);
      s.json(commandView(await o.runner.refresh(c)));
    }),
  );

  r.post(
    '/groups/operations',
    wrap(async (req, s) => {
      const b = body(GroupBody(o.limits.maxExpirySeconds, o.limits.maxConcurrency), req.body, 'group operation');
      const op = parseOperation(b.operation, b.params);
      if (!op.ok) throw new HttpError(400, op.error);
      const operation = b.operation as Operation;
      const t = await tenantFor(req, b.tenant, `command.${operation}`);
      const devices = await o.devices.select(t.cdmId, b.selector);
      const refuse = async (msg: string) => {
        await audit(req, { action: `groups.${operation}`, tenantId: t.cdmId, devices: [], outcome: 'refused', detail: msg });
        return new HttpError(422, msg);
      };
      if (!devices.length) throw await refuse('the selector matches no active device of this tenant');
      if (devices.length > o.limits.maxGroup) throw await refuse(`the selector matches ${devices.length} devices; a group operation reaches at most ${o.limits.maxGroup}: narrow the selector`);
      if (devices.length > o.limits.confirmAbove && !b.confirm)
        throw await refuse(`the selector matches ${devices.length} devices (more than ${o.limits.confirmAbove}); repeat with "confirm": true to run it on all of them`);
      const u = userOf(req);
      const at = now();
      const { group, targets } = planGroup(
        {
          tenantId: t.cdmId,
          operation,
          params: op.params,
          selector: b.selector,
          concurrency: b.concurrency,
          expiresAt: at + (b.expiresInSeconds ?? o.limits.defaultExpirySeconds) * 1000,
          requestedBy: u.sub,
          requestedByName: u.username,
        },
        devices,
        at,
      );
      await o.store.insertGroup(group, targets);
      await audit(req, { action: `groups.${operation}`, tenantId: t.cdmId, devices: devices.map((d) => d.deviceId), outcome: 'done', detail: `group ${group.id}, concurrency ${b.concurrency}` });
      s.status(202)
        .location(`/v1/groups/operations/${group.id}`)
        .json(groupView(group, await o.store.groupCommands(group.id)));
    }),
  );

  const groupFor = async (req: Request, action: Action) => {
    const g = await o.store.getGroup(String(req.params.id));
    await holding(req, g && { tenantId: g.tenantId, devices: [] }, action, `no group operation ${String(req.params.id)} in your tenants`);
    return g!;
  };

  r.get(
    '/groups/operations/:id',
    wrap(async (req, s) => {
      const g = await groupFor(req, 'groups.read');
      s.json(groupView(g, await o.store.groupCommands(g.id), body(OutcomeQuery, req.query, 'query')));
    }),
  );

  r.post(
    '/groups/operations/:id/cancel',
    wrap(async (req, s) => {
      const g = await groupFor(req, 'groups.cancel');
      if (g.state === 'running') {
        const at = now();
        await o.store.setGroupState(g.id, 'cancelled', at);
        await o.store.cancelPending(g.id, at);
        // Each open command is re-read first: only what ThingsBoard still holds queued is withdrawn.
        for (const c of await o.store.groupCommands(g.id)) if (!isFinal(c.status)) await o.runner.cancel(c).catch(() => undefined);
      }
      await audit(req, { action: 'groups.cancel', tenantId: g.tenantId, devices: [], outcome: 'done', detail: `group ${g.id}` });
      s.json(groupView((await o.store.getGroup(g.id))!, await o.store.groupCommands(g.id)));
    }),
  );

  r.post(
    '/ota/deployments',
    wrap(async (req, s) => {
      const b = body(DeploymentBody, req.body, 'deployment');
      const t = await tenantFor(req, b.tenant, 'deployments.write');
      if (b.selector?.ids) {
        const known = await o.directory.lookup(b.selector.ids);
        const foreign = b.selector.ids.filter((id) => known.get(id)?.tenantId !== t.cdmId || known.get(id)?.status !== 'active');
        if (foreign.length) throw new HttpError(404, `no active device ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ` (and ${foreign.length - 5} more)` : ''} in tenant ${t.name}`);
      }
      let d;
      try {
        d = await o.deployments.create({ cdmId: t.cdmId, name: t.name }, b);
      } catch (err) {
        if (err instanceof DeploymentRefused) {
          await audit(req, { action: 'deployments.write', tenantId: t.cdmId, devices: b.selector?.ids ?? [], outcome: 'refused', detail: err.message });
          throw new HttpError(err.status, err.message);
        }
        throw err;
      }
      await audit(req, {
        action: 'deployments.write',
        tenantId: t.cdmId,
        devices: b.selector?.ids ?? [],
        outcome: 'done',
        detail: `deployment ${d.deploymentId} of distribution set ${b.distributionSetId}, groups ${b.groups.join('/')} %${b.start ? ', started' : ''}`,
      });
      s.status(201).location(`/v1/ota/deployments/${d.deploymentId}`).json(d);
    }),
  );

  /** A deployment of a tenant the caller may `action` in; another tenant's answers 404. */
  const deploymentFor = async (req: Request, action: Action) => {
    const id = Number(req.params.id);
    const d = Number.isSafeInteger(id) && id > 0 ? await o.deployments.get(id) : undefined;
    await holding(req, d && { tenantId: d.tenantId, devices: [] }, action, `no deployment ${String(req.params.id)} in your tenants`);
    return d!;
  };

  r.get(
    '/ota/deployments/:id',
    wrap(async (req, s) => void s.json(await deploymentFor(req, 'deployments.read'))),
  );
  for (const verb of ['pause', 'resume', 'cancel'] as const) {
    r.post(
      `/ota/deployments/:id/${verb}`,
      wrap(async (req, s) => {
        const d = await deploymentFor(req, 'deployments.write');
        await o.deployments[verb](d.deploymentId);
        await audit(req, { action: `deployments.${verb}`, tenantId: d.tenantId, devices: [], outcome: 'done', detail: `deployment ${d.deploymentId}` });
        s.json((await o.deployments.get(d.deploymentId)) ?? { ...d, status: 'deleted' });
      }),
    );
  }

  r.get(
    '/audit',
    wrap(async (req, s) => {
      const t = await tenantFor(req, typeof req.query.tenant === 'string' ? req.query.tenant : '', 'audit.read');
      s.json({ tenant: { id: t.cdmId, name: t.name }, entries: (await o.store.auditTrail(t.cdmId, 500)).map((e) => ({ ...e, at: new Date(e.at).toISOString() })) });
    }),
  );

  r.use((_req, s) => void s.status(404).json({ error: `no such endpoint; see /v1/openapi.json (operations: ${OPERATIONS.join(', ')})` }));
  r.use((err: unknown, req: Request, s: Response, _next: NextFunction) => {
    if (err instanceof HttpError || err instanceof AuthError || err instanceof TenantNotFound) return void s.status(err.status).json({ error: err.message });
    const status = (err as { status?: number; type?: string }).type === 'entity.parse.failed' ? 400 : (err as { status?: number }).status;
    if (status && status >= 400 && status < 500 && !(err instanceof UpstreamError)) return void s.status(status).json({ error: `bad request: ${(err as Error).message}` });
    if (err instanceof UpstreamError) {
      o.logger.warn({ err: err.message, path: req.path }, 'upstream failed');
      return void s.status(502).json({ error: err.message });
    }
    o.logger.error({ err: (err as Error).message, path: req.path }, 'fleet API error');
    s.status(500).json({ error: 'internal error; see the fleet API log' });
  });
  return r;
}
