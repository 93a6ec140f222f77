import type { DesiredTenant, Person } from './model.ts';

export const person = (id: string, extra: Partial<Person> = {}): Person => ({ id, username: id, email: `${id}@example.com`, enabled: true, ...extra });

export const tenant = (cdmId: string, name: string, roles: Partial<Pick<DesiredTenant, 'admins' | 'operators' | 'oncall'>> = {}): DesiredTenant => ({
  cdmId,
  name,
  admins: roles.admins ?? [],
  operators: roles.operators ?? [],
  oncall: roles.oncall ?? [],
});
