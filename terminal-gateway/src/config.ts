import { z } from 'zod';
import { healthEnv, keycloakEnv } from '@cdm/common';

const seconds = (dflt: number, doc: string) => z.coerce.number().int().min(1).default(dflt).describe(doc);

/** Every variable the terminal gateway reads; `terminal-gateway --help` prints them. */
export const terminalGatewayEnv = {
  // Authority: who is on-call or operator in which tenant (a client with view-users, query-groups).
  ...keycloakEnv,
  ...healthEnv(19104),
  OIDC_ISSUER: z.string().url().describe('Keycloak realm URL whose access tokens are accepted, e.g. https://sso.example.com/realms/cdm'),
  OIDC_AUDIENCE: z.string().default('cdm-terminal').describe('audience required in the tokens'),
  OIDC_CLIENT_ID: z.string().default('cdm-terminal').describe('public client the web page signs in with'),
  OIDC_JWKS_URL: z.string().url().optional().describe("where the realm's signing keys are, if not <issuer>/protocol/openid-connect/certs"),
  OIDC_TOKEN_URL: z.string().url().optional().describe("where the gateway exchanges the page's authorization code, if not <issuer>/protocol/openid-connect/token (e.g. Keycloak's internal address)"),
  TENANT_PARENT_GROUP: z.string().default('/tenants').describe('Keycloak group whose subgroups are tenants'),
  LISTEN_HOST: z.string().default('127.0.0.1').describe('address of the web page and WebSocket (put TLS in front)'),
  LISTEN_PORT: z.coerce.number().int().min(0).max(65535).default(8444).describe('port of the web page and WebSocket'),
  DIRECTORY_URL: z.string().url().describe("enroll-bridge's device directory (its health port), e.g. http://127.0.0.1:19102: device → tenant, WireGuard address, pinned host key"),
  SSH_KEY_FILE: z.string().min(1).describe("the gateway's SSH private key (secret); enroll-bridge hands its public half to devices"),
  SSH_USER: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/)
    .default('root')
    .describe('user the gateway logs in as on devices'),
  SSH_PORT: z.coerce.number().int().min(1).max(65535).default(22).describe('sshd port on devices'),
  WG_NETNS: z.string().optional().describe('network namespace of the WireGuard hub to dial devices from (local stack: cdm-wg); unset when the gateway runs in it'),
  AUTHORITY_CACHE_SECONDS: seconds(15, "how long a person's tenant roles read from Keycloak are reused"),
  RECHECK_SECONDS: seconds(30, "how often an open session re-checks the person's role and the device"),
  ALLOWED_ORIGINS: z
    .string()
    .optional()
    .transform((s) =>
      s
        ? s
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean)
        : [],
    )
    .describe("comma-separated origins (https://host) whose pages may open terminals besides the gateway's own page"),
  IDLE_TIMEOUT_SECONDS: seconds(900, 'a session with no input for this long is closed'),
  MAX_SESSION_SECONDS: seconds(3600, 'a session is closed after this long in any case'),
  MAX_SESSIONS_PER_USER: z.coerce.number().int().min(1).default(3).describe('open sessions per person'),
  AUDIT_LOG: z.string().min(1).describe('JSON-lines audit log: every session (who, device, tenant, start, end, bytes, reason) and every refusal'),
  TRANSCRIPT_DIR: z.string().optional().describe('if set, a full transcript of each session is written there (contains what was typed and shown)'),
};

export const terminalGatewayConfig = z.object(terminalGatewayEnv);
export type TerminalGatewayConfig = z.infer<typeof terminalGatewayConfig>;
