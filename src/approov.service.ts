import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { APPROOV_LOG_CONTEXT, APPROOV_MODULE_OPTIONS } from './approov.constants.js';
import type { ApproovModuleOptions } from './approov-options.interface.js';
import {
  RequestMark,
  loggablePathOf,
  nodeRequestOf,
  requestMethodOf,
  traceIdOf,
  type ApproovRequestLike,
} from './approov-request.js';
import { RouteSignatureVerifier } from './approov-route-signature.js';
import { SignedRequestReplayCheck } from './approov-replay.js';
import { resolveApproovConfig } from './core/approov-config.js';
import type { ApproovFailure, ApproovFailureCode } from './core/failure.js';
import { RejectLogThrottle } from './core/reject-log.js';
import type { MaybePromise } from './core/maybe-async.js';
import type { ApproovMessageSigningOptions } from './core/message-signing/options.js';
import type { MessageSignatureResult } from './core/message-signing/verify.js';
import type { ApproovTokenClaims } from './core/token/claims.js';
import { ApproovVerifier, type ApproovCheckOutcome } from './core/token/verifier.js';
import { readApproovStatus } from './core/http/approov-status.js';
import { ApproovConfigurationError } from './core/errors.js';
import type { JwksKeySet, KeySetEvent } from './core/token/keyset.js';

// How long the boot-time check waits for the replay store before warning that it is not reachable.
const STORE_BOOT_CHECK_MS = 3000;

/**
 * Holds the verifiers built once from the options (secrets parsed at boot, so bad configuration
 * stops the app before it serves) and the replay store, and reports rejects. Shared by
 * ApproovGuard and ApproovStrategy. Closes the replay store on app shutdown.
 */
