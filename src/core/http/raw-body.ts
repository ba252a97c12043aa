import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { DEFAULT_MAX_HELD_BYTES, RawBodyBudget, type RawBodyAdmission } from './raw-body-budget.js';
import type { HeaderSource } from './request-headers.js';

/** Largest body read to check a Content-Digest when neither the app nor the option says otherwise: Fastify's default bodyLimit. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** The highest `maxBodyBytes` accepted: the bytes are held in memory until the guard has checked them. */
export const MAX_MAX_BODY_BYTES = 1024 * 1024 * 1024;
/** The default time a captured body has to arrive in full, from its headers: `bodyTimeoutSec`. */
export const DEFAULT_BODY_TIMEOUT_SEC = 30;
/** The highest `bodyTimeoutSec` accepted. */
export const MAX_BODY_TIMEOUT_SEC = 600;

/**
 * The longest the guard waits for the rest of a body when no server hook armed the capture's own
 * deadline (see `bodyTimeoutSec`). Past it: `timeout`.
 */
export const RAW_BODY_DEADLINE_MS = DEFAULT_BODY_TIMEOUT_SEC * 1000;

/** The Node request as the HTTP server hands it over: IncomingMessage, Http2ServerRequest, or a test double. */
export type RawBodyRequest = Readable & HeaderSource;

/** The body bytes as they came off the wire, or why there are none. */
export type RawBodyResult =
  | { status: 'ok'; body: Buffer }
  /** Longer than the limit: nothing past the limit was kept. */
  | { status: 'too_large' }
  /** The client went away, or the bytes were consumed before anyone could keep them. */
  | { status: 'unavailable' }
  /** The body did not arrive in full before the deadline: nothing was kept. */
  | { status: 'timeout' }
  /** The server's shared budget (or this client's share of it) was full: nothing was kept. */
  | { status: 'over_budget' };

const TOO_LARGE: RawBodyResult = Object.freeze({ status: 'too_large' });
const UNAVAILABLE: RawBodyResult = Object.freeze({ status: 'unavailable' });
const TIMEOUT: RawBodyResult = Object.freeze({ status: 'timeout' });
const OVER_BUDGET: RawBodyResult = Object.freeze({ status: 'over_budget' });

/**
 * The body bytes of one request, kept as the HTTP parser pushes them into the request stream:
 * before any consumer reads them, decodes them to text or inflates them. Bounded by `limit`.
 */
