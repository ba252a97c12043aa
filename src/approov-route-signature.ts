import { Logger } from '@nestjs/common';
import { APPROOV_LOG_CONTEXT } from './approov.constants.js';
import { toSignedRequest, type ApproovRequestLike } from './approov-request.js';
import type { MaybePromise } from './core/maybe-async.js';
import type { ApproovTokenClaims } from './core/token/claims.js';
import {
  resolveMessageSigningOptions,
  type ApproovMessageSigningOptions,
  type ResolvedMessageSigningOptions,
} from './core/message-signing/options.js';
import { MessageSignatureVerifier, type MessageSignatureResult } from './core/message-signing/verify.js';
import { systemClock } from './core/clock.js';

/**
 * Verifies a request's message signature under its route's rules: merges the route's
 * `@ApproovMessageSigning` options over the module defaults (once per route), and warns once
 * when the body must be checked but the app keeps no raw body.
 */
export class RouteSignatureVerifier {
  private readonly logger = new Logger(APPROOV_LOG_CONTEXT);
  private readonly verifier = new MessageSignatureVerifier();
  private readonly resolved = new WeakMap<object, ResolvedMessageSigningOptions>();
  private warnedRawBody = false;

  constructor(
    private readonly tokenHeader: string,
    private readonly clockToleranceSec: number,
    private readonly moduleDefaults: Readonly<ApproovMessageSigningOptions>,
    private readonly now: () => number = systemClock,
  ) {}

  /** Verifies the request's `install` signature against the token's `ipk` (token already verified). */
  verify(
    request: ApproovRequestLike,
    claims: ApproovTokenClaims,
    routeOptions: Readonly<ApproovMessageSigningOptions>,
  ): MaybePromise<MessageSignatureResult> {
    const result = this.verifier.verify(toSignedRequest(request), claims, this.optionsFor(routeOptions), this.now());
    if (!result.ok && result.rawBodyUnavailable === true && !this.warnedRawBody) {
      this.warnedRawBody = true;
      this.logger.warn(
        'message signing: a request body had to be checked against Content-Digest but the raw body is not ' +
          'available, so the request was rejected. Create the app with NestFactory.create(AppModule, { rawBody: true }) ' +
          '(and a body parser for the content type: app.useBodyParser(...)).',
      );
    }
    return result;
  }

  private optionsFor(routeOptions: Readonly<ApproovMessageSigningOptions>): ResolvedMessageSigningOptions {
    let options = this.resolved.get(routeOptions);
    if (options === undefined) {
      options = resolveMessageSigningOptions(this.tokenHeader, this.clockToleranceSec, this.moduleDefaults, routeOptions);
      this.resolved.set(routeOptions, options);
    }
    return options;
  }
}
