import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import passportJwt from 'passport-jwt';
import { recordRequestClaims } from './approov.claims.js';
import { createApproovRejection } from './approov.rejection.js';
import { ApproovService } from './approov.service.js';
import type { ApproovRouteRules, ApproovVerdict } from './core/check/approov-check.js';
import type { ApproovRequestLike } from './core/http/request.js';
import type { ApproovTokenClaims } from './core/token/claims.js';

// The strategy checks the token alone: binding and signatures are route rules, the guard's business.
const TOKEN_ONLY: ApproovRouteRules = Object.freeze({ bindingHeaders: Object.freeze([]) });

/** What the typings say of the base class: neither @types/passport-jwt nor one @nestjs/passport major's types. */
interface JwtStrategyOptions {
  jwtFromRequest: (request: unknown) => string | null;
  secretOrKeyProvider: (request: unknown, token: unknown, done: (error: Error) => void) => void;
}
interface StrategyBase {
  authenticate(request: unknown, options?: unknown): void;
}
const ApproovStrategyBase = PassportStrategy(passportJwt.Strategy, 'approov') as unknown as new (
  options: JwtStrategyOptions,
) => StrategyBase;

interface PassportActions {
  success(user: unknown): void;
  fail(status?: number): void;
  error(error: Error): void;
  pass(): void;
}

/**
 * Passport strategy 'approov', so `AuthGuard('approov')` works next to the app's other
 * strategies (each in its own AuthGuard: an Approov reject ends the Passport chain). It keeps
 * passport-jwt's Strategy class for interop, but judges every request with the same core as
 * ApproovGuard: jsonwebtoken's rules are weaker (no required `exp`, array payloads and `crit`
 * accepted), so passport-jwt's own verify path is never reached.
 */
@Injectable()
export class ApproovStrategy extends ApproovStrategyBase {
  constructor(private readonly service: ApproovService) {
    super({
      jwtFromRequest: passportJwt.ExtractJwt.fromHeader(service.tokenHeader.toLowerCase()),
      // Fails closed should passport-jwt's own verify path ever be reached.
      secretOrKeyProvider: (_request: unknown, _token: unknown, done: (error: Error) => void) =>
        done(new Error('ApproovStrategy verifies through its own core')),
    });
  }

  validate(claims: ApproovTokenClaims): ApproovTokenClaims {
    return claims;
  }

  override authenticate(request: ApproovRequestLike): void {
    const verdict = this.service.approovCheck.check(request, TOKEN_ONLY);
    if (verdict instanceof Promise) {
      verdict.then(
        (settled) => this.decide(settled, request),
        (error: Error) => (this as unknown as PassportActions).error(error),
      );
    } else {
      this.decide(verdict, request);
    }
  }

  private decide(verdict: ApproovVerdict, request: ApproovRequestLike): void {
    const passport = this as unknown as PassportActions;
    if (verdict.ok) {
      request.approov = verdict.claims;
      recordRequestClaims(request, verdict.claims);
      passport.success(this.validate(verdict.claims));
    } else if (verdict.serve) {
      passport.pass(); // monitor mode: served, with no user
    } else {
      // The guard's exact rejection, not AuthGuard's own 401 (other key order): the body must not tell
      // which check failed. It also ends the Passport chain: no later strategy can rescue an Approov reject.
      passport.error(createApproovRejection(verdict.code));
    }
  }
}
