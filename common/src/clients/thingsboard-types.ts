/** Shapes from the ThingsBoard CE 4.3 OpenAPI spec (only the fields cdm uses). */
export type EntityType =
  'TENANT' | 'CUSTOMER' | 'USER' | 'DEVICE' | 'DEVICE_PROFILE' | 'ALARM' | 'ASSET' | 'DASHBOARD' | 'WIDGET_TYPE' | 'NOTIFICATION_TARGET' | 'NOTIFICATION_TEMPLATE' | 'NOTIFICATION_RULE';
export interface EntityId<T extends EntityType = EntityType> {
  id: string;
  entityType: T;
}

export interface PageData<T> {
  data: T[];
  totalPages: number;
  totalElements: number;
  hasNext: boolean;
}

export interface Tenant {
  id?: EntityId<'TENANT'>;
  createdTime?: number;
  title: string;
  name?: string;
  email?: string;
  additionalInfo?: Record<string, unknown> | null;
}

export type Authority = 'SYS_ADMIN' | 'TENANT_ADMIN' | 'CUSTOMER_USER';

export interface User {
  id?: EntityId<'USER'>;
  createdTime?: number;
  tenantId?: EntityId<'TENANT'>;
  customerId?: EntityId<'CUSTOMER'>;
  email: string;
  authority: Authority;
  firstName?: string;
  lastName?: string;
  additionalInfo?: Record<string, unknown> | null;
}

export interface Customer {
  id?: EntityId<'CUSTOMER'>;
  createdTime?: number;
  tenantId?: EntityId<'TENANT'>;
  title: string;
  additionalInfo?: Record<string, unknown> | null;
}

/** A dashboard's listing entry (no configuration); `version` grows with every save. */
export interface DashboardInfo {
  id?: EntityId<'DASHBOARD'>;
  title: string;
  version?: number | null;
  assignedCustomers?: { customerId: EntityId<'CUSTOMER'>; title?: string }[] | null;
}

export interface Dashboard extends DashboardInfo {
  configuration: Record<string, unknown>;
}

/** A widget type (fqn unique per tenant; dashboards refer to a tenant's as `tenant.<fqn>`). */
export interface WidgetType {
  id?: EntityId<'WIDGET_TYPE'>;
  fqn: string;
  name: string;
  description?: string;
  descriptor: Record<string, unknown>;
}

export interface DeviceProfile {
  id?: EntityId<'DEVICE_PROFILE'>;
  name: string;
  description?: string;
  type?: 'DEFAULT';
  transportType?: 'DEFAULT' | 'MQTT' | 'COAP' | 'LWM2M' | 'SNMP';
  provisionType?: 'DISABLED' | 'ALLOW_CREATE_NEW_DEVICES' | 'CHECK_PRE_PROVISIONED_DEVICES' | 'X509_CERTIFICATE_CHAIN';
  profileData?: Record<string, unknown>;
  default?: boolean;
}

export interface Device {
  id?: EntityId<'DEVICE'>;
  createdTime?: number;
  tenantId?: EntityId<'TENANT'>;
  customerId?: EntityId<'CUSTOMER'>;
  name: string;
  type?: string;
  label?: string;
  deviceProfileId?: EntityId<'DEVICE_PROFILE'>;
  additionalInfo?: Record<string, unknown> | null;
}

export interface DeviceCredentials {
  id?: { id: string };
  deviceId?: EntityId<'DEVICE'>;
  credentialsType: 'ACCESS_TOKEN' | 'X509_CERTIFICATE' | 'MQTT_BASIC' | 'LWM2M_CREDENTIALS';
  credentialsId?: string;
  credentialsValue?: string;
}

export type AlarmSeverity = 'CRITICAL' | 'MAJOR' | 'MINOR' | 'WARNING' | 'INDETERMINATE';
export type AlarmStatus = 'ACTIVE_UNACK' | 'ACTIVE_ACK' | 'CLEARED_UNACK' | 'CLEARED_ACK';