export class RawBodyCapture {
  private chunks: Buffer[] = [];
  private size = 0;
  private result: RawBodyResult | undefined;
  private waiters: Array<(result: RawBodyResult) => void> = [];
  /** Bytes counted against the budget, given back by release() (or at once when the outcome holds no body). */
  private counted = 0;
  private deadline: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly limit: number,
    private readonly budget?: RawBodyBudget,
    /** The client address the bytes are counted against in the budget. */
    private readonly client = '',
    /** True when the request's token may still verify (counted against the pending share). */
    private readonly pending = false,
  ) {}

  /** Settles `timeout` (dropping what was kept) unless the body has ended within `ms`. */
  armDeadline(ms: number): void {
    if (this.result !== undefined || this.deadline !== undefined) return;
    this.deadline = setTimeout(() => this.settle(TIMEOUT), ms);
    this.deadline.unref?.();
  }

  /** The outcome once the body has ended, gone past the limit or been aborted; undefined while reading. */
  get settled(): RawBodyResult | undefined {
    return this.result;
  }

  /** Takes one pushed chunk; null is the end of the body. */
  record(chunk: unknown, encoding?: BufferEncoding): void {
    if (this.result !== undefined) return;
    if (chunk === null) {
      this.settle({
        status: 'ok',
        body: this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size),
      });
      return;
    }
    const bytes =
      typeof chunk === 'string'
        ? Buffer.from(chunk, encoding)
        : Buffer.isBuffer(chunk)
          ? chunk
          : chunk instanceof Uint8Array
            ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
            : undefined;
    if (bytes === undefined) return this.settle(UNAVAILABLE);
    this.size += bytes.length;
    if (this.size > this.limit) return this.settle(TOO_LARGE);
    if (this.budget !== undefined) {
      if (!this.budget.take(this.client, this.pending, bytes.length))
        return this.settle(OVER_BUDGET);
      this.counted += bytes.length;
    }
    this.chunks.push(bytes);
  }

  /** The request is over (its response finished or the connection closed): frees the body and gives its bytes back. */
  release(): void {
    this.settle(UNAVAILABLE);
    if (this.result?.status === 'ok') this.result = UNAVAILABLE;
    this.giveBack();
  }

  private giveBack(): void {
    this.budget?.give(this.client, this.pending, this.counted);
    this.counted = 0;
  }

  /** Ends the capture with `result` (the first outcome wins) and frees what it held. */
  settle(result: RawBodyResult): void {
    if (this.result !== undefined) return;
    this.result = result;
    this.chunks = [];
    if (this.deadline !== undefined) clearTimeout(this.deadline);
    if (result.status !== 'ok') this.giveBack();
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve(result);
  }

  /** Resolves with the outcome once settled. */
  whenSettled(): Promise<RawBodyResult> {
    if (this.result !== undefined) return Promise.resolve(this.result);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

const captures = new WeakMap<object, RawBodyCapture>();

/** The capture started for this request, if any. */
export function rawBodyCaptureOf(request: object): RawBodyCapture | undefined {
  return captures.get(request);
}

/**
 * Whether the body may have to be checked against a Content-Digest: a Content-Digest header is
 * present and a Signature-Input line names `content-digest`. Only such requests are captured.
 * Reads the headers object (built once per request, and the frameworks read it anyway; repeated
 * lines are joined), so a request without Content-Digest costs one property lookup.
 */
export function mayNeedRawBody(source: HeaderSource): boolean {
  const headers = source.headers;
  if (headers === undefined) return mayNeedRawBodyFromRawHeaders(source.rawHeaders ?? []);
  if (headers['content-digest'] === undefined) return false;
  const input = headers['signature-input'];
  if (input === undefined) return false;
  return typeof input === 'string'
    ? input.includes('content-digest')
    : input.some((value) => value.includes('content-digest'));
}

function mayNeedRawBodyFromRawHeaders(raw: readonly string[]): boolean {
  let digest = false;
  let covered = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-digest') digest = true;
    else if (
      name.length === 15 &&
      name.toLowerCase() === 'signature-input' &&
      raw[i + 1]!.includes('content-digest')
    )
      covered = true;
  }
  return digest && covered;
}

