import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SHADOW, type WidgetType } from '@cdm/common';

/** The operators' dashboard tenant-sync keeps in every tenant (assigned to the Operators customer). */
export const OPERATOR_DASHBOARD = 'cdm devices';
/** The tenant's widget type the dashboard uses (`tenant.cdm_device`); also usable on dashboards of their own. */
export const DEVICE_WIDGET_FQN = 'cdm_device';

export interface OperatorUi {
  widgetType: WidgetType;
  configuration: Record<string, unknown>;
  /** Hash of both: a dashboard whose configuration carries another is replaced. */
  version: string;
}

const asset = (name: string) => fs.readFileSync(path.join(import.meta.dirname, 'thingsboard-ui', name), 'utf8');
// Stable ids: the same inputs give the same JSON, so the version only changes when the content does.
const ids = {
  table: 'c0de0001-0000-4000-8000-000000000001',
  device: 'c0de0001-0000-4000-8000-000000000002',
  alarms: 'c0de0001-0000-4000-8000-000000000003',
  all: 'c0de0001-0000-4000-8000-0000000000a1',
  selected: 'c0de0001-0000-4000-8000-0000000000a2',
};
const attr = (name: string, label: string) => ({ name, type: 'attribute', label, settings: {} });
const grid = { backgroundColor: '#eeeeee', columns: 24, margin: 10, outerMargin: true, autoFillHeight: true, layoutType: 'default' };

/**
 * The widget type and dashboard for a tenant's operators: a device table (online, firmware,
 * configuration versions) whose row opens the device's state, where the cdm device widget shows
 * the shadow and the operations, beside the device's alarms. Pure: the same fleet URL gives the same
 * JSON and version.
 */
export function operatorUi(fleetUrl: string): OperatorUi {
  const widgetType: WidgetType = {
    fqn: DEVICE_WIDGET_FQN,
    name: 'cdm device',
    description:
      "A device's configuration shadow (desired, reported, difference) and its operations, run on the fleet API's device page (Keycloak sign-in, permission table, audit). Setting: fleetUrl.",
    descriptor: {
      type: 'latest',
      sizeX: 10,
      sizeY: 6,
      resources: [],
      templateHtml: asset('cdm-device.html'),
      templateCss: asset('cdm-device.css'),
      controllerScript: asset('cdm-device.js'),
      settingsSchema: JSON.stringify({
        schema: { type: 'object', title: 'cdm device', properties: { fleetUrl: { title: 'Fleet API URL (its device page), e.g. https://fleet.example.com', type: 'string' } }, required: ['fleetUrl'] },
        form: ['fleetUrl'],
      }),
      dataKeySettingsSchema: '{}',
      defaultConfig: JSON.stringify({ datasources: [{ type: 'entity', dataKeys: [] }], showTitle: true, title: 'Device', settings: { fleetUrl: 'https://fleet.example.com' } }),
    },
  };
  const shadowKeys = [SHADOW.desired, SHADOW.desiredVersion, SHADOW.reported, SHADOW.reportedVersion, SHADOW.lastSync, SHADOW.error, SHADOW.errorVersion, 'active'];
  const widgets = {
    [ids.table]: {
      id: ids.table,
      typeFullFqn: 'system.cards.entities_table',
      type: 'latest',
      sizeX: 14,
      sizeY: 10,
      config: {
        title: 'Devices',
        showTitle: true,
        datasources: [
          {
            type: 'entity',
            entityAliasId: ids.all,
            dataKeys: [
              attr('active', 'Online'),
              attr('current_sw_version', 'Firmware'),
              attr('ota_status', 'Update'),
              attr(SHADOW.desiredVersion, 'Config desired'),
              attr(SHADOW.reportedVersion, 'Config reported'),
            ],
          },
        ],
        settings: {
          entitiesTitle: 'Devices',
          enableSearch: true,
          displayEntityName: true,
          displayEntityLabel: false,
          displayEntityType: false,
          displayPagination: true,
          defaultPageSize: 20,
          defaultSortOrder: 'entityName',
        },
        actions: {
          rowClick: [
            {
              id: 'c0de0001-0000-4000-8000-0000000000b1',
              name: 'Open device',
              icon: 'more_horiz',
              type: 'openDashboardState',
              targetDashboardStateId: 'device',
              setEntityId: true,
              stateEntityParamName: null,
              openInSeparateDialog: false,
              openInPopover: false,
            },
          ],
        },
      },
    },
    [ids.device]: {
      id: ids.device,
      typeFullFqn: `tenant.${DEVICE_WIDGET_FQN}`,
      type: 'latest',
      sizeX: 14,
      sizeY: 7,
      config: { title: 'Device', showTitle: true, datasources: [{ type: 'entity', entityAliasId: ids.selected, dataKeys: shadowKeys.map((k) => attr(k, k)) }], settings: { fleetUrl } },
    },
    [ids.alarms]: {
      id: ids.alarms,
      typeFullFqn: 'system.alarm_widgets.alarms_table',
      type: 'alarm',
      sizeX: 10,
      sizeY: 7,
      config: { title: 'Alarms', showTitle: true, alarmSource: { type: 'entity', entityAliasId: ids.selected, dataKeys: [] }, alarmsPollingInterval: 5, alarmStatusList: ['ACTIVE'], settings: {} },
    },
  };
  const configuration = {
    description: "Managed by cdm's tenant-sync (edits here are replaced on its next pass).",
    widgets,
    states: {
      default: { name: 'Devices', root: true, layouts: { main: { widgets: { [ids.table]: { sizeX: 24, sizeY: 12, row: 0, col: 0 } }, gridSettings: grid } } },
      device: {
        name: '${entityName}',
        root: false,
        layouts: { main: { widgets: { [ids.device]: { sizeX: 14, sizeY: 8, row: 0, col: 0 }, [ids.alarms]: { sizeX: 10, sizeY: 8, row: 0, col: 14 } }, gridSettings: grid } },
      },
    },
    entityAliases: {
      [ids.all]: { id: ids.all, alias: 'All devices', filter: { type: 'entityType', entityType: 'DEVICE', resolveMultiple: true } },
      [ids.selected]: { id: ids.selected, alias: 'Selected device', filter: { type: 'stateEntity', resolveMultiple: false, stateEntityParamName: null, defaultStateEntity: null } },
    },
    filters: {},
    timewindow: { realtime: { timewindowMs: 86_400_000 } },
    settings: {
      stateControllerId: 'entity',
      showTitle: true,
      showDashboardsSelect: true,
      showEntitiesSelect: true,
      showDashboardTimewindow: true,
      showDashboardExport: false,
      toolbarAlwaysOpen: true,
    },
  };
  const version = crypto.createHash('sha256').update(JSON.stringify({ widgetType, configuration })).digest('hex').slice(0, 16);
  return { widgetType, configuration: { ...configuration, cdm: { managedBy: 'tenant-sync', version } }, version };
}
