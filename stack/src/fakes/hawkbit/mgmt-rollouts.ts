import { reply } from '../server.ts';
import { json, userOf, type Ctx, type H } from './ctx.ts';
import type { RolloutCreate } from './rollouts.ts';
import { list, must, notFound } from './state.ts';

/** Rollouts, their deploy groups and the verbs that move them along. */
export function rolloutHandlers(c: Ctx): Record<string, H> {
  const { s, r, v } = c;
  const rollout = (id: string | undefined) => must(s.rollouts, id, 'Rollout');
  const group = (rid: string | undefined, gid: string | undefined) => {
    const ro = rollout(rid);
    const g = s.groups.get(Number(gid));
    if (!g || g.rolloutId !== ro.id) throw notFound('RolloutGroup', gid);
    return g;
  };
  // The verbs answer 204 as hawkBit's MgmtRolloutResource does (the spec lists only 200).
  const verb =
    (fn: (id: string | undefined, user: string) => void): H =>
    ({ params, principal }) => {
      fn(params.rolloutId, userOf(principal));
      return reply(204);
    };

  return {
    'POST /rest/v1/rollouts': ({ body, principal }) => reply(201, v.rollout(r.create(json<RolloutCreate>(body), userOf(principal)), true)),
    'GET /rest/v1/rollouts': ({ query }) =>
      reply(
        200,
        list(
          [...s.rollouts.values()],
          query,
          (x) => ({ ...x, distributionSet: s.distributionSets.get(x.dsId) }),
          (x) => v.rollout(x, query.representation === 'full'),
        ),
      ),
    'GET /rest/v1/rollouts/{rolloutId}': ({ params }) => reply(200, v.rollout(rollout(params.rolloutId), true)),
    'POST /rest/v1/rollouts/{rolloutId}/start': verb((id, u) => r.start(rollout(id), u)),
    'POST /rest/v1/rollouts/{rolloutId}/pause': verb((id, u) => r.pause(rollout(id), u)),
    'POST /rest/v1/rollouts/{rolloutId}/resume': verb((id, u) => r.resume(rollout(id), u)),
    'POST /rest/v1/rollouts/{rolloutId}/triggerNextGroup': verb((id, u) => r.triggerNextGroup(rollout(id), u)),
    'POST /rest/v1/rollouts/{rolloutId}/approve': ({ params, query, principal }) => {
      r.approve(rollout(params.rolloutId), true, query.remark, userOf(principal));
      return reply(204);
    },
    'POST /rest/v1/rollouts/{rolloutId}/deny': ({ params, query, principal }) => {
      r.approve(rollout(params.rolloutId), false, query.remark, userOf(principal));
      return reply(204);
    },
    'GET /rest/v1/rollouts/{rolloutId}/deploygroups': ({ params, query }) =>
      reply(
        200,
        list(
          r.groupsOf(rollout(params.rolloutId)),
          query,
          (g) => ({ ...g, totalTargets: g.targets.length }),
          (g) => v.group(g, query.representation === 'full'),
        ),
      ),
    'GET /rest/v1/rollouts/{rolloutId}/deploygroups/{groupId}': ({ params }) => reply(200, v.group(group(params.rolloutId, params.groupId), true)),
    'GET /rest/v1/rollouts/{rolloutId}/deploygroups/{groupId}/targets': ({ params, query }) => {
      const g = group(params.rolloutId, params.groupId);
      const members = g.targets.map((id) => s.targets.get(id)).filter((t) => t !== undefined);
      return reply(
        200,
        list(
          members,
          query,
          (t) => v.targetFields(t),
          (t) => v.target(t),
          'controllerId:ASC',
        ),
      );
    },
  };
}
