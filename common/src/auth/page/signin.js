// Keycloak sign-in for cdm's browser pages (authorization code + PKCE, public client). The code is
// exchanged through the page's own server (POST /v1/oidc/token, see signin-routes.ts); the access
// token stays in the page's memory, never in storage or a URL. The page's query (e.g. ?device=)
// survives the round trip to Keycloak in sessionStorage. Tokens are refreshed before they expire.
// Resolves to a session { token } once signed in, or to undefined while the browser goes to Keycloak.
window.cdmSignIn = async function cdmSignIn(opts) {
  const onRefresh = (opts && opts.onRefresh) || function () {};
  const onRefreshFailed = (opts && opts.onRefreshFailed) || function () {};
  const cfg = await (await fetch('/config.json')).json();
  const redirectUri = location.origin + location.pathname;
  const params = new URLSearchParams(location.search);
  const b64url = (buf) =>
    btoa(String.fromCharCode(...new Uint8Array(buf)))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
  const exchange = async (body) => {
    const res = await fetch('/v1/oidc/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(answer.error || `sign-in failed (HTTP ${res.status})`);
    return answer;
  };
  const session = { token: undefined };
  const refreshLater = (refreshToken, expiresIn) =>
    setTimeout(
      async () => {
        try {
          const a = await exchange({ refreshToken });
          session.token = a.accessToken;
          onRefresh(a.accessToken);
          refreshLater(a.refreshToken || refreshToken, a.expiresIn);
        } catch (e) {
          onRefreshFailed(e.message);
        }
      },
      Math.max(5, (expiresIn || 300) * 0.7) * 1000,
    );

  if (params.get('code') && params.get('state') === sessionStorage.getItem('cdm.state')) {
    const a = await exchange({ code: params.get('code'), codeVerifier: sessionStorage.getItem('cdm.verifier'), redirectUri });
    sessionStorage.removeItem('cdm.verifier');
    history.replaceState(null, '', redirectUri + (sessionStorage.getItem('cdm.query') || '')); // the code leaves the address bar
    sessionStorage.removeItem('cdm.query');
    session.token = a.accessToken;
    if (a.refreshToken) refreshLater(a.refreshToken, a.expiresIn);
    return session;
  }
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem('cdm.verifier', verifier);
  sessionStorage.setItem('cdm.state', state);
  sessionStorage.setItem('cdm.query', location.search);
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  location.assign(
    `${cfg.issuer}/protocol/openid-connect/auth?${new URLSearchParams({ response_type: 'code', client_id: cfg.clientId, redirect_uri: redirectUri, scope: 'openid', state, code_challenge: challenge, code_challenge_method: 'S256' })}`,
  );
  return undefined;
};
