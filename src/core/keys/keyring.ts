import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { decodeBase64UrlAlphabetChecked } from '../encoding/base64.js';
import type { ApproovFailureCode } from '../failure.js';
import {
  asymmetricSignatureMatches,
  isAsymmetricAlgorithm,
  type AsymmetricAlgorithm,
} from './algorithms.js';
import { isKeyId } from './key-id.js';
import type { JwksKeySet } from './keyset.js';

/** An HS256 secret, with the key id Approov puts in `kid` when the account sets one. */
export interface HmacSecret {
  readonly kid?: string;
  readonly key: KeyObject;
}

/** A failure that one refetch of the keyset may cure (an unknown `kid`, or no keys yet). */
export interface RefetchableFailure {
  readonly ok: false;
  readonly code: 'token_key_id_unknown' | 'keyset_unavailable';
  readonly refetch: true;
}

/** Why a signature did not verify: a failure code, or one a keyset refetch may cure. */
export type SignatureFailure = ApproovFailureCode | RefetchableFailure;

// Header members that point at a key: a verifier that honours them lets the token pick its own key.
const KEY_POINTER_MEMBERS = ['jwk', 'jku', 'x5u', 'x5c'];
const HS256_SIGNATURE_LENGTH = 43; // 32 bytes, unpadded base64url
const HMAC_SHA256_BYTES = 32;

const refetchable = (code: RefetchableFailure['code']): RefetchableFailure =>
  Object.freeze({ ok: false, code, refetch: true });
const UNKNOWN_KEY_ID_REFETCH = refetchable('token_key_id_unknown');
const KEYS_UNAVAILABLE_REFETCH = refetchable('keyset_unavailable');

/**
 * Every key a token may verify with: HS256 secrets (by `kid` when they have one) and, with a
 * JWKS, the asymmetric keys for the accepted algorithms. The token picks a key only through `alg`
 * and `kid`, under strict rules: HS256 only with secrets, an asymmetric `alg` only with a keyset
 * key of the matching type, never `none`.
 */
export class TokenKeyring {
  /**
   * True when key ids choose the key (a secret with a `kid`, or a keyset): a token's `kid` must then
   * be a short string, and a header member that points at a key (jwk, jku, x5u, x5c) is refused.
   * Without them `kid` and those members are ignored: they never choose or fetch a key.
   */
  readonly selectsByKeyId: boolean;
  /** Every secret, first to last (rotation). */
  readonly allSecrets: readonly KeyObject[];
  /** Secrets without an id: tried for any HS256 token whose `kid` names no secret. */
  private readonly unnamedSecrets: readonly KeyObject[];
  private readonly namedSecrets = new Map<string, KeyObject[]>();

  constructor(
    secrets: readonly HmacSecret[],
    readonly keyset: JwksKeySet | undefined = undefined,
    readonly algorithms: readonly AsymmetricAlgorithm[] = [],
  ) {
    this.allSecrets = secrets.map((secret) => secret.key);
    this.unnamedSecrets = secrets
      .filter((secret) => secret.kid === undefined)
      .map((secret) => secret.key);
    for (const { kid, key } of secrets) {
      if (kid !== undefined)
        this.namedSecrets.set(kid, [...(this.namedSecrets.get(kid) ?? []), key]);
    }
    this.selectsByKeyId = keyset !== undefined || this.namedSecrets.size > 0;
  }

  /** A keyring of plain secrets (no key ids, no keyset): HS256 under any of them. */
  static ofSecrets(keys: readonly KeyObject[]): TokenKeyring {
    return new TokenKeyring(keys.map((key) => ({ key })));
  }

  /**
   * How a token's (parsed) header may choose its key here: its `alg` must be one this keyring
   * verifies, and when key ids choose the key, its `kid` a short string and no member may point
   * at a key. Null when the header passes; the verdict depends on the header's text alone.
   */
  refusesHeader(header: Readonly<Record<string, unknown>>): ApproovFailureCode | null {
    if (this.selectsByKeyId) {
      if (KEY_POINTER_MEMBERS.some((member) => member in header)) return 'token_malformed';
      if (header.kid !== undefined && !isKeyId(header.kid)) return 'token_malformed';
    }
    const alg = header.alg;
    if (alg === 'HS256') return this.allSecrets.length === 0 ? 'token_algorithm_not_allowed' : null;
    return this.keyset === undefined ||
      !isAsymmetricAlgorithm(alg) ||
      !this.algorithms.includes(alg)
      ? 'token_algorithm_not_allowed'
      : null;
  }

  /** The secrets for an HS256 token: its `kid`'s, else the unnamed ones; null when the `kid` names none. */
  secretsFor(kid: string | undefined): readonly KeyObject[] | null {
    if (kid === undefined) return this.allSecrets;
    const named = this.namedSecrets.get(kid);
    if (named !== undefined) return named;
    return this.unnamedSecrets.length > 0 ? this.unnamedSecrets : null;
  }

  /**
   * Checks `signatureSegment` over `signingInput` with the key(s) the header's `alg` and `kid`
   * select, for a header refusesHeader passed. Null when it verifies. Synchronous: an unknown
   * `kid` or an empty keyset says so (refetchable) rather than waiting for a fetch.
   */
  verifySignature(
    header: Readonly<Record<string, unknown>>,
    signingInput: string,
    signatureSegment: string,
  ): SignatureFailure | null {
    const alg = header.alg as string;
    // Without key ids nothing in the header chooses the key: every secret is tried.
    const kid = this.selectsByKeyId ? (header.kid as string | undefined) : undefined;
    if (alg === 'HS256') {
      const secrets = this.secretsFor(kid);
      if (secrets === null) return 'token_key_id_unknown';
      return hmacSha256Matches(signingInput, signatureSegment, secrets)
        ? null
        : 'token_signature_invalid';
    }
    const lookup = this.keyset!.lookup(alg as AsymmetricAlgorithm, kid);
    if (lookup.status === 'unavailable') return KEYS_UNAVAILABLE_REFETCH;
    if (lookup.status === 'unknown_kid') return UNKNOWN_KEY_ID_REFETCH;
    // A `kid` of a key of another type (ES256 naming an RSA key), or no key of this type at all.
    if (lookup.candidates.length === 0) return 'token_algorithm_not_allowed';
    const signature = decodeBase64UrlAlphabetChecked(signatureSegment);
    if (signature === null) return 'token_signature_invalid';
    for (const candidate of lookup.candidates) {
      if (
        signature.length === candidate.expectedLength &&
        asymmetricSignatureMatches(candidate.profile, candidate.input, signingInput, signature)
      ) {
        return null;
      }
    }
    return 'token_signature_invalid';
  }
}

/**
 * HS256: `signatureSegment` (already known to hold only base64url characters) is the canonical
 * 32-byte HMAC-SHA256 of `signingInput` under one of `keys`, compared in constant time.
 */
function hmacSha256Matches(
  signingInput: string,
  signatureSegment: string,
  keys: readonly KeyObject[],
): boolean {
  const given =
    signatureSegment.length === HS256_SIGNATURE_LENGTH
      ? decodeBase64UrlAlphabetChecked(signatureSegment)
      : null;
  if (given === null || given.length !== HMAC_SHA256_BYTES) return false;
  for (const key of keys) {
    if (timingSafeEqual(createHmac('sha256', key).update(signingInput).digest(), given))
      return true;
  }
  return false;
}
