import axios, { type AxiosInstance, type AxiosRequestConfig, type AxiosError, isAxiosError } from 'axios';
import axiosRetry, { exponentialDelay, isNetworkOrIdempotentRequestError } from 'axios-retry';
import pLimit, { type LimitFunction } from 'p-limit';
import { UpstreamError, hintFor } from './errors.ts';

export interface HttpOptions {
  /** Name used in errors and logs, e.g. "ThingsBoard". */
  upstream: string;
  baseURL: string;
  timeoutMs?: number;
  retries?: number;
  headers?: Record<string, string>;
  auth?: { username: string; password: string };
  /** Extra axios config (e.g. httpsAgent for mTLS / a private CA). */
  axios?: AxiosRequestConfig;
  /** Told of every request sent (retries included), e.g. a {@link RequestCounts}. */
  observer?: RequestObserver;
  /**
   * Requests this client has on the wire at once (default {@link MAX_IN_FLIGHT}); more wait their
   * turn here, and their timeout starts when they are sent. Without it a burst (500 concurrent
   * enrollments) queues inside the upstream until requests time out there (seen: hawkBit).
   */
  maxInFlight?: number;
}

/** What a client of an upstream that takes a user and password is made from (hawkBit, ThingsBoard). */
export interface PasswordClientOptions {
  /** Told of every request sent (counting in tests and benchmarks). */
  observer?: RequestObserver;
  baseURL: string;
  username: string;
  password: string;
  timeoutMs?: number;
  retries?: number;
  pageSize?: number;
}

export const MAX_IN_FLIGHT = 32;

/**
 * The one retry policy of cdm's clients: methods that may be sent again without changing the
 * outcome (RFC 9110 idempotent methods) are retried on a network error, 5xx or 429; POST only when
 * the connection was refused (it never reached the server). A timed-out idempotent request is sent
 * again too (with a fresh timeout): sending it twice changes nothing.
 */
export const isIdempotent = (method: string) => ['get', 'head', 'options', 'put', 'delete'].includes(method.toLowerCase());

/** One request as sent on the wire: which upstream, which method, what came back (undefined: no answer). */
export type RequestObserver = (e: { upstream: string; method: string; url: string; status?: number }) => void;

/**
 * Requests per upstream, split into reads (GET/HEAD) and writes, as cdm's own clients sent them:
 * how benchmarks and tests count what a pass costs, against real servers as against fakes.
 */
export class RequestCounts {
  readonly byUpstream = new Map<string, { reads: number; writes: number }>();
  readonly observer: RequestObserver = ({ upstream, method, url }) => {
    const c = this.byUpstream.get(upstream) ?? { reads: 0, writes: 0 };
    // A login or token refresh (ThingsBoard's POST /api/auth/...) changes nothing upstream.
    if (['GET', 'HEAD'].includes(method.toUpperCase()) || /\/api\/auth\/(login|token)$/.test(url)) c.reads++;
    else c.writes++;
    this.byUpstream.set(upstream, c);
  };

  /** Counts so far, then starts again from zero. */
  take(): Record<string, { reads: number; writes: number }> {
    const out = Object.fromEntries(this.byUpstream);
    this.byUpstream.clear();
    return out;
  }
}

/**
 * A thin wrapper over axios: timeouts and exponential-backoff retries on network errors, 5xx and
 * 429 for idempotent calls, and errors that name the upstream and the call. Non-idempotent calls
 * (POST) are retried only on connection errors that happened before the request was sent.
 */
export class HttpClient {
  readonly axios: AxiosInstance;
  readonly upstream: string;
  private readonly slots: LimitFunction;

