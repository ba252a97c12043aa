import { serializeInnerList, type Dictionary, type Item } from 'structured-headers';
import { decodeBase64Strict } from '../encoding/base64.js';
import type { ApproovFailureCode } from '../failure.js';
import { isSupportedComponentName } from './options.js';
import { isInnerList, parseDictionaryTracked } from './structured-fields.js';

/** The dictionary label Approov's SDKs put the installation signature under. */
export const APPROOV_SIGNATURE_LABEL = 'install';
/** Signature fields longer than this (all their lines together) are rejected before parsing. */
export const MAX_SIGNATURE_FIELD_LENGTH = 8192;
/** More covered components than this is no real client: refused while parsing, before any work per component. */
export const MAX_COVERED_COMPONENTS = 64;
// Signature sizes by label: ECDSA P-256 r||s, HMAC-SHA256.
const SIGNATURE_BYTES: Readonly<Record<string, number>> = { install: 64, account: 32 };

/** One signature of a request, parsed: covered components, parameters, signature bytes. */
export interface ParsedMessageSignature {
  components: string[];
  params: Map<string, unknown>;
  /** `@signature-params`: the Signature-Input member, serialized canonically (RFC 9421 2.3). */
  signatureParams: string;
  signature: Buffer;
}

/**
 * The Signature-Input and Signature dictionaries of a request, each parsed once for every label.
 * @internal Not in the typings: they must not need structured-headers' types, which `module: commonjs` cannot resolve.
 */
export interface SignatureFields {
  inputs: Dictionary;
  signatures: Dictionary;
  /** Labels whose member holds non-canonical base64, in either field: malformed when read. */
  nonCanonical: ReadonlySet<string>;
}

type Failure = { ok: false; code: ApproovFailureCode };
const fail = (code: ApproovFailureCode): Failure => ({ ok: false, code });

/**
 * Parses the Signature-Input and Signature field values (their lines already joined): anything
 * RFC 8941 does not parse, or a repeated label, is malformed. Non-canonical base64 makes only
 * its own label malformed (see extractSignature): a label this server does not read cannot fail
 * the request.
 * @internal Not in the typings: they must not need structured-headers' types, which `module: commonjs` cannot resolve.
 */
export function parseSignatureFields(
  signatureInput: string,
  signature: string,
): { ok: true; value: SignatureFields } | Failure {
  if (
    signatureInput.length > MAX_SIGNATURE_FIELD_LENGTH ||
    signature.length > MAX_SIGNATURE_FIELD_LENGTH
  ) {
    return fail('signature_malformed');
  }
  const inputs = parseDictionaryTracked(signatureInput);
  const signatures = parseDictionaryTracked(signature);
  if (inputs === null || signatures === null) return fail('signature_malformed');
  const nonCanonical =
    inputs.nonCanonical.size === 0
      ? signatures.nonCanonical
      : new Set([...inputs.nonCanonical, ...signatures.nonCanonical]);
  return {
    ok: true,
    value: { inputs: inputs.dictionary, signatures: signatures.dictionary, nonCanonical },
  };
}

/**
 * The signature under `label`, or null when neither field has it. Rejects a member that is in one
 * field only, components that are not plain strings, repeated or unsupported components, more
 * than 64 of them, and a signature that is neither an sf-binary (iOS) nor an sf-string of
 * canonical base64 (Android before 3.5.8).
 * @internal Not in the typings: they must not need structured-headers' types, which `module: commonjs` cannot resolve.
 */
export function extractSignature(
  fields: SignatureFields,
  label: string,
): { ok: true; value: ParsedMessageSignature } | Failure | null {
  const input = fields.inputs.get(label);
  const signed = fields.signatures.get(label);
  if (input === undefined && signed === undefined) return null;
  if (input === undefined || signed === undefined) return fail('signature_malformed');
  if (fields.nonCanonical.has(label)) return fail('signature_malformed');
  if (!isInnerList(input) || isInnerList(signed)) return fail('signature_malformed');

  const components: string[] = [];
  for (const [name, componentParams] of input[0]) {
    // The cap comes first: the duplicate check below is quadratic in the count.
    if (components.length === MAX_COVERED_COMPONENTS) return fail('signature_malformed');
    // Component parameters (sf, key, bs, req, tr, name) are not used by Approov: refuse them.
    if (typeof name !== 'string' || componentParams.size > 0 || !isSupportedComponentName(name)) {
      return fail('signature_malformed');
    }
    if (components.includes(name)) return fail('signature_malformed');
    components.push(name);
  }

  const signatureBytes = signatureBytesOf(signed, SIGNATURE_BYTES[label]);
  if (signatureBytes === null) return fail('signature_malformed');

  let signatureParams: string;
  try {
    signatureParams = serializeInnerList(input);
  } catch {
    return fail('signature_malformed');
  }
  return {
    ok: true,
    value: {
      components,
      params: input[1] as Map<string, unknown>,
      signatureParams,
      signature: signatureBytes,
    },
  };
}

/** Parses both fields and extracts one label: `install_signature_missing` when the label is absent. */
export function parseMessageSignature(
  signatureInput: string,
  signature: string,
  label = APPROOV_SIGNATURE_LABEL,
): { ok: true; value: ParsedMessageSignature } | Failure {
  const fields = parseSignatureFields(signatureInput, signature);
  if (!fields.ok) return fields;
  return extractSignature(fields.value, label) ?? fail('install_signature_missing');
}

/**
 * The signature bytes from an sf-binary or an sf-string of padded canonical base64: the same rule
 * in both forms (the dictionary parse already refused non-canonical byte sequences).
 */
function signatureBytesOf(item: Item, expectedLength: number | undefined): Buffer | null {
  const [value, params] = item;
  if (params.size > 0) return null;
  let bytes: Buffer | null = null;
  if (value instanceof ArrayBuffer) bytes = Buffer.from(value);
  else if (typeof value === 'string') bytes = decodeBase64Strict(value);
  if (bytes === null || bytes.length === 0) return null;
  return expectedLength === undefined || bytes.length === expectedLength ? bytes : null;
}
