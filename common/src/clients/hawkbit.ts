import fs from 'node:fs';
import path from 'node:path';
import { HttpClient, type PasswordClientOptions } from '../http.ts';
import { collect, pages } from './paging.ts';
import type {
  MgmtAction,
  MgmtActionStatus,
  MgmtArtifact,
  MgmtDistributionSet,
  MgmtRollout,
  MgmtRolloutCreate,
  MgmtRolloutGroup,
  MgmtSoftwareModule,
  MgmtTarget,
  MgmtTargetCreate,
  Paged,
} from './hawkbit-types.ts';

export * from './hawkbit-types.ts';

export type HawkbitOptions = PasswordClientOptions;

export interface ListQuery {
  /** FIQL filter, e.g. `lastModifiedAt=ge=1700000000000`. */
  q?: string;
  sort?: string;
}

const enc = encodeURIComponent;
/** hawkBit's largest page (MgmtRestConstants; a larger limit is clamped to it without notice). */
export const MAX_PAGE = 500;

/** hawkBit Management API v1 (HTTP Basic). I/O only. */
export class HawkbitClient {
  private readonly http: HttpClient;
  private readonly pageSize: number;

  constructor(opts: HawkbitOptions) {
    this.http = new HttpClient({
      upstream: 'hawkBit',
      baseURL: opts.baseURL.replace(/\/$/, ''),
      auth: { username: opts.username, password: opts.password },
      timeoutMs: opts.timeoutMs,
      retries: opts.retries,
      observer: opts.observer,
      headers: { Accept: 'application/json' },
    });
    // hawkBit silently clamps larger pages to 500, which would end a walk after the first page.
    this.pageSize = Math.min(opts.pageSize ?? 100, MAX_PAGE);
  }

  // ---- targets
  async createTargets(targets: MgmtTargetCreate[]): Promise<MgmtTarget[]> {
    return this.http.requireRequest('POST /rest/v1/targets', { method: 'POST', url: '/rest/v1/targets', data: targets });
  }

  getTarget(controllerId: string): Promise<MgmtTarget | undefined> {
    return this.http.request(`GET /rest/v1/targets/{id}`, { url: `/rest/v1/targets/${enc(controllerId)}` });
  }

  /** The spec requires controllerId and name on update too. */
  updateTarget(controllerId: string, body: Omit<MgmtTargetCreate, 'controllerId'>): Promise<MgmtTarget | undefined> {
    return this.http.request('PUT /rest/v1/targets/{id}', {
      method: 'PUT',
      url: `/rest/v1/targets/${enc(controllerId)}`,
      data: { controllerId, ...body },
    });
  }

  /** Returns false when the target did not exist (already deleted). */
  async deleteTarget(controllerId: string): Promise<boolean> {
    const res = await this.http.send('DELETE /rest/v1/targets/{id}', {
      method: 'DELETE',
      url: `/rest/v1/targets/${enc(controllerId)}`,
    });
    return res.status !== 404;
  }

  targetPages(query: ListQuery = {}): AsyncGenerator<MgmtTarget[]> {
    return this.paged<MgmtTarget>('GET /rest/v1/targets', '/rest/v1/targets', query);
  }

  listTargets(query: ListQuery = {}): Promise<MgmtTarget[]> {
    return collect(this.targetPages(query));
  }

  async getTargetAttributes(controllerId: string): Promise<Record<string, string> | undefined> {
    const attrs = await this.http.request<Record<string, string> | ''>('GET /rest/v1/targets/{id}/attributes', {
      url: `/rest/v1/targets/${enc(controllerId)}/attributes`,
    });
    // hawkBit answers 204 with no body for a target that has not reported attributes yet.
    return attrs === undefined ? undefined : attrs || {};
  }

