import type { Readable } from 'node:stream';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { APPROOV_LOG_CONTEXT } from './approov.constants.js';
import { ApproovHandlerScan } from './approov.handler-scan.js';
import { ApproovService } from './approov.service.js';
import type { ApproovVerifier } from './core/token/verifier.js';
import {
  captureRawBodies,
  DEFAULT_MAX_BODY_BYTES,
  type RawBodyRequest,
} from './core/http/raw-body.js';
import type { RawBodyAdmission } from './core/http/raw-body-budget.js';

/** The Fastify instance calls this provider makes; typed here so the library needs no Fastify import. */
interface FastifyInstanceLike {
  initialConfig?: { bodyLimit?: number };
  hasContentTypeParser(type: string): boolean;
  addContentTypeParser(
    type: string,
    parser: (
      request: {
        raw: object;
        headers: Record<string, unknown>;
        routeOptions?: { handler?: unknown };
      },
      payload: unknown,
      done: (error: Error | null, body?: unknown) => void,
    ) => void,
  ): void;
}

// One server hook per HTTP server, however many ApproovModule instances the app holds: it admits
// a request whose token any of their verifiers accepts.
const verifiersByServer = new WeakMap<object, ApproovVerifier[]>();

/**
 * Gives routes marked @ApproovMessageSigning the body bytes as they came off the wire. At boot,
 * when some controller checks message signatures, it puts a listener in front of the HTTP
 * server's `request` listeners that starts a bounded capture for requests whose signature
 * covers `content-digest` and whose token verifies (the guard's own verifier and cache; a token
 * whose key may still be fetched gets a small share); the app's body parsers then read, inflate
 * and parse the stream as usual. On Fastify it also lets requests to signed routes through with
 * content types the app has no parser for, covered digest or not, as Express does: the guard
 * judges them; unsigned routes still get Fastify's 415.
 */
@Injectable()
export class ApproovRawBodyCapture implements OnModuleInit {
  private readonly logger = new Logger(APPROOV_LOG_CONTEXT);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly handlerScan: ApproovHandlerScan,
    private readonly service: ApproovService,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost?.httpAdapter;
    const signedHandlers = this.handlerScan.signedHandlerNames();
    if (adapter === undefined || adapter === null || signedHandlers.size === 0) return;
    const server = adapter.getHttpServer() as
      (object & Parameters<typeof captureRawBodies>[0]) | undefined;
    if (server === undefined || server === null) return;
    const verifier = this.service.approovCheck.verifier;
    const hooked = verifiersByServer.get(server);
    if (hooked !== undefined) {
      if (!hooked.includes(verifier)) hooked.push(verifier);
      return;
    }
    const verifiers = [verifier];
    verifiersByServer.set(server, verifiers);
    const fastify =
      adapter.getType() === 'fastify' ? (adapter.getInstance() as FastifyInstanceLike) : undefined;
    const limit =
      this.service.maxBodyBytes ?? fastify?.initialConfig?.bodyLimit ?? DEFAULT_MAX_BODY_BYTES;
    captureRawBodies(server, limit, {
      deadlineMs: this.service.approovCheck.bodyTimeoutMs,
      admit: (request) => rawBodyAdmission(verifiers, request),
    });
    if (fastify !== undefined) acceptUnparsedTypesOnSignedRoutes(fastify, signedHandlers);
    this.logger.debug(
      `message signing: request bodies with a covered Content-Digest are kept up to ${limit} bytes`,
    );
  }
}

/**
 * Whether a request's body may be held before the guard runs: only when its token verifies now
 * under one of the modules' verifiers (a verified token is cached, so the guard does not verify
 * it again), or may once a keyset is fetched again (an unknown `kid`: the small pending share).
 * No token, or a failing one: the guard rejects the request on its token and needs no body.
 */
export function rawBodyAdmission(
  verifiers: ReadonlyArray<Pick<ApproovVerifier, 'verifyRequest'>>,
  request: RawBodyRequest,
): RawBodyAdmission {
  let admission: RawBodyAdmission = 'refused';
  for (const verifier of verifiers) {
    const token = verifier.verifyRequest(request);
    if (token.ok) {
      const device = token.claims.did;
      return typeof device === 'string' && device !== '' ? { device } : 'verified';
    }
    if (token.code === 'token_key_id_unknown' || token.code === 'keyset_unavailable')
      admission = 'pending';
  }
  return admission;
}

/**
 * Fastify answers 415 to a content type it has no parser for, before any guard runs, while
 * Express lets it through unread. This catch-all parser (only when the app has none) lets every
 * request to a signed route through with no parsed body, whether its digest is covered or not, so
 * the guard judges an iOS upload and an Android upload of the same bytes alike; every other
 * request gets Fastify's 415 error. Two controllers of the same class name are both taken as
 * signed: at worst such an unsigned route lets an unknown type reach its handler, as Express does.
 */
function acceptUnparsedTypesOnSignedRoutes(
  fastify: FastifyInstanceLike,
  signedHandlers: ReadonlySet<string>,
): void {
  if (fastify.hasContentTypeParser('*')) return;
  fastify.addContentTypeParser('*', (request, payload, done) => {
    const handler = request.routeOptions?.handler;
    // Fastify binds the handler it was given: its name reads "bound Controller.method".
    if (
      typeof handler !== 'function' ||
      !signedHandlers.has(handler.name.replace(/^(?:bound )+/, ''))
    )
      return done(unsupportedMediaType());
    // Drained, not left unread: a preParsing hook's stream (e.g. gunzip) that nobody reads pauses
    // the request by backpressure, and a capture would never see the end of the body.
    const stream = payload as Partial<Readable>;
    if (typeof stream.resume === 'function' && typeof stream.on === 'function') {
      stream.on('error', ignore);
      stream.resume();
    }
    done(null, undefined);
  });
}

/** A drained payload's error (a bad gzip stream) is not the guard's concern: it checks the bytes as sent. */
function ignore(): void {}

/** Fastify's FST_ERR_CTP_INVALID_MEDIA_TYPE, built here: Fastify is not a dependency of this library. */
function unsupportedMediaType(): Error {
  return Object.assign(new Error('Unsupported Media Type'), {
    name: 'FastifyError',
    code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
    statusCode: 415,
  });
}
