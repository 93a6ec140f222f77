import path from 'node:path';
import express from 'express';
import { z } from 'zod';

export interface SignInPage {
  /** Keycloak realm URL (public: the browser goes there). */
  issuer: string;
  /** Public client the page signs in with. */
  clientId: string;
  /** Where the server exchanges codes, if not <issuer>/protocol/openid-connect/token (e.g. Keycloak's internal address). */
  tokenUrl?: string;
}

const TokenBody = z.union([
  z.object({ code: z.string().min(1).max(4096), codeVerifier: z.string().min(43).max(128), redirectUri: z.string().url() }).strict(),
  z.object({ refreshToken: z.string().min(1).max(8192) }).strict(),
]);

/** Security headers for cdm's pages: scripts only from the page's own origin, no framing, no referrer. */
export const pageHeaders: express.RequestHandler = (_req, res, next) => {
  res.set({
    'Content-Security-Policy': "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'",
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'SAMEORIGIN',
  });
  next();
};

/**
 * What a cdm page needs to sign people in with Keycloak: `/config.json`, the browser side
 * (`/signin.js`, defines `cdmSignIn`) and `POST /v1/oidc/token`. The code exchange goes through the
 * server (server to Keycloak) because a browser cannot call the token endpoint across origins
 * unless Keycloak lists this origin; PKCE still binds the code to the page, and only tokens go back.
 */
export function signInRoutes(page: SignInPage): express.Router {
  const r = express.Router();
  r.get('/config.json', (_req, res) => void res.json({ issuer: page.issuer, clientId: page.clientId }));
  r.get('/signin.js', (_req, res) => void res.sendFile(path.join(import.meta.dirname, 'page', 'signin.js')));
  r.post('/v1/oidc/token', express.json({ limit: '16kb' }), async (req, res) => {
    const body = TokenBody.safeParse(req.body);
    if (!body.success) return void res.status(400).json({ error: 'send {code, codeVerifier, redirectUri} or {refreshToken}' });
    const b = body.data;
    // A code for another page's address is not this page's to redeem.
    if ('redirectUri' in b && new URL(b.redirectUri).host !== req.get('host')) return void res.status(400).json({ error: 'redirectUri must be this page' });
    const grant: Record<string, string> =
      'refreshToken' in b
        ? { grant_type: 'refresh_token', client_id: page.clientId, refresh_token: b.refreshToken }
        : { grant_type: 'authorization_code', client_id: page.clientId, code: b.code, redirect_uri: b.redirectUri, code_verifier: b.codeVerifier };
    const r = await fetch(page.tokenUrl ?? `${page.issuer.replace(/\/$/, '')}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams(grant),
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
    const t = r ? ((await r.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; refresh_token?: string; error_description?: string }) : {};
    if (!r?.ok || !t.access_token) return void res.status(r ? 401 : 502).json({ error: r ? `Keycloak refused the sign-in: ${t.error_description ?? r.status}` : 'Keycloak is not reachable' });
    res.set('Cache-Control', 'no-store').json({ accessToken: t.access_token, expiresIn: t.expires_in, refreshToken: t.refresh_token });
  });
  return r;
}
