import { decodeBase64UrlAlphabetChecked } from '../encoding/base64.js';
import type { ApproovFailureCode } from '../failure.js';
import type { RefetchableFailure, TokenKeyring } from '../keys/keyring.js';
import { checkClaims, type ApproovTokenClaims, type TokenVerificationOptions } from './claims.js';
import { deepFreeze } from './verified-token-cache.js';

/** Tokens longer than this (4 KiB) are rejected before any decoding. */
export const MAX_TOKEN_LENGTH = 4096;

export type ApproovCheckFailure = { ok: false; code: ApproovFailureCode };
/** The verdict on a token (or a request's token and binding): its claims, or why it is refused. */
export type ApproovCheckResult = { ok: true; claims: ApproovTokenClaims } | ApproovCheckFailure;
/** A token's verdict, or a failure that one keyset refetch may cure. */
export type TokenResult = ApproovCheckResult | RefetchableFailure;
/** The JWS layer's verdict: the header and the payload bytes (not yet parsed), or why not. */
export type JwsResult =
  | { ok: true; header: Readonly<Record<string, unknown>>; payload: Buffer }
  | ApproovCheckFailure
  | RefetchableFailure;

// Three non-empty base64url segments, nothing else (no padding, spaces, commas or a scheme prefix).
const COMPACT_JWS_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const fail = (code: ApproovFailureCode): ApproovCheckFailure => ({ ok: false, code });

/**
 * The last header segment that passed the header checks, kept by one verifier over one keyring:
 * every token of an Approov account carries the same header, and the checks' verdict depends on
 * its text and the keyring alone.
 */
export interface AcceptedHeaderMemo {
  segment: string;
  header: Readonly<Record<string, unknown>>;
}

/** A memo that remembers nothing yet. */
export const newAcceptedHeaderMemo = (): AcceptedHeaderMemo => ({ segment: '', header: {} });

/**
 * Verifies an Approov token string (everything but the request's headers and binding): the
 * compact JWS and its signature under `keyring` (see verifyJws), a JSON-object payload, a
 * required finite `exp`, an optional `nbf`, and `iss`/`aud` when configured. `nowSec` is seconds
 * since the epoch. Never throws on input.
 */
export function verifyApproovToken(
  token: string,
  keyring: TokenKeyring,
  nowSec: number,
  options: TokenVerificationOptions = {},
  acceptedHeader?: AcceptedHeaderMemo,
): TokenResult {
  const jws = verifyJws(token, keyring, acceptedHeader);
  if (!jws.ok) return jws;
  const payload = parseJsonObject(jws.payload);
  if (payload === null) return fail('token_claims_invalid');
  const claimsFailure = checkClaims(payload, nowSec, options);
  return claimsFailure === null
    ? { ok: true, claims: payload as ApproovTokenClaims }
    : fail(claimsFailure);
}

/**
 * The JWS layer alone (form, header and signature; no claim checks): three canonical base64url
 * segments of at most MAX_TOKEN_LENGTH in all; a JSON-object header without `crit` whose `alg`
 * the keyring accepts (and, when key ids choose the key, a short string `kid` and no member that
 * points at a key); then the signature under the key(s) `alg` and `kid` select. Returns the
 * payload bytes, not yet parsed. Never throws on input. `acceptedHeader`, when given, skips
 * re-checking a header segment that passed before.
 */
export function verifyJws(
  token: string,
  keyring: TokenKeyring,
  acceptedHeader?: AcceptedHeaderMemo,
): JwsResult {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS_RE.test(token)) {
    return fail('token_malformed');
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
    if (parsed === null) return fail('token_malformed');
    // RFC 7515 4.1.11: we understand no extension, so any `crit` makes the token invalid.
    if ('crit' in parsed) return fail('token_malformed');
    const refused = keyring.refusesHeader(parsed);
    if (refused !== null) return fail(refused);
    header = deepFreeze(parsed);
    if (acceptedHeader !== undefined) {
      acceptedHeader.segment = headerSegment;
      acceptedHeader.header = header;
    }
  }
  // A signature over a non-canonical payload encoding (stray low bits) is not one of its bytes.
  const payload = decodeBase64UrlAlphabetChecked(token.slice(firstDot + 1, lastDot));
  if (payload === null) return fail('token_malformed');

  const failure = keyring.verifySignature(
    header,
    token.slice(0, lastDot),
    token.slice(lastDot + 1),
  );
  if (failure === null) return { ok: true, header, payload };
  return typeof failure === 'string' ? fail(failure) : failure;
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
