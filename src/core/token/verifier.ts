import { systemClock } from '../clock.js';
import { ApproovConfigurationError } from '../errors.js';
import {
  headerListMayBeCut,
  readSingleHeader,
  type HeaderSource,
} from '../http/request-headers.js';
import type { TokenKeyring } from '../keys/keyring.js';
import { tokenHeaderStatus } from '../http/approov-status.js';
import { checkTokenBinding } from './binding.js';
import type { ApproovTokenClaims, TokenVerificationOptions } from './claims.js';
import {
  newAcceptedHeaderMemo,
  verifyApproovToken,
  type AcceptedHeaderMemo,
  type ApproovCheckResult,
} from './jws.js';
import {
  DEFAULT_CACHE_MAX_BYTES,
  DEFAULT_CACHE_SIZE,
  VerifiedTokenCache,
  entryBytes,
  freezeAndMeasure,
  type VerifiedToken,
} from './verified-token-cache.js';

export type { ApproovCheckResult };

export interface ApproovVerifierConfig extends TokenVerificationOptions {
  /** The keys tokens verify with: HS256 secrets (with or without key ids) and a JWKS keyset. */
  keyring: TokenKeyring;
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
const TOKEN_STATUS: ApproovCheckResult = Object.freeze({ ok: false, code: 'token_status' });

/** A Promise only when the check waits for a keyset refetch (an unknown `kid`); otherwise the result itself. */
export type ApproovCheckOutcome = ApproovCheckResult | Promise<ApproovCheckResult>;

/**
 * The one place where a request's Approov token is judged: its header, the one JWS path over the
 * keyring, the claims, the binding, and a cache of verified tokens. The core check (which the
 * Nest guard and the Passport strategy call), the CLI's `check` and the benchmarks all use it.
 */
export class ApproovVerifier {
  readonly tokenHeader: string;
  private readonly tokenHeaderLower: string;
  private readonly now: () => number;
  private cache: VerifiedTokenCache | null;
  private readonly acceptedHeader: AcceptedHeaderMemo = newAcceptedHeaderMemo();

  constructor(private readonly config: ApproovVerifierConfig) {
    const { keyring } = config;
    if (keyring.allSecrets.length === 0 && keyring.keyset === undefined) {
      throw new ApproovConfigurationError('ApproovVerifier needs at least one key');
    }
    this.tokenHeader = config.tokenHeader ?? DEFAULT_TOKEN_HEADER;
    this.tokenHeaderLower = this.tokenHeader.toLowerCase();
    this.now = config.now ?? systemClock;
    const cacheSize = config.cacheSize ?? DEFAULT_CACHE_SIZE;
    const newCache = () =>
      cacheSize === 0
        ? null
        : new VerifiedTokenCache(
            cacheSize,
            config.clockToleranceSec,
            config.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES,
          );
    this.cache = newCache();
    // A rotation may remove a key: tokens it verified must be checked again, so start an empty cache.
    keyring.keyset?.onEvent((event) => {
      if (event.type === 'loaded' && event.changed) this.cache = newCache();
    });
  }

  /**
   * True while verified `claims` still pass the time checks (`exp`, with the clock tolerance):
   * for a pass remembered beyond the moment it was checked, which must not outlive the token.
   */
  isUnexpired(claims: Readonly<ApproovTokenClaims>): boolean {
    return this.now() < claims.exp + (this.config.clockToleranceSec ?? 0);
  }

  /**
   * Verifies a token string alone (no header or binding rules). A token that passed every check
   * is served from the cache while its `exp` holds; failures, and tokens whose claims are too big
   * for the cache's per-entry bound, are never cached. Claims are frozen.
   * It never waits: a `kid` the keyset does not hold is judged with the keys in memory.
   * With `boundValues`, the token must also be bound to those header values, in order.
   */
  verifyToken(token: string, boundValues?: readonly string[]): ApproovCheckResult {
    const result = this.checkToken(token, false) as ApproovCheckResult;
    return boundValues === undefined ? result : this.checkBoundValues(result, boundValues);
  }

