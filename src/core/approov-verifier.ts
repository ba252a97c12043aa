import type { KeyObject } from 'node:crypto';
import type { ApproovTokenClaims } from './approov-claims.js';
import { verifyApproovToken, type TokenVerificationOptions } from './approov-token.js';
import type { ApproovFailureCode } from './failure.js';
import { readSingleHeader, type HeaderSource } from './request-headers.js';
import { checkTokenBinding } from './token-binding.js';

export interface ApproovVerifierConfig extends TokenVerificationOptions {
  /** HMAC keys, first to last (rotation). */
  keys: readonly KeyObject[];
  /** The token header name. Default 'Approov-Token'. */
  tokenHeader?: string;
  /** Let a bound route accept a token without `pay` (Approov failover). Default false. */
  allowMissingBindingClaim?: boolean;
  /** Clock in seconds since the epoch; injectable for tests. */
  now?: () => number;
}

export type ApproovCheckResult =
  | { ok: true; claims: ApproovTokenClaims }
  | { ok: false; code: ApproovFailureCode };

const systemClock = (): number => Date.now() / 1000;

/**
 * The one place where a request's Approov headers are judged. The Nest guard, the Passport
 * strategy, the CLI and the benchmarks all call this; it holds no Nest import.
 */
export class ApproovVerifier {
  readonly tokenHeader: string;
  private readonly tokenHeaderLower: string;
  private readonly now: () => number;

  constructor(private readonly config: ApproovVerifierConfig) {
    if (config.keys.length === 0) throw new Error('ApproovVerifier needs at least one key');
    this.tokenHeader = config.tokenHeader ?? 'Approov-Token';
    this.tokenHeaderLower = this.tokenHeader.toLowerCase();
    this.now = config.now ?? systemClock;
  }

  /** Verifies a token string alone (no header or binding rules). */
  verifyToken(token: string): ApproovCheckResult {
    return verifyApproovToken(token, this.config.keys, this.now(), this.config);
  }

  /**
   * Verifies the request's token header and, when `bindingHeaders` is non-empty, the binding of
   * the token to those headers' values, concatenated in the given order.
   */
  verifyRequest(source: HeaderSource, bindingHeaders?: readonly string[]): ApproovCheckResult {
    const header = readSingleHeader(source, this.tokenHeaderLower);
    if (header.status === 'missing') return { ok: false, code: 'missing_approov_token' };
    if (header.status === 'duplicate') return { ok: false, code: 'duplicate_approov_token' };
    const result = this.verifyToken(header.value);
    if (!result.ok || bindingHeaders === undefined || bindingHeaders.length === 0) return result;

    const values: string[] = [];
    for (const name of bindingHeaders) {
      const bound = readSingleHeader(source, name.toLowerCase());
      if (bound.status !== 'ok') return { ok: false, code: 'missing_binding_header' };
      values.push(bound.value);
    }
    const bindingFailure = checkTokenBinding(result.claims, values, this.config.allowMissingBindingClaim);
    return bindingFailure === null ? result : { ok: false, code: bindingFailure };
  }
}
