import { createHash, type KeyObject } from 'node:crypto';
import { MAX_CLOCK_TOLERANCE_SEC } from '../clock.js';

/** What the replay check needs of a verified signed request. */
export interface SignedRequestIdentity {
  /**
   * base64url SHA-256 over the signing key's identity and the signature base: the same for every
   * encoding of one signed request (sf-binary or sf-string, padding, a high-S twin of the
   * signature), different for another key or another byte of signed content.
   */
  readonly digest: string;
  /** Epoch milliseconds from which the signature can no longer pass the time checks. */
  readonly passableUntilMs: number;
}

// The identity of each installation key, computed once per KeyObject (the key cache keeps them).
const keyIdentities = new WeakMap<KeyObject, Buffer>();

/**
 * SHA-256 of the installation public key's DER SubjectPublicKeyInfo: one value per key, whatever
 * base64 form the `ipk` claim used.
 */
export function installationKeyIdentity(key: KeyObject): Buffer {
  let identity = keyIdentities.get(key);
  if (identity === undefined) {
    identity = createHash('sha256')
      .update('install\0')
      .update(key.export({ format: 'der', type: 'spki' }))
      .digest();
    keyIdentities.set(key, identity);
  }
  return identity;
}

/** The identity of a verified request: the 32-byte key identity, then the base as signed (latin1). */
export function signedRequestIdentity(
  keyIdentity: Buffer,
  signatureBase: string,
  passableUntilMs: number,
): SignedRequestIdentity {
  const digest = createHash('sha256')
    .update(keyIdentity)
    .update(signatureBase, 'latin1')
    .digest('base64url');
  return { digest, passableUntilMs };
}

/**
 * How much longer than its signature can pass a shared store remembers a request: another
 * instance whose clock is behind (by up to the largest clock tolerance) still passes the
 * signature after this one's deadline, and must still find the key.
 */
export const SHARED_STORE_MARGIN_MS = MAX_CLOCK_TOLERANCE_SEC * 1000;

/**
 * When a signature stops passing the time checks: `created` older than maxAgeSec + tolerance, or
 * `expires` + tolerance reached, whichever comes first. It is remembered until then, no longer.
 */
export function signaturePassableUntilMs(
  createdSec: number,
  expiresSec: number | undefined,
  maxAgeSec: number,
  toleranceSec: number,
): number {
  // The age check passes up to and including created + maxAge + tolerance: 1 ms past it fails.
  const byAge = (createdSec + maxAgeSec + toleranceSec) * 1000 + 1;
  return expiresSec === undefined ? byAge : Math.min(byAge, (expiresSec + toleranceSec) * 1000);
}