export interface Alarm {
  id?: EntityId<'ALARM'>;
  createdTime?: number;
  type: string;
  name?: string;
  originator: EntityId;
  severity: AlarmSeverity;
  status?: AlarmStatus;
  acknowledged?: boolean;
  cleared?: boolean;
  startTs?: number;
  endTs?: number;
  details?: Record<string, unknown> | null;
}

/** An alarm as the tenant-wide listing returns it: with its originator's name. */
export interface AlarmInfo extends Alarm {
  originatorName?: string;
}

/** ThingsBoard's notification center objects cdm writes (only the fields it sets and compares). */
export interface NotificationTarget {
  id?: EntityId<'NOTIFICATION_TARGET'>;
  name: string;
  configuration:
    | { type: 'MICROSOFT_TEAMS'; webhookUrl: string; channelName: string; useOldApi?: boolean; description?: string }
    | { type: 'PLATFORM_USERS'; usersFilter: Record<string, unknown>; description?: string };
}

export interface NotificationTemplate {
  id?: EntityId<'NOTIFICATION_TEMPLATE'>;
  name: string;
  notificationType: 'ALARM';
  configuration: { deliveryMethodsTemplates: Record<string, Record<string, unknown>> };
}

export interface NotificationRule {
  id?: EntityId<'NOTIFICATION_RULE'>;
  name: string;
  enabled: boolean;
  templateId: EntityId<'NOTIFICATION_TEMPLATE'>;
  triggerType: 'ALARM';
  triggerConfig: { triggerType: 'ALARM'; alarmTypes?: string[] | null; alarmSeverities?: AlarmSeverity[] | null; notifyOn: string[]; clearRule?: { alarmStatuses: string[] } | null };
  /** Seconds after the trigger → the targets notified then. */
  recipientsConfig: { triggerType: 'ALARM'; escalationTable: Record<string, string[]> };
  additionalConfig?: { description?: string } | null;
}

export interface NotificationKinds {
  target: NotificationTarget;
  template: NotificationTemplate;
  rule: NotificationRule;
}

export interface AttributeKv {
  key: string;
  value: unknown;
  lastUpdateTs?: number;
}

export type AttributeScope = 'SERVER_SCOPE' | 'SHARED_SCOPE' | 'CLIENT_SCOPE';

export interface AuditLog {
  id?: EntityId;
  createdTime?: number;
  entityId?: EntityId;
  entityName?: string;
  userName?: string;
  actionType: string;
  actionStatus?: string;
}

/** ThingsBoard's delivery state of a persistent RPC (RpcStatus). */
export type RpcStatus = 'QUEUED' | 'SENT' | 'DELIVERED' | 'SUCCESSFUL' | 'TIMEOUT' | 'EXPIRED' | 'FAILED' | 'DELETED';

export interface PersistentRpc {
  id: { id: string; entityType: 'RPC' };
  createdTime: number;
  deviceId: EntityId<'DEVICE'>;
  expirationTime: number;
  request?: { id?: string; body?: { method?: string; params?: string } } | null;
  /** The device's reply as JSON (ThingsBoard parses it; a non-JSON reply becomes {error: text}). */
  response?: unknown;
  status: RpcStatus;
  additionalInfo?: unknown;
}

export interface PersistentRpcRequest {
  method: string;
  params: unknown;
  /** Chosen by the caller so a retried send is the same RPC (ThingsBoard keys the record by it). */
  requestUUID: string;
  /** Epoch ms after which ThingsBoard marks it EXPIRED if not answered. */
  expirationTime: number;
  additionalInfo?: Record<string, unknown>;
  retries?: number;
}

export type EntityKeyType = 'ENTITY_FIELD' | 'ATTRIBUTE' | 'CLIENT_ATTRIBUTE' | 'SHARED_ATTRIBUTE' | 'SERVER_ATTRIBUTE' | 'TIME_SERIES';
export interface EntityKey {
  type: EntityKeyType;
  key: string;
}

/** One row of an entity data query: values are strings as ThingsBoard returns them. */
export interface EntityData {
  entityId: EntityId;
  latest: Partial<Record<EntityKeyType, Record<string, { ts: number; value: string | null }>>>;
}
