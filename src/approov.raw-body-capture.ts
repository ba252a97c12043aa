import type { Readable } from 'node:stream';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { APPROOV_LOG_CONTEXT } from './approov.constants.js';
import { ApproovHandlerScan } from './approov.handler-scan.js';
import { ApproovService } from './approov.service.js';
import {
  captureRawBodies,
  DEFAULT_MAX_BODY_BYTES,
  rawBodyCaptureOf,
} from './core/http/raw-body.js';

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

// One server hook per HTTP server, however many ApproovModule instances the app holds.
const hookedServers = new WeakSet<object>();

/**
 * Gives routes marked @ApproovMessageSigning the body bytes as they came off the wire. At boot,
 * when some controller checks message signatures, it puts a listener in front of the HTTP
 * server's `request` listeners that starts a bounded capture for requests whose signature
 * covers `content-digest`; the app's body parsers then read, inflate and parse the stream as
 * usual. On Fastify it also lets such requests through with content types the app has no parser
 * for (Fastify would answer 415 before the guard could see them); others still get the 415.
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
    if (server === undefined || server === null || hookedServers.has(server)) return;
    hookedServers.add(server);
    const fastify =
      adapter.getType() === 'fastify' ? (adapter.getInstance() as FastifyInstanceLike) : undefined;
    const limit =
      this.service.maxBodyBytes ?? fastify?.initialConfig?.bodyLimit ?? DEFAULT_MAX_BODY_BYTES;
    captureRawBodies(server, limit);
    if (fastify !== undefined) acceptUnparsedTypesWhenCaptured(fastify, signedHandlers);
    this.logger.debug(
      `message signing: request bodies with a covered Content-Digest are kept up to ${limit} bytes`,
    );
  }
}

/**
 * Fastify answers 415 to a content type it has no parser for, before any guard runs. This
 * catch-all parser (only when the app has none) passes captured requests to signed routes through
 * unread, for the guard to read their bytes, and answers every other request with Fastify's 415
 * error. Two controllers of the same class name are both taken as signed: at worst such an
 * unsigned route lets an unknown type reach its handler, as Express does.
 */
function acceptUnparsedTypesWhenCaptured(
  fastify: FastifyInstanceLike,
  signedHandlers: ReadonlySet<string>,
): void {
  if (fastify.hasContentTypeParser('*')) return;
  fastify.addContentTypeParser('*', (request, payload, done) => {
    if (rawBodyCaptureOf(request.raw) === undefined) return done(unsupportedMediaType());
    const handler = request.routeOptions?.handler;
    // Fastify binds the handler it was given: its name reads "bound Controller.method".
    if (
      typeof handler !== 'function' ||
      !signedHandlers.has(handler.name.replace(/^(?:bound )+/, ''))
    )
      return done(unsupportedMediaType());
    // Drained, not left unread: a preParsing hook's stream (e.g. gunzip) that nobody reads pauses
    // the request by backpressure, and the capture would never see the end of the body.
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
