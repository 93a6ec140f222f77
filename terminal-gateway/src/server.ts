import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import express from 'express';
import { z } from 'zod';
import type { TerminalGateway } from './gateway.ts';

const require = createRequire(import.meta.url);
const dirOf = (pkg: string) => path.dirname(require.resolve(`${pkg}/package.json`));

/** The web page (xterm.js from node_modules, no CDN) and the WebSocket on one HTTP server. */
export function createTerminalServer(gateway: TerminalGateway, page: { issuer: string; clientId: string; tokenUrl?: string }): http.Server {
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.set({ 'Content-Security-Policy': "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'", 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'SAMEORIGIN' });
    next();
  });
  app.get('/config.json', (_req, res) => void res.json({ issuer: page.issuer, clientId: page.clientId }));
  // The page's code exchange goes through here (server to Keycloak): a browser cannot call the token
  // endpoint across origins unless Keycloak lists this origin. PKCE still binds the code to the page;
  // only the access token goes back, kept in the page's memory.
  // A refresh keeps an open session going past the first token's expiry: the page sends each fresh
  // access token over the WebSocket (sessions end when the last one expires).
  const TokenBody = z.union([
    z.object({ code: z.string().min(1).max(4096), codeVerifier: z.string().min(43).max(128), redirectUri: z.string().url() }).strict(),
    z.object({ refreshToken: z.string().min(1).max(8192) }).strict(),
  ]);
  app.post('/v1/oidc/token', express.json({ limit: '16kb' }), async (req, res) => {
    const body = TokenBody.safeParse(req.body);
    if (!body.success) return void res.status(400).json({ error: 'send {code, codeVerifier, redirectUri} or {refreshToken}' });
    const b = body.data;
    if ('redirectUri' in b && new URL(b.redirectUri).host !== req.get('host')) return void res.status(400).json({ error: 'redirectUri must be this page' });
    const grant: Record<string, string> =
      'refreshToken' in b
        ? { grant_type: 'refresh_token', client_id: page.clientId, refresh_token: b.refreshToken }
        : { grant_type: 'authorization_code', client_id: page.clientId, code: b.code, redirect_uri: b.redirectUri, code_verifier: b.codeVerifier };
    const r = await fetch(page.tokenUrl ?? `${page.issuer.replace(/\/$/, '')}/protocol/openid-connect/token`, { method: 'POST', body: new URLSearchParams(grant), signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    const t = r ? ((await r.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; refresh_token?: string; error_description?: string }) : {};
    if (!r?.ok || !t.access_token) return void res.status(r ? 401 : 502).json({ error: r ? `Keycloak refused the sign-in: ${t.error_description ?? r.status}` : 'Keycloak is not reachable' });
    res.set('Cache-Control', 'no-store').json({ accessToken: t.access_token, expiresIn: t.expires_in, refreshToken: t.refresh_token });
  });
  app.use('/xterm', express.static(path.join(dirOf('@xterm/xterm'), 'lib')));
  app.use('/xterm', express.static(path.join(dirOf('@xterm/xterm'), 'css')));
  app.use('/xterm-fit', express.static(path.join(dirOf('@xterm/addon-fit'), 'lib')));
  app.use(express.static(path.join(import.meta.dirname, 'page')));
  const server = http.createServer(app);
  gateway.attach(server);
  return server;
}
