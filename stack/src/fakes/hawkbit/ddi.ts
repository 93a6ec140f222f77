import type { Request } from 'express';
import type { MatchedOperation } from '../contract.ts';
import { reply, type FakeReply, type FakeRequest } from '../server.ts';
import { json, type Ctx, type H, type Principal } from './ctx.ts';
import { fileReply } from './mgmt-repo.ts';
import { audit, ex, newToken, notFound, SERVER_MESSAGE_PREFIX, type Action, type ActionState, type Artifact, type SoftwareModule, type Target } from './state.ts';

const DDI = '/{tenant}/controller/v1/{controllerId}';
const DOWNLOADS = new Set([`${DDI}/softwaremodules/{softwareModuleId}/artifacts/{fileName}`, `${DDI}/softwaremodules/{softwareModuleId}/artifacts/{fileName}.MD5SUM`]);
/** hawkBit caps the action history a device may ask for (RepositoryConstants.MAX_ACTION_HISTORY_MSG_COUNT). */
const MAX_HISTORY = 100;
const enc = encodeURIComponent;

interface Feedback {
  timestamp?: number;
  status: { execution: string; result: { finished: 'success' | 'failure' | 'none'; progress?: { cnt: number; of?: number } }; code?: number; details?: string[] };
}

/**
 * DDI authentication as hawkBit's controller security filters do it: `TargetToken <token>` (the
 * target's securityToken) and `GatewayToken <key>`, each only while enabled in the tenant
 * configuration; artifact downloads may also be anonymous when that is enabled. Anything else is
 * a 401, as is a tenant other than the fake's one.
 */
export function ddiAuthenticate(c: Ctx, tenant: string, mo: MatchedOperation, req: Request): Principal | FakeReply {
  const controllerId = mo.params.controllerId ?? '';
  if ((mo.params.tenant ?? '').toUpperCase() !== tenant.toUpperCase()) return reply(401);
  const auth = req.headers.authorization ?? '';
  if (auth.startsWith('TargetToken ') && c.s.config('authentication.targettoken.enabled')) {
    const t = c.s.targets.get(controllerId);
    if (t && t.securityToken === auth.slice('TargetToken '.length)) return { kind: 'controller', controllerId, via: 'target' };
  }
  if (auth.startsWith('GatewayToken ') && c.s.config('authentication.gatewaytoken.enabled')) {
    const key = c.s.config<string>('authentication.gatewaytoken.key');
    if (key && key === auth.slice('GatewayToken '.length)) return { kind: 'controller', controllerId, via: 'gateway' };
  }
  if (DOWNLOADS.has(mo.template) && c.s.config('anonymous.download.enabled')) return { kind: 'controller', controllerId, via: 'anonymous' };
  return reply(401);
}

