import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import {
  asymmetricSignatureMatches,
  isAsymmetricAlgorithm,
  type AsymmetricAlgorithm,
} from './algorithms.js';
import type { ApproovTokenClaims } from './claims.js';
import type { JwksKeySet } from './keyset.js';
import {
  MAX_TOKEN_LENGTH,
  checkClaims,
  parseJsonObject,
  type Hs256JwsResult,
  type TokenVerificationOptions,
} from './verify-token.js';
import { decodeBase64UrlAlphabetChecked, decodeBase64UrlStrict } from '../encoding/base64.js';
import type { ApproovFailureCode } from '../failure.js';

/** An HS256 secret, with the key id Approov puts in `kid` when the account sets one. */
export interface HmacSecret {
  readonly kid?: string;
  readonly key: KeyObject;
}

/**
 * Every key a token may verify with when key ids or a keyset are configured: HS256 secrets
 * (by `kid` when they have one) and the asymmetric keys of a JWKS for the accepted algorithms.
 */
export class TokenKeyring {
  /** Secrets without an id: tried for any HS256 token whose `kid` names no secret. */
  readonly unnamedSecrets: readonly KeyObject[];
  readonly allSecrets: readonly KeyObject[];
  private readonly namedSecrets = new Map<string, KeyObject[]>();

  constructor(
    secrets: readonly HmacSecret[],
    readonly keyset: JwksKeySet | undefined,
    readonly algorithms: readonly AsymmetricAlgorithm[],
  ) {
    this.allSecrets = secrets.map((secret) => secret.key);
    this.unnamedSecrets = secrets
      .filter((secret) => secret.kid === undefined)
      .map((secret) => secret.key);
    for (const { kid, key } of secrets) {
      if (kid !== undefined)
        this.namedSecrets.set(kid, [...(this.namedSecrets.get(kid) ?? []), key]);
    }
  }

  /** The secrets for an HS256 token: its `kid`'s, else the unnamed ones; null when the `kid` names none. */
  secretsFor(kid: string | undefined): readonly KeyObject[] | null {
    if (kid === undefined) return this.allSecrets;
    const named = this.namedSecrets.get(kid);
    if (named !== undefined) return named;
    return this.unnamedSecrets.length > 0 ? this.unnamedSecrets : null;
  }
}

/** A failure that one refetch of the keyset may cure (an unknown `kid`, or no keys yet). */
export interface RefetchableFailure {
  ok: false;
  code: 'unknown_key_id' | 'keys_unavailable';
  refetch: true;
}

export type KeyringJwsResult = Hs256JwsResult | RefetchableFailure;
export type KeyringTokenResult =
  | { ok: true; claims: ApproovTokenClaims }
  | { ok: false; code: ApproovFailureCode }
  | RefetchableFailure;

const COMPACT_JWS_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_KID_LENGTH = 256;
// Header members that point at a key: a verifier that honours them lets the token pick its own key.
const KEY_POINTER_MEMBERS = ['jwk', 'jku', 'x5u', 'x5c'];

const fail = (code: ApproovFailureCode): { ok: false; code: ApproovFailureCode } => ({
  ok: false,
  code,
});
const refetchable = (code: RefetchableFailure['code']): RefetchableFailure => ({
  ok: false,
  code,
  refetch: true,
});

/**
 * verifyApproovToken for a keyring: the same JWS, encoding and claim rules, with the key chosen
 * by `alg` and `kid` under strict rules (HS256 only with secrets, an asymmetric `alg` only with a
 * JWKS key of the matching type, never `none`, never a key named by the token itself).
 */
export function verifyKeyringToken(
  token: string,
  keyring: TokenKeyring,
  nowSec: number,
  options: TokenVerificationOptions = {},
): KeyringTokenResult {
  const jws = verifyKeyringJws(token, keyring);
  if (!jws.ok) return jws;
  const payload = parseJsonObject(jws.payload);
  if (payload === null) return fail('token_claims_invalid');
  const claimsFailure = checkClaims(payload, nowSec, options);
  return claimsFailure === null
    ? { ok: true, claims: payload as ApproovTokenClaims }
    : fail(claimsFailure);
}

/** The JWS layer for a keyring; returns the payload bytes, not yet parsed. Never throws on input. */
export function verifyKeyringJws(token: string, keyring: TokenKeyring): KeyringJwsResult {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS_RE.test(token)) {
    return fail('token_malformed');
  }
  const firstDot = token.indexOf('.');
  const lastDot = token.lastIndexOf('.');
  const headerBytes = decodeBase64UrlAlphabetChecked(token.slice(0, firstDot));
  const header = headerBytes === null ? null : parseJsonObject(headerBytes);
  if (header === null) return fail('token_malformed');
  // RFC 7515 4.1.11: we understand no extension, so any `crit` makes the token invalid.
  if ('crit' in header || KEY_POINTER_MEMBERS.some((member) => member in header))
    return fail('token_malformed');
  const kid = header.kid;
  if (
    kid !== undefined &&
    (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH)
  ) {
    return fail('token_malformed');
  }
  const payload = decodeBase64UrlAlphabetChecked(token.slice(firstDot + 1, lastDot));
  if (payload === null) return fail('token_malformed');
  const signingInput = token.slice(0, lastDot);
  const signatureSegment = token.slice(lastDot + 1);

  const alg = header.alg;
  if (alg === 'HS256') {
    if (keyring.allSecrets.length === 0) return fail('token_algorithm_not_allowed');
    const secrets = keyring.secretsFor(kid);
    if (secrets === null) return fail('unknown_key_id');
    return hmacMatches(signingInput, signatureSegment, secrets)
      ? { ok: true, header, payload }
      : fail('token_signature_invalid');
  }
  if (
    keyring.keyset === undefined ||
    !isAsymmetricAlgorithm(alg) ||
    !keyring.algorithms.includes(alg)
  ) {
    return fail('token_algorithm_not_allowed');
  }
  const lookup = keyring.keyset.lookup(alg, kid);
  if (lookup.status === 'unavailable') return refetchable('keys_unavailable');
  if (lookup.status === 'unknown_kid') return refetchable('unknown_key_id');
  // A `kid` of a key of another type (ES256 naming an RSA key), or no key of this type at all.
  if (lookup.candidates.length === 0) return fail('token_algorithm_not_allowed');
  const signature = decodeBase64UrlAlphabetChecked(signatureSegment);
  if (signature === null) return fail('token_signature_invalid');
  for (const candidate of lookup.candidates) {
    if (
      signature.length === candidate.expectedLength &&
      asymmetricSignatureMatches(candidate.profile, candidate.input, signingInput, signature)
    ) {
      return { ok: true, header, payload };
    }
  }
  return fail('token_signature_invalid');
}

/** HS256: the canonical 32-byte MAC of `signingInput` under one of `keys`, compared in constant time. */
function hmacMatches(
  signingInput: string,
  signatureSegment: string,
  keys: readonly KeyObject[],
): boolean {
  const given = signatureSegment.length === 43 ? decodeBase64UrlStrict(signatureSegment) : null;
  if (given === null || given.length !== 32) return false;
  for (const key of keys) {
    if (timingSafeEqual(createHmac('sha256', key).update(signingInput).digest(), given))
      return true;
  }
  return false;
}
