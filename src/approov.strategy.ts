import { Injectable, type OnModuleInit } from '@nestjs/common';
import { recordRequestClaims } from './approov.claims.js';
import { createApproovRejection } from './approov.rejection.js';
import { ApproovService } from './approov.service.js';
import type { ApproovRouteRules, ApproovVerdict } from './core/check/approov-check.js';
import type { ApproovRequestLike } from './core/http/request.js';
import type { ApproovTokenClaims } from './core/token/claims.js';

// The strategy checks the token alone: binding and signatures are route rules, the guard's business.
const TOKEN_ONLY: ApproovRouteRules = Object.freeze({ bindingHeaders: Object.freeze([]) });

/** The name `AuthGuard('approov')` asks Passport for. */
const APPROOV_STRATEGY_NAME = 'approov';

/** What Passport sets on its per-request copy of a strategy before calling `authenticate`. */
interface PassportActions {
  success(user: unknown): void;
  error(error: Error): void;
  pass(): void;
}

/** The part of Passport's authenticator the module uses (typed here: passport is an optional peer). */
interface PassportAuthenticator {
  use(name: string, strategy: object): unknown;
}

/**
 * Passport's authenticator (the `passport` default export, which @nestjs/passport's AuthGuard calls),
 * or undefined when passport is not installed: apps without Passport load none of it.
 * @internal
 */
export async function loadPassport(
  load: () => Promise<unknown> = () => import('passport'),
): Promise<PassportAuthenticator | undefined> {
  let loaded: unknown;
  try {
    loaded = await load();
  } catch (error) {
    const code = (error as { code?: unknown })?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
  // ESM import of CommonJS passport: module.exports is `default` (the authenticator, a class instance).
  const passport = (loaded as { default?: unknown }).default ?? loaded;
  return typeof (passport as Partial<PassportAuthenticator>).use === 'function'
    ? (passport as PassportAuthenticator)
    : undefined;
}

/**
 * Passport strategy 'approov', so `AuthGuard('approov')` works next to the app's other strategies
 * (each in its own AuthGuard: an Approov reject ends the Passport chain). When the app has passport
 * installed, the module registers it with the app's passport at init (`passport.use('approov', …)`);
 * otherwise nothing of Passport is loaded. It judges every request with the same core as
 * ApproovGuard, token-only (no JWT library of Passport's is involved).
 */
@Injectable()
export class ApproovStrategy implements OnModuleInit {
  /** Passport reads the strategy's name from here. */
  readonly name = APPROOV_STRATEGY_NAME;

  constructor(private readonly service: ApproovService) {}

  /** Registers the strategy with the app's passport, when passport is installed. */
  async onModuleInit(): Promise<void> {
    (await loadPassport())?.use(APPROOV_STRATEGY_NAME, this);
  }

  /** The user Passport sets on the request: the verified claims. */
  validate(claims: ApproovTokenClaims): ApproovTokenClaims {
    return claims;
  }

  /** Called by Passport on its per-request copy of this strategy, with its actions set on `this`. */
  authenticate(request: ApproovRequestLike): void {
    const actions = this as unknown as PassportActions;
    const verdict = this.service.approovCheck.check(request, TOKEN_ONLY);
    if (verdict instanceof Promise) {
      verdict.then(
        (settled) => this.decide(settled, request, actions),
        (error: Error) => actions.error(error),
      );
    } else {
      this.decide(verdict, request, actions);
    }
  }

  private decide(
    verdict: ApproovVerdict,
    request: ApproovRequestLike,
    actions: PassportActions,
  ): void {
    if (verdict.ok) {
      request.approov = verdict.claims;
      recordRequestClaims(request, verdict.claims);
      actions.success(this.validate(verdict.claims));
    } else if (verdict.serve) {
      actions.pass(); // monitor mode: served, with no user
    } else {
      // The guard's exact rejection, not AuthGuard's own 401 (other key order): the body must not tell
      // which check failed. It also ends the Passport chain: no later strategy can rescue an Approov reject.
      actions.error(createApproovRejection(verdict.code));
    }
  }
}