  constructor(opts: HttpOptions) {
    this.upstream = opts.upstream;
    this.slots = pLimit(opts.maxInFlight ?? MAX_IN_FLIGHT);
    this.axios = axios.create({
      baseURL: opts.baseURL,
      timeout: opts.timeoutMs ?? 10_000,
      headers: opts.headers,
      auth: opts.auth,
      // Status handling is ours: 404 → undefined, others → UpstreamError.
      validateStatus: () => true,
      ...opts.axios,
    });
    if (opts.observer) {
      const observe = opts.observer;
      const upstream = opts.upstream;
      const seen = (config: AxiosRequestConfig | undefined, status: number | undefined) => observe({ upstream, method: (config?.method ?? 'get').toUpperCase(), url: config?.url ?? '', status });
      // First in the chain: every attempt is seen once, before the retry logic rejects or repeats it.
      this.axios.interceptors.response.use(
        (res) => {
          seen(res.config, res.status);
          return res;
        },
        (err: AxiosError) => {
          seen(err.config, err.response?.status);
          return Promise.reject(err);
        },
      );
    }
    // validateStatus accepts everything, so turn retryable statuses into errors for axios-retry on
    // idempotent methods only; the final response is still returned to request().
    this.axios.interceptors.response.use((res) => {
      const method = (res.config.method ?? 'get').toLowerCase();
      const idempotent = isIdempotent(method);
      const retryable = res.status >= 500 || res.status === 429;
      const state = (res.config as { 'axios-retry'?: { retryCount?: number } })['axios-retry'];
      const attempts = state?.retryCount ?? 0;
      if (idempotent && retryable && attempts < (opts.retries ?? 3)) {
        const err = new axios.AxiosError(`HTTP ${res.status}`, String(res.status), res.config, res.request, res);
        return Promise.reject(err);
      }
      return res;
    });
    // Registered after the status interceptor: axios runs response interceptors in order, so
    // axios-retry sees the rejection made above.
    axiosRetry(this.axios, {
      retries: opts.retries ?? 3,
      retryDelay: (n, err) => exponentialDelay(n, err, 200),
      shouldResetTimeout: true,
      retryCondition: (err) => {
        const method = (err.config?.method ?? 'get').toLowerCase();
        if (isIdempotent(method)) return isNetworkOrIdempotentRequestError(err) || err.code === 'ECONNABORTED';
        // A refused connection never reached the server, so even a POST is safe to send again.
        return err.code === 'ECONNREFUSED';
      },
    });
  }

  /** Performs a request; 2xx → body, 404 → undefined, anything else → UpstreamError. */
  async request<T>(call: string, config: AxiosRequestConfig): Promise<T | undefined> {
    const res = await this.send(call, config);
    if (res.status === 404) return undefined;
    return res.data as T;
  }

  /** Like request() but a 404 is an error too (for calls where absence is not an answer). */
  async requireRequest<T>(call: string, config: AxiosRequestConfig): Promise<T> {
    const res = await this.send(call, config);
    if (res.status === 404) throw this.error(call, 404, describeBody(res.data));
    return res.data as T;
  }

  /** Sends and returns status + data for 2xx/404; throws UpstreamError otherwise. */
  async send(call: string, config: AxiosRequestConfig): Promise<{ status: number; data: unknown; headers: Record<string, unknown> }> {
    let res;
    try {
      res = await this.slots(() => this.axios.request(config));
    } catch (err) {
      if (isAxiosError(err) && err.response) {
        res = err.response;
      } else {
        const e = err as AxiosError;
        // Only code and message as the cause: the axios error carries the request headers, and
        // with them the credentials, which must never reach a log through a nested cause.
        throw new UpstreamError(this.upstream, call, undefined, e.code ?? e.message, hintFor(this.upstream, undefined), {
          cause: { code: e.code, message: e.message },
        });
      }
    }
    if ((res.status >= 200 && res.status < 300) || res.status === 404) {
      return { status: res.status, data: res.data, headers: res.headers as Record<string, unknown> };
    }
    throw this.error(call, res.status, describeBody(res.data));
  }

  error(call: string, status: number | undefined, detail: string): UpstreamError {
    return new UpstreamError(this.upstream, call, status, detail, hintFor(this.upstream, status));
  }
}

/** Error bodies differ per upstream; pull out a readable message without dumping the whole body. */
export function describeBody(data: unknown): string {
  if (data === undefined || data === null || data === '') return 'no response body';
  if (typeof data === 'string') return data.slice(0, 300);
  if (typeof data === 'object') {
    const o = data as Record<string, unknown>;
    for (const k of ['message', 'error_description', 'errorMessage', 'error', 'detail']) {
      if (typeof o[k] === 'string' && o[k]) return (o[k] as string).slice(0, 300);
    }
    return JSON.stringify(data).slice(0, 300);
  }
  return String(data);
}
