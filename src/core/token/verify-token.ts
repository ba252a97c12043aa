import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { ApproovTokenClaims } from './claims.js';
import { decodeBase64UrlAlphabetChecked } from '../encoding/base64.js';
import type { ApproovFailureCode } from '../failure.js';
import { deepFreeze } from './verified-token-cache.js';

/** Tokens longer than this (4 KiB) are rejected before any decoding. */
export const MAX_TOKEN_LENGTH = 4096;

export interface TokenVerificationOptions {
  /** Seconds of leeway for `exp` and `nbf`. Default 0. */
  clockToleranceSec?: number;
  /** Accepted `iss` value(s); unchecked when undefined. */
  issuer?: string | readonly string[];
  /** Accepted `aud` value(s); unchecked when undefined. */
  audience?: string | readonly string[];
}

export type TokenVerificationResult =
  { ok: true; claims: ApproovTokenClaims } | { ok: false; code: ApproovFailureCode };

// Three non-empty base64url segments, nothing else (no padding, spaces, commas or a scheme prefix).
const COMPACT_JWS_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const HS256_SIGNATURE_LENGTH = 43; // 32 bytes, unpadded base64url
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const fail = (code: ApproovFailureCode): TokenVerificationResult => ({ ok: false, code });

/**
 * Verifies an Approov token string (everything but the header rules): compact HS256 JWS, constant-time HMAC
 * under any of `keys`, JSON-object header and payload, required finite `exp`, optional `nbf`,
 * and `iss`/`aud` when configured. `nowSec` is seconds since the epoch. Never throws on input.
 */
export function verifyApproovToken(
  token: string,
  keys: readonly KeyObject[],
  nowSec: number,
  options: TokenVerificationOptions = {},
  acceptedHeader?: AcceptedHeaderMemo,
): TokenVerificationResult {
  const jws = verifyHs256Jws(token, keys, acceptedHeader);
  if (!jws.ok) return jws;
  const payload = parseJsonObject(jws.payload);
  if (payload === null) return fail('token_claims_invalid');
  const claimsFailure = checkClaims(payload, nowSec, options);
  return claimsFailure === null
    ? { ok: true, claims: payload as ApproovTokenClaims }
    : fail(claimsFailure);
}

export type Hs256JwsResult =
  | { ok: true; header: Readonly<Record<string, unknown>>; payload: Buffer }
  | { ok: false; code: ApproovFailureCode };

/**
 * The last header segment that passed the header checks, kept by one verifier: every token of an
 * Approov account carries the same header, and the checks' verdict depends on its text alone.
 */
export interface AcceptedHeaderMemo {
  segment: string;
  header: Readonly<Record<string, unknown>>;
}

/** A memo that remembers nothing yet. */
export const newAcceptedHeaderMemo = (): AcceptedHeaderMemo => ({ segment: '', header: {} });

/**
 * The JWS layer alone (form, header and signature; no claim checks): compact form of three
 * canonical base64url segments, a JSON-object header with `alg` HS256 and no `crit`, and the
 * HMAC under one of `keys`. Returns the payload bytes, not yet parsed. Never throws on input.
 * `acceptedHeader`, when given, skips re-checking a header segment that passed before.
 */
export function verifyHs256Jws(
  token: string,
  keys: readonly KeyObject[],
  acceptedHeader?: AcceptedHeaderMemo,
): Hs256JwsResult {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS_RE.test(token)) {
    return { ok: false, code: 'token_malformed' };
  }
  const firstDot = token.indexOf('.');
  const lastDot = token.lastIndexOf('.');

  const headerSegment = token.slice(0, firstDot);
  let header: Readonly<Record<string, unknown>>;
  if (acceptedHeader !== undefined && headerSegment === acceptedHeader.segment) {
    header = acceptedHeader.header;
  } else {
    const headerBytes = decodeBase64UrlAlphabetChecked(headerSegment);
    const parsed = headerBytes === null ? null : parseJsonObject(headerBytes);
    if (parsed === null) return { ok: false, code: 'token_malformed' };
    if (parsed.alg !== 'HS256') return { ok: false, code: 'token_algorithm_not_allowed' };
    // RFC 7515 4.1.11: we understand no extension, so any `crit` makes the token invalid.
    if ('crit' in parsed) return { ok: false, code: 'token_malformed' };
    header = deepFreeze(parsed);
    if (acceptedHeader !== undefined) {
      acceptedHeader.segment = headerSegment;
      acceptedHeader.header = header;
    }
  }
  // A MAC over a non-canonical payload encoding (stray low bits) is not a MAC of its bytes.
  const payload = decodeBase64UrlAlphabetChecked(token.slice(firstDot + 1, lastDot));
  if (payload === null) return { ok: false, code: 'token_malformed' };

  // The pattern above already limited the signature to base64url characters.
  const signatureSegment = token.slice(lastDot + 1);
  const signature =
    signatureSegment.length === HS256_SIGNATURE_LENGTH
      ? decodeBase64UrlAlphabetChecked(signatureSegment)
      : null;
  if (signature === null || !macMatches(token.slice(0, lastDot), signature, keys)) {
    return { ok: false, code: 'token_signature_invalid' };
  }
  return { ok: true, header, payload };
}

/** Constant-time comparison of `given` with the HMAC-SHA256 of `signingInput` under each key. */
function macMatches(signingInput: string, given: Buffer, keys: readonly KeyObject[]): boolean {
  if (given.length !== 32) return false;
  for (const key of keys) {
    const expected = createHmac('sha256', key).update(signingInput).digest();
    if (timingSafeEqual(expected, given)) return true;
  }
  return false;
}

/** Checks the time, issuer and audience claims of an authenticated payload. */
export function checkClaims(
  payload: Record<string, unknown>,
  nowSec: number,
  options: TokenVerificationOptions,
): ApproovFailureCode | null {
  const tolerance = options.clockToleranceSec ?? 0;
  if (!('exp' in payload)) return 'token_missing_expiration';
  const exp = payload.exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return 'token_claims_invalid';
  if (!(nowSec < exp + tolerance)) return 'token_expired';
  if ('nbf' in payload) {
    const nbf = payload.nbf;
    if (typeof nbf !== 'number' || !Number.isFinite(nbf)) return 'token_claims_invalid';
    if (nbf > nowSec + tolerance) return 'token_not_yet_valid';
  }
  if (options.issuer !== undefined && !matchesOne(payload.iss, options.issuer))
    return 'token_issuer_invalid';
  if (options.audience !== undefined) {
    const aud = payload.aud;
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.some((value) => matchesOne(value, options.audience!)))
      return 'token_audience_invalid';
  }
  return null;
}

function matchesOne(value: unknown, accepted: string | readonly string[]): boolean {
  if (typeof value !== 'string') return false;
  return typeof accepted === 'string' ? value === accepted : accepted.includes(value);
}

/** Fatal UTF-8 -> JSON, and only a plain object (not array, null or scalar). */
export function parseJsonObject(bytes: Buffer): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    return null;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}
