import { createHash, createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';

/** The algorithm `account` signatures use (RFC 9421 3.3.3). */
export const ACCOUNT_SIGNATURE_ALGORITHM = 'hmac-sha256';
const HMAC_SHA256_BYTES = 32;

/**
 * The key identity `account` signatures are remembered under by the replay store: one for the
 * account (its keys are secret, so never hashed into anything that is stored).
 */
export const ACCOUNT_KEY_IDENTITY: Buffer = createHash('sha256').update('account\0').digest();

/** True when `signature` is the HMAC-SHA256 of the base (latin1 bytes) under one of the keys; constant time per key. */
export function verifyAccountSignature(
  base: string,
  signature: Buffer,
  keys: readonly KeyObject[],
): boolean {
  if (signature.length !== HMAC_SHA256_BYTES) return false;
  const bytes = Buffer.from(base, 'latin1');
  let matched = false;
  for (const key of keys) {
    // Every key is tried, so the time taken does not say which one matched.
    if (timingSafeEqual(createHmac('sha256', key).update(bytes).digest(), signature))
      matched = true;
  }
  return matched;
}
