import { performance } from 'node:perf_hooks';
import { inspect } from 'node:util';
import type { ResolvedApproovConfig } from '../approov-config.js';
import {
  APPROOV_FAILURE_CODES,
  UNAVAILABLE_FAILURE_CODES,
  type ApproovFailureCode,
} from '../failure.js';
import { RequestMark, nodeRequestOf, type ApproovRequestLike } from '../http/request.js';
import { whenSettled, type MaybePromise } from '../maybe-async.js';
import type { ApproovMessageSigningOptions } from '../message-signing/options.js';
import type { ApproovKeysetStatus } from '../keys/keyset.js';
import type { VerifiedMessageSignature } from '../message-signing/verify.js';
import { ApproovVerifier, type ApproovCheckResult } from '../token/verifier.js';
import type { ApproovCheckOutcome, ApproovCheckReport } from './check-report.js';
import { logKeySetEvents, startKeySet } from './keyset-lifecycle.js';
import type { ApproovLog } from './log.js';
import { RejectReporter, type ApproovCallInfo } from './reject-report.js';
import { RouteSignatureVerifier } from './route-signature.js';
import { SignedRequestReplayCheck } from './signed-request-replay.js';

// How long the boot-time check waits for the replay store before warning that it is not reachable.
const STORE_BOOT_CHECK_MS = 3000;

/** What a route asks of a request, beyond a valid token. */
export interface ApproovRouteRules {
  /** Lower-cased headers the token must be bound to, in order; empty: no binding check. */
  readonly bindingHeaders: readonly string[];
  /** The route's checked message-signing rules; undefined: no signature is checked. */
  readonly signing?: Readonly<ApproovMessageSigningOptions>;
  /** `Approov-Status` values that let a request without a token through on this route. */
  readonly allowStatuses?: readonly string[];
}

/** Serve with these claims: every check passed. */
export type ApproovServeVerdict = Extract<ApproovCheckResult, { ok: true }>;

/**
 * The answer for one request: serve it with its claims (`ok: true`), serve it unchecked (`ok:
 * false, serve: true`: monitor mode or an allowed Approov-Status), or reject it with `code`.
 */
export type ApproovVerdict =
  | ApproovServeVerdict
  | { readonly ok: false; readonly code: ApproovFailureCode; readonly serve: boolean };

const NO_RULES: ApproovRouteRules = Object.freeze({ bindingHeaders: Object.freeze([]) });
const NO_SIGNATURES: readonly VerifiedMessageSignature[] = Object.freeze([]);

const failureVerdicts = (serve: boolean) =>
  new Map(APPROOV_FAILURE_CODES.map((code) => [code, Object.freeze({ ok: false, code, serve })]));
const REJECT = failureVerdicts(false);
const SERVE_UNCHECKED = failureVerdicts(true);

/** The rules a request has passed under one check, and the verdict it got, kept on the request. */
class Passed {
  private more: ApproovRouteRules[] | undefined;

  constructor(
    readonly verdict: ApproovServeVerdict,
    private readonly first: ApproovRouteRules,
  ) {}

  /** True when the request passed rules as strict as these (same binding, same signing rules). */
  covers(rules: ApproovRouteRules): boolean {
    return samePass(this.first, rules) || this.more?.some((p) => samePass(p, rules)) === true;
  }

  add(rules: ApproovRouteRules): void {
    (this.more ??= []).push(rules);
  }

  // Kept on the request: a request logged in depth prints this name, not the rules and claims.
  [inspect.custom](): string {
    return '[ApproovPass]';
  }
}

const samePass = (a: ApproovRouteRules, b: ApproovRouteRules): boolean =>
  a.bindingHeaders === b.bindingHeaders && a.signing === b.signing;

/**
 * The serve-or-reject decision for one module's configuration: token, then binding, then
 * message signature, then replay, one verdict; a reject is reported (log line, onFailure) and
 * served anyway in monitor mode or for an allowed Approov-Status; every check, when an onCheck hook
 * is set, is reported to it with its outcome and duration. Also runs the lifecycle of what
 * the checks hold: the JWKS key set, the replay store, the reject log. Writes through `log`.
 */
