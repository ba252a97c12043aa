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
import type { ApproovModuleOptions } from './approov.options.js';
import { resolveApproovConfig } from './core/approov-config.js';
import { ApproovCheck } from './core/check/approov-check.js';
import type { ApproovFailureCode } from './core/failure.js';
import type { ApproovKeysetStatus } from './core/keys/keyset.js';
import { nodeRequestOf, type ApproovRequestLike } from './core/http/request.js';
import type { MaybePromise } from './core/maybe-async.js';
import type { ApproovMessageSigningOptions } from './core/message-signing/options.js';
import type { MessageSignatureResult } from './core/message-signing/verify.js';
import type { ApproovTokenClaims } from './core/token/claims.js';
import type { ApproovCheckOutcome } from './core/token/verifier.js';

/**
 * The module's checks, built once from its options (bad configuration stops the boot with a
 * message naming the option), with their lifecycle tied to the app's: the JWKS is fetched at
 * init, the replay store probed at bootstrap and closed at shutdown. Shared by ApproovGuard,
 * ApproovStrategy and the raw-body capture; `approovCheck` is the core object they call.
 */
@Injectable()
export class ApproovService
  implements OnModuleInit, OnModuleDestroy, OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger(APPROOV_LOG_CONTEXT);
  /** The serve-or-reject decision, one call per request. */
  readonly approovCheck: ApproovCheck;
  /** The request header that carries the token, as configured. */
  readonly tokenHeader: string;
  /** Lower-cased headers that `@ApproovBinding()` with no argument binds to. */
  readonly defaultBindingHeaders: readonly string[];
  readonly mode: 'enforce' | 'monitor';
  /** The `maxBodyBytes` option; undefined: the adapter's own limit (see ApproovRawBodyCapture). */
  readonly maxBodyBytes: number | undefined;

  constructor(@Inject(APPROOV_MODULE_OPTIONS) options: ApproovModuleOptions) {
    const check = new ApproovCheck(resolveApproovConfig(options ?? {}), (level, message) =>
      this.logger[level](message),
    );
    this.approovCheck = check;
    this.tokenHeader = check.tokenHeader;
    this.defaultBindingHeaders = check.defaultBindingHeaders;
    this.mode = check.mode;
    this.maxBodyBytes = check.maxBodyBytes;
  }

  // The JWKS loads before the app serves (boot fails naming `jwksUri` unless keyset.requireAtBoot
  // is false); the replay store is probed without holding up the boot; both stop with the app.
  onModuleInit(): Promise<void> {
    return this.approovCheck.start();
  }
  onApplicationBootstrap(): void {
    this.approovCheck.warnWhenReplayStoreDown();
  }
  onModuleDestroy(): void {
    this.approovCheck.stop();
  }
  onApplicationShutdown(): Promise<void> {
    return this.approovCheck.close();
  }

  /** True when the replay store can answer now: for a readiness probe (e.g. a Terminus health indicator). */
  checkReplayStoreHealth(): Promise<boolean> {
    return this.approovCheck.checkReplayStoreHealth();
  }

  /**
   * The JWKS key set's state (with `jwksUri`): `state` (`fresh`, `stale`, `expired`,
   * `not_loaded`), `usable`, `keyCount`, `lastFetchAt`, `usableUntil`, `lastError`,
   * `lastErrorAt`. No key material, no URL. Undefined when no keyset is configured.
   */
  keysetStatus(): ApproovKeysetStatus | undefined {
    return this.approovCheck.keysetStatus();
  }

  // The steps of approovCheck.check one by one, for a guard of the app's own.
  /** The token step (and binding to `bindingHeaders`): a Promise only while a keyset refetch runs. */
  verifyRequest(
    request: ApproovRequestLike,
    bindingHeaders?: readonly string[],
  ): ApproovCheckOutcome {
    return this.approovCheck.verifier.verifyRequestWithRefetch(
      nodeRequestOf(request),
      bindingHeaders,
    );
  }

  /** The signature step alone (and replay), for a request whose token (`claims`) passed. */
  verifyMessageSignature(
    request: ApproovRequestLike,
    claims: ApproovTokenClaims,
    routeOptions: Readonly<ApproovMessageSigningOptions>,
  ): MaybePromise<MessageSignatureResult> {
    return this.approovCheck.signatures.verify(request, claims, routeOptions);
  }

  /** Reports a reject once per request; true when it is served anyway (monitor mode, allowed status). */
  reportFailureAndShouldServe(
    code: ApproovFailureCode,
    request: ApproovRequestLike,
    routeStatuses: readonly string[] = [],
  ): boolean {
    return this.approovCheck.reporter.reportReject(code, request, routeStatuses);
  }
}
