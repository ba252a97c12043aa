import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { WebSocketKind } from '../apps/gateway-app.js';

// One client interface over socket.io-client and ws, as an app would use each: connect with
// headers on the handshake, send an event, read the answer or the `exception` event, see a close.

export interface GatewayClient {
  /** Sends `event` and resolves with the next answer: `{ event, data }` or `{ exception }`. */
  send(event: string, data?: unknown): Promise<GatewayAnswer>;
  /** Resolves when the server closes the connection (within `timeoutMs`), false otherwise. */
  closedByServer(timeoutMs?: number): Promise<boolean>;
  close(): void;
}

export type GatewayAnswer =
  { event: string; data: unknown } | { exception: { status?: string; message?: string } };

const TIMEOUT_MS = 3_000;

export async function connectClient(
  kind: WebSocketKind,
  port: number,
  headers: Record<string, string>,
): Promise<GatewayClient> {
  return kind === 'ws' ? connectWs(port, headers) : connectSocketIo(port, headers);
}

function withTimeout<T>(promise: Promise<T>, what: string, timeoutMs = TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: no answer in ${timeoutMs} ms`)),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

async function connectSocketIo(
  port: number,
  headers: Record<string, string>,
): Promise<GatewayClient> {
  const socket: Socket = io(`http://127.0.0.1:${port}`, {
    transports: ['websocket'],
    extraHeaders: headers,
    reconnection: false,
    forceNew: true,
  });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    }),
    'socket.io connect',
  );
  let serverClosed = false;
  const disconnected = new Promise<void>((resolve) =>
    socket.once('disconnect', (reason) => {
      serverClosed = reason === 'io server disconnect';
      resolve();
    }),
  );
  return {
    send: (event, data = {}) =>
      withTimeout(
        new Promise<GatewayAnswer>((resolve) => {
          // Nest emits a handler's `{ event, data }` answer as that event.
          const onAnswer = (answer: unknown) => settle({ event, data: answer });
          const onException = (exception: { status?: string; message?: string }) =>
            settle({ exception });
          const settle = (answer: GatewayAnswer) => {
            socket.off(event, onAnswer);
            socket.off('exception', onException);
            resolve(answer);
          };
          socket.once(event, onAnswer);
          socket.once('exception', onException);
          socket.emit(event, data);
        }),
        `socket.io ${event}`,
      ),
    closedByServer: (timeoutMs = TIMEOUT_MS) =>
      withTimeout(disconnected, 'socket.io disconnect', timeoutMs).then(
        () => serverClosed,
        () => false,
      ),
    close: () => socket.close(),
  };
}

async function connectWs(port: number, headers: Record<string, string>): Promise<GatewayClient> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}`, { headers });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    }),
    'ws connect',
  );
  let closedLocally = false;
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  return {
    send: (event, data = {}) =>
      withTimeout(
        new Promise<GatewayAnswer>((resolve) => {
          socket.once('message', (raw) => {
            const message = JSON.parse(String(raw)) as { event: string; data: unknown };
            resolve(
              message.event === 'exception'
                ? { exception: message.data as { status?: string; message?: string } }
                : message,
            );
          });
          socket.send(JSON.stringify({ event, data }));
        }),
        `ws ${event}`,
      ),
    closedByServer: (timeoutMs = TIMEOUT_MS) =>
      withTimeout(closed, 'ws close', timeoutMs).then(
        () => !closedLocally,
        () => false,
      ),
    close: () => {
      closedLocally = true;
      socket.close();
    },
  };
}
