import { InfluxDB, setLogger, type Point, type WriteApi } from '@influxdata/influxdb-client';
import { HttpClient, type RequestObserver } from '../http.ts';
import { UpstreamError, hintFor } from '../errors.ts';
import { pointLines, type RawRow } from '../line-protocol.ts';
import { collect, pages } from './paging.ts';

/** Each tenant's bucket (tenant-sync makes it; devices and ota-bridge write to it). */
export const tenantBucket = (cdmId: string) => `cdm-${cdmId}`;

export interface InfluxOrg {
  id: string;
  name: string;
}

export interface InfluxBucket {
  id: string;
  name: string;
  orgID: string;
  description?: string;
  retentionRules: { type?: 'expire'; everySeconds: number }[];
}

export interface InfluxTask {
  id: string;
  name: string;
  orgID: string;
  flux: string;
  status?: 'active' | 'inactive';
  every?: string;
  lastRunStatus?: 'failed' | 'success' | 'canceled';
  lastRunError?: string;
}

export interface InfluxPermission {
  action: 'read' | 'write';
  resource: { type: 'buckets' | 'orgs'; id?: string; orgID?: string; name?: string };
}

export interface InfluxAuthorization {
  id: string;
  /** Only in the answer to create: InfluxDB never shows a token again. */
  token?: string;
  status?: 'active' | 'inactive';
  description?: string;
  orgID?: string;
  permissions?: InfluxPermission[];
}

export interface InfluxOptions {
  /** Told of every request sent (counting in tests and benchmarks). */
  observer?: RequestObserver;
  baseURL: string;
  token: string;
  timeoutMs?: number;
  retries?: number;
  pageSize?: number;
}

/**
 * InfluxDB v2: bucket/token management over its REST API, writes and Flux queries through
 * @influxdata/influxdb-client. One URL and one token, as against InfluxDB 2.
 */
export class InfluxClient {
  private readonly http: HttpClient;
  private readonly influx: InfluxDB;
  private readonly pageSize: number;

  constructor(private readonly opts: InfluxOptions) {
    const url = opts.baseURL.replace(/\/$/, '');
    this.http = new HttpClient({
      upstream: 'InfluxDB',
      baseURL: `${url}/api/v2`,
      timeoutMs: opts.timeoutMs,
      retries: opts.retries,
      observer: opts.observer,
      headers: { Authorization: `Token ${opts.token}` },
    });
    this.influx = new InfluxDB({ url, token: opts.token, timeout: opts.timeoutMs ?? 10_000 });
    // The library prints failed writes to the console itself (a whole error object, outside pino's
    // redaction); every failure is thrown to the caller as an UpstreamError, who logs it once.
    setLogger(SILENT);
    this.pageSize = opts.pageSize ?? 100;
  }

  // ---- orgs
  async findOrg(name: string): Promise<InfluxOrg | undefined> {
    const res = await this.http.request<{ orgs?: InfluxOrg[] }>('GET /api/v2/orgs', { url: '/orgs', params: { org: name } });
    return res?.orgs?.find((o) => o.name === name);
  }

  createOrg(name: string): Promise<InfluxOrg> {
    return this.http.requireRequest('POST /api/v2/orgs', { method: 'POST', url: '/orgs', data: { name } });
  }

  // ---- buckets
  async findBucket(orgID: string, name: string): Promise<InfluxBucket | undefined> {
    const res = await this.http.request<{ buckets?: InfluxBucket[] }>('GET /api/v2/buckets', { url: '/buckets', params: { orgID, name } });
    return res?.buckets?.find((b) => b.name === name);
  }

  listBuckets(orgID: string): Promise<InfluxBucket[]> {
    return collect(
      pages(
        async (offset, limit) => ({
          items: (await this.http.requireRequest<{ buckets?: InfluxBucket[] }>('GET /api/v2/buckets', { url: '/buckets', params: { orgID, offset, limit } })).buckets ?? [],
        }),
        this.pageSize,
      ),
    );
  }

  createBucket(b: { orgID: string; name: string; description?: string; retentionSeconds?: number }): Promise<InfluxBucket> {
    return this.http.requireRequest('POST /api/v2/buckets', {
      method: 'POST',
      url: '/buckets',
      data: {
        orgID: b.orgID,
        name: b.name,
        description: b.description,
        retentionRules: b.retentionSeconds ? [{ type: 'expire', everySeconds: b.retentionSeconds }] : [],
      },
    });
  }

  updateBucket(id: string, patch: { name?: string; description?: string; retentionSeconds?: number }): Promise<InfluxBucket> {
    const { retentionSeconds, ...rest } = patch;
    const data = retentionSeconds === undefined ? rest : { ...rest, retentionRules: retentionSeconds ? [{ type: 'expire', everySeconds: retentionSeconds }] : [] };
    return this.http.requireRequest('PATCH /api/v2/buckets/{id}', { method: 'PATCH', url: `/buckets/${encodeURIComponent(id)}`, data });
  }

  async deleteBucket(id: string): Promise<void> {
    await this.http.request('DELETE /api/v2/buckets/{id}', { method: 'DELETE', url: `/buckets/${encodeURIComponent(id)}` });
  }

  // ---- authorizations (tokens)
  async listAuthorizations(orgID: string): Promise<InfluxAuthorization[]> {
    const res = await this.http.requireRequest<{ authorizations?: InfluxAuthorization[] }>('GET /api/v2/authorizations', {
      url: '/authorizations',
      params: { orgID },
    });
    return res.authorizations ?? [];
  }

