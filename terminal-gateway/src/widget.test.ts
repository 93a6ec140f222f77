import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const bundle = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'widgets', 'cdm-terminal-bundle.json'), 'utf8')) as {
  widgetsBundle: { alias: string };
  widgetTypes: { alias: string; descriptor: { type: string; controllerScript: string; templateHtml: string; settingsSchema: string; defaultConfig: string } }[];
};

/** Runs the widget controller as ThingsBoard would: `self` with a ctx, a global window. */
function mount(settings: object, entityName?: string) {
  const opened: unknown[][] = [];
  const self: Record<string, unknown> & { ctx: { $scope: Record<string, unknown> } } = { ctx: { settings, datasources: entityName ? [{ entityName }] : [], $scope: {} } as never };
  new Function('self', 'window', bundle.widgetTypes[0]!.descriptor.controllerScript)(self, { open: (...a: unknown[]) => opened.push(a) });
  (self.onInit as () => void)();
  return { scope: self.ctx.$scope, opened };
}

describe('ThingsBoard widget bundle', () => {
  it('is an importable bundle with valid JSON settings and config', () => {
    expect(bundle.widgetsBundle.alias).toBe('cdm');
    const w = bundle.widgetTypes[0]!;
    expect(w.descriptor.type).toBe('static');
    expect(JSON.parse(w.descriptor.settingsSchema).schema.required).toEqual(['gatewayUrl']);
    expect(JSON.parse(w.descriptor.defaultConfig).settings.gatewayUrl).toMatch(/^https:/);
    expect(w.descriptor.templateHtml).toContain('(click)="openTerminal()"');
  });

  it("opens the gateway page for the widget's device in a new tab, device id encoded, nothing else in the URL", () => {
    const { scope, opened } = mount({ gatewayUrl: 'https://terminal.example.com/' }, 'SN 42/a');
    expect(scope.deviceName).toBe('SN 42/a');
    (scope.openTerminal as () => void)();
    expect(opened).toEqual([['https://terminal.example.com/?device=SN%2042%2Fa', '_blank', 'noopener']]);
  });

  it('does nothing without a gateway URL or a device', () => {
    const a = mount({ gatewayUrl: 'javascript:alert(1)' }, 'dev-1');
    (a.scope.openTerminal as () => void)();
    const b = mount({ gatewayUrl: 'https://t.example' });
    (b.scope.openTerminal as () => void)();
    expect([...a.opened, ...b.opened]).toEqual([]);
  });
});
