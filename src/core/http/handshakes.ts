import type { EventEmitter } from 'node:events';

// The upgrade request of each WebSocket connection, by its network socket: a `ws` connection
// keeps its socket but not the request its handshake came on, where the SDKs put the token.
const handshakes = new WeakMap<object, object>();
const hookedServers = new WeakSet<object>();

/**
 * Remembers, from the HTTP server's first `upgrade` listener, the request of every upgrade it
 * sees (held weakly, with its socket). Once per server. Returns the function that stops it.
 */
export function captureHandshakes(server: EventEmitter): () => void {
  if (hookedServers.has(server)) return () => {};
  hookedServers.add(server);
  const onUpgrade = (request: unknown, socket: unknown): void => {
    if (
      typeof request === 'object' &&
      request !== null &&
      typeof socket === 'object' &&
      socket !== null
    ) {
      handshakes.set(socket, request);
    }
  };
  server.prependListener('upgrade', onUpgrade);
  return () => {
    server.off('upgrade', onUpgrade);
    hookedServers.delete(server);
  };
}

/** The upgrade request that opened the connection on `socket`, when the capture saw it. */
export function handshakeRequestOf(socket: unknown): object | undefined {
  return typeof socket === 'object' && socket !== null ? handshakes.get(socket) : undefined;
}
