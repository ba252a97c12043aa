import { createHash, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import {
  parseDictionary,
  serializeInnerList,
  serializeString,
  type Dictionary,
  type InnerList,
  type Item,
} from 'structured-headers';
import type { ApproovTokenClaims } from '../token/claims.js';
import { decodeBase64AnyStrict } from '../encoding/base64.js';
import type { ApproovFailureCode } from '../failure.js';
import { isSupportedComponentName, type ResolvedMessageSigningOptions } from './options.js';
import {
  readHeaderValues,
  requestHasBody,
  resolveRequestTarget,
  type RequestTargetParts,
  type SignedRequestSource,
} from './request-target.js';
import { readSingleHeader } from '../http/request-headers.js';
import { installationKeyIdentity, signaturePassableUntilMs, signedRequestIdentity, type SignedRequestIdentity } from './replay-identity.js';

/** The dictionary label Approov's SDKs sign under. */
export const APPROOV_SIGNATURE_LABEL = 'install';
/** The only algorithm accepted: ECDSA P-256 with SHA-256, r||s (RFC 9421 3.3.4). */
export const APPROOV_SIGNATURE_ALGORITHM = 'ecdsa-p256-sha256';
/** Signature fields longer than this are rejected before parsing. */
export const MAX_SIGNATURE_FIELD_LENGTH = 8192;
const MAX_COVERED_COMPONENTS = 64;
const MAX_IPK_LENGTH = 1024;
const P1363_P256_SIGNATURE_BYTES = 64;

/** Digest algorithms of RFC 9530 this module computes, with their node:crypto names. */
export const CONTENT_DIGEST_ALGORITHMS: Readonly<Record<string, string>> = Object.freeze({
  'sha-256': 'sha256',
  'sha-512': 'sha512',
});

export type MessageSignatureResult =
  /** `identity`: present when a signature was verified (absent when an optional one was not sent). */
  | { ok: true; identity?: SignedRequestIdentity }
  /** `rawBodyUnavailable`: the body had to be checked but the framework kept no raw bytes. */
  | { ok: false; code: ApproovFailureCode; rawBodyUnavailable?: true };

/** The `install` signature of a request, parsed: covered components, parameters, signature bytes. */
export interface ParsedMessageSignature {
  components: string[];
  params: Map<string, unknown>;
  /** `@signature-params`: the Signature-Input member, serialized canonically (RFC 9421 2.3). */
  signatureParams: string;
  signature: Buffer;
}

const fail = (code: ApproovFailureCode): { ok: false; code: ApproovFailureCode } => ({ ok: false, code });

/**
 * Parses the Signature-Input and Signature field values and extracts the member `label` of both.
 * Rejects anything RFC 8941 does not parse, repeated labels, a member that is in one field only,
 * components that are not plain strings, repeated or unsupported components, and a signature
 * that is neither an sf-binary (iOS) nor an sf-string of base64 (Android, from October 2025).
 */
export function parseMessageSignature(
  signatureInput: string,
  signature: string,
  label = APPROOV_SIGNATURE_LABEL,
): { ok: true; value: ParsedMessageSignature } | { ok: false; code: ApproovFailureCode } {
  if (signatureInput.length > MAX_SIGNATURE_FIELD_LENGTH || signature.length > MAX_SIGNATURE_FIELD_LENGTH) {
    return fail('message_signature_malformed');
  }
  const inputs = parseDictionaryOnce(signatureInput);
  const signatures = parseDictionaryOnce(signature);
  if (inputs === null || signatures === null) return fail('message_signature_malformed');
  const input = inputs.get(label);
  const signed = signatures.get(label);
  if (input === undefined && signed === undefined) return fail('missing_message_signature');
  if (input === undefined || signed === undefined) return fail('message_signature_malformed');
  if (!isInnerList(input) || isInnerList(signed)) return fail('message_signature_malformed');

  const components: string[] = [];
  for (const [name, componentParams] of input[0]) {
    // Component parameters (sf, key, bs, req, tr, name) are not used by Approov: refuse them.
    if (typeof name !== 'string' || componentParams.size > 0 || !isSupportedComponentName(name)) {
      return fail('message_signature_malformed');
    }
    if (components.includes(name)) return fail('message_signature_malformed');
    components.push(name);
  }
  if (components.length > MAX_COVERED_COMPONENTS) return fail('message_signature_malformed');

  const signatureBytes = signatureBytesOf(signed);
  if (signatureBytes === null) return fail('message_signature_malformed');

  let signatureParams: string;
  try {
    signatureParams = serializeInnerList(input);
  } catch {
    return fail('message_signature_malformed');
  }
  return {
    ok: true,
    value: { components, params: input[1] as Map<string, unknown>, signatureParams, signature: signatureBytes },
  };
}

/** The 64 signature bytes from an sf-binary or an sf-string of standard base64. */
function signatureBytesOf(item: Item): Buffer | null {
  const [value, params] = item;
  if (params.size > 0) return null;
  let bytes: Buffer | null = null;
  if (value instanceof ArrayBuffer) bytes = Buffer.from(value);
  else if (typeof value === 'string') bytes = decodeBase64AnyStrict(value);
  return bytes !== null && bytes.length === P1363_P256_SIGNATURE_BYTES ? bytes : null;
}

function isInnerList(member: Item | InnerList): member is InnerList {
  return Array.isArray(member[0]);
}

/**
 * Parses an RFC 8941 dictionary, and also refuses one that names a key twice: the RFC keeps the
 * last value silently, and a member that an intermediary and this server read differently is
 * a way around the signature. Null when the value does not parse or repeats a key.
 * @internal Not in the typings: they must not need structured-headers' types, which `module: commonjs` cannot resolve.
 */
export function parseDictionaryOnce(value: string): Dictionary | null {
  let dictionary: Dictionary;
  try {
    dictionary = parseDictionary(value);
  } catch {
    return null;
  }
  return countDictionaryMembers(value) === dictionary.size ? dictionary : null;
}

/**
 * Counts the top-level members of a dictionary the parser already accepted, by its commas outside
 * strings and inner lists. Not a parser: it only counts. In a string a backslash escapes the next
 * character; in a display string (`%"..."`, RFC 9651) it is a literal, and `"` always ends it.
 */
function countDictionaryMembers(value: string): number {
  if (value.trim().length === 0) return 0;
  let members = 1;
  let inString = false;
  let escapes = false;
  let depth = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (inString) {
      if (escapes && c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      // Outside strings `%` before a quote can only open a display string (the parser accepted it).
      escapes = value[i - 1] !== '%';
    }
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) members++;
  }
  return members;
}

