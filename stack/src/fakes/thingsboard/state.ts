import crypto from 'node:crypto';

export type Authority = 'SYS_ADMIN' | 'TENANT_ADMIN' | 'CUSTOMER_USER';
export const NULL_UUID = '13814000-1dd2-11b2-8080-808080808080';
export const id = <T extends string>(entityType: T, uuid = crypto.randomUUID()) => ({ id: uuid, entityType });

export interface UserRec {
  id: { id: string; entityType: 'USER' };
  createdTime: number;
  tenantId: { id: string; entityType: 'TENANT' };
  customerId: { id: string; entityType: 'CUSTOMER' };
  email: string;
  authority: Authority;
  firstName?: string;
  lastName?: string;
  additionalInfo?: unknown;
  name: string;
  password?: string;
  enabled: boolean;
}

export interface Attr {
  key: string;
  value: unknown;
  lastUpdateTs: number;
}

/** Everything the ThingsBoard fake knows, in memory. */
export class TbState {
  tenants = new Map<string, Record<string, unknown> & { id: { id: string } }>();
  users = new Map<string, UserRec>();
  customers = new Map<string, Record<string, unknown> & { id: { id: string }; tenantId: { id: string }; title: string }>();
  profiles = new Map<string, Record<string, unknown> & { id: { id: string }; tenantId: { id: string }; name: string; default: boolean }>();
  devices = new Map<string, Record<string, unknown> & { id: { id: string }; tenantId: { id: string }; name: string; customerId: { id: string } }>();
  credentials = new Map<
    string,
    { id: { id: string }; createdTime: number; deviceId: { id: string; entityType: 'DEVICE' }; credentialsType: string; credentialsId: string; credentialsValue?: string }
  >();
  attributes = new Map<string, Map<string, Attr>>(); // `${entityId}/${scope}` → key → value
  telemetry = new Map<string, Map<string, { ts: number; value: unknown }>>(); // latest per key
  alarms = new Map<
    string,
    Record<string, unknown> & { id: { id: string }; tenantId: { id: string }; originator: { id: string; entityType: string }; type: string; cleared: boolean; acknowledged: boolean }
  >();

  constructor() {
    this.reset();
  }

  reset(): void {
    for (const m of [this.tenants, this.users, this.customers, this.profiles, this.devices, this.credentials, this.attributes, this.telemetry, this.alarms]) m.clear();
    // A fresh ThingsBoard has its system administrator.
    const sys: UserRec = {
      id: id('USER'),
      createdTime: Date.now(),
      tenantId: id('TENANT', NULL_UUID),
      customerId: id('CUSTOMER', NULL_UUID),
      email: 'sysadmin@thingsboard.org',
      name: 'sysadmin@thingsboard.org',
      authority: 'SYS_ADMIN',
      password: 'sysadmin',
      enabled: true,
    };
    this.users.set(sys.id.id, sys);
  }
}
