import { constants, verify, type KeyObject } from 'node:crypto';

/** The asymmetric JWS algorithms a keyset may verify. HS256 stays with the configured secrets. */
export const ASYMMETRIC_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** Accepted when the `algorithms` option is not given: what Approov keysets use. */
export const DEFAULT_ASYMMETRIC_ALGORITHMS: readonly AsymmetricAlgorithm[] = ['ES256', 'RS256'];

/** RSA keys shorter than this are refused (RFC 7518 3.3). */
export const MIN_RSA_MODULUS_BITS = 2048;

/** What a key must be to verify one algorithm, and how node:crypto is asked to verify it. */
export interface AlgorithmProfile {
  readonly alg: AsymmetricAlgorithm;
  /** The JWK `kty` the key must have. */
  readonly kty: 'EC' | 'RSA' | 'OKP';
  /** The JWK `crv` the key must have (EC, OKP), undefined for RSA. */
  readonly crv?: 'P-256' | 'Ed25519';
  /** node:crypto's digest name; null for EdDSA, which hashes internally. */
  readonly hash: 'sha256' | null;
  /** The exact signature length in bytes, or null when it follows the RSA modulus. */
  readonly expectedLength: number | null;
}

const PROFILES: Readonly<Record<AsymmetricAlgorithm, AlgorithmProfile>> = {
  ES256: { alg: 'ES256', kty: 'EC', crv: 'P-256', hash: 'sha256', expectedLength: 64 },
  RS256: { alg: 'RS256', kty: 'RSA', hash: 'sha256', expectedLength: null },
  PS256: { alg: 'PS256', kty: 'RSA', hash: 'sha256', expectedLength: null },
  EdDSA: { alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519', hash: null, expectedLength: 64 },
};

export function isAsymmetricAlgorithm(value: unknown): value is AsymmetricAlgorithm {
  return typeof value === 'string' && Object.hasOwn(PROFILES, value);
}

export function algorithmProfile(alg: AsymmetricAlgorithm): AlgorithmProfile {
  return PROFILES[alg];
}

/** The options object node:crypto's verify takes for a key, built once per key, never per request. */
export type VerifyKeyInput =
  | KeyObject
  | { key: KeyObject; dsaEncoding: 'ieee-p1363' }
  | {
      key: KeyObject;
      padding: number;
      saltLength: number;
    };

/**
 * JWS signatures are raw R||S for ECDSA (ieee-p1363, not DER), PKCS#1 v1.5 for RS256 and PSS
 * with a salt as long as the hash for PS256 (RFC 7518 3.4 to 3.5).
 */
export function verifyKeyInput(alg: AsymmetricAlgorithm, key: KeyObject): VerifyKeyInput {
  switch (alg) {
    case 'ES256':
      return { key, dsaEncoding: 'ieee-p1363' };
    case 'PS256':
      return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    default:
      return key;
  }
}

/** One signature check with node:crypto; false on any mismatch, never throws for a bad signature. */
export function asymmetricSignatureMatches(
  profile: AlgorithmProfile,
  keyInput: VerifyKeyInput,
  signingInput: string,
  signature: Buffer,
): boolean {
  try {
    return verify(profile.hash, Buffer.from(signingInput, 'latin1'), keyInput, signature);
  } catch {
    return false;
  }
}
