import { createFakeApp, reply, type FakeDefinition } from '../server.ts';
import type { Ctx, H, Principal } from './ctx.ts';
import { ddiAuthenticate, ddiHandlers } from './ddi.ts';
import { Deployments } from './deploy.ts';
import { repoHandlers } from './mgmt-repo.ts';
import { rolloutHandlers } from './mgmt-rollouts.ts';
import { targetHandlers } from './mgmt-targets.ts';
import { Rollouts } from './rollouts.ts';
import { HawkbitContract } from './spec.ts';
import { HbState } from './state.ts';
import { Views } from './views.ts';

export { HAWKBIT_DDI_RELAXATIONS, HAWKBIT_DDI_SPEC, HAWKBIT_MGMT_SPEC, HAWKBIT_RELAXATIONS } from './spec.ts';

/**
 * hawkBit fake: the Management API (HTTP Basic admin/admin) for targets, software modules and
 * artifacts, distribution sets, assignments, actions, rollouts and tenant configuration, and the
 * DDI API devices use (TargetToken / GatewayToken), on one port as hawkBit serves them. Both are
 * checked against their official specs. The tenant is DEFAULT.
 */
export function createHawkbitFake(opts: { username?: string; password?: string; tenant?: string; schedulerMs?: number } = {}) {
  const user = opts.username ?? 'admin';
  const pass = opts.password ?? 'admin';
  const tenant = opts.tenant ?? 'DEFAULT';
  const contract = new HawkbitContract();
  const s = new HbState();
  const v = new Views(s);
  const d = new Deployments(s);
  const c: Ctx = { s, v, d, r: new Rollouts(s, d, v) };

  const handlers: Record<string, H> = { ...targetHandlers(c), ...repoHandlers(c), ...rolloutHandlers(c), ...ddiHandlers(c) };
  // hawkBit's rollout scheduler runs on its own, every 2 s by default (hawkbit.rollout.scheduler.
  // fixedDelay): a rollout is 'creating' and then 'starting' for a while, and a client must wait
  // for 'ready' and 'running' as it must with the real server.
  const scheduler = setInterval(() => c.r.tick(), opts.schedulerMs ?? 2000);
  scheduler.unref();

  const def: FakeDefinition<Principal> = {
    name: 'hawkBit',
    contract,
    handlers,
    errorBody: (status, message) => ({
      exceptionClass: status === 415 ? 'org.springframework.web.HttpMediaTypeNotSupportedException' : 'org.springframework.web.bind.MethodArgumentNotValidException',
      errorCode: status === 404 ? 'hawkbit.server.error.rest.notFound' : 'hawkbit.server.error.rest.body.notReadable',
      message,
    }),
    reset: () => s.reset(),
    authenticate(mo, req) {
      if (mo.template.startsWith('/{tenant}/controller/')) return ddiAuthenticate(c, tenant, mo, req);
      const auth = req.headers.authorization ?? '';
      const [u, ...p] = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':') : [];
      if (u !== user || p.join(':') !== pass) return reply(401);
      return { kind: 'user', name: u };
    },
  };
  return { app: createFakeApp(def), state: s, tick: () => c.r.tick(), stop: () => clearInterval(scheduler) };
}
