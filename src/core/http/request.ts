import type { SignedRequestSource } from '../message-signing/request-target.js';
import { readSingleHeader, type HeaderSource } from './request-headers.js';

/** The Node request (`IncomingMessage`): what header reading and message signing read. */
export interface NodeRequestLike extends HeaderSource {
  method?: string;
  url?: string;
  /** Express's request-target before mounting; Fastify's before rewriteUrl. */
  originalUrl?: string;
  /** A TLS socket has `encrypted: true`. */
  socket?: object;
}

/** What the module needs of a request, on Express and on Fastify alike. */
export interface ApproovRequestLike extends NodeRequestLike {
  /** Fastify wraps the Node request here; Express's request is the Node request itself. */
  raw?: NodeRequestLike;
  /** The body as received, when the app was created with `rawBody: true`. */
  rawBody?: unknown;
  /** Where the guard puts the verified claims. */
  approov?: unknown;
}

// Trace ids are echoed into logs: keep them short and printable so they cannot forge log lines.
const TRACE_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** The Node request underneath: Fastify's `request.raw`, or Express's request itself. */
export function nodeRequestOf(request: ApproovRequestLike): NodeRequestLike {
  return request.raw ?? request;
}

/** The request-target as the client sent it (path and query). */
export function requestTargetOf(request: ApproovRequestLike): string {
  const node = nodeRequestOf(request);
  return node.originalUrl ?? node.url ?? '';
}

/** The request method, or '' when there is none. */
export function requestMethodOf(request: ApproovRequestLike): string {
  return nodeRequestOf(request).method ?? request.method ?? '';
}

/**
 * The request as the message-signing core reads it. `body`: the bytes as sent; null when they
 * could not be had; omitted: Nest's `request.rawBody`.
 */
export function toSignedRequest(
  request: ApproovRequestLike,
  body?: Buffer | null,
): SignedRequestSource {
  const node = nodeRequestOf(request);
  const rawBody = body === undefined ? request.rawBody : body;
  return {
    rawHeaders: node.rawHeaders,
    headers: node.headers,
    method: requestMethodOf(request),
    target: requestTargetOf(request),
    encrypted: (node.socket as { encrypted?: unknown } | undefined)?.encrypted === true,
    rawBody: Buffer.isBuffer(rawBody) ? rawBody : undefined,
  };
}

/** The path for a log line: no query (it may carry secrets), no control characters, at most 512 characters. */
export function loggablePathOf(request: ApproovRequestLike): string {
  const target = requestTargetOf(request);
  const query = target.indexOf('?');
  const path = query === -1 ? target : target.slice(0, query);
  return path.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)).slice(0, 512);
}

/** The client's `Approov-TraceID` when sent once; 'invalid' when repeated or not a short printable id. */
export function traceIdOf(request: ApproovRequestLike): string | undefined {
  const header = readSingleHeader(nodeRequestOf(request), 'approov-traceid');
  if (header.status === 'missing') return undefined;
  return header.status === 'ok' && TRACE_ID_RE.test(header.value) ? header.value : 'invalid';
}

/**
 * A value kept per request under a private symbol (no HTTP input can name it; cheaper per request
 * than a WeakMap entry, which every garbage collection visits). A request object that takes no
 * new properties (frozen or sealed, say one a `getRequest` override built) keeps it in a WeakMap
 * instead. A logged request shows the value: keep it free of anything that must not be printed.
 */
export class RequestMark<T> {
  private readonly symbol: symbol;
  private readonly fallback = new WeakMap<object, T>();
  // Most apps never hand over a locked request: until one comes, a miss costs no WeakMap lookup.
  private fallbackUsed = false;

  constructor(description: string) {
    this.symbol = Symbol(description);
  }

  get(request: object): T | undefined {
    const value = (request as Record<symbol, T | undefined>)[this.symbol];
    return value !== undefined || !this.fallbackUsed ? value : this.fallback.get(request);
  }

  set(request: object, value: T): void {
    if (Object.isExtensible(request)) (request as Record<symbol, T>)[this.symbol] = value;
    else {
      this.fallbackUsed = true;
      this.fallback.set(request, value);
    }
  }
}
