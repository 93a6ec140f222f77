// The operator's device page (opened from ThingsBoard's cdm widget as /?device=<id>): signs in with
// Keycloak (cdmSignIn, token in memory), then shows the device, its configuration shadow and the
// operations — each button enabled only when the device's `allowed` list (the API's permission
// table for this person) holds it. The API decides regardless; the page only avoids offering what
// would be refused.
(async () => {
  const $ = (id) => document.getElementById(id);
  const status = (s) => ($('status').textContent = s);
  const session = await window.cdmSignIn({ onRefreshFailed: (why) => status(`sign-in could not be renewed (${why}): reload the page`) }).catch((e) => status(e.message));
  if (!session) return;
  const device = new URLSearchParams(location.search).get('device');
  $('device').textContent = device || '(no device: open /?device=<id>)';
  if (!device) return status('signed in');
  const dev = `/v1/devices/${encodeURIComponent(device)}`;
  const api = async (method, path, body) => {
    const res = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${session.token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(answer.error || `HTTP ${res.status}`);
    return answer;
  };
  const facts = (el, pairs) => {
    el.replaceChildren(...pairs.flatMap(([k, v]) => [Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: v })]));
  };
  const show = (v) => JSON.stringify(v, null, 2);

  let info;
  try {
    info = await api('GET', dev);
  } catch (e) {
    return status(e.message);
  }
  facts($('facts'), [
    ['tenant', info.tenantId],
    ['status', info.status],
    ['online', info.online ? 'yes' : 'no'],
    ['last seen', info.lastSeen || 'never'],
    ['firmware', info.firmware || 'unknown'],
    ['WireGuard', info.wgIp || '—'],
    ['certificate', info.certificate.serial ? `${info.certificate.serial} until ${info.certificate.notAfter}` : '—'],
    ['open alarms', info.openAlarms.map((a) => `${a.type} (${a.severity})`).join(', ') || 'none'],
  ]);
  const allowed = new Set(info.allowed);

  let shadow;
  const loadShadow = async () => {
    shadow = await api('GET', `${dev}/shadow`);
    $('shadow-state').textContent = `(${shadow.state})`;
    $('shadow-state').className = `state-${shadow.state}`;
    facts($('shadow-facts'), [
      ['version', `desired ${shadow.version}, reported ${shadow.reportedVersion}`],
      ['last sync', shadow.lastSync || 'never'],
      ...(shadow.error ? [['refused', `v${shadow.error.version}: ${shadow.error.message}`]] : []),
    ]);
    $('delta').textContent = show(shadow.delta);
    $('reported').textContent = show(shadow.reported);
  };
  await loadShadow().catch((e) => ($('shadow-state').textContent = `(not readable: ${e.message})`));
  const canWrite = allowed.has('shadow.write');
  $('config-save').disabled = !canWrite; // disabled in the HTML until known
  if (!canWrite) $('config-save').title = 'needs the admin or operator role in this tenant';
  $('config').addEventListener('submit', async (e) => {
    e.preventDefault();
    let desired;
    try {
      desired = JSON.parse(new FormData(e.target).get('desired'));
    } catch {
      return status('the desired configuration is not valid JSON');
    }
    try {
      await api('PATCH', `${dev}/shadow`, { version: shadow.version, desired });
      status('desired configuration saved');
    } catch (err) {
      status(`configuration refused: ${err.message}`);
    }
    await loadShadow().catch(() => undefined);
  });

  const FINAL = new Set(['successful', 'failed', 'timeout', 'expired', 'cancelled']);
  const follow = async (commandId) => {
    for (;;) {
      const c = await api('GET', `${dev}/commands/${encodeURIComponent(commandId)}`);
      $('command-status').textContent = `${c.operation}: ${c.status}${c.error ? ` — ${c.error}` : ''}`;
      $('command-status').dataset.status = c.status;
      if (c.result !== undefined) $('command-result').textContent = show(c.result);
      if (FINAL.has(c.status)) return loadShadow().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  const paramsOf = (op) => {
    if (op !== 'diagnostics') return {};
    const f = new FormData($('diagnostics-form'));
    return { self_test: f.get('self_test') === 'on', sensors: f.get('sensors') === 'on', logs_since_s: Math.round(Number(f.get('logs_minutes') || 15) * 60) };
  };
  const OPERATIONS = [
    ['diagnostics', 'Diagnostics'],
    ['reboot', 'Reboot'],
    ['config-apply', 'Apply configuration now'],
    ['factory-reset', 'Factory reset'],
    ['recovery', 'Recovery'],
  ];
  const DESTRUCTIVE = new Set(['reboot', 'factory-reset', 'recovery']);
  $('operations').replaceChildren(
    ...OPERATIONS.map(([op, label]) => {
      const b = Object.assign(document.createElement('button'), { textContent: label, id: `op-${op}`, disabled: !allowed.has(`command.${op}`) });
      if (b.disabled) b.title = 'your role in this tenant does not allow it';
      b.addEventListener('click', async () => {
        if (DESTRUCTIVE.has(op) && !confirm(`${label} ${device}?`)) return;
        $('command-result').textContent = '';
        try {
          const c = await api('POST', `${dev}/command`, { operation: op, params: paramsOf(op) });
          $('command-status').textContent = `${op}: ${c.status}`;
          await follow(c.commandId);
        } catch (err) {
          $('command-status').textContent = `${op} refused: ${err.message}`;
          $('command-status').dataset.status = 'refused';
        }
      });
      return b;
    }),
  );
  // Opened for one operation (ThingsBoard's widget passes ?op=): its button is focused, never pressed.
  const wanted = new URLSearchParams(location.search).get('op');
  if (wanted && $(`op-${wanted}`)) $(`op-${wanted}`).focus();
  status('signed in'); // last: everything shown is now what this person may do
})();
