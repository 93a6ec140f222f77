import fs from 'node:fs';
import https from 'node:https';
import { HttpClient, type RequestObserver } from '@cdm/common';

export interface ClaimAnswer {
  claim: { id: string; tenantId: string; deviceId?: string; usesLeft: number; maxUses: number; expiresAt: string };
  token: string;
}

/**
 * enroll-bridge's admin API, the owner of claims, called on behalf of the person: their own bearer
 * token is forwarded, so enroll-bridge decides with its own authority check (tenant admin) and its
 * audit names them. Nothing about claims is decided or kept here.
 */
export class EnrollAdminClient {
  private readonly http: HttpClient;

  constructor(o: { baseURL: string; caFile?: string; observer?: RequestObserver }) {
    this.http = new HttpClient({
      upstream: 'enroll-bridge admin API',
      baseURL: o.baseURL.replace(/\/$/, ''),
      observer: o.observer,
      ...(o.caFile ? { axios: { httpsAgent: new https.Agent({ ca: fs.readFileSync(o.caFile, 'utf8') }) } } : {}),
    });
  }

  /** A single-use claim only `deviceId` can enroll with. */
  createDeviceClaim(bearer: string, r: { tenant: string; deviceId: string; expires: string }): Promise<ClaimAnswer> {
    return this.http.requireRequest<ClaimAnswer>('POST /v1/admin/claims', {
      method: 'POST',
      url: '/claims',
      data: { tenant: r.tenant, deviceId: r.deviceId, uses: 1, expires: r.expires },
      headers: { authorization: `Bearer ${bearer}` },
    });
  }
}
