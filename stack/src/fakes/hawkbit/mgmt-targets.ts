import { reply } from '../server.ts';
import { json, userOf, type Ctx, type H } from './ctx.ts';
import { audit, CONFIG_DEFAULTS, conflict, ex, list, must, newToken, notFound, touch, type Action, type ActionType, type DistributionSet, type Target } from './state.ts';

export interface AssignmentIn {
  id: number | string;
  type?: ActionType;
  forcetime?: number;
  weight?: number;
  confirmationRequired?: boolean;
  maintenanceWindow?: unknown;
}

/** Assigns sets to targets; the MgmtTargetAssignmentResponseBody both assignment endpoints answer. */
export function assignAll(c: Ctx, pairs: { t: Target; ds: DistributionSet; a: AssignmentIn }[], offline: boolean, user: string) {
  for (const { ds } of pairs) {
    if (ds.deleted) throw notFound('DistributionSet', ds.id);
    if (!ds.valid) throw ex(400, 'hawkbit.server.error.distributionset.invalid', `Distribution set ${ds.id} is invalid`, 'org.eclipse.hawkbit.repository.exception.InvalidDistributionSetException');
    if (!c.s.isComplete(ds))
      throw ex(
        400,
        'hawkbit.server.error.distributionset.incomplete',
        `Distribution set of type ${ds.type} is incomplete: ${ds.id}`,
        'org.eclipse.hawkbit.repository.exception.IncompleteDistributionSetException',
      );
  }
  const done: Action[] = [];
  let already = 0;
  for (const { t, ds, a } of pairs) {
    if (a.maintenanceWindow)
      throw ex(
        400,
        'hawkbit.server.error.maintenanceScheduleInvalid',
        'maintenance windows are not supported by the hawkBit fake',
        'org.eclipse.hawkbit.repository.exception.InvalidMaintenanceScheduleException',
      );
    const action = offline ? c.d.assignOffline(t, ds, user) : c.d.assign(t, ds, { actionType: a.type ?? 'forced', forceTime: a.forcetime, weight: a.weight, user });
    if (action) done.push(action);
    else already++;
  }
  return {
    assigned: done.length,
    alreadyAssigned: already,
    total: pairs.length,
    assignedActions: done.map((a) => ({ id: a.id, _links: { self: { href: `/rest/v1/targets/${encodeURIComponent(a.controllerId)}/actions/${a.id}` } } })),
  };
}

