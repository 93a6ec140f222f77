/**
 * Every failure that crosses an upstream boundary is an UpstreamError, so a log line or a CLI
 * message always says which system failed, which call, and what the operator can do about it.
 */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly upstream: string,
    readonly call: string,
    readonly status: number | undefined,
    detail: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(`${upstream}: ${call} failed${status ? ` (HTTP ${status})` : ''}: ${detail}${hint ? ` — ${hint}` : ''}`, options);
  }

  get retryable(): boolean {
    return this.status === undefined || this.status >= 500 || this.status === 429;
  }
}

/** A hint for the operator, by status: what to check first. */
export function hintFor(upstream: string, status: number | undefined): string {
  if (status === undefined) return `is ${upstream} running and reachable at the configured URL?`;
  if (status === 401) return `check the ${upstream} credentials in the configuration`;
  if (status === 403) return `the ${upstream} account lacks the permission for this call`;
  if (status >= 500) return `${upstream} reported an internal error; see its logs, the call is retried next cycle`;
  return `${upstream} rejected the request`;
}
