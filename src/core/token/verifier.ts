import type { KeyObject } from 'node:crypto';
import { ApproovConfigurationError } from '../errors.js';
import type { ApproovTokenClaims } from './claims.js';
import { newAcceptedHeaderMemo, verifyApproovToken, type AcceptedHeaderMemo, type TokenVerificationOptions } from './verify-token.js';
import type { ApproovFailureCode } from '../failure.js';
import { headerListMayBeCut, readSingleHeader, type HeaderSource } from '../http/request-headers.js';
import { checkTokenBinding } from './binding.js';
import { systemClock } from '../clock.js';
import {
  DEFAULT_CACHE_MAX_BYTES,
  DEFAULT_CACHE_SIZE,
  VerifiedTokenCache,
  entryBytes,
  freezeAndMeasure,
  type VerifiedToken,
} from './verified-token-cache.js';

export interface ApproovVerifierConfig extends TokenVerificationOptions {
  /** HMAC keys, first to last (rotation). */
  keys: readonly KeyObject[];
  /** The token header name. Default 'Approov-Token'. */
  tokenHeader?: string;
  /** Let a bound route accept a token without `pay` (Approov failover). Default false. */
  allowMissingBindingClaim?: boolean;
  /** Clock in seconds since the epoch; injectable for tests. */
  now?: () => number;
  /** Verified tokens kept (least recently used evicted first); 0 disables the cache. Default 10,000. */
  cacheSize?: number;
  /** Byte budget of the cache (estimated from token lengths and the claims kept). Default 8 MiB. */
  cacheMaxBytes?: number;
}

/** The header Approov SDKs send the token in. */
export const DEFAULT_TOKEN_HEADER = 'Approov-Token';

export type ApproovCheckResult =
  | { ok: true; claims: ApproovTokenClaims }
  | { ok: false; code: ApproovFailureCode };

/**
 * The one place where a request's Approov headers are judged. The Nest guard, the Passport
 * strategy, the CLI and the benchmarks all call this; it holds no Nest import.
 */
export class ApproovVerifier {
  readonly tokenHeader: string;
  private readonly tokenHeaderLower: string;
  private readonly now: () => number;
  private readonly cache: VerifiedTokenCache | null;
  private readonly acceptedHeader: AcceptedHeaderMemo = newAcceptedHeaderMemo();

  constructor(private readonly config: ApproovVerifierConfig) {
    if (config.keys.length === 0) throw new ApproovConfigurationError('ApproovVerifier needs at least one key');
    this.tokenHeader = config.tokenHeader ?? DEFAULT_TOKEN_HEADER;
    this.tokenHeaderLower = this.tokenHeader.toLowerCase();
    this.now = config.now ?? systemClock;
    const cacheSize = config.cacheSize ?? DEFAULT_CACHE_SIZE;
    this.cache =
      cacheSize === 0
        ? null
        : new VerifiedTokenCache(cacheSize, config.clockToleranceSec, config.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES);
  }

  /**
   * Verifies a token string alone (no header or binding rules). A token that passed every check
   * is served from the cache while its `exp` holds; failures, and tokens whose claims are too big
   * for the cache's per-entry bound, are never cached. Claims are frozen.
   */
  verifyToken(token: string): ApproovCheckResult {
    const nowSec = this.now();
    const cached = this.cache?.get(token, nowSec);
    if (cached !== undefined) return cached;
    const result = verifyApproovToken(token, this.config.keys, nowSec, this.config, this.acceptedHeader);
    if (!result.ok) return result;
    const claimsBytes = freezeAndMeasure(result.claims);
    const verified: VerifiedToken = Object.freeze({ ok: true, claims: result.claims });
    this.cache?.set(token, verified, entryBytes(token, claimsBytes));
    return verified;
  }

  /**
   * Verifies the request's token header and, when `bindingHeaders` is non-empty, the binding of
   * the token to those headers' values, concatenated in the given order.
   */
  verifyRequest(source: HeaderSource, bindingHeaders?: readonly string[]): ApproovCheckResult {
    if (headerListMayBeCut(source)) return { ok: false, code: 'too_many_headers' };
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
