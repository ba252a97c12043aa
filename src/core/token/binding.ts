import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApproovTokenClaims } from './claims.js';
import { decodeBase64AnyStrict } from '../encoding/base64.js';
import type { ApproovFailureCode } from '../failure.js';

/**
 * SHA-256 of the bound header values concatenated in order with no separator, each taken as the
 * latin1 bytes Node decoded it from (so non-ASCII bytes hash as the client sent them).
 */
export function bindingDigest(values: readonly string[]): Buffer {
  const hash = createHash('sha256');
  for (const value of values) hash.update(value, 'latin1');
  return hash.digest();
}

/**
 * Checks the token's `pay` claim (base64 SHA-256 of the bound values, concatenated) against the request's bound header values.
 * `pay` may be base64 or base64url, padded or not, and must decode to 32 bytes.
 * Returns null when the binding holds.
 */
export function checkTokenBinding(
  claims: ApproovTokenClaims,
  values: readonly string[],
  allowMissingBindingClaim = false,
): ApproovFailureCode | null {
  if (!('pay' in claims) || claims.pay === undefined) {
    return allowMissingBindingClaim ? null : 'missing_binding_claim';
  }
  if (typeof claims.pay !== 'string') return 'token_claims_invalid';
  const claimed = decodeBase64AnyStrict(claims.pay);
  if (claimed === null || claimed.length !== 32) return 'binding_mismatch';
  return timingSafeEqual(claimed, bindingDigest(values)) ? null : 'binding_mismatch';
}
