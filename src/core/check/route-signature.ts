import type { KeyObject } from 'node:crypto';
import { isPromise } from 'node:util/types';
import { nodeRequestOf, toSignedRequest, type ApproovRequestLike } from '../http/request.js';
import { whenSettled, type MaybePromise } from '../maybe-async.js';
import {
  DEFAULT_MAX_BODY_BYTES,
  mayNeedRawBody,
  rawBodyCaptureOf,
  RAW_BODY_DEADLINE_MS,
  readRawBody,
  type RawBodyRequest,
  type RawBodyResult,
} from '../http/raw-body.js';
import type { ApproovTokenClaims } from '../token/claims.js';
import {
  resolveMessageSigningOptions,
  type ApproovMessageSigningOptions,
  type ResolvedMessageSigningOptions,
} from '../message-signing/options.js';
import {
  MessageSignatureVerifier,
  type MessageSignatureResult,
  type SignatureVerificationMemo,
} from '../message-signing/verify.js';
import { systemClock } from '../clock.js';
import type { ApproovLog } from './log.js';
import type { SignedRequestReplayCheck } from './signed-request-replay.js';

/** A body that could not be had in full, by why: 413, 408, 503; never the 401 of a digest mismatch. */
const BODY_FAILURES: Partial<Record<RawBodyResult['status'], MessageSignatureResult>> = {
  too_large: Object.freeze({ ok: false, code: 'request_body_too_large' }),
  timeout: Object.freeze({ ok: false, code: 'request_body_timeout' }),
  over_budget: Object.freeze({ ok: false, code: 'request_body_budget_full' }),
};

// Set when a route declares `accept: ['account']` (decorators run before any module boots), so a
// server without the account key can say so once at boot rather than at the first request.
let accountRouteDeclared = false;

/** Called by @ApproovMessageSigning for a route that accepts `account` signatures. */
export function noteAccountSignatureRoute(): void {
  accountRouteDeclared = true;
}

/**
 * Verifies a request's message signature under its route's rules: merges the route's
 * `@ApproovMessageSigning` options over the module defaults (once per route), gets the body as
 * sent when the signature may cover it, refuses a replay of a verified request (unless the route
 * says `allowReplays: true`), and warns once when the body bytes could not be had.
 */
export class RouteSignatureVerifier {
  private readonly verifier: MessageSignatureVerifier;
  private readonly resolved = new WeakMap<object, ResolvedMessageSigningOptions>();
  private warnedRawBody = false;
  private readonly maxBodyBytes: number;
  private warnedAccountKey = false;

  constructor(
    private readonly log: ApproovLog,
    private readonly tokenHeader: string,
    private readonly clockToleranceSec: number,
    private readonly moduleDefaults: Readonly<ApproovMessageSigningOptions>,
    /** The body bound when no server hook captured the request; undefined: DEFAULT_MAX_BODY_BYTES. */
    maxBodyBytes?: number,
    /** Refuses a second sighting of a verified request; undefined: no replay check. */
    private readonly replay?: SignedRequestReplayCheck,
    accountSigningKeys: readonly KeyObject[] = [],
    private readonly now: () => number = systemClock,
    /** How long the guard waits for a body nothing has read yet; undefined: RAW_BODY_DEADLINE_MS. */
    private readonly bodyDeadlineMs: number = RAW_BODY_DEADLINE_MS,
  ) {
    this.maxBodyBytes = maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.verifier = new MessageSignatureVerifier(accountSigningKeys);
    if (
      accountSigningKeys.length === 0 &&
      (accountRouteDeclared || moduleDefaults.accept?.includes('account') === true)
    ) {
      this.warnAccountKey();
    }
  }

  /**
   * Verifies the request's signatures (`install`, `account`) under the route's rules (token already
   * verified). When a signature may cover `content-digest`, the signatures are verified first,
   * without the body: a forged or unsigned request never makes the guard read or wait for it (nor
   * learn from a 413 that its token passed). Only then is the body had, asynchronously only when
   * nothing has read the stream yet; a body past the bound fails `request_body_too_large`, one
   * not in time `request_body_timeout` (408), one the shared budget had no room for
   * `request_body_budget_full` (503: the server cannot decide, not the client's fault).
   */
  verify(
    request: ApproovRequestLike,
    claims: ApproovTokenClaims,
    routeOptions: Readonly<ApproovMessageSigningOptions>,
  ): MaybePromise<MessageSignatureResult> {
    const node = nodeRequestOf(request);
    if (rawBodyCaptureOf(node) === undefined && !mayNeedRawBody(node))
      return this.verifyWithBody(request, claims, routeOptions);
    const memo: SignatureVerificationMemo = {};
    const nowSec = this.now();
    const signed = this.verifier.verify(
      { ...toSignedRequest(request, null), bodyPending: true },
      claims,
      this.optionsFor(routeOptions),
      nowSec,
      memo,
    );
    if (signed.ok || signed.rawBodyUnavailable !== true)
      return this.conclude(request, routeOptions, signed);
    return whenSettled(
      readSignedRequestBody(request, this.maxBodyBytes, this.bodyDeadlineMs),
      (body: RawBodyResult) =>
        BODY_FAILURES[body.status] ??
        this.verifyWithBody(
          request,
          claims,
          routeOptions,
          body.status === 'ok' ? body.body : null,
          memo,
          nowSec,
        ),
    );
  }