/** The device side: polling, deployment and cancel actions, feedback, config data, downloads. */
export function ddiHandlers(c: Ctx): Record<string, H> {
  const { s, d } = c;
  const base = (req: FakeRequest<Principal>) => `http://${String(req.headers.host)}/${req.params.tenant}/controller/v1/${enc(req.params.controllerId!)}`;
  const target = (id: string | undefined) => {
    const t = s.targets.get(id ?? '');
    if (!t) throw notFound('Target', id);
    return t;
  };
  const actionOf = (t: Target, id: string | undefined) => {
    const a = s.actions.get(Number(id));
    if (!a || a.controllerId !== t.controllerId) throw ex(404, 'hawkbit.server.error.repo.entityNotFound', `Not a valid action (${id}) for target: ${t.controllerId}`);
    return a;
  };
  const canceling = (a: Action) => a.status === 'canceling' || a.status === 'canceled';
  /** Changes when the action would read differently (e.g. soft turned forced), so caches see it. */
  const etag = (a: Action) => (Math.imul(a.id, 31) + (forced(a) ? 1231 : 1237) + a.actionType.length) | 0;
  const forced = (a: Action) => a.actionType === 'forced' || (a.actionType === 'timeforced' && a.forceTime !== undefined && Date.now() >= a.forceTime);
  const module = (id: string | undefined) => {
    const m = s.modules.get(Number(id));
    if (!m) throw notFound('SoftwareModule', id);
    return m;
  };
  /** The open action that lets this target fetch this module (SoftwareModuleNotAssignedToTarget → 404). */
  const downloadAction = (t: Target, m: SoftwareModule) => s.targetActions(t.controllerId).find((a) => a.active && !canceling(a) && s.distributionSets.get(a.dsId)!.modules.includes(m.id));

  const artifactView = (req: FakeRequest<Principal>, smId: number, a: Artifact) => {
    const href = `${base(req)}/softwaremodules/${smId}/artifacts/${enc(a.filename)}`;
    return { filename: a.filename, hashes: { sha1: a.sha1, md5: a.md5, sha256: a.sha256 }, size: a.size, _links: { 'download-http': { href }, 'md5sum-http': { href: `${href}.MD5SUM` } } };
  };

  const deploymentBase = (req: FakeRequest<Principal>, a: Action) => {
    const ds = s.distributionSets.get(a.dsId)!;
    const download = a.actionType === 'downloadonly' || forced(a) ? 'forced' : 'attempt';
    const chunks = ds.modules.map((id) => {
      const m = s.modules.get(id)!;
      // DDI keeps the legacy part names of two default module types.
      const part = m.type === 'application' ? 'bApp' : m.type === 'runtime' ? 'jvm' : m.type;
      return { part, version: m.version, name: m.name, ...(m.encrypted ? { encrypted: true } : {}), artifacts: m.artifacts.map((x) => artifactView(req, m.id, x)) };
    });
    const count = Number(req.query.actionHistory ?? 0);
    const messages =
      count === 0
        ? []
        : a.statuses
            .slice()
            .reverse()
            .flatMap((e) => e.messages)
            .filter((m) => !m.startsWith(SERVER_MESSAGE_PREFIX))
            .slice(0, count < 0 || count > MAX_HISTORY ? MAX_HISTORY : count);
    return {
      id: String(a.id),
      deployment: { download, update: a.actionType === 'downloadonly' ? 'skip' : download, chunks },
      ...(messages.length ? { actionHistory: { status: a.status.toUpperCase(), messages } } : {}),
    };
  };

  /** DdiStatus → Action.Status, with hawkBit's own message when the device sent none. */
  const mapFeedback = (f: Feedback, cancel: boolean): { status: ActionState; messages: string[] } => {
    const messages = [...(f.status.details ?? [])];
    const fallback = (m: string) => (messages.length ? undefined : messages.push(`${SERVER_MESSAGE_PREFIX}${m}`));
    const failed = f.status.result.finished === 'failure';
    let status: ActionState;
    switch (f.status.execution) {
      case 'closed':
        status = failed ? 'error' : cancel ? 'canceled' : 'finished';
        fallback(cancel ? (failed ? 'Target was not able to complete cancellation.' : 'Cancellation confirmed.') : failed ? 'Target reported CLOSED with ERROR!' : 'Target reported CLOSED with OK!');
        break;
      case 'rejected':
        status = cancel ? 'cancel_rejected' : 'warning';
        fallback(cancel ? 'Target rejected the cancellation request.' : 'Target REJECTED update.');
        break;
      case 'canceled':
        status = cancel ? 'warning' : 'canceled';
        fallback(cancel ? 'Target reported cancel for a cancel which is not supported by the server.' : 'Target confirmed cancellation.');
        break;
      case 'download':
        status = cancel ? 'running' : 'download';
        if (!cancel) fallback('Target confirmed download start.');
        break;
      case 'downloaded':
        status = cancel ? 'running' : 'downloaded';
        if (!cancel) fallback('Target confirmed download finished.');
        break;
      default:
        status = 'running';
        if (!cancel) fallback(`Target reported ${f.status.execution.toUpperCase()}.`);
    }
    if (f.status.code !== undefined) messages.push(`Device reported status code: ${f.status.code}`);
    return { status, messages };
  };

  return {
    [`GET ${DDI}`]: (req) => {
      let t = s.targets.get(req.params.controllerId!);
      if (!t) {
        // Plug and play: a device with the gateway token registers itself by polling.
        t = {
          controllerId: req.params.controllerId!,
          name: req.params.controllerId!,
          description: `Plug and Play target: ${req.params.controllerId}`,
          securityToken: newToken(),
          updateStatus: 'registered',
          requestAttributes: true,
          attributes: {},
          ...audit('CONTROLLER_PLUG_AND_PLAY'),
        };
        s.targets.set(t.controllerId, t);
      } else if (t.updateStatus === 'unknown') t.updateStatus = 'registered';
      t.lastControllerRequestAt = Date.now();
      const active = d.activeAction(t.controllerId);
      const installed = d.installedAction(t);
      const links: Record<string, { href: string }> = {};
      if (active?.status === 'wait_for_confirmation') links.confirmationBase = { href: `${base(req)}/confirmationBase/${active.id}?c=${etag(active)}` };
      else if (active && canceling(active)) links.cancelAction = { href: `${base(req)}/cancelAction/${active.id}` };
      else if (active) links.deploymentBase = { href: `${base(req)}/deploymentBase/${active.id}?c=${etag(active)}` };
      if (installed && !installed.active) links.installedBase = { href: `${base(req)}/installedBase/${installed.id}` };
      if (t.requestAttributes) links.configData = { href: `${base(req)}/configData` };
      return reply(200, { config: { polling: { sleep: s.config<string>('pollingTime') } }, ...(Object.keys(links).length ? { _links: links } : {}) });
    },
    [`PUT ${DDI}/configData`]: ({ params, body }) => {
      const t = target(params.controllerId);
      const { data, mode = 'merge' } = json<{ data: Record<string, string>; mode?: 'merge' | 'replace' | 'remove' }>(body);
      // hawkBit's column sizes: attribute keys and values of at most 128 characters.
      if (Object.entries(data).some(([k, x]) => k.length > 128 || (x ?? '').length > 128)) {
        return ex(
          400,
          'hawkbit.server.error.repo.invalidTargetAttributes',
          'Target attributes are invalid: key or value exceeds 128 characters',
          'org.eclipse.hawkbit.repository.exception.InvalidTargetAttributeException',
        );
      }
      if (mode === 'remove') for (const k of Object.keys(data)) delete t.attributes[k];
      else {
        if (mode === 'replace') t.attributes = {};
        Object.assign(t.attributes, data);
        t.requestAttributes = false;
      }
      if (Object.keys(t.attributes).length > 100)
        return ex(
          429,
          'hawkbit.server.error.quota.tooManyEntries',
          'Quota exceeded: Cannot assign more than 100 Attribute entries to Target',
          'org.eclipse.hawkbit.repository.exception.AssignmentQuotaExceededException',
        );
      return reply(200);
    },
    [`GET ${DDI}/deploymentBase/{actionId}`]: (req) => {
      const a = actionOf(target(req.params.controllerId), req.params.actionId);
      if (canceling(a) || a.status === 'wait_for_confirmation') return reply(404);
      const out = deploymentBase(req, a);
      d.retrieved(a, 'update');
      return reply(200, out);
    },
    [`GET ${DDI}/installedBase/{actionId}`]: (req) => {
      const a = actionOf(target(req.params.controllerId), req.params.actionId);
      if (a.active || canceling(a)) return reply(404);
      return reply(200, deploymentBase(req, a));
    },
    [`POST ${DDI}/deploymentBase/{actionId}/feedback`]: ({ params, body }) => {
      const a = actionOf(target(params.controllerId), params.actionId);
      if (a.status === 'wait_for_confirmation') return reply(404);
      // A closed action takes no more feedback: 410 Gone.
      if (!a.active) return reply(410);
      const f = json<Feedback>(body);
      const { status, messages } = mapFeedback(f, false);
      d.updateStatus(a, status, messages, f.status.code, f.timestamp);
      return reply(200);
    },
    [`GET ${DDI}/cancelAction/{actionId}`]: ({ params }) => {
      const a = actionOf(target(params.controllerId), params.actionId);
      if (!canceling(a)) return reply(404);
      d.retrieved(a, 'cancel');
      return reply(200, { id: String(a.id), cancelAction: { stopId: String(a.id) } });
    },
    [`POST ${DDI}/cancelAction/{actionId}/feedback`]: ({ params, body }) => {
      const a = actionOf(target(params.controllerId), params.actionId);
      const f = json<Feedback>(body);
      const { status, messages } = mapFeedback(f, true);
      d.cancelStatus(a, status, messages, f.status.code, f.timestamp);
      return reply(200);
    },
    [`GET ${DDI}/softwaremodules/{softwareModuleId}/artifacts`]: (req) => {
      const t = target(req.params.controllerId);
      const m = module(req.params.softwareModuleId);
      const installed = d.installedAction(t);
      const allowed = downloadAction(t, m) || (installed && s.distributionSets.get(installed.dsId)!.modules.includes(m.id));
      if (!allowed) return notFound('SoftwareModule', `${m.id} for target ${t.controllerId}`);
      return reply(
        200,
        m.artifacts.map((x) => artifactView(req, m.id, x)),
      );
    },
    [`GET ${DDI}/softwaremodules/{softwareModuleId}/artifacts/{fileName}`]: (req) => {
      const { a, art } = download(req);
      if (!art) return reply(404);
      const ifMatch = req.headers['if-match'];
      if (
        ifMatch &&
        !String(ifMatch)
          .split(',')
          .some((x) => x.trim().replace(/"/g, '') === art.sha1 || x.trim() === '*')
      )
        return reply(412);
      if (a) d.addStatus(a, 'download', [`${SERVER_MESSAGE_PREFIX}Target downloads ${req.path}`]);
      return fileReply(art);
    },
    [`GET ${DDI}/softwaremodules/{softwareModuleId}/artifacts/{fileName}.MD5SUM`]: (req) => {
      const { a, art } = download(req);
      if (!art) return reply(404);
      if (a) d.addStatus(a, 'download', [`${SERVER_MESSAGE_PREFIX}Target downloads ${req.path}`]);
      return { status: 200, text: true, body: `${art.md5}  ${art.filename}`, headers: { 'Content-Type': 'text/plain', 'Content-Disposition': `attachment;filename=${art.filename}.MD5SUM` } };
    },
  };

  function download(req: FakeRequest<Principal>): { a?: Action; art?: Artifact } {
    const t = target(req.params.controllerId);
    const m = module(req.params.softwareModuleId);
    const art = m.artifacts.find((x) => x.filename === req.params.fileName);
    if (!art) return {};
    const a = downloadAction(t, m);
    // Only a device with an open action for the module may fetch it, unless downloads are anonymous.
    if (!a && req.principal.kind === 'controller' && req.principal.via !== 'anonymous') throw notFound('SoftwareModule', `${m.id} assigned to target ${t.controllerId}`);
    return { a, art };
  }
}