  /** Assigns a distribution set to one target outside any rollout (hawkBit makes an action). */
  async assignDistributionSet(controllerId: string, distributionSetId: number, type: 'soft' | 'forced' | 'downloadonly' = 'soft'): Promise<void> {
    await this.http.requireRequest('POST /rest/v1/targets/{id}/assignedDS', {
      method: 'POST',
      url: `/rest/v1/targets/${enc(controllerId)}/assignedDS`,
      data: [{ id: distributionSetId, type }],
    });
  }

  getInstalledDistributionSet(controllerId: string): Promise<MgmtDistributionSet | undefined> {
    return this.optionalBody('GET /rest/v1/targets/{id}/installedDS', `/rest/v1/targets/${enc(controllerId)}/installedDS`);
  }

  getAssignedDistributionSet(controllerId: string): Promise<MgmtDistributionSet | undefined> {
    return this.optionalBody('GET /rest/v1/targets/{id}/assignedDS', `/rest/v1/targets/${enc(controllerId)}/assignedDS`);
  }

  // ---- actions
  /**
   * One page of actions modified at or after `sinceMs`, oldest first (ties by id), in full
   * representation (links name the target and the distribution set). Callers page by key — the next
   * call starts at the last `lastModifiedAt` seen — so actions modified meanwhile cannot shift an
   * offset past one not yet read.
   */
  async changedActions(sinceMs: number, o: { offset?: number; limit?: number } = {}): Promise<MgmtAction[]> {
    const page = await this.http.requireRequest<Paged<MgmtAction>>('GET /rest/v1/actions', {
      url: '/rest/v1/actions',
      params: { q: `lastModifiedAt=ge=${Math.max(0, Math.floor(sinceMs))}`, sort: 'lastModifiedAt:ASC,id:ASC', offset: o.offset ?? 0, limit: o.limit ?? this.pageSize, representation: 'full' },
    });
    return page.content;
  }

  /** How many actions match a FIQL filter (one request: hawkBit's page total). */
  async countActions(q: string): Promise<number> {
    const page = await this.http.requireRequest<Paged<MgmtAction>>('GET /rest/v1/actions', { url: '/rest/v1/actions', params: { q, limit: 1 } });
    return page.total ?? page.content.length;
  }

  /**
   * Every active action (in full representation unless asked otherwise), by id keyset (`id=gt=<last>`), in pages of up to
   * 500: actions that finish meanwhile cannot shift a page past one not yet read.
   */
  async *activeActionPages(representation: 'full' | 'compact' = 'full'): AsyncGenerator<MgmtAction[]> {
    for (let after = 0; ;) {
      const page = await this.http.requireRequest<Paged<MgmtAction>>('GET /rest/v1/actions', {
        url: '/rest/v1/actions',
        // Compact leaves out the target and distribution set links (hawkBit need not load them): enough to see which are open.
        params: { q: `active==true;id=gt=${after}`, sort: 'id:ASC', limit: MAX_PAGE, ...(representation === 'full' ? { representation } : {}) },
      });
      if (page.content.length) yield page.content;
      if (page.content.length < MAX_PAGE) return;
      after = page.content[page.content.length - 1]!.id;
    }
  }

  /** The given actions in full representation (absent ones, e.g. of deleted targets, are left out). */
  async actionsByIds(ids: number[]): Promise<MgmtAction[]> {
    const out: MgmtAction[] = [];
    // Short enough for any URL limit; FIQL's =in= takes the ids as a list.
    for (let i = 0; i < ids.length; i += 100) {
      const chunk = ids.slice(i, i + 100);
      const page = await this.http.requireRequest<Paged<MgmtAction>>('GET /rest/v1/actions', {
        url: '/rest/v1/actions',
        params: { q: `id=in=(${chunk.join(',')})`, limit: chunk.length, representation: 'full' },
      });
      out.push(...page.content);
    }
    return out;
  }