/**
 * The value of one covered component (RFC 9421 2.1, 2.2): a derived component from the target
 * parts, or a header field's values trimmed and joined with ", ". Null when it cannot be built.
 */
export type ComponentResolver = (name: string) => string | null;

/** A resolver over a received request; the target parts are built lazily, once. */
export function requestComponentResolver(request: SignedRequestSource, trustProxy: boolean): ComponentResolver {
  let target: RequestTargetParts | null | undefined;
  const targetOf = (): RequestTargetParts | null => (target === undefined ? (target = resolveRequestTarget(request, trustProxy)) : target);
  return (name) => {
    switch (name) {
      case '@method':
        return request.method;
      case '@target-uri':
        return targetOf()?.targetUri ?? null;
      case '@authority':
        return targetOf()?.authority ?? null;
      case '@scheme':
        return targetOf()?.scheme ?? null;
      case '@request-target':
        return targetOf()?.requestTarget ?? null;
      case '@path':
        return targetOf()?.path ?? null;
      case '@query':
        return targetOf()?.query ?? null;
      default: {
        if (name.startsWith('@')) return null;
        const values = readHeaderValues(request, name);
        return values === null ? null : values.join(', ');
      }
    }
  };
}

/**
 * The signature base (RFC 9421 2.5): one `"name": value` line per covered component, in order,
 * then the `"@signature-params"` line. Null when a component is missing or cannot be built.
 */
export function buildSignatureBase(
  components: readonly string[],
  resolve: ComponentResolver,
  signatureParams: string,
): string | null {
  let base = '';
  for (const name of components) {
    const value = resolve(name);
    // A newline in a value would let one component forge the next line of the base.
    if (value === null || /[\r\n]/.test(value)) return null;
    base += `${serializeString(name)}: ${value}\n`;
  }
  return `${base}"@signature-params": ${signatureParams}`;
}

/**
 * Checks an RFC 9530 Content-Digest value against the body bytes: every sha-256 / sha-512 member
 * must match, and at least one must be there. Other algorithms are ignored. Never throws.
 */
export function contentDigestMatches(fieldValue: string, body: Buffer): boolean {
  if (fieldValue.length > MAX_SIGNATURE_FIELD_LENGTH) return false;
  const digests = parseDictionaryOnce(fieldValue);
  if (digests === null) return false;
  let checked = 0;
  for (const [algorithm, member] of digests) {
    // Own keys only: a client names the members, and `constructor` is inherited by every object.
    const hashAlgorithm = Object.hasOwn(CONTENT_DIGEST_ALGORITHMS, algorithm) ? CONTENT_DIGEST_ALGORITHMS[algorithm] : undefined;
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
export function createContentDigest(body: Buffer | Uint8Array | string, algorithm: 'sha-256' | 'sha-512' = 'sha-256'): string {
  const digest = createHash(CONTENT_DIGEST_ALGORITHMS[algorithm]!).update(body).digest('base64');
  return `${algorithm}=:${digest}:`;
}

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
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? key : null;
  } catch {
    return null;
  }
}

