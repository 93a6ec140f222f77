// The terminal page: signs the engineer in with Keycloak (cdmSignIn, /signin.js: the token stays in
// memory) and sends the token in the first WebSocket message — never in a URL.
(async () => {
  const $ = (id) => document.getElementById(id);
  const status = (s) => ($('status').textContent = s);
  let ws;
  // Each fresh token goes over the open WebSocket: the gateway ends a session when its token expires.
  const session = await window
    .cdmSignIn({
      onRefresh: (token) => ws && ws.readyState === 1 && ws.send(JSON.stringify({ type: 'token', token })),
      onRefreshFailed: (why) => status(`sign-in could not be renewed (${why}): the session ends when the token expires`),
    })
    .catch((e) => status(e.message));
  if (!session) return;
  const device = new URLSearchParams(location.search).get('device'); // the query is back once signed in
  $('device').textContent = device || '(no device: open /?device=<id>)';
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
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: session.token, deviceId: device, reason, cols: term.cols, rows: term.rows }));
    ws.onmessage = (m) => {
      if (typeof m.data !== 'string') return term.write(new Uint8Array(m.data));
      const msg = JSON.parse(m.data);
      if (msg.type === 'ready') {
        status(`connected (session ${msg.sessionId})`);
        term.focus();
      } else if (msg.type === 'error') status(msg.message);
    };
    ws.onclose = (e) => status(`closed: ${e.code} ${e.reason}`);
    term.onData((data) => ws.readyState === 1 && ws.send(JSON.stringify({ type: 'input', data })));
    new ResizeObserver(() => {
      fit.fit();
      if (ws.readyState === 1) ws.send(JSON.stringify({ type: 'resize', cols: term.cols, rows: term.rows }));
    }).observe($('term'));
  });
})();