  targetActions(controllerId: string, query: ListQuery = {}): Promise<MgmtAction[]> {
    return collect(this.paged<MgmtAction>('GET /rest/v1/targets/{id}/actions', `/rest/v1/targets/${enc(controllerId)}/actions`, query));
  }

  actionStatuses(controllerId: string, actionId: number, limit = 10): Promise<Paged<MgmtActionStatus> | undefined> {
    return this.http.request('GET /rest/v1/targets/{id}/actions/{actionId}/status', {
      url: `/rest/v1/targets/${enc(controllerId)}/actions/${actionId}/status`,
      params: { offset: 0, limit, sort: 'id:DESC' },
    });
  }

  // ---- software modules and artifacts
  async createSoftwareModule(body: { name: string; version: string; type: string; vendor?: string; description?: string }): Promise<MgmtSoftwareModule> {
    const [sm] = await this.http.requireRequest<MgmtSoftwareModule[]>('POST /rest/v1/softwaremodules', {
      method: 'POST',
      url: '/rest/v1/softwaremodules',
      data: [body],
    });
    if (!sm) throw this.http.error('POST /rest/v1/softwaremodules', 201, 'empty response');
    return sm;
  }

  async findSoftwareModule(name: string, version: string): Promise<MgmtSoftwareModule | undefined> {
    const page = await this.http.request<Paged<MgmtSoftwareModule>>('GET /rest/v1/softwaremodules', {
      url: '/rest/v1/softwaremodules',
      params: { q: `name==${fiqlValue(name)};version==${fiqlValue(version)}`, limit: 1 },
    });
    return page?.content[0];
  }

  /** Uploads a file as an artifact; progress reports bytes sent so a CLI can draw a bar. */
  async uploadArtifact(softwareModuleId: number, filePath: string, opts: { filename?: string; sha256?: string; onProgress?: (sent: number, total: number) => void } = {}): Promise<MgmtArtifact> {
    const filename = opts.filename ?? path.basename(filePath);
    const size = fs.statSync(filePath).size;
    const blob = await fs.openAsBlob(filePath);
    const form = new FormData();
    form.append('file', blob, filename);
    return this.http.requireRequest('POST /rest/v1/softwaremodules/{id}/artifacts', {
      method: 'POST',
      url: `/rest/v1/softwaremodules/${softwareModuleId}/artifacts`,
      params: { filename, ...(opts.sha256 ? { sha256sum: opts.sha256 } : {}) },
      data: form,
      timeout: 0,
      maxBodyLength: Infinity,
      onUploadProgress: (e) => opts.onProgress?.(e.loaded, e.total ?? size),
    });
  }

  // ---- distribution sets
  async createDistributionSet(body: { name: string; version: string; type: string; description?: string; modules: { id: number }[] }): Promise<MgmtDistributionSet> {
    const [ds] = await this.http.requireRequest<MgmtDistributionSet[]>('POST /rest/v1/distributionsets', {
      method: 'POST',
      url: '/rest/v1/distributionsets',
      data: [body],
    });
    if (!ds) throw this.http.error('POST /rest/v1/distributionsets', 201, 'empty response');
    return ds;
  }

  getDistributionSet(id: number): Promise<MgmtDistributionSet | undefined> {
    return this.http.request('GET /rest/v1/distributionsets/{id}', { url: `/rest/v1/distributionsets/${id}` });
  }

  async findDistributionSet(name: string, version: string): Promise<MgmtDistributionSet | undefined> {
    const page = await this.http.request<Paged<MgmtDistributionSet>>('GET /rest/v1/distributionsets', {
      url: '/rest/v1/distributionsets',
      params: { q: `name==${fiqlValue(name)};version==${fiqlValue(version)}`, limit: 1 },
    });
    return page?.content[0];
  }

  // ---- rollouts
  createRollout(body: MgmtRolloutCreate): Promise<MgmtRollout> {
    return this.http.requireRequest('POST /rest/v1/rollouts', { method: 'POST', url: '/rest/v1/rollouts', data: body });
  }

