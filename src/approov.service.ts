import { Inject, Injectable, Logger } from '@nestjs/common';
import { APPROOV_LOG_CONTEXT, APPROOV_MODULE_OPTIONS } from './approov.constants.js';
import type { ApproovModuleOptions } from './approov-options.interface.js';
import { loggablePathOf, nodeRequestOf, requestMethodOf, traceIdOf, type ApproovRequestLike } from './approov-request.js';
import { RouteSignatureVerifier } from './approov-route-signature.js';
import { resolveApproovConfig } from './core/approov-config.js';
import type { ApproovFailure, ApproovFailureCode } from './core/failure.js';
import type { MaybePromise } from './core/maybe-async.js';
import type { ApproovMessageSigningOptions } from './core/message-signing/options.js';
import type { MessageSignatureResult } from './core/message-signing/verify.js';
import type { ApproovTokenClaims } from './core/token/claims.js';
import { ApproovVerifier, type ApproovCheckResult } from './core/token/verifier.js';

/**
 * Holds the verifiers built once from the options (secrets parsed at boot, so bad configuration
 * stops the app before it serves) and reports rejects. Shared by ApproovGuard and ApproovStrategy.
 */
@Injectable()
export class ApproovService {
  private readonly logger = new Logger(APPROOV_LOG_CONTEXT);
  private readonly tokenVerifier: ApproovVerifier;
  private readonly signatureVerifier: RouteSignatureVerifier;
  /** The request header that carries the token, as configured. */
  readonly tokenHeader: string;
  /** Lower-cased headers that `@ApproovBinding()` with no argument binds to. */
  readonly defaultBindingHeaders: readonly string[];
  readonly mode: 'enforce' | 'monitor';
  /** The `maxBodyBytes` option; undefined: the adapter's own limit (see ApproovRawBodyCapture). */
  readonly maxBodyBytes: number | undefined;
  private readonly onFailure?: (failure: ApproovFailure) => void;
  // One report per request: in monitor mode a request can be judged again by another guard
  // (a global ApproovGuard, the one @ApproovBinding attaches, AuthGuard('approov')).
  private readonly reported = new WeakSet<object>();

  constructor(@Inject(APPROOV_MODULE_OPTIONS) options: ApproovModuleOptions) {
    const config = resolveApproovConfig(options ?? {});
    this.tokenVerifier = new ApproovVerifier(config.verifier);
    this.tokenHeader = this.tokenVerifier.tokenHeader;
    this.defaultBindingHeaders = config.bindingHeaders;
    this.mode = config.mode;
    this.maxBodyBytes = config.maxBodyBytes;
    this.signatureVerifier = new RouteSignatureVerifier(
      this.tokenHeader,
      config.verifier.clockToleranceSec ?? 0,
      config.messageSigning,
      config.maxBodyBytes,
    );
    this.onFailure = options?.onFailure;
  }

  /** Verifies the token of `request` and, when given, its binding to `bindingHeaders`. */
  verifyRequest(request: ApproovRequestLike, bindingHeaders?: readonly string[]): ApproovCheckResult {
    return this.tokenVerifier.verifyRequest(nodeRequestOf(request), bindingHeaders);
  }

  /** Verifies the message signature of a request whose token (`claims`) already passed, under the route's rules. */
  verifyMessageSignature(
    request: ApproovRequestLike,
    claims: ApproovTokenClaims,
    routeOptions: Readonly<ApproovMessageSigningOptions>,
  ): MaybePromise<MessageSignatureResult> {
    return this.signatureVerifier.verify(request, claims, routeOptions);
  }

  /**
   * Reports a reject once per request (one log line with code, method, path without query and
   * trace id; then onFailure), and answers whether to serve the request anyway: true only in
   * monitor mode.
   */
  reportFailureAndShouldServe(code: ApproovFailureCode, request: ApproovRequestLike): boolean {
    // A body past the bound was not read to the end: no mode can serve it as checked.
    const monitored = this.mode === 'monitor' && code !== 'request_body_too_large';
    if (this.reported.has(request)) return monitored;
    this.reported.add(request);
    const failure: ApproovFailure = {
      code,
      method: requestMethodOf(request) || 'UNKNOWN',
      path: loggablePathOf(request),
      monitored,
    };
    const traceId = traceIdOf(request);
    if (traceId !== undefined) failure.traceId = traceId;

    this.logger.warn(
      `${monitored ? 'monitor: would reject' : 'rejected'} ${code} ${failure.method} ${failure.path}` +
        (traceId !== undefined ? ` trace=${traceId}` : ''),
    );
    if (this.onFailure !== undefined) {
      try {
        this.onFailure(failure);
      } catch (error) {
        // A broken metrics hook must not turn a 401 into a 500, nor leak what it threw.
        this.logger.error(`onFailure hook threw ${(error as Error)?.name ?? 'an error'}`);
      }
    }
    return monitored;
  }
}