export class ApproovCheck {
  /** The request header that carries the token, as configured. */
  readonly tokenHeader: string;
  /** Lower-cased headers that a binding with no header named binds to. */
  readonly defaultBindingHeaders: readonly string[];
  readonly mode: 'enforce' | 'monitor';
  /** The `maxBodyBytes` option; undefined: the adapter's own limit. */
  readonly maxBodyBytes: number | undefined;
  /** The `bodyTimeoutSec` option, in milliseconds. */
  readonly bodyTimeoutMs: number;
  readonly verifier: ApproovVerifier;
  readonly signatures: RouteSignatureVerifier;
  readonly reporter: RejectReporter;
  private readonly replay: SignedRequestReplayCheck;
  // What each call passed under this check, so a second guard on it does not verify again.
  private readonly passed = new RequestMark<Passed>('approov.passed');
  // A signed request's call, when it is not a plain HTTP route: a replay store failing open
  // reports it in the call's own terms.
  private readonly calls = new RequestMark<ApproovCallInfo>('approov.call');
  private shuttingDown = false;
  private readonly onCheck: ((report: ApproovCheckReport) => void) | undefined;

  constructor(
    private readonly config: ResolvedApproovConfig,
    private readonly log: ApproovLog,
  ) {
    this.verifier = new ApproovVerifier(config.verifier);
    this.tokenHeader = this.verifier.tokenHeader;
    this.defaultBindingHeaders = config.bindingHeaders;
    this.mode = config.mode;
    this.maxBodyBytes = config.maxBodyBytes;
    this.bodyTimeoutMs = config.bodyTimeoutSec * 1000;
    this.reporter = new RejectReporter({ ...config, tokenHeader: this.tokenHeader }, log);
    this.onCheck = config.onCheck;
    this.replay = new SignedRequestReplayCheck(config.replay, log, (request) =>
      this.reporter.reportFailedOpen(request, this.calls.get(request)),
    );
    this.signatures = new RouteSignatureVerifier(
      log,
      this.tokenHeader,
      config.verifier.clockToleranceSec ?? 0,
      config.messageSigning,
      config.maxBodyBytes,
      this.replay,
      config.accountSigningKeys,
      undefined,
      this.bodyTimeoutMs,
    );
    if (config.keyset !== undefined) logKeySetEvents(config.keyset, log);
  }

  /**
   * The verdict on `request` under a route's `rules`. A Promise only when a step really waits (a
   * keyset refetch for an unknown `kid`, a body still arriving, a shared replay store); the
   * token-only path answers synchronously. A call that already passed the same rules here is not
   * checked again while its token's `exp` holds. `call` describes a call that is not a plain HTTP
   * route (a GraphQL field, a WebSocket message, an RPC): its context type for the report, and the
   * object that stands for the one call, where the pass and the report are kept. With an onCheck
   * hook, each check that runs is reported to it (a pass taken from the call is not a new check).
   */
  check(
    request: ApproovRequestLike,
    rules: ApproovRouteRules,
    call?: ApproovCallInfo,
  ): MaybePromise<ApproovVerdict> {
    const key = call?.key ?? request;
    const passed = this.passed.get(key);
    if (
      passed !== undefined &&
      passed.covers(rules) &&
      this.verifier.isUnexpired(passed.verdict.claims)
    ) {
      return passed.verdict;
    }
    // Read only when a hook will be told: no clock read on the path of an app without one.
    const startedAt = this.onCheck === undefined ? 0 : performance.now();
    if (call !== undefined && rules.signing !== undefined) this.calls.set(request, call);
    const token = this.verifier.verifyRequestWithRefetch(
      nodeRequestOf(request),
      rules.bindingHeaders,
    );
    return token instanceof Promise
      ? token.then((settled) => this.afterToken(settled, request, rules, call, startedAt))
      : this.afterToken(token, request, rules, call, startedAt);
  }

  /**
   * Reports a call that cannot be checked at all (its context carries no token), and answers
   * whether it is served anyway (monitor mode): the same report as any reject.
   */
  reportUncheckable(request: ApproovRequestLike, call: ApproovCallInfo): ApproovVerdict {
    const startedAt = this.onCheck === undefined ? 0 : performance.now();
    return this.reject('context_unsupported', request, NO_RULES, call, startedAt);
  }

  private afterToken(
    token: ApproovCheckResult,
    request: ApproovRequestLike,
    rules: ApproovRouteRules,
    call: ApproovCallInfo | undefined,
    startedAt: number,
  ): MaybePromise<ApproovVerdict> {
    if (!token.ok) return this.reject(token.code, request, rules, call, startedAt);
    const signing = rules.signing;
    if (signing === undefined)
      return this.accept(token, rules, call, request, NO_SIGNATURES, startedAt);
    return whenSettled(this.signatures.verify(request, token.claims, signing), (signed) =>
      signed.ok
        ? this.accept(token, rules, call, request, signed.signatures, startedAt)
        : this.reject(signed.code, request, rules, call, startedAt),
    );
  }

