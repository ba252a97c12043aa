import { Logger } from '@nestjs/common';
import { APPROOV_LOG_CONTEXT } from './approov.constants.js';
import { nodeRequestOf, toSignedRequest, type ApproovRequestLike } from './approov-request.js';
import { whenSettled, type MaybePromise } from './core/maybe-async.js';
import {
  DEFAULT_MAX_BODY_BYTES,
  mayNeedRawBody,
  rawBodyCaptureOf,
  readRawBody,
  type RawBodyRequest,
  type RawBodyResult,
} from './core/http/raw-body.js';
import { isPromise } from 'node:util/types';
import type { ApproovTokenClaims } from './core/token/claims.js';
import {
  resolveMessageSigningOptions,
  type ApproovMessageSigningOptions,
  type ResolvedMessageSigningOptions,
} from './core/message-signing/options.js';
import { MessageSignatureVerifier, type MessageSignatureResult } from './core/message-signing/verify.js';
import { systemClock } from './core/clock.js';
import type { SignedRequestReplayCheck } from './approov-replay.js';

const BODY_TOO_LARGE: MessageSignatureResult = Object.freeze({ ok: false, code: 'request_body_too_large' });

/**
 * Verifies a request's message signature under its route's rules: merges the route's
 * `@ApproovMessageSigning` options over the module defaults (once per route), gets the body as
 * sent when the signature may cover it, refuses a replay of a verified request (unless the route
 * says `replay: false`), and warns once when the body bytes could not be had.
 */
export class RouteSignatureVerifier {
  private readonly logger = new Logger(APPROOV_LOG_CONTEXT);
  private readonly verifier = new MessageSignatureVerifier();
  private readonly resolved = new WeakMap<object, ResolvedMessageSigningOptions>();
  private warnedRawBody = false;
  private readonly maxBodyBytes: number;

  constructor(
    private readonly tokenHeader: string,
    private readonly clockToleranceSec: number,
    private readonly moduleDefaults: Readonly<ApproovMessageSigningOptions>,
    /** The body bound when no server hook captured the request; undefined: DEFAULT_MAX_BODY_BYTES. */
    maxBodyBytes?: number,
    /** Refuses a second sighting of a verified request; undefined: no replay check. */
    private readonly replay?: SignedRequestReplayCheck,
    private readonly now: () => number = systemClock,
  ) {
    this.maxBodyBytes = maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  }

  /**
   * Verifies the request's `install` signature against the token's `ipk` (token already verified).
   * When the signature may cover `content-digest`, first gets the body as sent: asynchronous only
   * when nothing has read the stream yet. A body past the bound fails `request_body_too_large`.
   */
  verify(
    request: ApproovRequestLike,
    claims: ApproovTokenClaims,
    routeOptions: Readonly<ApproovMessageSigningOptions>,
  ): MaybePromise<MessageSignatureResult> {
    const node = nodeRequestOf(request);
    if (rawBodyCaptureOf(node) === undefined && !mayNeedRawBody(node)) return this.verifyWithBody(request, claims, routeOptions);
    return whenSettled(readSignedRequestBody(request, this.maxBodyBytes), (body: RawBodyResult) =>
      body.status === 'too_large'
        ? BODY_TOO_LARGE
        : this.verifyWithBody(request, claims, routeOptions, body.status === 'ok' ? body.body : null),
    );
  }

  private verifyWithBody(
    request: ApproovRequestLike,
    claims: ApproovTokenClaims,
    routeOptions: Readonly<ApproovMessageSigningOptions>,
    body?: Buffer | null,
  ): MaybePromise<MessageSignatureResult> {
    const options = this.optionsFor(routeOptions);
    const result = this.verifier.verify(toSignedRequest(request, body), claims, options, this.now());
    if (result.ok) {
      // No identity: an optional signature was not sent, so there is nothing to replay.
      return result.identity === undefined || !options.replay || this.replay === undefined
        ? result
        : this.replay.judge(request, result, result.identity);
    }
    if (result.rawBodyUnavailable === true && !this.warnedRawBody) {
      this.warnedRawBody = true;
      this.logger.warn(
        'message signing: a request body had to be checked against Content-Digest but its bytes could not be read ' +
          '(the request stream was consumed before ApproovModule could keep them, or the client went away), so the ' +
          'request was rejected. ApproovModule keeps them from the HTTP server the app listens on; a server it does ' +
          'not see needs NestFactory.create(AppModule, { rawBody: true }) and a parser for the content type.',
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

/**
 * The body of a request on a route that checks message signatures, as sent: from the capture,
 * else read now when nothing has read the stream, else Nest's `rawBody` when the body was not
 * encoded (Express's `rawBody` is the inflated body), else unavailable.
 */
function readSignedRequestBody(request: ApproovRequestLike, limit: number): MaybePromise<RawBodyResult> {
  const node = nodeRequestOf(request) as RawBodyRequest;
  const read = readRawBody(node, limit);
  if (!isPromise(read) && read.status === 'unavailable') {
    const rawBody = request.rawBody;
    const encoding = node.headers?.['content-encoding'];
    if (Buffer.isBuffer(rawBody) && (encoding === undefined || encoding === 'identity')) {
      return rawBody.length > limit ? { status: 'too_large' } : { status: 'ok', body: rawBody };
    }
  }
  return read;
}

