import type { KeyObject } from 'node:crypto';
import type { ApproovTokenClaims } from '../token/claims.js';
import type { ApproovFailureCode } from '../failure.js';
import type { ApproovSignatureLabel, ResolvedMessageSigningOptions } from './options.js';
import { readFieldValue } from '../http/request-headers.js';
import {
  requestHasBody,
  resolveRequestTarget,
  withReceivedAuthority,
  type SignedRequestSource,
} from './request-target.js';
import { buildSignatureBase, requestComponentResolver } from './signature-base.js';
import { contentDigestMatches } from './content-digest.js';
import {
  APPROOV_SIGNATURE_ALGORITHM,
  InstallationKeyCache,
  MAX_IPK_LENGTH,
  verifySignatureBase,
} from './installation-keys.js';
import {
  ACCOUNT_KEY_IDENTITY,
  ACCOUNT_SIGNATURE_ALGORITHM,
  verifyAccountSignature,
} from './account-keys.js';
import {
  ecdsaSigningNonce,
  installationKeyIdentity,
  signaturePassableUntilMs,
  signedRequestIdentity,
  type SignedRequestIdentity,
} from './replay-identity.js';
import {
  extractSignature,
  parseSignatureFields,
  type ParsedMessageSignature,
  type SignatureFields,
} from './signature-fields.js';

/** A signature that verified, and its identity. */
export interface VerifiedMessageSignature {
  label: ApproovSignatureLabel;
  /**
   * SHA-256 over the key's identity, the signature base and (ECDSA) the signature's `r`, and until
   * when the signature can pass: the same for every encoding of one signing (high-S, padding, sf
   * form), new for each signing by the device; for logs and the replay store.
   */
  identity: SignedRequestIdentity;
}

export type MessageSignatureResult =
  /**
   * `signatures`: every accepted signature that verified, in `accept` order (none when an optional
   * one was not sent); `identity`: the first one's, absent when there is none.
   */
  | { ok: true; signatures: readonly VerifiedMessageSignature[]; identity?: SignedRequestIdentity }
  /** `rawBodyUnavailable`: the body had to be checked but no body bytes were given. */
  | { ok: false; code: ApproovFailureCode; rawBodyUnavailable?: true };

type Failure = Extract<MessageSignatureResult, { ok: false }>;
/** What one accepted label came to: verified, not needed (a token without `ipk`), absent, or failed. */
type LabelOutcome = VerifiedMessageSignature | 'waived' | { absent: ApproovFailureCode } | Failure;

/**
 * What a verify() pass learnt that a later pass over the same request may reuse: the signature
 * base each label verified with (or null), so a second pass once the body is read costs no
 * signature verification.
 */
export interface SignatureVerificationMemo {
  bases?: Map<ApproovSignatureLabel, string | null>;
}

const fail = (code: ApproovFailureCode): Failure => ({ ok: false, code });
const NO_SIGNATURES: readonly VerifiedMessageSignature[] = Object.freeze([]);
// HMAC has no per-signing randomness: an `account` identity is its key and base alone.
const NO_SIGNING_NONCE = Buffer.alloc(0);

/**
 * Judges the message signatures of a request whose token already passed (RFC 9421 with Approov's
 * profile), for each label the route accepts: `install` against the token's `ipk`, `account`
 * against the account key. Per signature: algorithm, time window, covered components, the
 * signature itself, then Content-Digest against the body bytes. Never throws on input.
 */
export class MessageSignatureVerifier {
  private readonly installationKeys: InstallationKeyCache;

  /** `accountKeys`: the account message-signing keys (rotation); none means `account` signatures cannot verify. */
  constructor(
    private readonly accountKeys: readonly KeyObject[] = [],
    keyCacheSize = 1024,
  ) {
    this.installationKeys = new InstallationKeyCache(keyCacheSize);
  }

  /** True when an account key is configured. */
  get hasAccountKey(): boolean {
    return this.accountKeys.length > 0;
  }

