import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';

/** A person as a validated Keycloak access token describes them. */
export interface TokenUser {
  sub: string;
  username: string;
  roles: ReadonlySet<string>;
  /** Full group paths, e.g. /tenants/acme (the realm's groups mapper, full.path=true). */
  groups: readonly string[];
}

export class AuthError extends Error {
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(message);
  }
}

export interface TokenVerifierOptions {
  /** The realm URL, e.g. https://sso.example.com/realms/cdm: the tokens' `iss`. */
  issuer: string;
  /** This service's name in the tokens' `aud` (an audience mapper on the client adds it). */
  audience: string;
  /** Where the signing keys are; defaults to the realm's certs endpoint. */
  jwksUrl?: string;
  clockToleranceSec?: number;
}

/**
 * Validates Keycloak access tokens locally: signature against the realm's JWKS (cached and
 * refreshed by jose on an unknown key id), issuer, audience, expiry; then reads roles and groups.
 * Never logs or returns the token.
 */
export class KeycloakTokenVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly o: TokenVerifierOptions) {
    this.jwks = createRemoteJWKSet(new URL(o.jwksUrl ?? `${o.issuer.replace(/\/$/, '')}/protocol/openid-connect/certs`), { timeoutDuration: 5000, cooldownDuration: 30_000 });
  }

  async verify(token: string | undefined): Promise<TokenUser> {
    if (!token) throw new AuthError(401, 'send a Keycloak access token as Authorization: Bearer <token>');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: this.o.issuer.replace(/\/$/, ''),
        audience: this.o.audience,
        algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'PS256'],
        clockTolerance: this.o.clockToleranceSec ?? 30,
        requiredClaims: ['exp', 'sub', 'iss'],
      }));
    } catch (err) {
      throw new AuthError(401, `access token refused: ${reason(err)}`);
    }
    const p = payload as JWTPayload & { preferred_username?: string; realm_access?: { roles?: string[] }; groups?: string[] };
    return {
      sub: p.sub!,
      username: p.preferred_username ?? p.sub!,
      roles: new Set(p.realm_access?.roles ?? []),
      groups: Array.isArray(p.groups) ? p.groups.map(String) : [],
    };
  }
}

/** The tenant names a user belongs to: their groups directly under `parent`. */
export function tenantsOf(user: TokenUser, parent = '/tenants'): string[] {
  const prefix = `${parent.replace(/\/$/, '')}/`;
  return user.groups.filter((g) => g.startsWith(prefix) && !g.slice(prefix.length).includes('/')).map((g) => g.slice(prefix.length));
}

/** Throws 403 unless the user has `role` and belongs to tenant `tenantName`. */
export function requireRoleInTenant(user: TokenUser, role: string, tenantName: string, parent = '/tenants'): void {
  if (!user.roles.has(role)) throw new AuthError(403, `${role} role required`);
  if (!tenantsOf(user, parent).includes(tenantName)) throw new AuthError(403, `not a member of tenant ${tenantName}`);
}

function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'not issued for this service (aud: the audience is wrong; sign in through this service’s Keycloak client)';
    if (err.claim === 'iss') return 'issued by another realm (iss)';
    return `${err.claim} claim invalid`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof errors.JWKSNoMatchingKey) return 'signed by an unknown key';
  if (err instanceof errors.JOSEError) return err.code.replace(/^ERR_/, '').toLowerCase().replace(/_/g, ' ');
  return 'cannot be validated (is Keycloak reachable?)';
}
