import { Logger } from '@nestjs/common';
import { APPROOV_LOG_CONTEXT } from './approov.constants.js';
import type { ApproovRequestLike } from './approov.service.js';
import type { ApproovTokenClaims } from './core/token/claims.js';
import {
  resolveMessageSigningOptions,
  type ApproovMessageSigningOptions,
  type ResolvedMessageSigningOptions,
} from './core/message-signing/options.js';
import type { SignedRequestSource } from './core/message-signing/request-target.js';
import { MessageSignatureVerifier, type MessageSignatureResult } from './core/message-signing/verify.js';
import type { HeaderSource } from './core/http/request-headers.js';

/** The Node request underneath Express's `req` or Fastify's `request.raw`. */
interface NodeRequestLike extends HeaderSource {
  method?: string;
  url?: string;
  originalUrl?: string;
  socket?: { encrypted?: boolean };
}

const systemClock = (): number => Date.now() / 1000;

/**
 * Message-signing checks for the Nest shells: merges a route's options over the module defaults
 * (once per route), maps an Express or Fastify request onto the core, and warns once when the
 * body must be checked but the app keeps no raw body.
 */
export class ApproovMessageSigningCheck {
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
  ): MessageSignatureResult {
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

/** Express hands the Node request itself; Fastify wraps it in `request.raw`. */
function toSignedRequest(request: ApproovRequestLike & { rawBody?: unknown }): SignedRequestSource {
  const node = (request.raw ?? request) as NodeRequestLike;
  const rawBody = request.rawBody;
  return {
    rawHeaders: node.rawHeaders,
    headers: node.headers,
    method: node.method ?? request.method ?? '',
    // originalUrl: Express's request-target before mounting; Fastify's before rewriteUrl.
    target: node.originalUrl ?? node.url ?? '',
    encrypted: node.socket?.encrypted === true,
    rawBody: Buffer.isBuffer(rawBody) ? rawBody : undefined,
  };
}
