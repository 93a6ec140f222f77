import { DeviceAnswer, LookupAnswer, MAX_LOOKUP, type DirectoryDevice } from '../contracts/device-directory.ts';
import { HttpClient, type RequestObserver } from '../http.ts';

export interface DeviceDirectoryOptions {
  /** enroll-bridge's internal address (its health port), e.g. http://enroll-bridge:19102. */
  baseURL: string;
  /** A Keycloak access token with the directory audience (KeycloakClient.accessToken). */
  token: () => Promise<string>;
  timeoutMs?: number;
  observer?: RequestObserver;
}

/** Asks enroll-bridge, the owner of device identity, about devices; 404 → undefined. */
export class DeviceDirectoryClient {
  private readonly http: HttpClient;

  constructor(private readonly o: DeviceDirectoryOptions) {
    this.http = new HttpClient({ upstream: 'enroll-bridge directory', baseURL: o.baseURL.replace(/\/$/, ''), timeoutMs: o.timeoutMs, observer: o.observer });
  }

  async get(deviceId: string): Promise<DirectoryDevice | undefined> {
    const body = await this.http.request<unknown>('GET /v1/directory/devices/{id}', { url: `/v1/directory/devices/${encodeURIComponent(deviceId)}`, headers: await this.auth() });
    return body === undefined ? undefined : this.parse(DeviceAnswer, body, 'GET /v1/directory/devices/{id}').device;
  }

  /** Many devices at once (the ones the directory does not know are absent from the map). */
  async lookup(ids: readonly string[]): Promise<Map<string, DirectoryDevice>> {
    const out = new Map<string, DirectoryDevice>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += MAX_LOOKUP) {
      const body = await this.http.requireRequest<unknown>('POST /v1/directory/lookup', {
        method: 'POST',
        url: '/v1/directory/lookup',
        data: { ids: unique.slice(i, i + MAX_LOOKUP) },
        headers: await this.auth(),
      });
      for (const d of this.parse(LookupAnswer, body, 'POST /v1/directory/lookup').devices) out.set(d.deviceId, d);
    }
    return out;
  }

  async ping(): Promise<void> {
    await this.lookup([]);
  }

  private async auth(): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.o.token()}` };
  }

  private parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } }, body: unknown, call: string): T {
    const r = schema.safeParse(body);
    if (!r.success) throw this.http.error(call, 200, `answer outside the directory contract: ${r.error.message.slice(0, 300)}`);
    return r.data;
  }
}
