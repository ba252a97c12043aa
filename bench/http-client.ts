// A lean closed-loop HTTP/1.1 load generator for the bench: keep-alive connections, one request in
// flight each, every request prebuilt as bytes. autocannon cost about 50 us of client CPU per
// request once each request carried its own token (its setupRequest rebuilds the request), so
// on two cores the client, not the server, capped the distinct-token runs. Here a request with
// its own token costs the client what a repeated one does. Only for the bench's own servers:
// it expects Content-Length bodies (Nest on Express and Fastify answers that way) and fails
// loudly on anything else.
import { connect, type Socket } from 'node:net';

export interface ClosedLoopResult {
  total: number;
  durationSec: number;
  p99Ms: number;
  statuses: Record<string, number>;
  errors: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** A GET request to 127.0.0.1:`port` with these headers, as bytes. Header values must be plain ASCII. */
export function buildRequest(
  port: number,
  path: string,
  headers: Readonly<Record<string, string>>,
): Buffer {
  let text = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n`;
  for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
  return Buffer.from(`${text}\r\n`, 'latin1');
}

function contentLength(head: string): number {
  const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (match === null)
    throw new Error(`a response without Content-Length: ${head.split('\r\n')[0]}`);
  return Number(match[1]);
}

/**
 * Runs `connections` connections for `durationSec`, each sending its own cycle of `requests`
 * (connection c starts at request c * requests.length / connections, so no two connections send
 * the same request at the same time), and reports every response completed in that time.
 * With `once`, each connection sends only its own share, never a request twice, and stops early
 * when the share runs out (signed requests: a repeat would be a replay).
 */
export function runClosedLoop(
  port: number,
  connections: number,
  durationSec: number,
  requests: readonly Buffer[],
  once = false,
): Promise<ClosedLoopResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(durationSec * 1e9));

  const one = (connection: number): Promise<void> =>
    new Promise((resolve, reject) => {
      let next = Math.floor((connection * requests.length) / connections);
      const end = Math.floor(((connection + 1) * requests.length) / connections);
      let pending: Buffer = Buffer.alloc(0);
      let sentAt = 0n;
      const socket: Socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      const send = (): void => {
        sentAt = process.hrtime.bigint();
        if (sentAt >= deadline || (once && next >= end)) {
          socket.end();
          return;
        }
        socket.write(requests[next]!);
        next = once ? next + 1 : (next + 1) % requests.length;
      };
      socket.on('connect', send);
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        // With one request in flight, a chunk holds at most one response.
        const headEnd = pending.indexOf(HEADER_END);
        if (headEnd === -1) return;
        const head = pending.toString('latin1', 0, headEnd);
        let length: number;
        try {
          length = contentLength(head);
        } catch (error) {
          socket.destroy();
          reject(error as Error);
          return;
        }
        if (pending.length < headEnd + 4 + length) return;
        pending = pending.subarray(headEnd + 4 + length);
        const now = process.hrtime.bigint();
        latencies.push(Number(now - sentAt) / 1e6);
        const status = head.slice(9, 12);
        statuses[status] = (statuses[status] ?? 0) + 1;
        send();
      });
      socket.on('error', () => {
        errors++;
        resolve();
      });
      socket.on('close', () => resolve());
    });

  return Promise.all(Array.from({ length: connections }, (_, c) => one(c))).then(() => {
    const durationSec = Number(process.hrtime.bigint() - start) / 1e9;
    latencies.sort((a, b) => a - b);
    const p99Ms =
      latencies.length === 0
        ? 0
        : latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]!;
    return { total: latencies.length, durationSec, p99Ms, statuses, errors };
  });
}