  private accept(
    verdict: ApproovServeVerdict,
    rules: ApproovRouteRules,
    call: ApproovCallInfo | undefined,
    request: ApproovRequestLike,
    signatures: readonly VerifiedMessageSignature[],
    startedAt: number,
  ): ApproovVerdict {
    const key = call?.key ?? request;
    const passed = this.passed.get(key);
    if (passed === undefined || passed.verdict !== verdict)
      this.passed.set(key, new Passed(verdict, rules));
    else passed.add(rules);
    if (this.onCheck !== undefined)
      this.observe('pass', undefined, true, call, signatures, startedAt);
    return verdict;
  }

  private reject(
    code: ApproovFailureCode,
    request: ApproovRequestLike,
    rules: ApproovRouteRules,
    call: ApproovCallInfo | undefined,
    startedAt: number,
  ): ApproovVerdict {
    const serve = this.reporter.reportReject(code, request, rules.allowStatuses, call);
    if (this.onCheck !== undefined) {
      const outcome = UNAVAILABLE_FAILURE_CODES.has(code) ? 'unavailable' : 'reject';
      this.observe(outcome, code, serve, call, NO_SIGNATURES, startedAt);
    }
    return (serve ? SERVE_UNCHECKED : REJECT).get(code)!;
  }

  /** Tells the onCheck hook how a check ended; a hook that throws changes neither the verdict nor the reply. */
  private observe(
    outcome: ApproovCheckOutcome,
    code: ApproovFailureCode | undefined,
    served: boolean,
    call: ApproovCallInfo | undefined,
    signatures: readonly VerifiedMessageSignature[],
    startedAt: number,
  ): void {
    const report: ApproovCheckReport = {
      outcome,
      context: call?.context ?? 'http',
      messageSigning: signatures.map((signature) => signature.label),
      durationSec: (performance.now() - startedAt) / 1000,
      served,
    };
    if (code !== undefined) report.code = code;
    try {
      this.onCheck!(report);
    } catch (error) {
      // Like onFailure: a broken metrics hook must not turn a 401 into a 500, nor leak what it threw.
      this.log('error', `onCheck hook threw ${(error as Error)?.name ?? 'an error'}`);
    }
  }

  /**
   * Fetches the JWKS before the app serves (when `jwksUri` is set). Throws an
   * ApproovConfigurationError naming the setting when it cannot load, unless
   * `keyset.requireAtBoot` is false.
   */
  async start(): Promise<void> {
    const { keyset, keysetOptions, jwksSetting } = this.config;
    if (keyset === undefined) return;
    await startKeySet(
      keyset,
      keysetOptions?.requireAtBoot ?? true,
      jwksSetting ?? 'option "jwksUri"',
    );
  }

  /** Stops the key set's background refresh. */
  stop(): void {
    this.config.keyset?.close();
  }

  /** Warns, without holding up the boot, when the replay store cannot be reached: signed requests get 503 until it can. */
  warnWhenReplayStoreDown(): void {
    const deadline = Date.now() + STORE_BOOT_CHECK_MS;
    const probe = (): void => {
      this.replay.store.checkHealth().then(
        (healthy) => {
          if (healthy || this.shuttingDown) return;
          if (Date.now() < deadline) setTimeout(probe, 100).unref();
          else
            this.log(
              'warn',
              'replay store: not reachable at startup; signed requests are answered 503 until it is.',
            );
        },
        () => this.log('warn', 'replay store: its health check failed at startup.'),
      );
    };
    probe();
  }

  /** The JWKS key set's state; undefined when no `jwksUri` is configured. */
  keysetStatus(): ApproovKeysetStatus | undefined {
    return this.config.keyset?.status();
  }

  /** True when the replay store can answer now: for a readiness probe. */
  checkReplayStoreHealth(): Promise<boolean> {
    return this.replay.store.checkHealth();
  }

  /** Writes the reject counts still held back, then closes the replay store (at shutdown). */
  async close(): Promise<void> {
    this.shuttingDown = true;
    this.reporter.close();
    await this.replay.store.close();
  }
}