  /** verifyToken, or with `mayRefetch` a Promise that waits for one keyset refetch (cooldown permitting). */
  private checkToken(token: string, mayRefetch: boolean): ApproovCheckOutcome {
    // An SDK that has no token may write its status in the header instead (`NO_NETWORK`).
    if (tokenHeaderStatus(token) !== undefined) return TOKEN_STATUS;
    const nowSec = this.now();
    const cached = this.cache?.get(token, nowSec);
    if (cached !== undefined) return cached;
    const keyring = this.config.keyring;
    const result = verifyApproovToken(token, keyring, nowSec, this.config, this.acceptedHeader);
    if (!result.ok) {
      if (!('refetch' in result)) return result;
      const refetch = mayRefetch ? keyring.keyset?.refetchForUnknownKey() : null;
      return refetch
        ? refetch.then(() => this.checkToken(token, false))
        : { ok: false, code: result.code };
    }
    const claimsBytes = freezeAndMeasure(result.claims);
    const verified: VerifiedToken = Object.freeze({ ok: true, claims: result.claims });
    this.cache?.set(token, verified, entryBytes(token, claimsBytes));
    return verified;
  }

  /**
   * Verifies the request's token header and, when `bindingHeaders` is non-empty, the binding of
   * the token to those headers' values, concatenated in the given order. It never waits: a `kid`
   * the keyset does not hold is judged with the keys in memory.
   */
  verifyRequest(source: HeaderSource, bindingHeaders?: readonly string[]): ApproovCheckResult {
    return this.checkRequest(source, bindingHeaders, false) as ApproovCheckResult;
  }

  /**
   * verifyRequest, except that a token whose `kid` the keyset does not hold (or that arrives
   * before any key loaded) waits for one keyset refetch, cooldown permitting, bounded by the
   * fetch deadline: then, and only then, the answer is a Promise.
   */
  verifyRequestWithRefetch(
    source: HeaderSource,
    bindingHeaders?: readonly string[],
  ): ApproovCheckOutcome {
    return this.checkRequest(source, bindingHeaders, true);
  }

  private checkRequest(
    source: HeaderSource,
    bindingHeaders: readonly string[] | undefined,
    mayRefetch: boolean,
  ): ApproovCheckOutcome {
    if (headerListMayBeCut(source)) return { ok: false, code: 'request_headers_too_many' };
    const header = readSingleHeader(source, this.tokenHeaderLower);
    if (header.status === 'missing') return { ok: false, code: 'token_missing' };
    if (header.status === 'duplicate') return { ok: false, code: 'token_duplicated' };
    const result = this.checkToken(header.value, mayRefetch);
    return result instanceof Promise
      ? result.then((settled) => this.checkBinding(settled, source, bindingHeaders))
      : this.checkBinding(result, source, bindingHeaders);
  }

  private checkBinding(
    result: ApproovCheckResult,
    source: HeaderSource,
    bindingHeaders: readonly string[] | undefined,
  ): ApproovCheckResult {
    if (!result.ok || bindingHeaders === undefined || bindingHeaders.length === 0) return result;

    const values: string[] = [];
    for (const name of bindingHeaders) {
      const bound = readSingleHeader(source, name.toLowerCase());
      if (bound.status !== 'ok') return { ok: false, code: 'binding_header_missing' };
      values.push(bound.value);
    }
    return this.checkBoundValues(result, values);
  }

  private checkBoundValues(
    result: ApproovCheckResult,
    values: readonly string[],
  ): ApproovCheckResult {
    if (!result.ok) return result;
    const bindingFailure = checkTokenBinding(
      result.claims,
      values,
      this.config.allowMissingBindingClaim,
    );
    return bindingFailure === null ? result : { ok: false, code: bindingFailure };
  }
}
