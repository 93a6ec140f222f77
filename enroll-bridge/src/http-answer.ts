import { LeaseBusy } from '@cdm/common/lease';
import { PoolExhausted } from './store.ts';
import { HttpError, Refused, StepFailed, type RefusalReason } from './errors.ts';
import { TenantNotReady } from './tb-devices.ts';

const STATUS: Record<RefusalReason, number> = { invalid: 400, unauthenticated: 401, forbidden: 403, 'not-found': 404, conflict: 409, unavailable: 503 };

export interface HttpAnswer {
  status: number;
  error: string;
  retryAfterSec?: number;
}

/**
 * The one place where the bridge's errors become HTTP answers: refusals by their reason, upstream
 * trouble as 502/503 naming the step and upstream (their own words stay in the log). Undefined for
 * anything else (a bug: 500).
 */
export function httpAnswer(err: unknown): HttpAnswer | undefined {
  if (err instanceof HttpError) return { status: err.status, error: err.message };
  if (err instanceof Refused) return { status: STATUS[err.reason], error: err.message, retryAfterSec: err.retryAfterSec };
  if (err instanceof StepFailed) return { status: 502, error: `${err.message}; retry later (the bridge logged the details)` };
  if (err instanceof TenantNotReady) return { status: 503, error: err.message, retryAfterSec: 60 };
  if (err instanceof PoolExhausted) return { status: 503, error: err.message };
  if (err instanceof LeaseBusy) return { status: 409, error: `${err.message}: another operation on this device is running; retry in a minute`, retryAfterSec: 30 };
  return undefined;
}
