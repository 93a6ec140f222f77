import { SHADOW } from '@cdm/common';
import { describe, expect, it } from 'vitest';
import { DEVICE_WIDGET_FQN, operatorUi } from './thingsboard-ui.ts';
import { mountWidget } from './thingsboard-ui.test-helpers.ts';

const mount = (o: { authority: string; device?: string; values?: Record<string, unknown>; fleetUrl?: string }) =>
  mountWidget(String(operatorUi('https://fleet.example.com').widgetType.descriptor.controllerScript), {
    settings: { fleetUrl: o.fleetUrl ?? 'https://fleet.example.com/' },
    authority: o.authority,
    entityName: o.device,
    values: o.values,
  });

describe("the operators' ThingsBoard dashboard", () => {
  it('is pure: the same fleet URL gives the same JSON and version, another URL another version', () => {
    const a = operatorUi('https://fleet.example.com');
    expect(operatorUi('https://fleet.example.com')).toEqual(a);
    expect(operatorUi('https://fleet2.example.com').version).not.toBe(a.version);
    expect(a.configuration.cdm).toEqual({ managedBy: 'tenant-sync', version: a.version });
  });

  it("binds the device widget to the shadow's attribute keys (the agent's contract) and the table's row to the device state", () => {
    const { configuration } = operatorUi('https://fleet.example.com');
    const widgets = Object.values(configuration.widgets as Record<string, any>);
    const device = widgets.find((w) => w.typeFullFqn === `tenant.${DEVICE_WIDGET_FQN}`);
    expect(device.config.datasources[0].dataKeys.map((k: { name: string }) => k.name)).toEqual(expect.arrayContaining(Object.values(SHADOW)));
    expect(device.config.settings.fleetUrl).toBe('https://fleet.example.com');
    const table = widgets.find((w) => w.typeFullFqn === 'system.cards.entities_table');
    expect(table.config.actions.rowClick[0]).toMatchObject({ type: 'openDashboardState', targetDashboardStateId: 'device', setEntityId: true });
    expect(Object.keys(configuration.states as object)).toEqual(['default', 'device']);
  });

  it('shows desired against reported and the difference; a refusal of the current version says so', () => {
    const w = mount({
      authority: 'CUSTOMER_USER',
      device: 'SN-1',
      values: {
        [SHADOW.desired]: '{"log_level":"debug","sampling_interval_s":10}',
        [SHADOW.desiredVersion]: 3,
        [SHADOW.reported]: '{"sampling_interval_s":10}',
        [SHADOW.reportedVersion]: 2,
        active: 'true',
      },
    });
    expect(w.scope).toMatchObject({ device: 'SN-1', state: 'pending', version: 3, reportedVersion: 2, online: true, delta: [{ key: 'log_level', desired: '"debug"', reported: '—' }] });
    w.update({ [SHADOW.desired]: '{"log_level":"trace"}', [SHADOW.desiredVersion]: 4, [SHADOW.reportedVersion]: 3, [SHADOW.error]: 'log_level: invalid', [SHADOW.errorVersion]: 4 });
    expect(w.scope).toMatchObject({ state: 'refused', error: 'log_level: invalid' });
    w.update({
      [SHADOW.desired]: '{"log_level":"debug"}',
      [SHADOW.desiredVersion]: 4,
      [SHADOW.reported]: '{"log_level":"debug"}',
      [SHADOW.reportedVersion]: 4,
      [SHADOW.error]: 'old',
      [SHADOW.errorVersion]: 3,
    });
    expect(w.scope).toMatchObject({ state: 'in sync', delta: [] });
  });

  it('offers operators (customer users) no admin-only operation; a tenant admin gets them all', () => {
    expect(mount({ authority: 'CUSTOMER_USER', device: 'SN-1' }).scope.ops.map((o: { id: string }) => o.id)).toEqual(['diagnostics', 'reboot', 'config-apply']);
    expect(mount({ authority: 'TENANT_ADMIN', device: 'SN-1' }).scope.ops.map((o: { id: string }) => o.id)).toEqual(['diagnostics', 'reboot', 'config-apply', 'factory-reset', 'recovery']);
  });

  it("opens the fleet API's device page for the operation in a new tab, the device id encoded, nothing else in the URL", () => {
    const w = mount({ authority: 'TENANT_ADMIN', device: 'SN 42/a' });
    w.scope.open('factory-reset');
    expect(w.opened).toEqual([['https://fleet.example.com/?device=SN%2042%2Fa&op=factory-reset', '_blank', 'noopener']]);
    const bad = mount({ authority: 'TENANT_ADMIN', device: 'SN-1', fleetUrl: 'javascript:alert(1)' });
    bad.scope.open('reboot');
    const none = mount({ authority: 'TENANT_ADMIN' });
    none.scope.open('reboot');
    expect([...bad.opened, ...none.opened]).toEqual([]);
  });
});
