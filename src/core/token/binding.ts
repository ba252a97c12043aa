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

// What each frozen claim set's `pay` decodes to (null: not a 32-byte digest). A cached token gives
// the guard the same frozen claims on every repeat, so its `pay` is checked and decoded once; a
// frozen object's claim cannot change, so the memo cannot go stale. Held weakly: it goes with the claims.
const decodedPay = new WeakMap<object, Buffer | null>();

/** What the memo holds for these claims (undefined: nothing yet). @internal For tests. */
export function rememberedPayDigest(claims: object): Buffer | null | undefined {
  return decodedPay.get(claims);
}

/** The 32 bytes `pay` stands for, or null; remembered for frozen claims only. */
function claimedDigest(claims: ApproovTokenClaims, pay: string): Buffer | null {
  const frozen = Object.isFrozen(claims);
  const known = frozen ? decodedPay.get(claims) : undefined;
  if (known !== undefined) return known;
  const decoded = decodeBase64AnyStrict(pay);
  if (decoded === null || decoded.length !== 32) {
    if (frozen) decodedPay.set(claims, null);
    return null;
  }
  if (!frozen) return decoded;
  // A small decoded Buffer is a view into Node's shared allocation pool: kept, it would hold the
  // whole pool block. The memo keeps its own 32 bytes.
  const digest = Buffer.allocUnsafeSlow(32);
  decoded.copy(digest);
  decodedPay.set(claims, digest);
  return digest;
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
    return allowMissingBindingClaim ? null : 'binding_claim_missing';
  }
  if (typeof claims.pay !== 'string') return 'token_claims_invalid';
  const claimed = claimedDigest(claims, claims.pay);
  if (claimed === null) return 'binding_mismatch';
  return timingSafeEqual(claimed, bindingDigest(values)) ? null : 'binding_mismatch';
}
