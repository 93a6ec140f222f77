import crypto from 'node:crypto';
import https from 'node:https';
import { HttpClient } from '../http.ts';
import { UpstreamError } from '../errors.ts';
import { oneTimeToken, type ProvisionerKey } from './stepca-token.ts';

export * from './stepca-token.ts';

export interface SignResponse {
  crt: string;
  ca: string | null;
  certChain: string[];
}

export interface StepCaOptions {
  baseURL: string;
  /** Lowercase hex SHA-256 of the root certificate DER; the root is only trusted if it matches. */
  rootFingerprint: string;
  provisioner: ProvisionerKey;
  timeoutMs?: number;
  retries?: number;
}

/** SHA-256 fingerprint (lowercase hex) of a PEM certificate's DER. */
export function fingerprintPem(pem: string): string {
  return new crypto.X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

/** step-ca fetches `/root/{sha}` over TLS it cannot verify yet; the fingerprint check is the trust anchor. */
export async function fetchRoot(baseURL: string, fingerprint: string, timeoutMs = 10_000): Promise<string> {
  const http = new HttpClient({
    upstream: 'step-ca',
    baseURL,
    timeoutMs,
    axios: { httpsAgent: new https.Agent({ rejectUnauthorized: false }) },
  });
  const res = await http.request<{ ca: string }>('GET /root/{sha}', { url: `/root/${fingerprint}` });
  if (!res?.ca) throw http.error('GET /root/{sha}', 404, `no root with fingerprint ${fingerprint}`);
  const got = fingerprintPem(res.ca);
  if (got !== fingerprint.toLowerCase()) {
    throw new UpstreamError('step-ca', 'GET /root/{sha}', undefined, `root fingerprint mismatch (got ${got})`, 'check STEPCA_ROOT_FINGERPRINT and STEPCA_URL');
  }
  return res.ca;
}

/**
 * step-ca X.509 API: sign with provisioner one-time tokens, renew with mTLS, passive revoke.
 * Construct with `StepCaClient.connect()`, which pins the root first.
 */
export class StepCaClient {
  private readonly http: HttpClient;

  private constructor(
    private readonly opts: StepCaOptions,
    readonly rootPem: string,
  ) {
    this.http = new HttpClient({
      upstream: 'step-ca',
      baseURL: opts.baseURL.replace(/\/$/, ''),
      timeoutMs: opts.timeoutMs,
      retries: opts.retries,
      // Kept-alive connections: a TLS handshake per certificate cost the bridge more CPU than the signing.
      axios: { httpsAgent: new https.Agent({ ca: rootPem, keepAlive: true }) },
    });
  }

  static async connect(opts: StepCaOptions): Promise<StepCaClient> {
    return new StepCaClient(opts, await fetchRoot(opts.baseURL, opts.rootFingerprint, opts.timeoutMs));
  }

  /** For tests or when the root was already verified. */
  static withRoot(opts: StepCaOptions, rootPem: string): StepCaClient {
    if (fingerprintPem(rootPem) !== opts.rootFingerprint) throw new Error('step-ca: root does not match the pinned fingerprint');
    return new StepCaClient(opts, rootPem);
  }

  async health(): Promise<void> {
    const res = await this.http.requireRequest<{ status?: string }>('GET /health', { url: '/health' });
    if (res.status !== 'ok') throw this.http.error('GET /health', 200, JSON.stringify(res));
  }

  /** Signs a PEM CSR for `subject` (the device id); the token allows exactly that name. */
  async sign(csrPem: string, subject: string, validity?: { notAfter?: string; sans?: string[] }): Promise<SignResponse> {
    // The token must list every name the CSR asks for; a device CSR asks for its id only.
    const ott = await this.token('sign', subject, validity?.sans ?? [subject]);
    return this.http.requireRequest('POST /1.0/sign', {
      method: 'POST',
      url: '/1.0/sign',
      data: { csr: csrPem, ott, ...(validity?.notAfter ? { notAfter: validity.notAfter } : {}) },
    });
  }

  /** Renews with the current certificate over mTLS (the caller holds the device key). */
  renew(certPem: string, keyPem: string): Promise<SignResponse> {
    return this.http.requireRequest('POST /1.0/renew', {
      method: 'POST',
      url: '/1.0/renew',
      httpsAgent: new https.Agent({ ca: this.rootPem, cert: certPem, key: keyPem }),
    });
  }

  /** Passive revocation by serial (decimal or 0x-hex). */
  async revoke(serial: string, reason = 'decommissioned', reasonCode = 5): Promise<void> {
    const ott = await this.token('revoke', serial);
    await this.http.requireRequest('POST /1.0/revoke', {
      method: 'POST',
      url: '/1.0/revoke',
      data: { serial, ott, reason, reasonCode, passive: true },
    });
  }

  private token(endpoint: 'sign' | 'revoke', subject: string, sans?: string[]): Promise<string> {
    return oneTimeToken(this.opts.provisioner, {
      audience: `${this.opts.baseURL.replace(/\/$/, '')}/1.0/${endpoint}`,
      subject,
      sans,
      rootFingerprint: this.opts.rootFingerprint,
    });
  }
}
