import type { ApproovRequestLike } from '../../src/core/http/request.js';

/** A GET as the core check sees it (no HTTP server), with `headers` beside its Host. */
export function requestWith(headers: Record<string, string> = {}): ApproovRequestLike {
  return {
    method: 'GET',
    url: '/orders?page=2',
    rawHeaders: Object.entries({ Host: '127.0.0.1', ...headers }).flat(),
    headers: {},
  };
}