/** A Content-Length the client declared, when it is one plain number. */
function declaredLength(source: HeaderSource): number | undefined {
  const value = source.headers?.['content-length'];
  return typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/**
 * Starts keeping the body of `request` as the HTTP parser pushes it, before anything reads the
 * stream: the app's body parsers still read it as usual, decompress it and parse it. Call it
 * as soon as the server emits the request. Returns undefined when bytes have already gone by.
 */
export function captureRawBody(
  request: RawBodyRequest,
  limit: number,
  budget?: RawBodyBudget,
  pending = false,
  holder: string = clientAddressOf(request),
): RawBodyCapture | undefined {
  const existing = captures.get(request);
  if (existing !== undefined) return existing;
  if (request.readableDidRead || request.readableLength > 0 || request.readableEnded)
    return undefined;
  const capture = new RawBodyCapture(limit, budget, holder, pending);
  captures.set(request, capture);
  const length = declaredLength(request);
  if (length !== undefined && length > limit) {
    capture.settle(TOO_LARGE);
    return capture;
  }
  const push = request.push;
  // An own property shadowing Readable.prototype.push; it stays once settled (record() then returns
  // at once): deleting it would turn the stream into a slow dictionary-mode object.
  request.push = function pushAndKeep(
    this: RawBodyRequest,
    chunk: unknown,
    encoding?: BufferEncoding,
  ): boolean {
    capture.record(chunk, encoding);
    return push.call(this, chunk, encoding);
  };
  request.once('close', () => {
    if (!request.readableEnded && capture.settled === undefined) capture.settle(UNAVAILABLE);
  });
  return capture;
}

/** The client address a request came from (its socket's peer), '' when unknown. */
export function clientAddressOf(request: object): string {
  const socket = (request as { socket?: { remoteAddress?: unknown } }).socket;
  const address = socket?.remoteAddress;
  return typeof address === 'string' ? address : '';
}

/** How captureRawBodies bounds what it keeps. */
export interface CaptureRawBodiesOptions {
  /** The bytes all captures hold together (at least `limit`). Default DEFAULT_MAX_HELD_BYTES. */
  maxHeldBytes?: number;
  /** The time a body has to arrive in full, from its headers. Default `DEFAULT_BODY_TIMEOUT_SEC`. */
  deadlineMs?: number;
  /**
   * How far the request's token is trusted, judged from its headers before any body byte: a
   * `refused` request is not captured (the guard rejects it on its token), a `pending` one gets
   * the small pending share. Default: every request is `verified`.
   */
  admit?: (request: RawBodyRequest) => RawBodyAdmission;
}

/**
 * Starts a capture, from the server's first `request` listener, for every request that may
 * need its body checked (see mayNeedRawBody) and whose token `admit` does not refuse, all of
 * them together held in one RawBodyBudget of `maxHeldBytes` (at least `limit`); each is freed
 * when its body misses the deadline, its response finishes or the connection closes. Returns the
 * function that stops it.
 */
export function captureRawBodies(
  server: EventEmitter,
  limit: number,
  options: CaptureRawBodiesOptions = {},
): () => void {
  const budget = new RawBodyBudget(
    Math.max(limit, options.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES),
    limit,
  );
  const deadlineMs = options.deadlineMs ?? DEFAULT_BODY_TIMEOUT_SEC * 1000;
  const admit = options.admit;
  const onRequest = (request: RawBodyRequest, response?: EventEmitter): void => {
    try {
      if (!mayNeedRawBody(request)) return;
      const admission = admit === undefined ? 'verified' : admit(request);
      if (admission === 'refused') return;
      // A verified device holds its own share, wherever it connects from (behind a proxy every
      // client has the proxy's address); anything else is counted on its address.
      const holder =
        typeof admission === 'object' ? `device ${admission.device}` : clientAddressOf(request);
      const capture = captureRawBody(request, limit, budget, admission === 'pending', holder);
      if (
        capture === undefined ||
        capture.settled !== undefined ||
        typeof response?.once !== 'function'
      )
        return;
      capture.armDeadline(deadlineMs);
      // 'close' follows 'finish', and also comes when the client goes away mid-response.
      response.once('close', () => capture.release());
    } catch {
      // A throw here would reach Node's HTTP server, not the app: without a capture the check fails closed.
    }
  };
  server.prependListener('request', onRequest);
  return () => {
    server.off('request', onRequest);
  };
}

/**
 * The raw body of `request`: at once when its capture has settled (the app's parser read it),
 * else once the rest has been read. Reading it here consumes the stream: it is only done for a
 * request whose body nothing else read, on a route that must check it.
 */
export function readRawBody(
  request: RawBodyRequest,
  limit: number,
  deadlineMs = RAW_BODY_DEADLINE_MS,
): RawBodyResult | Promise<RawBodyResult> {
  const capture = captures.get(request) ?? startLateCapture(request, limit);
  if (capture === undefined) return UNAVAILABLE;
  if (capture.settled !== undefined) return capture.settled;
  // Nothing reads the stream (no parser for this content type): let it flow; the capture keeps the bytes.
  if (request.readableFlowing !== true) request.resume();
  capture.armDeadline(deadlineMs);
  return capture.whenSettled();
}

/**
 * A capture started after the request was emitted (no server hook, e.g. a serverless handler):
 * possible only while nothing has read the stream, and then from its `data` events.
 */
function startLateCapture(request: RawBodyRequest, limit: number): RawBodyCapture | undefined {
  if (
    request.readableDidRead ||
    request.readableEnded ||
    request.readableEncoding !== null ||
    request.destroyed
  )
    return undefined;
  const capture = new RawBodyCapture(limit);
  captures.set(request, capture);
  const length = declaredLength(request);
  if (length !== undefined && length > limit) {
    capture.settle(TOO_LARGE);
    return capture;
  }
  const onData = (chunk: Buffer): void => {
    capture.record(chunk);
    if (capture.settled !== undefined) request.off('data', onData);
  };
  request.on('data', onData);
  request.once('end', () => capture.record(null));
  request.once('close', () => capture.settle(UNAVAILABLE));
  return capture;
}
