import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { decodeBase64AnyStrict } from '../encoding/base64.js';

/** The only algorithm `install` signatures use: ECDSA P-256 with SHA-256, r||s (RFC 9421 3.3.4). */
export const APPROOV_SIGNATURE_ALGORITHM = 'ecdsa-p256-sha256';

/** `ipk` claims longer than this are not keys: rejected before decoding. */
export const MAX_IPK_LENGTH = 1024;

/**
 * Installation public keys by their `ipk` text, so a token seen again does not parse DER again.
 * Bounded, oldest entry out first: a hit is one Map lookup (keeping LRU order would cost a
 * delete and re-insert per hit). Only valid P-256 keys are kept.
 */
export class InstallationKeyCache {
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly maxEntries = 1024) {}

  /** The P-256 public key of a base64 DER SubjectPublicKeyInfo; null when it is not one. */
  get(ipk: string): KeyObject | null {
    const cached = this.keys.get(ipk);
    if (cached !== undefined) return cached;
    const key = parseInstallationKey(ipk);
    if (key === null || this.maxEntries === 0) return key;
    if (this.keys.size >= this.maxEntries) this.keys.delete(this.keys.keys().next().value!);
    this.keys.set(ipk, key);
    return key;
  }

  get size(): number {
    return this.keys.size;
  }
}

/** Parses an `ipk` claim: base64 DER SPKI of an EC P-256 key. Null otherwise; never throws. */
export function parseInstallationKey(ipk: string): KeyObject | null {
  if (ipk.length === 0 || ipk.length > MAX_IPK_LENGTH) return null;
  const der = decodeBase64AnyStrict(ipk);
  if (der === null) return null;
  try {
    const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
      ? key
      : null;
  } catch {
    return null;
  }
}

/** Verifies an ECDSA P-256 / SHA-256 r||s signature over the base (latin1 bytes, as Node decoded them). */
export function verifySignatureBase(base: string, signature: Buffer, key: KeyObject): boolean {
  try {
    return verify(
      'sha256',
      Buffer.from(base, 'latin1'),
      { key, dsaEncoding: 'ieee-p1363' },
      signature,
    );
  } catch {
    return false;
  }
}
