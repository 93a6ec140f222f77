import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';

/**
 * One msw server per test file; unhandled requests are errors so a client calling a path the test
 * did not expect fails instead of silently passing.
 */
export function useMsw() {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());
  return server;
}

export interface Recorded {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
}

/** Records a request for assertions (clone so the handler can still read the body). */
export async function record(request: Request): Promise<Recorded> {
  const text = await request.clone().text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep text */
  }
  return { method: request.method, url: new URL(request.url), headers: request.headers, body };
}
