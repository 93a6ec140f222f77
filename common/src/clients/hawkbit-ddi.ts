import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { UpstreamError } from '../errors.ts';
import { HttpClient, type RequestObserver } from '../http.ts';

/** Shapes from the hawkBit DDI API v1 spec (the device side). */
export interface DdiLink {
  href: string;
}

export interface DdiControllerBase {
  config?: { polling?: { sleep?: string } };
  _links?: Record<string, DdiLink | undefined>;
}

export interface DdiArtifact {
  filename: string;
  hashes?: { sha1?: string; md5?: string; sha256?: string };
  size?: number;
  _links?: Record<string, DdiLink | undefined>;
}

export interface DdiChunk {
  part: string;
  version: string;
  name: string;
  encrypted?: boolean;
  artifacts?: DdiArtifact[];
  metadata?: { key: string; value: string }[];
}

export type DdiHandling = 'skip' | 'attempt' | 'forced';

export interface DdiDeploymentBase {
  id: string;
  deployment: { download?: DdiHandling; update?: DdiHandling; chunks: DdiChunk[]; maintenanceWindow?: 'available' | 'unavailable' };
  actionHistory?: { status?: string; messages?: string[] };
}

export interface DdiCancel {
  id?: string;
  cancelAction: { stopId: string };
}

export type DdiExecution = 'closed' | 'proceeding' | 'canceled' | 'scheduled' | 'rejected' | 'resumed' | 'downloaded' | 'download';

/** One status report; `finished` is the result (none while still working). */
export interface DdiFeedback {
  execution: DdiExecution;
  finished: 'success' | 'failure' | 'none';
  progress?: { cnt: number; of?: number };
  details?: string[];
  code?: number;
  /** When it happened on the device (epoch ms); hawkBit uses the time it received it otherwise. */
  timestamp?: number;
}

/** What a poll of the controller base says the device should do next. */
export interface DdiPoll {
  /** How long hawkBit asks the device to wait before the next poll. */
  sleepMs: number;
  deploymentActionId?: number;
  cancelActionId?: number;
  installedActionId?: number;
  confirmationActionId?: number;
  /** hawkBit wants the device's attributes (PUT configData). */
  configDataRequested: boolean;
  raw: DdiControllerBase;
}

export interface DownloadedArtifact {
  path: string;
  size: number;
  sha256: string;
}

export interface HawkbitDdiOptions {
  /** Told of every request sent (counting in tests and benchmarks). */
  observer?: RequestObserver;
  baseURL: string;
  tenant?: string;
  controllerId: string;
  /**
   * The target's securityToken (sent as `Authorization: TargetToken …`). hawkBit accepts it only
   * while the tenant configuration `authentication.targettoken.enabled` is true.
   */
  securityToken?: string;
  /** Or the tenant's gateway token (`authentication.gatewaytoken.enabled`/`.key`). */
  gatewayToken?: string;
  timeoutMs?: number;
  retries?: number;
}

const enc = encodeURIComponent;

/** hawkBit's "HH:MM:SS" in milliseconds. */
export function ddiSleepMs(sleep: string | undefined): number {
  const m = /^(\d+):(\d{2}):(\d{2})$/.exec(sleep ?? '');
  return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 : 0;
}

/** The action id at the end of a DDI link (`…/deploymentBase/17?c=-2129030598`). */
function actionIdOf(link: DdiLink | undefined): number | undefined {
  const m = link ? /\/(\d+)(?:\?[^/]*)?$/.exec(link.href) : null;
  return m ? Number(m[1]) : undefined;
}

/** hawkBit DDI API v1 as one device (or a gateway for it) speaks it. I/O only. */
export class HawkbitDdiClient {
  private readonly http: HttpClient;
  private readonly base: string;

  constructor(opts: HawkbitDdiOptions) {
    const auth = opts.securityToken ? `TargetToken ${opts.securityToken}` : opts.gatewayToken ? `GatewayToken ${opts.gatewayToken}` : undefined;
    this.http = new HttpClient({
      upstream: 'hawkBit DDI',
      baseURL: opts.baseURL.replace(/\/$/, ''),
      timeoutMs: opts.timeoutMs,
      retries: opts.retries,
      observer: opts.observer,
      headers: { Accept: 'application/json', ...(auth ? { Authorization: auth } : {}) },
    });
    this.base = `/${enc(opts.tenant ?? 'DEFAULT')}/controller/v1/${enc(opts.controllerId)}`;
  }

  async poll(): Promise<DdiPoll> {
    const raw = await this.http.requireRequest<DdiControllerBase>('GET /{tenant}/controller/v1/{controllerId}', { url: this.base });
    const l = raw._links ?? {};
    return {
      sleepMs: ddiSleepMs(raw.config?.polling?.sleep),
      deploymentActionId: actionIdOf(l.deploymentBase),
      cancelActionId: actionIdOf(l.cancelAction),
      installedActionId: actionIdOf(l.installedBase),
      confirmationActionId: actionIdOf(l.confirmationBase),
      configDataRequested: Boolean(l.configData),
      raw,
    };
  }

  /** Reports the device's attributes; hawkBit shows them as the target's attributes. */
  async putConfigData(data: Record<string, string>, mode: 'merge' | 'replace' | 'remove' = 'merge'): Promise<void> {
    await this.http.requireRequest('PUT /{tenant}/controller/v1/{controllerId}/configData', { method: 'PUT', url: `${this.base}/configData`, data: { data, mode } });
  }