  verify(
    request: SignedRequestSource,
    claims: ApproovTokenClaims,
    options: ResolvedMessageSigningOptions,
    nowSec: number,
    memo: SignatureVerificationMemo = {},
  ): MessageSignatureResult {
    let fields: SignatureFields | null | undefined;
    const fieldsOf = (): SignatureFields | Failure | null => {
      if (fields === undefined) {
        const inputField = readFieldValue(request, 'signature-input');
        const signatureField = readFieldValue(request, 'signature');
        if (inputField === null && signatureField === null) fields = null;
        else if (inputField === null || signatureField === null) return fail('signature_malformed');
        else {
          const parsed = parseSignatureFields(inputField, signatureField);
          if (!parsed.ok) return parsed;
          fields = parsed.value;
        }
      }
      return fields;
    };

    const perRequest = {};
    const verified: VerifiedMessageSignature[] = [];
    let waived = false;
    let firstAbsent: ApproovFailureCode | undefined;
    for (const label of options.accept) {
      const outcome = this.verifyLabel(
        label,
        request,
        claims,
        options,
        nowSec,
        fieldsOf,
        perRequest,
        memo,
      );
      if (outcome === 'waived') waived = true;
      else if ('absent' in outcome) {
        if (options.match === 'all') return fail(outcome.absent);
        firstAbsent ??= outcome.absent;
      } else if ('ok' in outcome) return outcome;
      else verified.push(outcome);
    }
    if (verified.length > 0)
      return { ok: true, signatures: verified, identity: verified[0]!.identity };
    if (waived) return { ok: true, signatures: NO_SIGNATURES };
    return fail(firstAbsent ?? 'install_signature_missing');
  }

  private verifyLabel(
    label: ApproovSignatureLabel,
    request: SignedRequestSource,
    claims: ApproovTokenClaims,
    options: ResolvedMessageSigningOptions,
    nowSec: number,
    fieldsOf: () => SignatureFields | Failure | null,
    perRequest: { digestFailure?: Failure | null },
    memo: SignatureVerificationMemo,
  ): LabelOutcome {
    let key: KeyObject | null = null;
    let keyId: string;
    if (label === 'install') {
      if (claims.ipk === undefined)
        return options.requireInstallationKey ? fail('install_key_missing') : 'waived';
      if (typeof claims.ipk !== 'string' || claims.ipk.length > MAX_IPK_LENGTH)
        return fail('token_claims_invalid');
      keyId = claims.ipk;
    } else {
      if (this.accountKeys.length === 0) return fail('account_key_not_configured');
      keyId = 'account';
    }
    const fields = fieldsOf();
    if (fields === null)
      return {
        absent: label === 'install' ? 'install_signature_missing' : 'account_signature_missing',
      };
    if ('ok' in fields) return fields;
    const extracted = extractSignature(fields, label);
    if (extracted === null)
      return {
        absent: label === 'install' ? 'install_signature_missing' : 'account_signature_missing',
      };
    if (!extracted.ok) return extracted;
    const signature = extracted.value;
    const invalid = label === 'install' ? 'install_signature_invalid' : 'account_signature_invalid';

    const alg = signature.params.get('alg');
    // The key decides the algorithm (RFC 9421 3.2); `alg`, when sent, must agree with it.
    if (
      label === 'install'
        ? alg !== APPROOV_SIGNATURE_ALGORITHM
        : alg !== undefined && alg !== ACCOUNT_SIGNATURE_ALGORITHM
    ) {
      return fail(invalid);
    }
    const timeFailure = checkSignatureTime(signature.params, options, nowSec);
    if (timeFailure !== null) return fail(timeFailure);

    const hasBody = requestHasBody(request);
    const { components } = signature;
    if (!options.requiredComponents.every((name) => components.includes(name)))
      return fail('signature_components_missing');
    if (hasBody && options.requireContentDigest && !components.includes('content-digest')) {
      return fail('signature_components_missing');
    }

    if (label === 'install') {
      key = this.installationKeys.get(keyId);
      if (key === null) return fail('token_claims_invalid');
    }
    let base = memo.bases?.get(label);
    if (base === undefined) {
      base = this.verifiedBase(request, signature, options, (text) =>
        key !== null
          ? verifySignatureBase(text, signature.signature, key)
          : verifyAccountSignature(text, signature.signature, this.accountKeys),
      );
      (memo.bases ??= new Map()).set(label, base);
    }
    if (base === null) return fail(invalid);

    if (components.includes('content-digest')) {
      // Both labels may cover it: the body is hashed once per request.
      if (perRequest.digestFailure === undefined)
        perRequest.digestFailure = contentDigestFailure(request, hasBody);
      if (perRequest.digestFailure !== null) return perRequest.digestFailure;
    }
    const passableUntilMs = signaturePassableUntilMs(
      signature.params.get('created') as number,
      signature.params.get('expires') as number | undefined,
      options.maxAgeSec,
      options.clockToleranceSec,
    );
    const identity = signedRequestIdentity(
      key !== null ? installationKeyIdentity(key) : ACCOUNT_KEY_IDENTITY,
      key !== null ? ecdsaSigningNonce(signature.signature) : NO_SIGNING_NONCE,
      base,
      passableUntilMs,
      options.clockToleranceSec * 1000,
    );
    return { label, identity };
  }