  private verifyWithBody(
    request: ApproovRequestLike,
    claims: ApproovTokenClaims,
    routeOptions: Readonly<ApproovMessageSigningOptions>,
    body?: Buffer | null,
    memo?: SignatureVerificationMemo,
    nowSec: number = this.now(),
  ): MaybePromise<MessageSignatureResult> {
    const options = this.optionsFor(routeOptions);
    return this.conclude(
      request,
      routeOptions,
      this.verifier.verify(toSignedRequest(request, body), claims, options, nowSec, memo),
    );
  }

  /** After verification: the replay check of a verified request, the once-only warnings of a failed one. */
  private conclude(
    request: ApproovRequestLike,
    routeOptions: Readonly<ApproovMessageSigningOptions>,
    result: MessageSignatureResult,
  ): MaybePromise<MessageSignatureResult> {
    const options = this.optionsFor(routeOptions);
    if (result.ok) {
      // No identity: an optional signature was not sent, so there is nothing to replay.
      return result.signatures.length === 0 || options.allowReplays || this.replay === undefined
        ? result
        : this.judgeEach(this.replay, request, result, 0);
    }
    if (result.rawBodyUnavailable === true && !this.warnedRawBody) {
      this.warnedRawBody = true;
      this.log(
        'warn',
        'message signing: a request body had to be checked against Content-Digest but its bytes could not be read ' +
          '(the request stream was consumed before ApproovModule could keep them, or the client went away), so the ' +
          'request was rejected. ApproovModule keeps them from the HTTP server the app listens on; a server it does ' +
          'not see needs NestFactory.create(AppModule, { rawBody: true }) and a parser for the content type.',
      );
    }
    if (!result.ok && result.code === 'account_key_not_configured') this.warnAccountKey();
    return result;
  }

  /**
   * Every verified signature is remembered and checked, not only the first: a captured request
   * signed under both labels, replayed with one of them stripped, is still a replay.
   */
  private judgeEach(
    replay: SignedRequestReplayCheck,
    request: ApproovRequestLike,
    result: Extract<MessageSignatureResult, { ok: true }>,
    index: number,
  ): MaybePromise<MessageSignatureResult> {
    return whenSettled(
      replay.judge(request, result, result.signatures[index]!.identity),
      (verdict) =>
        !verdict.ok || index + 1 === result.signatures.length
          ? verdict
          : this.judgeEach(replay, request, result, index + 1),
    );
  }

  /** Once: why `account` routes answer 401 (the key is never named by value). */
  private warnAccountKey(): void {
    if (this.warnedAccountKey) return;
    this.warnedAccountKey = true;
    this.log(
      'warn',
      'message signing: routes that require `account` signatures answer 401 because no account message-signing ' +
        'key is set: give the messageSigningKey option or the APPROOV_MESSAGE_SIGNING_KEY environment variable.',
    );
  }

  /** The route's settled signing policy: built-in defaults, the module's `messageSigning`, then the route's. */
  optionsFor(routeOptions: Readonly<ApproovMessageSigningOptions>): ResolvedMessageSigningOptions {
    let options = this.resolved.get(routeOptions);
    if (options === undefined) {
      options = resolveMessageSigningOptions(
        this.tokenHeader,
        this.clockToleranceSec,
        this.moduleDefaults,
        routeOptions,
      );
      this.resolved.set(routeOptions, options);
    }
    return options;
  }
}

/**
 * The body of a request on a route that checks message signatures, as sent: from the capture,
 * else read now when nothing has read the stream, else Nest's `rawBody` when the body was not
 * encoded (Express's `rawBody` is the inflated body), else unavailable.
 */
function readSignedRequestBody(
  request: ApproovRequestLike,
  limit: number,
  deadlineMs: number,
): MaybePromise<RawBodyResult> {
  const node = nodeRequestOf(request) as RawBodyRequest;
  const read = readRawBody(node, limit, deadlineMs);
  if (!isPromise(read) && read.status === 'unavailable') {
    const rawBody = request.rawBody;
    const encoding = node.headers?.['content-encoding'];
    if (Buffer.isBuffer(rawBody) && (encoding === undefined || encoding === 'identity')) {
      return rawBody.length > limit ? { status: 'too_large' } : { status: 'ok', body: rawBody };
    }
  }
  return read;
}