  /** The deployment of an open action; undefined when it is gone (e.g. cancelled meanwhile). */
  getDeploymentBase(actionId: number, opts: { actionHistory?: number } = {}): Promise<DdiDeploymentBase | undefined> {
    return this.http.request('GET /{tenant}/controller/v1/{controllerId}/deploymentBase/{actionId}', {
      url: `${this.base}/deploymentBase/${actionId}`,
      params: opts.actionHistory ? { actionHistory: opts.actionHistory } : undefined,
    });
  }

  getCancelAction(actionId: number): Promise<DdiCancel | undefined> {
    return this.http.request('GET /{tenant}/controller/v1/{controllerId}/cancelAction/{actionId}', { url: `${this.base}/cancelAction/${actionId}` });
  }

  /** Reports progress or the result of a deployment; false when hawkBit has closed the action (410). */
  async sendFeedback(actionId: number, f: DdiFeedback): Promise<boolean> {
    try {
      await this.http.requireRequest('POST /{tenant}/controller/v1/{controllerId}/deploymentBase/{actionId}/feedback', {
        method: 'POST',
        url: `${this.base}/deploymentBase/${actionId}/feedback`,
        data: feedbackBody(f),
      });
      return true;
    } catch (e) {
      if (e instanceof UpstreamError && e.status === 410) return false;
      throw e;
    }
  }

  /** Answers a cancel request: closed+success confirms it, rejected refuses it. */
  async sendCancelFeedback(actionId: number, f: DdiFeedback): Promise<void> {
    await this.http.requireRequest('POST /{tenant}/controller/v1/{controllerId}/cancelAction/{actionId}/feedback', {
      method: 'POST',
      url: `${this.base}/cancelAction/${actionId}/feedback`,
      data: feedbackBody(f),
    });
  }

  /**
   * Streams an artifact to `dest` (through `dest.part`, renamed only once complete) and checks its
   * size and hash against the deployment (sha256, else sha1, else md5). A mismatch deletes the
   * partial file and throws. Undefined when hawkBit answers 404.
   */
  async downloadArtifact(artifact: DdiArtifact, dest: string, opts: { onProgress?: (received: number, total: number | undefined) => void } = {}): Promise<DownloadedArtifact | undefined> {
    const call = 'GET /{tenant}/controller/v1/{controllerId}/softwaremodules/{softwareModuleId}/artifacts/{fileName}';
    const href = artifact._links?.download?.href ?? artifact._links?.['download-http']?.href;
    if (!href) throw this.http.error(call, undefined, `artifact ${artifact.filename} has no download link`);
    let res;
    try {
      res = await this.http.axios.request<Readable>({ url: href, responseType: 'stream', headers: { Accept: 'application/octet-stream' } });
    } catch (e) {
      // Code and message only: the axios error carries the request headers, the token among them.
      const err = e as { code?: string; message: string };
      throw this.http.error(call, undefined, err.code ?? err.message);
    }
    if (res.status === 404) {
      res.data.destroy();
      return undefined;
    }
    if (res.status < 200 || res.status >= 300) {
      res.data.destroy();
      throw this.http.error(call, res.status, 'download refused');
    }
    const hashes = { sha256: crypto.createHash('sha256'), sha1: crypto.createHash('sha1'), md5: crypto.createHash('md5') };
    let received = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        for (const h of Object.values(hashes)) h.update(chunk);
        opts.onProgress?.(received, artifact.size);
        done(null, chunk);
      },
    });
    const part = `${dest}.part`;
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    try {
      await pipeline(res.data, meter, fs.createWriteStream(part));
      const got = { sha256: hashes.sha256.digest('hex'), sha1: hashes.sha1.digest('hex'), md5: hashes.md5.digest('hex') };
      const alg = (['sha256', 'sha1', 'md5'] as const).find((a) => artifact.hashes?.[a]);
      const corrupt = (detail: string) =>
        new UpstreamError('hawkBit DDI', call, res.status, `${artifact.filename}: ${detail}`, 'the file differs from what hawkBit announced; it was discarded, download it again');
      if (artifact.size !== undefined && artifact.size !== received) throw corrupt(`expected ${artifact.size} bytes, received ${received}`);
      if (alg && artifact.hashes![alg]!.toLowerCase() !== got[alg]) throw corrupt(`${alg} mismatch (expected ${artifact.hashes![alg]}, got ${got[alg]})`);
      fs.renameSync(part, dest);
      return { path: dest, size: received, sha256: got.sha256 };
    } catch (e) {
      fs.rmSync(part, { force: true });
      if (e instanceof UpstreamError) throw e;
      throw this.http.error(call, undefined, `download of ${artifact.filename} broke off: ${(e as Error).message}`);
    }
  }
}

function feedbackBody(f: DdiFeedback) {
  return {
    ...(f.timestamp !== undefined ? { timestamp: f.timestamp } : {}),
    status: {
      execution: f.execution,
      result: { finished: f.finished, ...(f.progress ? { progress: f.progress } : {}) },
      ...(f.code !== undefined ? { code: f.code } : {}),
      ...(f.details?.length ? { details: f.details } : {}),
    },
  };
}
