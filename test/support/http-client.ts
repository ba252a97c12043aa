import { expect } from '@jest/globals';
import { request } from 'node:http';
import { logCapture } from './log-capture.js';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Header lines in order; a name may repeat (node:http sends each line as given). */
export type HeaderLines = ReadonlyArray<readonly [string, string]> | Readonly<Record<string, string>>;

const TIMEOUT_MS = 5_000;

/**
 * One HTTP/1.1 request to 127.0.0.1, no keep-alive, each header line sent as given (duplicates
 * kept, unlike fetch). Every header value sent, except the trace id, is registered with the log
 * capture as a value that must never be logged.
 */
export function httpGet(baseUrl: string, path: string, headers: HeaderLines = [], method = 'GET'): Promise<HttpResponse> {
  const lines = Array.isArray(headers) ? (headers as Array<[string, string]>) : Object.entries(headers);
  for (const [name, value] of lines) if (name.toLowerCase() !== 'approov-traceid') logCapture.addSensitive(value);
  const url = new URL(path, baseUrl);
  if (url.hostname !== '127.0.0.1') throw new Error('e2e requests go to 127.0.0.1 only');
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        // An array of lines keeps duplicates; Node then adds no Host of its own.
        headers: [['Host', url.host], ...lines].flat() as unknown as Record<string, string>,
        timeout: TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${TIMEOUT_MS} ms: ${method} ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

export const UNAUTHORIZED_BODY = { statusCode: 401, message: 'Unauthorized' };

/** Asserts the one reject every Approov failure gives: 401 with the fixed body. */
export function expectReject(response: HttpResponse): void {
  expect(response.status).toBe(401);
  expect(JSON.parse(response.body)).toEqual(UNAUTHORIZED_BODY);
}

/** The response headers that may legitimately differ between two rejects. */
const VOLATILE_HEADERS = new Set(['date']);

/** The response headers with the volatile ones removed, for comparing rejects. */
export function stableHeaders(response: HttpResponse): Record<string, unknown> {
  return Object.fromEntries(Object.entries(response.headers).filter(([name]) => !VOLATILE_HEADERS.has(name)));
}
