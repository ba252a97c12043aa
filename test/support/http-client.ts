import { expect } from '@jest/globals';
import { request } from 'node:http';
import { connect } from 'node:net';
import { logCapture } from './log-capture.js';

// The one HTTP client of the e2e suites: node:http for ordinary requests (header lines sent as
// given, duplicates kept, unlike fetch), and a raw socket for bytes node:http would refuse to send.

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Header lines in order: a list of [name, value] (a name may repeat), or a record whose array
 * values become repeated lines.
 */
export type HeaderLines =
  | ReadonlyArray<readonly [string, string]>
  | Readonly<Record<string, string | number | readonly string[] | undefined>>;

const TIMEOUT_MS = 5_000;

/** The exact text of the one 401 every Approov reject answers with (key order included). */
export const UNAUTHORIZED_BODY = '{"statusCode":401,"message":"Unauthorized"}';

function headerLines(headers: HeaderLines): Array<[string, string]> {
  if (Array.isArray(headers)) return headers as Array<[string, string]>;
  return Object.entries(headers).flatMap(([name, value]) =>
    value === undefined
      ? []
      : Array.isArray(value)
        ? value.map((one) => [name, one] as [string, string])
        : [[name, String(value)]],
  );
}

/**
 * One HTTP/1.1 request to 127.0.0.1, no keep-alive, each header line sent as given. A body gets a
 * Content-Length. Every header value sent, except the trace id, is registered with the log capture
 * as a value that must never be logged.
 */
export function httpRequest(
  baseUrl: string | URL,
  method: string,
  path: string,
  headers: HeaderLines = [],
  body?: string | Buffer,
): Promise<HttpResponse> {
  const lines = headerLines(headers);
  for (const [name, value] of lines)
    if (name.toLowerCase() !== 'approov-traceid') logCapture.addSensitive(value);
  if (body !== undefined) lines.push(['Content-Length', String(Buffer.byteLength(body))]);
  const url = new URL(path, baseUrl);
  if (url.hostname !== '127.0.0.1') throw new Error('e2e requests go to 127.0.0.1 only');
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        // An array of lines keeps duplicates; Node then adds no Host of its own, so add it unless given.
        headers: [
          ...(lines.some(([name]) => name.toLowerCase() === 'host') ? [] : [['Host', url.host]]),
          ...lines,
        ].flat() as unknown as Record<string, string>,
        timeout: TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`timeout after ${TIMEOUT_MS} ms: ${method} ${path}`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function httpGet(
  baseUrl: string | URL,
  path: string,
  headers: HeaderLines = [],
): Promise<HttpResponse> {
  return httpRequest(baseUrl, 'GET', path, headers);
}

/** Status and body alone, to compare a response whole. */
export function statusAndBody({ status, body }: HttpResponse): { status: number; body: string } {
  return { status, body };
}

/** Asserts the one reject every Approov failure gives: 401 with the fixed body, byte for byte. */
export function expectReject(response: HttpResponse): void {
  expect(statusAndBody(response)).toEqual({ status: 401, body: UNAUTHORIZED_BODY });
}

/** The response headers that may legitimately differ between two rejects. */
const VOLATILE_HEADERS = new Set(['date']);

/** The response headers with the volatile ones removed, for comparing rejects. */
export function stableHeaders(response: HttpResponse): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(response.headers).filter(([name]) => !VOLATILE_HEADERS.has(name)),
  );
}

export interface RawResponse {
  status: number;
  body: string;
}

/**
 * Sends raw request bytes on a fresh loopback socket and reads the response until the server
 * closes it. The request should carry `Connection: close` (buildRawRequest adds it). Bounded by `timeoutMs`.
 */
export function rawRequest(
  port: number,
  request: Buffer | string,
  timeoutMs = 10_000,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      let text = Buffer.concat(chunks).toString('latin1');
      // Skip interim 1xx responses (a fuzzed `Expect: 100-continue` gets one first).
      while (/^HTTP\/1\.[01] 1\d\d /.test(text) && text.includes('\r\n\r\n')) {
        text = text.slice(text.indexOf('\r\n\r\n') + 4);
      }
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (match !== null) {
        const bodyStart = text.indexOf('\r\n\r\n');
        resolve({
          status: Number(match[1]),
          body: bodyStart === -1 ? '' : text.slice(bodyStart + 4),
        });
      } else {
        reject(error ?? new Error(`no HTTP response (${chunks.length} chunks)`));
      }
    };
    socket.setTimeout(timeoutMs, () => finish(new Error('raw request timed out')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    // The server may answer (431, 400) and close while we still write: keep what it sent.
    socket.on('error', (error) => finish(error));
    socket.write(request);
  });
}

/** Builds an HTTP/1.1 request with these header lines, verbatim and in order (duplicates kept). */
export function buildRawRequest(
  method: string,
  path: string,
  headers: readonly (readonly [string, string | Buffer])[],
  body?: string,
): Buffer {
  const parts: Buffer[] = [
    Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`, 'latin1'),
  ];
  for (const [name, value] of headers) {
    parts.push(
      Buffer.from(`${name}: `, 'latin1'),
      typeof value === 'string' ? Buffer.from(value, 'latin1') : value,
      Buffer.from('\r\n'),
    );
  }
  if (body !== undefined) parts.push(Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n`));
  parts.push(Buffer.from('\r\n'));
  if (body !== undefined) parts.push(Buffer.from(body));
  return Buffer.concat(parts);
}
