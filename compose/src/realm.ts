import fs from 'node:fs';
import path from 'node:path';

type Realm = {
  users?: { username: string; serviceAccountClientId?: string }[];
  groups?: { name: string; subGroups?: unknown[] }[];
  clients: { clientId: string; secret?: string; redirectUris?: string[]; webOrigins?: string[]; directAccessGrantsEnabled?: boolean }[];
  sslRequired?: string;
};

const here = import.meta.dirname;
export const DEV_REALM = path.join(here, '..', '..', 'stack', 'keycloak', 'cdm-realm.json');
export const COMPOSE_REALM = path.join(here, '..', 'keycloak', 'cdm-realm.json');

/** Environment variable that carries a confidential client's secret in compose (.env). */
export const secretVar = (clientId: string) => `CDM_${clientId.replace(/^cdm-/, '').replace(/-/g, '_').toUpperCase()}_CLIENT_SECRET`;

/**
 * The realm compose imports, derived from the local stack's dev realm so both keep the same roles,
 * clients and mappers: no dev people, no dev tenant, client secrets as Keycloak import placeholders
 * (`${VAR}`, resolved from the container environment), browser clients bound to CDM_PUBLIC_URL (the console also to CDM_FLEET_PUBLIC_URL),
 * TLS required for external requests, and no password grant (the dev realm allows it for tests:
 * in production people sign in through the browser, where Keycloak's own login and policies apply).
 */
export function composeRealm(dev: Realm): Realm {
  const r = structuredClone(dev);
  r.sslRequired = 'external';
  r.users = (r.users ?? []).filter((u) => u.serviceAccountClientId);
  // No dev tenant; the platform's own groups (release managers) stay, empty.
  r.groups = (r.groups ?? []).map((g) => (g.name === 'tenants' ? { ...g, subGroups: [] } : g));
  for (const c of r.clients) {
    if (c.secret !== undefined) c.secret = `\${${secretVar(c.clientId)}}`;
    // The console's people also sign in on the fleet API's device page, which has its own host.
    const origins = c.clientId === 'cdm-console' ? ['${CDM_PUBLIC_URL}', '${CDM_FLEET_PUBLIC_URL}'] : ['${CDM_PUBLIC_URL}'];
    if (c.redirectUris) c.redirectUris = origins.map((o) => `${o}/*`);
    if (c.webOrigins) c.webOrigins = origins;
    if (c.directAccessGrantsEnabled) c.directAccessGrantsEnabled = false;
  }
  return r;
}

export const renderComposeRealm = () => `${JSON.stringify(composeRealm(JSON.parse(fs.readFileSync(DEV_REALM, 'utf8')) as Realm), null, 2)}\n`;

// `npx tsx compose/src/realm.ts` rewrites compose/keycloak/cdm-realm.json after a change to the dev realm.
if (process.argv[1] && path.resolve(process.argv[1]) === path.join(here, 'realm.ts')) fs.writeFileSync(COMPOSE_REALM, renderComposeRealm());
