import type { ApproovFailureCode } from '../failure.js';

/** The claims of a verified Approov token. Only `exp` is guaranteed; the rest depend on the account's policy. */
export interface ApproovTokenClaims {
  /** Expiry, seconds since the epoch (may be fractional). Always present and checked. */
  exp: number;
  /** Not before, seconds since the epoch; checked when present. */
  nbf?: number;
  /** Issued at, seconds since the epoch. */
  iat?: number;
  /** Issuer; checked only when the `issuer` option is set. */
  iss?: string;
  /** Audience; checked only when the `audience` option is set. */
  aud?: string | string[];
  sub?: string;
  /** The client IP address as seen by the Approov cloud. */
  ip?: string;
  /** The device id. */
  did?: string;
  /** Token binding: base64 SHA-256 of the bound header value(s). */
  pay?: string;
  /** Attestation response code (annotation), when the account enables it. */
  arc?: string;
  /** Installation public key (base64 DER SPKI), for message signing. */
  ipk?: string;
  [claim: string]: unknown;
}

/** The claim rules beyond `exp`: leeway, accepted issuers and audiences. */
export interface TokenVerificationOptions {
  /** Seconds of leeway for `exp` and `nbf`. Default 0. */
  clockToleranceSec?: number;
  /** Accepted `iss` value(s); unchecked when undefined. */
  issuer?: string | readonly string[];
  /** Accepted `aud` value(s); unchecked when undefined. */
  audience?: string | readonly string[];
}

/** Checks the time, issuer and audience claims of an authenticated payload; null when they hold. */
export function checkClaims(
  payload: Record<string, unknown>,
  nowSec: number,
  options: TokenVerificationOptions,
): ApproovFailureCode | null {
  const tolerance = options.clockToleranceSec ?? 0;
  if (!('exp' in payload)) return 'token_expiration_missing';
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
