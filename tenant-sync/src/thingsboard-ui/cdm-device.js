// ThingsBoard widget "cdm device" (a `latest` widget on one device): the device's configuration
// shadow from ThingsBoard's own attributes — desired (shared config, config_version) against what
// the agent reported (client config_reported, config_reported_version, config_last_sync,
// config_error) — and a button per operation that opens the fleet API's device page for it in a new
// tab. The person signs in there with Keycloak; the API's permission table decides and audits. The
// buttons shown follow the same table: ThingsBoard tenant admins are the tenant's cdm admins,
// customer users its operators (tenant-sync makes them so). A link never runs an operation by itself.
self.onInit = function () {
  var s = self.ctx.$scope;
  var settings = self.ctx.settings || {};
  var user = self.ctx.currentUser || {};
  var ALL = [
    { id: 'diagnostics', label: 'Diagnostics' },
    { id: 'reboot', label: 'Reboot' },
    { id: 'config-apply', label: 'Apply configuration' },
    { id: 'factory-reset', label: 'Factory reset', admin: true },
    { id: 'recovery', label: 'Recovery', admin: true },
  ];
  s.ops = ALL.filter(function (o) {
    return !o.admin || user.authority === 'TENANT_ADMIN';
  });
  s.device = '';
  s.state = 'unknown';
  s.delta = [];
  s.open = function (op) {
    var base = String(settings.fleetUrl || '').replace(/\/+$/, '');
    if (!/^https?:\/\//.test(base) || !s.device) return;
    window.open(base + '/?device=' + encodeURIComponent(s.device) + '&op=' + encodeURIComponent(op), '_blank', 'noopener');
  };
  self.onDataUpdated();
};

self.onDataUpdated = function () {
  var s = self.ctx.$scope;
  var v = {};
  (self.ctx.data || []).forEach(function (d) {
    var last = d.data && d.data.length ? d.data[d.data.length - 1][1] : undefined;
    v[d.dataKey.name] = last;
  });
  var ds = (self.ctx.datasources || [])[0] || {};
  var parse = function (x) {
    if (x === undefined || x === null || x === '') return {};
    if (typeof x === 'object') return x;
    try {
      return JSON.parse(x);
    } catch {
      return {};
    }
  };
  var desired = parse(v.config);
  var reported = parse(v.config_reported);
  var version = Number(v.config_version || 0);
  var reportedVersion = Number(v.config_reported_version || 0);
  s.device = ds.entityName || '';
  s.version = version;
  s.reportedVersion = reportedVersion;
  s.lastSync = v.config_last_sync ? new Date(Number(v.config_last_sync)).toISOString() : 'never';
  s.delta = Object.keys(desired)
    .filter(function (k) {
      return JSON.stringify(desired[k]) !== JSON.stringify(reported[k]);
    })
    .map(function (k) {
      return { key: k, desired: JSON.stringify(desired[k]), reported: reported[k] === undefined ? '—' : JSON.stringify(reported[k]) };
    });
  s.error = v.config_error || '';
  s.state = s.error && Number(v.config_error_version) === version && reportedVersion < version ? 'refused' : reportedVersion >= version && !s.delta.length ? 'in sync' : 'pending';
  s.online = v.active === true || v.active === 'true';
  if (self.ctx.detectChanges) self.ctx.detectChanges();
};

self.onDestroy = function () {};
