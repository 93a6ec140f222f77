/** An error the API answers with its status and reason (4xx: the caller's fault; 502/503: upstream). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
}
