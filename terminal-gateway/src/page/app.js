// The terminal page: signs the engineer in with Keycloak (authorization code + PKCE, public client),
// keeps the access token in memory only, and sends it in the first WebSocket message — never in a URL.
// The gateway ends a session when its token expires: the page refreshes the token before that and
// sends each fresh one over the open WebSocket.
(async () => {
  const $ = (id) => document.getElementById(id);
  const status = (s) => ($('status').textContent = s);
  const cfg = await (await fetch('/config.json')).json();
  const oidc = `${cfg.issuer}/protocol/openid-connect`;
  const redirectUri = location.origin + location.pathname;
  const params = new URLSearchParams(location.search);
  const b64url = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

  if (params.get('device')) sessionStorage.setItem('cdm.device', params.get('device'));
  const device = sessionStorage.getItem('cdm.device');
  $('device').textContent = device || '(no device: open /?device=<id>)';

  let token;
  let refreshToken;
  let ws;
  const refreshLater = (expiresIn) => setTimeout(async () => {
    const res = await fetch('/v1/oidc/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refreshToken }) }).catch(() => undefined);
    const answer = res ? await res.json().catch(() => ({})) : {};
    if (!res || !res.ok) return status(`sign-in could not be renewed (${answer.error || 'gateway unreachable'}): the session ends when the token expires`);
    token = answer.accessToken;
    refreshToken = answer.refreshToken || refreshToken;
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: 'token', token }));
    refreshLater(answer.expiresIn);
  }, Math.max(5, (expiresIn || 300) * 0.7) * 1000);
  if (params.get('code') && params.get('state') === sessionStorage.getItem('cdm.state')) {
    const res = await fetch('/v1/oidc/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code: params.get('code'), codeVerifier: sessionStorage.getItem('cdm.verifier'), redirectUri }) });
    const answer = await res.json();
    if (!res.ok) return status(answer.error);
    token = answer.accessToken;
    refreshToken = answer.refreshToken;
    if (refreshToken) refreshLater(answer.expiresIn);
    sessionStorage.removeItem('cdm.verifier');
    history.replaceState(null, '', redirectUri); // the code leaves the address bar
  }
  if (!token) {
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
    sessionStorage.setItem('cdm.verifier', verifier);
    sessionStorage.setItem('cdm.state', state);
    const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    location.assign(`${oidc}/auth?${new URLSearchParams({ response_type: 'code', client_id: cfg.clientId, redirect_uri: redirectUri, scope: 'openid', state, code_challenge: challenge, code_challenge_method: 'S256' })}`);
    return;
  }
  status('signed in');

  const term = new Terminal({ cursorBlink: true, convertEol: false });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open($('term'));
  fit.fit();
  window.cdmTerminal = term; // for tests and support: the buffer is readable

  $('connect').addEventListener('submit', (e) => {
    e.preventDefault();
    const reason = new FormData(e.target).get('reason');
    ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/terminal`);
    ws.binaryType = 'arraybuffer';
    status('connecting…');
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token, deviceId: device, reason, cols: term.cols, rows: term.rows }));
    ws.onmessage = (m) => {
      if (typeof m.data !== 'string') return term.write(new Uint8Array(m.data));
      const msg = JSON.parse(m.data);
      if (msg.type === 'ready') { status(`connected (session ${msg.sessionId})`); term.focus(); }
      else if (msg.type === 'error') status(msg.message);
    };
    ws.onclose = (e) => status(`closed: ${e.code} ${e.reason}`);
    term.onData((data) => ws.readyState === 1 && ws.send(JSON.stringify({ type: 'input', data })));
    new ResizeObserver(() => { fit.fit(); if (ws.readyState === 1) ws.send(JSON.stringify({ type: 'resize', cols: term.cols, rows: term.rows })); }).observe($('term'));
  });
})();
