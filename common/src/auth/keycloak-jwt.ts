import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';

/**
 * A person as a validated Keycloak access token identifies them. Only identity and validity come
 * from the token; what the person may do is decided by TenantAuthority from Keycloak by `sub`
 * (roles and group paths in a token are names, valid until it expires, and say nothing per tenant).
 */
export interface TokenUser {
  sub: string;
  username: string;
  /** When the token expires (seconds since the epoch): sessions opened with it end then. */
  exp: number;
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
  /** Least time between two JWKS fetches on an unknown key id (rotation picks up the new key then). */
  jwksCooldownMs?: number;
}

/**
 * Validates Keycloak access tokens locally: signature against the realm's JWKS (cached and
 * refreshed by jose on an unknown key id), issuer, audience, expiry; then reads roles and groups.
 * Never logs or returns the token.
 */
export class KeycloakTokenVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly o: TokenVerifierOptions) {
    this.jwks = createRemoteJWKSet(new URL(o.jwksUrl ?? `${o.issuer.replace(/\/$/, '')}/protocol/openid-connect/certs`), { timeoutDuration: 5000, cooldownDuration: o.jwksCooldownMs ?? 30_000 });
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
    const p = payload as JWTPayload & { preferred_username?: string };
    return { sub: p.sub!, username: p.preferred_username ?? p.sub!, exp: p.exp! };
  }
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