  createAuthorization(a: { orgID: string; description: string; permissions: InfluxPermission[] }): Promise<InfluxAuthorization> {
    return this.http.requireRequest('POST /api/v2/authorizations', { method: 'POST', url: '/authorizations', data: { status: 'active', ...a } });
  }

  async setAuthorizationStatus(id: string, status: 'active' | 'inactive', description?: string): Promise<void> {
    await this.http.requireRequest('PATCH /api/v2/authorizations/{id}', {
      method: 'PATCH',
      url: `/authorizations/${encodeURIComponent(id)}`,
      data: description === undefined ? { status } : { status, description },
    });
  }

  async deleteAuthorization(id: string): Promise<void> {
    await this.http.request('DELETE /api/v2/authorizations/{id}', { method: 'DELETE', url: `/authorizations/${encodeURIComponent(id)}` });
  }

  // ---- tasks
  async findTask(orgID: string, name: string): Promise<InfluxTask | undefined> {
    const res = await this.http.request<{ tasks?: InfluxTask[] }>('GET /api/v2/tasks', { url: '/tasks', params: { orgID, name } });
    return res?.tasks?.find((t) => t.name === name);
  }

  async listTasks(orgID: string): Promise<InfluxTask[]> {
    // InfluxDB pages tasks by id (`after`), not by offset.
    const out: InfluxTask[] = [];
    for (let after: string | undefined; ;) {
      const page = (await this.http.requireRequest<{ tasks?: InfluxTask[] }>('GET /api/v2/tasks', { url: '/tasks', params: { orgID, limit: 500, ...(after ? { after } : {}) } })).tasks ?? [];
      out.push(...page);
      if (page.length < 500) return out;
      after = page.at(-1)!.id;
    }
  }

  createTask(t: { orgID: string; flux: string; description?: string }): Promise<InfluxTask> {
    return this.http.requireRequest('POST /api/v2/tasks', { method: 'POST', url: '/tasks', data: { orgID: t.orgID, flux: t.flux, description: t.description, status: 'active' } });
  }

  updateTask(id: string, patch: { flux?: string; status?: 'active' | 'inactive' }): Promise<InfluxTask> {
    return this.http.requireRequest('PATCH /api/v2/tasks/{id}', { method: 'PATCH', url: `/tasks/${encodeURIComponent(id)}`, data: patch });
  }

  async deleteTask(id: string): Promise<void> {
    await this.http.request('DELETE /api/v2/tasks/{id}', { method: 'DELETE', url: `/tasks/${encodeURIComponent(id)}` });
  }

  /** A run now, with `now` = `scheduledFor` (a backfill of a past period when given). */
  runTask(id: string, scheduledFor?: Date): Promise<{ id: string; status: string; log?: { message: string }[] }> {
    return this.http.requireRequest('POST /api/v2/tasks/{id}/runs', {
      method: 'POST',
      url: `/tasks/${encodeURIComponent(id)}/runs`,
      data: scheduledFor ? { scheduledFor: scheduledFor.toISOString() } : {},
    });
  }

  // ---- data
  /** Writes points or line-protocol lines (timestamps in `precision`) and flushes before returning. */
  async write(org: string, bucket: string, data: Point[] | string[], precision: 'ns' | 'ms' = 'ms'): Promise<void> {
    const api: WriteApi = this.influx.getWriteApi(org, bucket, precision, { maxRetries: 0 });
    try {
      if (typeof data[0] === 'string') api.writeRecords(data as string[]);
      else api.writePoints(data as Point[]);
      await api.close();
    } catch (err) {
      throw wrap('POST /api/v2/write', err);
    }
  }

  async query<T = Record<string, unknown>>(org: string, flux: string): Promise<T[]> {
    try {
      return await this.influx.getQueryApi(org).collectRows<T>(flux);
    } catch (err) {
      throw wrap('POST /api/v2/query', err);
    }
  }

  /** Rows as influxd sends them, streamed: each column's text and Flux type, for copying data exactly. */
  async *rawRows(org: string, flux: string): AsyncIterable<RawRow> {
    try {
      for await (const { values, tableMeta } of this.influx.getQueryApi(org).iterateRows(flux)) {
        yield Object.fromEntries(tableMeta.columns.map((c) => [c.label, { value: values[c.index] === '' ? c.defaultValue : values[c.index]!, type: c.dataType }]));
      }
    } catch (err) {
      throw wrap('POST /api/v2/query', err);
    }
  }

  /** The query's points (a from() |> range() query) as line protocol, every field of a point on one line, streamed. */
  async *lines(org: string, flux: string): AsyncIterable<string> {
    const lines = pointLines();
    try {
      for await (const { values, tableMeta } of this.influx.getQueryApi(org).iterateRows(flux)) yield* lines.push(values, tableMeta.columns);
      yield* lines.end();
    } catch (err) {
      throw wrap('POST /api/v2/query', err);
    }
  }

  async ping(): Promise<void> {
    await this.http.requireRequest('GET /api/v2/orgs', { url: '/orgs', params: { limit: 1 } });
  }
}

const SILENT = { error: () => undefined, warn: () => undefined };

function wrap(call: string, err: unknown): UpstreamError {
  const e = err as { statusCode?: number; body?: string; message?: string };
  let detail = e.message ?? 'request failed';
  try {
    detail = (JSON.parse(e.body ?? '') as { message?: string }).message ?? detail;
  } catch {
    /* body not JSON */
  }
  return new UpstreamError('InfluxDB', call, e.statusCode, detail, hintFor('InfluxDB', e.statusCode), { cause: err });
}
