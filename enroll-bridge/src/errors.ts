import type { Step } from './store.ts';

/** Why the bridge refuses a request, in the domain's words; the API edge (http-answer.ts) picks the status. */
export type RefusalReason = 'invalid' | 'unauthenticated' | 'forbidden' | 'not-found' | 'conflict' | 'unavailable';

/** A request the bridge will not carry out, with the reason told to the caller. */
export class Refused extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
    /** For 'unavailable': when a retry may succeed. */
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
}

/**
 * An upstream failed at an enrollment or decommission step. The device hears which step and
 * upstream; the upstream's own words (`cause`) go to the log only.
 */
export class StepFailed extends Error {
  constructor(
    readonly step: Step,
    readonly upstream: string,
    readonly action: 'enroll' | 'decommission',
    cause: unknown,
  ) {
    super(`${action === 'decommission' ? 'decommission ' : ''}${step} step failed at ${upstream}`, { cause });
  }
}

/** An error the API itself answers with (malformed requests seen at the edge): only api.ts and admin-api.ts make these. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
