import { createHmac, randomBytes } from 'node:crypto';
import { decodeBase64AnyStrict } from '../core/encoding/base64.js';
import { bindingDigest } from '../core/token/binding.js';
import {
  createApproovRequestSignature,
  type ApproovSignatureHeaders,
  type SignApproovRequestOptions,
} from './sign-request.js';

export interface CreateApproovTokenOptions {
  /** The account secret, base64 or base64url (as `approov secret -get base64` prints), or its bytes. */
  secret: string | Buffer;
  /** Seconds from now until `exp`. Default 300. Negative makes an expired token. */
  expiresIn?: number;
  /** Extra or overriding claims; set `exp: undefined` to leave `exp` out. */
  claims?: Record<string, unknown>;
  /** Bind the token to these header values (concatenated in order), as the SDK's binding header does. */
  bind?: string | readonly string[];
  /** Extra or overriding JOSE header fields, for negative tests. Default { alg: 'HS256', typ: 'JWT' }. */
  joseHeader?: Record<string, unknown>;
  /** Clock in seconds since the epoch. Default now. */
  now?: number;
}

/** `pay` claim value for the given bound header values: base64 SHA-256 of their concatenation. */
export function approovBindingHash(...values: string[]): string {
  return bindingDigest(values).toString('base64');
}

/** Mints an HS256 Approov token, as the Approov cloud would, for tests and demos. */
export function createApproovToken(options: CreateApproovTokenOptions): string {
  const key =
    typeof options.secret === 'string' ? decodeBase64AnyStrict(options.secret) : options.secret;
  if (key === null || key.length === 0)
    throw new TypeError('createApproovToken: secret is not base64 or base64url');
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const expiresIn = options.expiresIn ?? 300;
  // NaN or Infinity would serialize as `"exp":null`: a test would pass for the wrong reason.
  if (!Number.isFinite(now) || !Number.isFinite(expiresIn)) {
    throw new TypeError('createApproovToken: expiresIn and now must be finite numbers');
  }
  const claims: Record<string, unknown> = { exp: now + expiresIn };
  if (options.bind !== undefined) {
    const values = typeof options.bind === 'string' ? [options.bind] : [...options.bind];
    claims.pay = approovBindingHash(...values);
  }
  Object.assign(claims, options.claims);
  for (const name of Object.keys(claims)) if (claims[name] === undefined) delete claims[name];
  return signHs256({ alg: 'HS256', typ: 'JWT', ...options.joseHeader }, claims, key);
}

/** A fresh random 64-byte secret in base64, like `openssl rand -base64 64`. */
export function createApproovSecret(bytes = 64): string {
  return randomBytes(bytes).toString('base64');
}

function signHs256(header: Record<string, unknown>, claims: unknown, key: Buffer): string {
  const encode = (value: unknown): string =>
    Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode(header)}.${encode(claims)}`;
  return `${signingInput}.${createHmac('sha256', key).update(signingInput).digest('base64url')}`;
}

export {
  combineApproovSignatures,
  createInstallationKeyPair as createApproovInstallationKey,
  installationPublicKey as approovInstallationPublicKey,
  type ApproovSignatureHeaders,
  type SignApproovRequestOptions,
} from './sign-request.js';

/**
 * The Signature-Input, Signature and (with a body) Content-Digest headers that make `options`
 * a correctly signed Approov request, as the SDK's installation message signing sends them.
 */
export function signApproovRequest(options: SignApproovRequestOptions): ApproovSignatureHeaders {
  return createApproovRequestSignature(options).headers;
}

export {
  approovKeyPairFrom,
  createApproovJwks,
  createApproovKeyPair,
  createApproovKeysetToken,
  startApproovJwksServer,
  type ApproovJwksFailure,
  type ApproovJwksServer,
  type ApproovKeyPair,
  type CreateApproovKeysetTokenOptions,
} from './keyset.js';