/** Targets, their attributes, actions and assignments; tenant configuration; the action list. */
export function targetHandlers(c: Ctx): Record<string, H> {
  const { s, d, v } = c;
  const target = (id: string | undefined) => {
    const t = s.targets.get(id ?? '');
    if (!t) throw notFound('Target', id);
    return t;
  };
  const actionOf = (t: Target, actionId: string | undefined) => {
    const a = s.actions.get(Number(actionId));
    if (!a || a.controllerId !== t.controllerId) throw notFound('Action', actionId);
    return a;
  };
  const keyInvalid = (key: string | undefined) =>
    ex(400, 'hawkbit.server.error.configKeyInvalid', `The given configuration key ${key} does not exist.`, 'org.eclipse.hawkbit.tenancy.configuration.InvalidTenantConfigurationKeyException');
  // No set: hawkBit answers 204 without a body (the spec lists only 200).
  const optionalDs = (id: number | undefined) => (id ? reply(200, v.ds(s.distributionSets.get(id)!)) : reply(204));

  return {
    'POST /rest/v1/targets': ({ body, principal }) => {
      const items = json<{ controllerId: string; name: string; description?: string; address?: string; securityToken?: string }[]>(body);
      const dup = items.find((t) => s.targets.has(t.controllerId));
      if (dup) return conflict(`Target with controllerId ${dup.controllerId} already exists`);
      const created = items.map((t) => {
        // A target created through the API is "unknown" until its device polls (JpaTargetCreate).
        const rec: Target = { ...t, securityToken: t.securityToken || newToken(), updateStatus: 'unknown', requestAttributes: true, attributes: {}, ...audit(userOf(principal)) };
        s.targets.set(rec.controllerId, rec);
        return v.target(rec);
      });
      return reply(201, created);
    },
    'GET /rest/v1/targets': ({ query }) =>
      reply(
        200,
        list(
          [...s.targets.values()],
          query,
          (t) => v.targetFields(t),
          (t) => v.target(t),
          'controllerId:ASC',
        ),
      ),
    'GET /rest/v1/targets/{targetId}': ({ params }) => reply(200, v.target(target(params.targetId))),
    'PUT /rest/v1/targets/{targetId}': ({ params, body, principal }) => {
      const t = target(params.targetId);
      const { name, description, address, securityToken, requestAttributes } = json<Partial<Target>>(body);
      const change = Object.fromEntries(Object.entries({ name, description, address, securityToken, requestAttributes }).filter(([, x]) => x !== undefined));
      Object.assign(t, change);
      touch(t, userOf(principal));
      return reply(200, v.target(t));
    },
    'DELETE /rest/v1/targets/{targetId}': ({ params }) => {
      const t = target(params.targetId);
      s.targets.delete(t.controllerId);
      for (const a of s.targetActions(t.controllerId)) s.actions.delete(a.id);
      return reply(200);
    },
    // hawkBit answers 204 without a body while a device has reported no attributes.
    'GET /rest/v1/targets/{targetId}/attributes': ({ params }) => {
      const t = target(params.targetId);
      return Object.keys(t.attributes).length ? reply(200, { ...t.attributes }) : reply(204);
    },
    'GET /rest/v1/targets/{targetId}/assignedDS': ({ params }) => optionalDs(target(params.targetId).assignedDs),
    'GET /rest/v1/targets/{targetId}/installedDS': ({ params }) => optionalDs(target(params.targetId).installedDs),
    'POST /rest/v1/targets/{targetId}/assignedDS': ({ params, query, body, principal }) => {
      const t = target(params.targetId);
      const pairs = json<AssignmentIn[]>(body).map((a) => ({ t, ds: must(s.distributionSets, a.id, 'DistributionSet'), a }));
      return reply(200, assignAll(c, pairs, query.offline === 'true', userOf(principal)));
    },
    'GET /rest/v1/targets/{targetId}/actions': ({ params, query }) =>
      reply(
        200,
        list(
          s.targetActions(target(params.targetId).controllerId),
          query,
          (a) => v.actionFields(a),
          (a) => v.action(a),
          'id:ASC',
        ),
      ),
    'GET /rest/v1/targets/{targetId}/actions/{actionId}': ({ params }) => reply(200, v.action(actionOf(target(params.targetId), params.actionId), true)),
    'DELETE /rest/v1/targets/{targetId}/actions/{actionId}': ({ params, query, principal }) => {
      const a = actionOf(target(params.targetId), params.actionId);
      if (query.force === 'true') d.forceQuit(a, userOf(principal));
      else d.cancel(a, userOf(principal));
      return reply(204);
    },
    'GET /rest/v1/targets/{targetId}/actions/{actionId}/status': ({ params, query }) => {
      const a = actionOf(target(params.targetId), params.actionId);
      return reply(
        200,
        list(
          a.statuses,
          { ...query, q: undefined },
          (e) => ({ ...e }),
          (e) => v.actionStatus(e),
          'id:DESC',
        ),
      );
    },
    'GET /rest/v1/actions': ({ query }) =>
      reply(
        200,
        list(
          [...s.actions.values()],
          query,
          (a) => v.actionFields(a),
          (a) => v.action(a, query.representation === 'full'),
          'id:ASC',
        ),
      ),
    'GET /rest/v1/actions/{actionId}': ({ params }) => reply(200, v.action(must(s.actions, params.actionId, 'Action'), true)),
    'GET /rest/v1/system/configs/{keyName}': ({ params }) => {
      if (!(params.keyName! in CONFIG_DEFAULTS)) return keyInvalid(params.keyName);
      const set = s.configs.has(params.keyName!);
      return reply(200, { value: s.config(params.keyName!), global: !set });
    },
    'PUT /rest/v1/system/configs/{keyName}': ({ params, body }) => {
      const def = CONFIG_DEFAULTS[params.keyName!];
      if (def === undefined) return keyInvalid(params.keyName);
      const value = json<{ value: unknown }>(body).value;
      if (typeof value !== typeof def)
        return ex(
          400,
          'hawkbit.server.error.configValueInvalid',
          `The given configuration value is expected to be of type ${typeof def}.`,
          'org.eclipse.hawkbit.tenancy.configuration.InvalidTenantConfigurationValueException',
        );
      s.configs.set(params.keyName!, value);
      return reply(204);
    },
  };
}
