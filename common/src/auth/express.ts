import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { TokenUser } from './keycloak-jwt.ts';

/** The bearer token of a request (`Authorization: Bearer …`), if it has one. */
export const bearerToken = (req: Request): string | undefined => /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1];

/** Validates the request's bearer token and keeps the person on the request (see {@link userOf}); a refusal goes to the error handler. */
export function authenticate(verifier: { verify(token: string | undefined): Promise<TokenUser> }): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) =>
    void verifier.verify(bearerToken(req)).then((user) => {
      (req as Request & { user: TokenUser }).user = user;
      next();
    }, next);
}

/** The person {@link authenticate} validated. */
export const userOf = (req: Request): TokenUser => (req as Request & { user: TokenUser }).user;