/** Verifies an ECDSA P-256 / SHA-256 r||s signature over the base (latin1 bytes, as Node decoded them). */
export function verifySignatureBase(base: string, signature: Buffer, key: KeyObject): boolean {
  try {
    return verify('sha256', Buffer.from(base, 'latin1'), { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/**
 * Judges the installation message signature of a request whose token already passed (RFC 9421
 * with Approov's profile): `ipk` presence, the `install` signature fields, algorithm, time window,
 * covered components, the signature itself, then Content-Digest against the raw body.
 * Never throws on input.
 */
export class MessageSignatureVerifier {
  private readonly installationKeys: InstallationKeyCache;

  constructor(keyCacheSize = 1024) {
    this.installationKeys = new InstallationKeyCache(keyCacheSize);
  }

  verify(
    request: SignedRequestSource,
    claims: ApproovTokenClaims,
    options: ResolvedMessageSigningOptions,
    nowSec: number,
  ): MessageSignatureResult {
    if (claims.ipk === undefined) return options.required ? fail('missing_installation_key') : { ok: true };
    if (typeof claims.ipk !== 'string' || claims.ipk.length > MAX_IPK_LENGTH) return fail('token_claims_invalid');

    const inputHeader = readSingleHeader(request, 'signature-input');
    const signatureHeader = readSingleHeader(request, 'signature');
    if (inputHeader.status === 'duplicate' || signatureHeader.status === 'duplicate') {
      return fail('message_signature_malformed');
    }
    if (inputHeader.status === 'missing' || signatureHeader.status === 'missing') {
      return fail('missing_message_signature');
    }
    const parsed = parseMessageSignature(inputHeader.value, signatureHeader.value);
    if (!parsed.ok) return parsed;
    const { components, params, signatureParams, signature } = parsed.value;

    if (params.get('alg') !== APPROOV_SIGNATURE_ALGORITHM) return fail('message_signature_invalid');
    const timeFailure = checkSignatureTime(params, options, nowSec);
    if (timeFailure !== null) return fail(timeFailure);

    const hasBody = requestHasBody(request);
    const required =
      hasBody && options.requireContentDigest ? [...options.requiredComponents, 'content-digest'] : options.requiredComponents;
    if (!required.every((name) => components.includes(name))) return fail('message_signature_components_missing');

    const base = buildSignatureBase(components, requestComponentResolver(request, options.trustProxy), signatureParams);
    if (base === null) return fail('message_signature_invalid');
    const key = this.installationKeys.get(claims.ipk);
    if (key === null) return fail('token_claims_invalid');
    if (!verifySignatureBase(base, signature, key)) return fail('message_signature_invalid');

    if (components.includes('content-digest')) {
      const digest = readSingleHeader(request, 'content-digest');
      if (digest.status !== 'ok') return fail('content_digest_mismatch');
      // Without the raw bytes the body cannot be checked: fail closed.
      const body = request.rawBody ?? (hasBody ? undefined : Buffer.alloc(0));
      if (body === undefined) return { ok: false, code: 'content_digest_mismatch', rawBodyUnavailable: true };
      if (!contentDigestMatches(digest.value, body)) return fail('content_digest_mismatch');
    }
    const passableUntilMs = signaturePassableUntilMs(
      params.get('created') as number,
      params.get('expires') as number | undefined,
      options.maxAgeSec,
      options.clockToleranceSec,
    );
    return { ok: true, identity: signedRequestIdentity(installationKeyIdentity(key), base, passableUntilMs) };
  }
}

/** `created` required and not in the future, not older than maxAgeSec; `expires` not past. */
function checkSignatureTime(
  params: Map<string, unknown>,
  options: ResolvedMessageSigningOptions,
  nowSec: number,
): ApproovFailureCode | null {
  const created = params.get('created');
  const expires = params.get('expires');
  if (!Number.isSafeInteger(created)) return 'message_signature_malformed';
  if (expires !== undefined && !Number.isSafeInteger(expires)) return 'message_signature_malformed';
  const tolerance = options.clockToleranceSec;
  const createdSec = created as number;
  if (createdSec > nowSec + tolerance) return 'message_signature_expired';
  if (nowSec - createdSec > options.maxAgeSec + tolerance) return 'message_signature_expired';
  if (expires !== undefined && !(nowSec < (expires as number) + tolerance)) return 'message_signature_expired';
  return null;
}
