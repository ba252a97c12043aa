import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import {
  MIN_RSA_MODULUS_BITS,
  algorithmProfile,
  isAsymmetricAlgorithm,
  verifyKeyInput,
  type AlgorithmProfile,
  type AsymmetricAlgorithm,
  type VerifyKeyInput,
} from './algorithms.js';
import { MAX_KID_LENGTH, isKeyId } from './key-id.js';

/** Keys read from one JWK Set; the rest are ignored, so a huge set cannot cost memory per entry. */
export const MAX_KEYS_PER_SET = 100;

/** One way to verify with one key: the algorithm, node:crypto's input for it, the signature size. */
export interface KeyCandidate {
  readonly profile: AlgorithmProfile;
  readonly input: VerifyKeyInput;
  readonly expectedLength: number;
}

/** A public key of the set, imported once, with a candidate per algorithm it may verify. */
export interface ImportedKey {
  readonly kid: string | undefined;
  readonly keyObject: KeyObject;
  readonly candidates: ReadonlyMap<AsymmetricAlgorithm, KeyCandidate>;
}

export interface ImportedKeySet {
  readonly keys: readonly ImportedKey[];
  /** Why each ignored key was ignored (kid and reason; never key material). */
  readonly skipped: readonly string[];
}

/** A JWK Set that cannot be used at all (not a set, or no usable key in it). */
export class JwksFormatError extends Error {
  override readonly name = 'JwksFormatError';
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * Turns a parsed JWK Set into KeyObjects for the `algorithms` accepted, strictly: a key is kept
 * only for an algorithm its `kty`, `crv`, `alg`, `use` and `key_ops` all allow. Symmetric and
 * private keys are never used. Throws JwksFormatError when nothing usable remains.
 */
export function importJwks(
  json: unknown,
  algorithms: readonly AsymmetricAlgorithm[],
): ImportedKeySet {
  if (
    typeof json !== 'object' ||
    json === null ||
    Array.isArray(json) ||
    !Array.isArray((json as { keys?: unknown }).keys)
  ) {
    throw new JwksFormatError('the response is not a JWK Set (an object with a "keys" array)');
  }
  const entries = (json as { keys: unknown[] }).keys;
  const keys: ImportedKey[] = [];
  const skipped: string[] = [];
  for (const [index, entry] of entries.slice(0, MAX_KEYS_PER_SET).entries()) {
    const imported = importOneJwk(entry, algorithms);
    if (typeof imported === 'string') skipped.push(`key ${describeKey(entry, index)}: ${imported}`);
    else keys.push(imported);
  }
  if (entries.length > MAX_KEYS_PER_SET)
    skipped.push(`${entries.length - MAX_KEYS_PER_SET} keys past the first ${MAX_KEYS_PER_SET}`);
  if (keys.length === 0) {
    throw new JwksFormatError(
      entries.length === 0
        ? 'the JWK Set is empty'
        : `no usable key in the JWK Set (${skipped.join('; ')})`,
    );
  }
  return { keys, skipped };
}

/** The imported key, or why it is not used. */
function importOneJwk(
  entry: unknown,
  algorithms: readonly AsymmetricAlgorithm[],
): ImportedKey | string {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    return 'not a JSON object';
  const jwk = entry as Record<string, unknown>;
  const { kty, crv, alg, use, kid } = jwk;
  if (kty === 'oct')
    return 'a symmetric key is never used (HS256 verifies only with the configured secrets)';
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member)))
    return 'holds private key material: not used';
  if (kid !== undefined && !isKeyId(kid)) return 'kid is not a short non-empty string';
  if (use !== undefined && use !== 'sig') return `use is ${quoted(use)}, not "sig"`;
  if (
    jwk.key_ops !== undefined &&
    !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))
  ) {
    return 'key_ops does not allow "verify"';
  }
  if (alg !== undefined && !isAsymmetricAlgorithm(alg))
    return `alg ${quoted(alg)} is not supported`;
  const wanted = alg === undefined ? algorithms : algorithms.filter((accepted) => accepted === alg);
  const profiles = wanted
    .map(algorithmProfile)
    .filter((profile) => profile.kty === kty && profile.crv === crv);
  if (profiles.length === 0) {
    return `kty ${quoted(kty)}${crv === undefined ? '' : ` crv ${quoted(crv)}`}${
      alg === undefined ? '' : ` alg ${quoted(alg)}`
    } matches none of the accepted algorithms (${algorithms.join(', ')})`;
  }

  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: publicMembers(jwk) as JsonWebKey, format: 'jwk' });
  } catch {
    return 'not a valid public key';
  }
  let expectedLength: number | null = null;
  if (kty === 'RSA') {
    const bits = keyObject.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_MODULUS_BITS)
      return `RSA modulus of ${bits} bits, under ${MIN_RSA_MODULUS_BITS}`;
    expectedLength = Math.ceil(bits / 8);
  }
  const candidates = new Map<AsymmetricAlgorithm, KeyCandidate>();
  for (const profile of profiles) {
    candidates.set(
      profile.alg,
      Object.freeze({
        profile,
        input: verifyKeyInput(profile.alg, keyObject),
        expectedLength: profile.expectedLength ?? expectedLength!,
      }),
    );
  }
  return Object.freeze({ kid: kid as string | undefined, keyObject, candidates });
}

/** Only the public members node:crypto needs: nothing else from the network reaches the importer. */
function publicMembers(jwk: Record<string, unknown>): Record<string, unknown> {
  switch (jwk.kty) {
    case 'RSA':
      return { kty: 'RSA', n: jwk.n, e: jwk.e };
    case 'EC':
      return { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
    default:
      return { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  }
}

function describeKey(entry: unknown, index: number): string {
  const kid = (entry as { kid?: unknown } | null)?.kid;
  return typeof kid === 'string' && kid.length <= MAX_KID_LENGTH ? quoted(kid) : `#${index}`;
}

/** A value from the network as it goes into a log line: JSON-escaped (no control characters), short. */
function quoted(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
