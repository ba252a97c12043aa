import { createHash, type KeyObject } from 'node:crypto';

/** What the replay check needs of a verified signed request. */
export interface SignedRequestIdentity {
  /**
   * base64url SHA-256 over the signing key's identity, the signature base and, for an ECDSA
   * signature, its `r`: the same for every encoding of one signing (sf-binary or sf-string,
   * padding, the high-S twin of the signature), different for another key, another byte of signed
   * content (a `nonce` parameter included), or another signing of the same content by the device
   * (a fresh random `k`, so a fresh `r`).
   */
  readonly digest: string;
  /** Epoch milliseconds from which the signature can no longer pass the time checks. */
  readonly passableUntilMs: number;
  /**
   * The clock tolerance its time checks allowed, in milliseconds: part of how much longer a
   * shared store keeps it (another instance's clock may be off by as much as a phone's).
   */
  readonly clockToleranceMs: number;
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

/** Bytes of `r` in an ECDSA P-256 signature. */
const P256_R_BYTES = 32;

/**
 * The part of a verified ECDSA P-256 signature (r||s, the only encoding the verifier accepts)
 * that one signing fixes: `r`, the x coordinate of k·G for the signer's random `k`. The only
 * other valid signature with the same `r` over the same base is the high-S twin (r, n - s), which
 * anyone can compute from a capture; a new `r` needs the private key.
 */
export function ecdsaSigningNonce(signature: Buffer): Buffer {
  return signature.subarray(0, P256_R_BYTES);
}

/**
 * The identity of a verified request: the 32-byte key identity, the signing nonce (`r` of an
 * ECDSA signature; empty for HMAC, which is deterministic: byte-identical requests are one),
 * then the base as signed (latin1), which carries the `nonce` parameter when one was sent.
 */
export function signedRequestIdentity(
  keyIdentity: Buffer,
  signingNonce: Buffer,
  signatureBase: string,
  passableUntilMs: number,
  clockToleranceMs: number,
): SignedRequestIdentity {
  const digest = createHash('sha256')
    .update(keyIdentity)
    .update(signingNonce)
    .update(signatureBase, 'latin1')
    .digest('base64url');
  return { digest, passableUntilMs, clockToleranceMs };
}

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
