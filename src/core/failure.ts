/** Stable reason codes for a rejected request: logged and given to onFailure, never sent to the client. */
export const APPROOV_FAILURE_CODES = [
  'missing_approov_token',
  'duplicate_approov_token',
  'token_malformed',
  'token_algorithm_not_allowed',
  'token_signature_invalid',
  'token_claims_invalid',
  'token_missing_expiration',
  'token_expired',
  'token_not_yet_valid',
  'token_issuer_invalid',
  'token_audience_invalid',
  'missing_binding_header',
  'missing_binding_claim',
  'binding_mismatch',
  'missing_installation_key',
  'missing_message_signature',
  'message_signature_malformed',
  'message_signature_invalid',
  'message_signature_expired',
  'message_signature_components_missing',
  'content_digest_mismatch',
  'message_signature_replayed',
  'replay_store_unavailable',
  'unknown_key_id',
  'keys_unavailable',
  // Answered 413, not 401: the body was too long to check, which says nothing about the client.
  'request_body_too_large',
  'missing_account_signature',
  'account_signature_invalid',
  'account_key_not_configured',
  'too_many_headers',
] as const;

export type ApproovFailureCode = (typeof APPROOV_FAILURE_CODES)[number];

/**
 * Codes that mean the server cannot decide (a store or a key endpoint did not answer), not that
 * the client is at fault: they are answered with 503, every other code with the one 401.
 */
export const UNAVAILABLE_FAILURE_CODES: ReadonlySet<ApproovFailureCode> =
  new Set<ApproovFailureCode>(['replay_store_unavailable', 'keys_unavailable']);

/** What the `onFailure` hook receives: the reason and where, never the token or header values. */
export interface ApproovFailure {
  code: ApproovFailureCode;
  method: string;
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
