/** What a test reads of the widget's scope (ThingsBoard binds the template to it). */
export type WidgetScope = Record<string, any>;

/**
 * Runs a widget controller as ThingsBoard's UI does: `self` with a ctx (settings, the signed-in
 * user, the datasource's entity, the latest value of each data key) and a global `window` whose
 * `open` is recorded. `update` delivers new values as a subscription would.
 */
export function mountWidget(controllerScript: string, o: { settings: object; authority: string; entityName?: string; values?: Record<string, unknown> }) {
  const opened: string[][] = [];
  const data = (values: Record<string, unknown>) => Object.entries(values).map(([name, v]) => ({ dataKey: { name }, data: [[Date.now(), v]] }));
  const ctx = {
    settings: o.settings,
    currentUser: { authority: o.authority },
    datasources: o.entityName ? [{ entityName: o.entityName }] : [],
    data: data(o.values ?? {}),
    $scope: {} as WidgetScope,
    detectChanges: () => undefined,
  };
  const self: Record<string, unknown> = { ctx };
  new Function('self', 'window', controllerScript)(self, { open: (...a: string[]) => opened.push(a) });
  (self.onInit as () => void)();
  return {
    scope: ctx.$scope,
    opened,
    update: (values: Record<string, unknown>) => {
      ctx.data = data(values);
      (self.onDataUpdated as () => void)();
    },
  };
}