@Injectable()
export class ApproovService
  implements OnModuleInit, OnModuleDestroy, OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger(APPROOV_LOG_CONTEXT);
  private readonly tokenVerifier: ApproovVerifier;
  private readonly signatureVerifier: RouteSignatureVerifier;
  private readonly replayCheck: SignedRequestReplayCheck;
  /** The request header that carries the token, as configured. */
  readonly tokenHeader: string;
  /** Lower-cased headers that `@ApproovBinding()` with no argument binds to. */
  readonly defaultBindingHeaders: readonly string[];
  readonly mode: 'enforce' | 'monitor';
  private readonly allowApproovStatus: readonly string[];
  /** The `maxBodyBytes` option; undefined: the adapter's own limit (see ApproovRawBodyCapture). */
  readonly maxBodyBytes: number | undefined;
  private readonly onFailure?: (failure: ApproovFailure) => void;
  private readonly rejectLog: RejectLogThrottle;
  // One report per request: in monitor mode a request can be judged again by another guard
  // (a global ApproovGuard, the one @ApproovBinding attaches, AuthGuard('approov')).
  private readonly reported = new RequestMark<true>('approov.reported');
  private shuttingDown = false;
  private readonly keyset?: JwksKeySet;
  private readonly requireKeysAtBoot: boolean;
  private readonly jwksSetting: string;

  constructor(@Inject(APPROOV_MODULE_OPTIONS) options: ApproovModuleOptions) {
    const config = resolveApproovConfig(options ?? {});
    this.tokenVerifier = new ApproovVerifier(config.verifier);
    this.tokenHeader = this.tokenVerifier.tokenHeader;
    this.defaultBindingHeaders = config.bindingHeaders;
    this.mode = config.mode;
    this.maxBodyBytes = config.maxBodyBytes;
    this.replayCheck = new SignedRequestReplayCheck(config.replay, (request) =>
      this.reportFailedOpen(request),
    );
    this.signatureVerifier = new RouteSignatureVerifier(
      this.tokenHeader,
      config.verifier.clockToleranceSec ?? 0,
      config.messageSigning,
      config.maxBodyBytes,
      this.replayCheck,
      config.accountSigningKeys,
    );
    this.allowApproovStatus = config.allowApproovStatus;
    this.onFailure = options?.onFailure;
    const interval = config.rejectLog.intervalSec;
    this.rejectLog = new RejectLogThrottle(
      config.rejectLog.mode,
      interval,
      (code, count, elapsedSec) =>
        this.logger.warn(
          `${code}: ${count} more in the last ${Math.round(elapsedSec)} s (one line per code per ${interval} s)`,
        ),
    );
    this.keyset = config.keyset;
    this.requireKeysAtBoot = config.keysetOptions?.requireAtBoot ?? true;
    this.jwksSetting = config.jwksSetting ?? 'option "jwksUri"';
    this.keyset?.onEvent((event) => this.logKeySetEvent(event));
  }

  /** Warns, without holding up the boot, when the replay store cannot be reached: signed requests get 503 until it can. */
  onApplicationBootstrap(): void {
    const deadline = Date.now() + STORE_BOOT_CHECK_MS;
    const probe = (): void => {
      this.replayCheck.store.checkHealth().then(
        (healthy) => {
          if (healthy || this.shuttingDown) return;
          if (Date.now() < deadline) setTimeout(probe, 100).unref();
          else
            this.logger.warn(
              'replay store: not reachable at startup; signed requests are answered 503 until it is.',
            );
        },
        () => this.logger.warn('replay store: its health check failed at startup.'),
      );
    };
    probe();
  }

  async onApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    this.rejectLog.close(); // writes the counts still held back, stops its timers
    await this.replayCheck.store.close();
  }

  /** True when the replay store can answer now: for a readiness probe (e.g. a Terminus health indicator). */
  checkReplayStoreHealth(): Promise<boolean> {
    return this.replayCheck.store.checkHealth();
  }

  /**
   * Fetches the JWKS before the app serves. When it cannot load, boot fails naming `jwksUri`,
   * unless `keyset.requireAtBoot` is false: then the app starts, answers 503 on guarded routes,
   * and keeps retrying in the background.
   */
  async onModuleInit(): Promise<void> {
    if (this.keyset === undefined) return;
    let failure = 'no usable keys';
    const remember = (event: KeySetEvent) => {
      if (event.type === 'fetch_failed') failure = event.reason;
    };
    this.keyset.onEvent(remember);
    if ((await this.keyset.start()) || !this.requireKeysAtBoot) return;
    this.keyset.close();
    throw new ApproovConfigurationError(
      `Approov ${this.jwksSetting}: the key set could not be loaded at boot (${failure}). ` +
        'Check the URL, or set keyset.requireAtBoot to false to start anyway and answer 503 until keys load.',
    );
  }

  onModuleDestroy(): void {
    this.keyset?.close();
  }

  /**
   * Verifies the token of `request` and, when given, its binding to `bindingHeaders`. A Promise
   * only when a keyset token's unknown `kid` waits for one refetch (bounded by the fetch deadline).
   */
  verifyRequest(
    request: ApproovRequestLike,
    bindingHeaders?: readonly string[],
  ): ApproovCheckOutcome {
    return this.tokenVerifier.verifyRequestWithRefetch(nodeRequestOf(request), bindingHeaders);
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
   * Reports a reject once per request (a log line with code, method, path without query, trace id
   * and Approov-Status, or a count in a later summary line, see the rejectLog option; then
   * onFailure), and answers whether to serve the request anyway: in monitor mode, or when a request
   * without a token sent a status the module or the route (`routeStatuses`) allows.
   */
  reportFailureAndShouldServe(
    code: ApproovFailureCode,
    request: ApproovRequestLike,
    routeStatuses: readonly string[] = [],
  ): boolean {
    // A body past the bound was not read to the end: no mode can serve it as checked.
    const monitored = this.mode === 'monitor' && code !== 'request_body_too_large';
    // Only a request without a token can be let through by its Approov-Status.
    const approovStatus =
      code === 'missing_approov_token' ? readApproovStatus(nodeRequestOf(request)) : undefined;
    const allowed =
      approovStatus !== undefined &&
      (this.allowApproovStatus.includes(approovStatus) || routeStatuses.includes(approovStatus));
    if (!this.markReported(request)) return monitored || allowed;
    const logLine = this.rejectLog.admit(code);
    // A reject counted into a summary, with no hook to feed, needs nothing more from the request.
    if (logLine || this.onFailure !== undefined) {
      const failure: ApproovFailure = {
        code,
        method: requestMethodOf(request) || 'UNKNOWN',
        path: loggablePathOf(request),
        monitored,
      };
      if (allowed) failure.allowedByStatus = true;
      this.report(failure, request, logLine);
    }
    return monitored || allowed;
  }

  /** Marks the request reported by this instance: false when it already was. */
  private markReported(request: ApproovRequestLike): boolean {
    if (this.reported.get(request) === true) return false;
    this.reported.set(request, true);
    return true;
  }

  /** Reports a signed request served although the replay store could not answer (`replay.failOpen`). */
  private reportFailedOpen(request: ApproovRequestLike): void {
    if (!this.markReported(request)) return;
    const logLine = this.rejectLog.admit('replay_store_unavailable');
    if (!logLine && this.onFailure === undefined) return;
    const failure: ApproovFailure = {
      code: 'replay_store_unavailable',
      method: requestMethodOf(request) || 'UNKNOWN',
      path: loggablePathOf(request),
      monitored: this.mode === 'monitor',
      failedOpen: true,
    };
    this.report(failure, request, logLine);
  }

  /** The log line when `logLine` (code, method, path without query, trace id, Approov-Status), then onFailure. */
  private report(failure: ApproovFailure, request: ApproovRequestLike, logLine: boolean): void {
    const traceId = traceIdOf(request);
    if (traceId !== undefined) failure.traceId = traceId;
    const approovStatus = readApproovStatus(nodeRequestOf(request));
    if (approovStatus !== undefined) failure.approovStatus = approovStatus;
    if (logLine) {
      const outcome = failure.failedOpen
        ? 'failed open'
        : failure.allowedByStatus
          ? 'allowed by status'
          : failure.monitored
            ? 'monitor: would reject'
            : 'rejected';
      this.logger.warn(
        `${outcome} ${failure.code} ${failure.method} ${failure.path}` +
          (traceId !== undefined ? ` trace=${traceId}` : '') +
          (approovStatus !== undefined ? ` status=${approovStatus}` : ''),
      );
    }
    if (this.onFailure !== undefined) {
      try {
        this.onFailure(failure);
      } catch (error) {
        // A broken metrics hook must not turn a 401 into a 500, nor leak what it threw.
        this.logger.error(`onFailure hook threw ${(error as Error)?.name ?? 'an error'}`);
      }
    }
  }

  /** One line per key-set change or failed fetch: counts and reasons, never key material or the URL. */
  private logKeySetEvent(event: KeySetEvent): void {
    if (event.type === 'loaded') {
      if (!event.changed) return;
      this.logger.log(
        `keyset loaded: ${event.keyCount} key(s)` +
          (event.skipped.length > 0 ? `; ignored ${event.skipped.join('; ')}` : ''),
      );
    } else {
      this.logger.warn(
        `keyset fetch failed: ${event.reason}; ` +
          (event.serving === 'stale'
            ? 'serving the last keys'
            : 'no keys: keyset tokens are answered 503'),
      );
    }
  }
}
