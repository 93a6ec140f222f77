import type { Handler } from '../server.ts';
import type { Deployments } from './deploy.ts';
import type { Rollouts } from './rollouts.ts';
import type { HbState } from './state.ts';
import type { Views } from './views.ts';

/** Who is calling: a Management API user (HTTP Basic) or a device on the DDI API. */
export type Principal = { kind: 'user'; name: string } | { kind: 'controller'; controllerId: string; via: 'target' | 'gateway' | 'anonymous' };

export type H = Handler<Principal>;

/** The fake's parts, handed to each group of handlers. */
export interface Ctx {
  s: HbState;
  d: Deployments;
  r: Rollouts;
  v: Views;
}

/** The user name hawkBit records in createdBy/lastModifiedBy. */
export const userOf = (p: Principal) => (p.kind === 'user' ? p.name : `CONTROLLER_PLUG_AND_PLAY`);

/** hawkBit reads request bodies as JSON (or CBOR, which this fake does not speak). */
export function json<T>(body: unknown): T {
  if (body === undefined || typeof body === 'string')
    throw {
      status: 415,
      body: {
        exceptionClass: 'org.springframework.web.HttpMediaTypeNotSupportedException',
        errorCode: 'hawkbit.server.error.rest.body.notReadable',
        message: 'the hawkBit fake reads JSON request bodies only',
      },
    };
  return body as T;
}
