import type { ApproovContextType, ApproovFailureCode } from '../failure.js';
import type { ApproovSignatureLabel } from '../message-signing/options.js';

/**
 * How one check ended: `pass` (every check passed), `reject` (the client's fault: 401, or 413 for
 * a body too long to check), `unavailable` (the server could not decide: 503).
 */
export type ApproovCheckOutcome = 'pass' | 'reject' | 'unavailable';

/**
 * What the `onCheck` hook receives once per check: the outcome and where, never a token, a key, a
 * signature, a `did` or a bound header's value.
 */
export interface ApproovCheckReport {
  outcome: ApproovCheckOutcome;
  /** The failure code, on a `reject` or `unavailable` outcome. */
  code?: ApproovFailureCode;
  /** Where the check ran: an HTTP route, a GraphQL resolver, a WebSocket message or an RPC. */
  context: ApproovContextType;
  /** The message-signing labels whose signature verified, in `accept` order; empty when none. */
  messageSigning: readonly ApproovSignatureLabel[];
  /** How long the check took, in seconds, waits included (a keyset refetch, a body, a store). */
  durationSec: number;
  /** True when the request was served: a pass, or a reject let through by monitor mode or an allowed Approov-Status. */
  served: boolean;
}