  getRollout(id: number): Promise<MgmtRollout | undefined> {
    return this.http.request('GET /rest/v1/rollouts/{id}', { url: `/rest/v1/rollouts/${id}` });
  }

  listRollouts(query: ListQuery = {}): Promise<MgmtRollout[]> {
    return collect(this.paged<MgmtRollout>('GET /rest/v1/rollouts', '/rest/v1/rollouts', query));
  }

  rolloutGroups(rolloutId: number): Promise<MgmtRolloutGroup[]> {
    return collect(this.paged<MgmtRolloutGroup>('GET /rest/v1/rollouts/{id}/deploygroups', `/rest/v1/rollouts/${rolloutId}/deploygroups`, { sort: 'id:ASC' }, { representation: 'full' }));
  }

  rolloutGroupTargets(rolloutId: number, groupId: number): Promise<MgmtTarget[]> {
    return collect(this.paged<MgmtTarget>('GET /rest/v1/rollouts/{id}/deploygroups/{groupId}/targets', `/rest/v1/rollouts/${rolloutId}/deploygroups/${groupId}/targets`, {}));
  }

  /** Deletes a rollout (hawkBit cancels what it has not yet run); already gone is fine. */
  async deleteRollout(id: number): Promise<void> {
    await this.http.request('DELETE /rest/v1/rollouts/{id}', { method: 'DELETE', url: `/rest/v1/rollouts/${id}` });
  }

  startRollout(id: number): Promise<void> {
    return this.rolloutVerb(id, 'start');
  }

  pauseRollout(id: number): Promise<void> {
    return this.rolloutVerb(id, 'pause');
  }

  resumeRollout(id: number): Promise<void> {
    return this.rolloutVerb(id, 'resume');
  }

  // ---- tenant configuration
  async getConfig(key: string): Promise<unknown> {
    const res = await this.http.request<{ value?: unknown }>('GET /rest/v1/system/configs/{key}', {
      url: `/rest/v1/system/configs/${enc(key)}`,
    });
    return res?.value;
  }

  async setConfig(key: string, value: unknown): Promise<void> {
    await this.http.requireRequest('PUT /rest/v1/system/configs/{key}', {
      method: 'PUT',
      url: `/rest/v1/system/configs/${enc(key)}`,
      data: { value },
    });
  }

  /** Cheap authenticated call for /healthz. */
  async ping(): Promise<void> {
    await this.http.requireRequest('GET /rest/v1/targets?limit=1', { url: '/rest/v1/targets', params: { limit: 1 } });
  }

  private async rolloutVerb(id: number, verb: 'start' | 'pause' | 'resume'): Promise<void> {
    await this.http.requireRequest(`POST /rest/v1/rollouts/{id}/${verb}`, {
      method: 'POST',
      url: `/rest/v1/rollouts/${id}/${verb}`,
    });
  }

  /** hawkBit answers 204 (no body) when a target has no distribution set. */
  private async optionalBody<T>(call: string, url: string): Promise<T | undefined> {
    const res = await this.http.send(call, { url });
    return res.status === 200 && res.data ? (res.data as T) : undefined;
  }

  private paged<T>(call: string, url: string, query: ListQuery, extra: Record<string, string> = {}): AsyncGenerator<T[]> {
    return pages<T>(async (offset, limit) => {
      const page = await this.http.requireRequest<Paged<T>>(call, {
        url,
        params: { offset, limit, ...(query.q ? { q: query.q } : {}), ...(query.sort ? { sort: query.sort } : {}), ...extra },
      });
      return { items: page.content ?? [], total: page.total };
    }, this.pageSize);
  }
}

/** Quotes a FIQL value so names with spaces or operators cannot change the filter. */
export function fiqlValue(v: string): string {
  return /^[\w.-]+$/.test(v) ? v : `"${v.replace(/(["\\])/g, '\\$1')}"`;
}