  /**
   * The signature base that verifies, or null. The authority is tried as received first (what the
   * client had in hand), then normalised (lower case, default port dropped); never anything else.
   */
  private verifiedBase(
    request: SignedRequestSource,
    signature: ParsedMessageSignature,
    options: ResolvedMessageSigningOptions,
    verifies: (base: string) => boolean,
  ): string | null {
    const { trustProxy, origin } = options;
    const { components, signatureParams } = signature;
    const derivesAuthority =
      components.includes('@target-uri') || components.includes('@authority');
    const target = components.some((name) => name.startsWith('@') && name !== '@method')
      ? resolveRequestTarget(request, trustProxy, origin)
      : null;
    const received = derivesAuthority && target !== null ? withReceivedAuthority(target) : null;
    for (const parts of received === null ? [target] : [received, target]) {
      const base = buildSignatureBase(
        components,
        requestComponentResolver(request, trustProxy, parts),
        signatureParams,
      );
      if (base === null) return null;
      if (verifies(base)) return base;
    }
    return null;
  }
}

/** Null when the request's Content-Digest matches the body bytes; the failure otherwise (fail closed without bytes). */
function contentDigestFailure(request: SignedRequestSource, hasBody: boolean): Failure | null {
  const digest = readFieldValue(request, 'content-digest');
  if (digest === null) return fail('content_digest_mismatch');
  // HTTP/2 frames a body without Content-Length: while it is pending, no framing is no proof of no body.
  const body =
    request.rawBody ?? (hasBody || request.bodyPending === true ? undefined : Buffer.alloc(0));
  if (body === undefined)
    return { ok: false, code: 'content_digest_mismatch', rawBodyUnavailable: true };
  return contentDigestMatches(digest, body) ? null : fail('content_digest_mismatch');
}

/** `created` required and not in the future, not older than maxAgeSec; `expires` not past; each within the leeway. */
function checkSignatureTime(
  params: Map<string, unknown>,
  options: ResolvedMessageSigningOptions,
  nowSec: number,
): ApproovFailureCode | null {
  const created = params.get('created');
  const expires = params.get('expires');
  if (!Number.isSafeInteger(created)) return 'signature_malformed';
  if (expires !== undefined && !Number.isSafeInteger(expires)) return 'signature_malformed';
  const tolerance = options.clockToleranceSec;
  const createdSec = created as number;
  if (createdSec > nowSec + tolerance) return 'signature_expired';
  if (nowSec - createdSec > options.maxAgeSec + tolerance) return 'signature_expired';
  if (expires !== undefined && !(nowSec < (expires as number) + tolerance))
    return 'signature_expired';
  return null;
}
