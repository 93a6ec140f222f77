/** Shapes from the ThingsBoard CE 4.3 OpenAPI spec (only the fields cdm uses). */
export type EntityType = 'TENANT' | 'CUSTOMER' | 'USER' | 'DEVICE' | 'DEVICE_PROFILE' | 'ALARM' | 'ASSET';
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
