/**
 * Stable reason codes for a rejected request, `<area>_<reason>`, sorted: logged and given to
 * onFailure, never sent to the client. Each answers 401 but those in UNAVAILABLE_FAILURE_CODES
 * (503: the server cannot decide), `request_body_too_large` (413: the body was too long to
 * check, which says nothing about the client) and `request_body_timeout` (408: the body did not
 * arrive in time).
 */
export const APPROOV_FAILURE_CODES = [
  'account_key_not_configured',
  'account_signature_invalid',
  'account_signature_missing',
  'binding_claim_missing',
  'binding_header_missing',
  'binding_mismatch',
  'content_digest_mismatch',
  // The handler's context carries no place an Approov token travels (a TCP message, say).
  'context_unsupported',
  'install_key_missing',
  'install_signature_invalid',
  'install_signature_missing',
  'keyset_unavailable',
  'replay_store_unavailable',
  'request_body_budget_full',
  'request_body_timeout',
  'request_body_too_large',
  'request_headers_too_many',
  'signature_components_missing',
  'signature_expired',
  'signature_malformed',
  'signature_replayed',
  'token_algorithm_not_allowed',
  'token_audience_invalid',
  'token_claims_invalid',
  'token_duplicated',
  'token_expiration_missing',
  'token_expired',
  'token_issuer_invalid',
  'token_key_id_unknown',
  'token_malformed',
  'token_missing',
  'token_not_yet_valid',
  'token_signature_invalid',
  // An SDK status (`NO_NETWORK`...) sent in the token header in place of a token.
  'token_status',
] as const;

export type ApproovFailureCode = (typeof APPROOV_FAILURE_CODES)[number];

/**
 * Codes that mean the server cannot decide (a store or a key endpoint did not answer), not that
 * the client is at fault: they are answered with 503, every other code with the one 401.
 */
export const UNAVAILABLE_FAILURE_CODES: ReadonlySet<ApproovFailureCode> =
  new Set<ApproovFailureCode>([
    'replay_store_unavailable',
    'keyset_unavailable',
    'request_body_budget_full',
  ]);

/**
 * The kind of handler a request reached, as Nest's ExecutionContext.getType() names it: an HTTP
 * route, a GraphQL resolver (over HTTP), a WebSocket gateway message, a microservice message.
 */
export type ApproovContextType = 'http' | 'graphql' | 'ws' | 'rpc';

/** What the `onFailure` hook receives: the reason and where, never the token or header values. */
export interface ApproovFailure {
  code: ApproovFailureCode;
  /** Where the reject happened: an HTTP route, a GraphQL resolver, a WebSocket message or an RPC. */
  context: ApproovContextType;
  /** The HTTP method; `WS` for a WebSocket message, `RPC` for a microservice message. */
  method: string;
  /** The path without its query; a WebSocket message's event; a gRPC method's path. */
  path: string;
  /** The client's `Approov-TraceID` header, when it sent one. */
  traceId?: string;
  /** True when `mode: 'monitor'` let the request through anyway. */
  monitored: boolean;
  /** True when the replay store could not answer and `replay.failOpen` let the request through anyway. */
  failedOpen?: true;
  /** The client's `Approov-Status` (sanitised: a short lower-case word, or 'invalid'), when it sent one. */
  approovStatus?: string;
  /** True when an allowed `Approov-Status` let a request without a token through. */
  allowedByStatus?: true;
}
