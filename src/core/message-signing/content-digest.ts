import { createHash, timingSafeEqual } from 'node:crypto';
import { isInnerList, parseDictionaryStrict } from './structured-fields.js';

/** Digest algorithms of RFC 9530 this module computes, with their node:crypto names. */
export const CONTENT_DIGEST_ALGORITHMS: Readonly<Record<string, string>> = Object.freeze({
  'sha-256': 'sha256',
  'sha-512': 'sha512',
});

/** Content-Digest values longer than this are rejected before parsing. */
export const MAX_CONTENT_DIGEST_LENGTH = 8192;

/**
 * Checks an RFC 9530 Content-Digest value against the body bytes: every sha-256 / sha-512 member
 * must match, and at least one must be there. Other algorithms are ignored. Never throws.
 */
export function contentDigestMatches(fieldValue: string, body: Buffer): boolean {
  if (fieldValue.length > MAX_CONTENT_DIGEST_LENGTH) return false;
  const digests = parseDictionaryStrict(fieldValue);
  if (digests === null) return false;
  let checked = 0;
  for (const [algorithm, member] of digests) {
    // Own keys only: a client names the members, and `constructor` is inherited by every object.
    const hashAlgorithm = Object.hasOwn(CONTENT_DIGEST_ALGORITHMS, algorithm)
      ? CONTENT_DIGEST_ALGORITHMS[algorithm]
      : undefined;
    if (hashAlgorithm === undefined) continue;
    if (isInnerList(member) || !(member[0] instanceof ArrayBuffer)) return false;
    const claimed = Buffer.from(member[0]);
    const actual = createHash(hashAlgorithm).update(body).digest();
    if (claimed.length !== actual.length || !timingSafeEqual(claimed, actual)) return false;
    checked++;
  }
  return checked > 0;
}

/** The Content-Digest field value for a body: `sha-256=:<base64>:` (or sha-512). */
export function createContentDigest(
  body: Buffer | Uint8Array | string,
  algorithm: 'sha-256' | 'sha-512' = 'sha-256',
): string {
  const digest = createHash(CONTENT_DIGEST_ALGORITHMS[algorithm]!).update(body).digest('base64');
  return `${algorithm}=:${digest}:`;
}
