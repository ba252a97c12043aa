import { createHmac } from 'node:crypto';
import fc from 'fast-check';

// Token mutations as plain data (so fast-check prints and shrinks them), applied by applyMutation.

/** Signs raw JSON texts as a compact HS256 JWS, without normalising them. */
export function signCompact(headerJson: string, payloadJson: string, key: Buffer): string {
  const signingInput = `${b64url(headerJson)}.${b64url(payloadJson)}`;
  return `${signingInput}.${createHmac('sha256', key).update(signingInput).digest('base64url')}`;
}

const b64url = (text: string | Buffer): string => Buffer.from(text).toString('base64url');

export const HEADER_KEY_FIELDS = ['kid', 'jku', 'jwk', 'x5u', 'x5c', 'crit'] as const;
export const CLAIMS = ['exp', 'nbf', 'iat', 'pay', 'iss', 'aud', 'did', 'ipk'] as const;
const WHITESPACE = [' ', '\t', '\n', '\r\n', '\u00a0', '\u2028'] as const;

export type Mutation =
  | { kind: 'flipTextBit'; segment: number; position: number; bit: number }
  | { kind: 'flipByteBit'; segment: number; position: number; bit: number }
  | { kind: 'dropSegment'; segment: number }
  | { kind: 'duplicateSegment'; segment: number; at: number }
  | {
      kind: 'reencode';
      segment: number;
      style: 'padded' | 'standard' | 'standardUnpadded' | 'hexish';
    }
  | { kind: 'insertWhitespace'; position: number; whitespace: string }
  | { kind: 'wrap'; prefix: string; suffix: string }
  | { kind: 'swapClaimType'; claim: string; value: unknown }
  | { kind: 'dropClaim'; claim: string }
  | { kind: 'addHeaderField'; field: string; value: unknown }
  | { kind: 'setAlg'; value: unknown }
  | { kind: 'rewriteJson'; segment: 0 | 1; style: 'spaces' | 'reversed' | 'duplicateKey' | 'bom' }
  | { kind: 'transplant'; segment: number }
  | { kind: 'insertChar'; position: number; char: string }
  | { kind: 'deleteChar'; position: number }
  | { kind: 'truncate'; keep: number };

const segmentIndex = fc.integer({ min: 0, max: 2 });
const position = fc.nat({ max: 4096 });
const typedValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    '',
    '0',
    'NaN',
    '1e400',
    [],
    {},
    -1,
    0,
    1.5,
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER,
  ),
  fc.jsonValue({ maxDepth: 2 }),
);
const keyFieldValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    'attacker-key',
    'http://127.0.0.1:1/jwks.json',
    ['exp'],
    ['b64'],
    [],
    { kty: 'oct', k: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    ['MIIB'],
    '../../../../dev/null',
  ),
  typedValue,
);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flipTextBit' as const),
    segment: segmentIndex,
    position,
    bit: fc.integer({ min: 0, max: 6 }),
  }),
  fc.record({
    kind: fc.constant('flipByteBit' as const),
    segment: segmentIndex,
    position,
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ kind: fc.constant('dropSegment' as const), segment: segmentIndex }),
  fc.record({
    kind: fc.constant('duplicateSegment' as const),
    segment: segmentIndex,
    at: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({
    kind: fc.constant('reencode' as const),
    segment: segmentIndex,
    style: fc.constantFrom(
      'padded' as const,
      'standard' as const,
      'standardUnpadded' as const,
      'hexish' as const,
    ),
  }),
  fc.record({
    kind: fc.constant('insertWhitespace' as const),
    position,
    whitespace: fc.constantFrom(...WHITESPACE),
  }),
  fc.record({
    kind: fc.constant('wrap' as const),
    prefix: fc.constantFrom('', ' ', 'Bearer ', '"', '.', ',', 'x'),
    suffix: fc.constantFrom('', ' ', '"', '.', ',', '=', '==', '\n', '.x'),
  }),
  fc.record({
    kind: fc.constant('swapClaimType' as const),
    claim: fc.constantFrom(...CLAIMS),
    value: typedValue,
  }),
  fc.record({ kind: fc.constant('dropClaim' as const), claim: fc.constantFrom(...CLAIMS) }),
  fc.record({
    kind: fc.constant('addHeaderField' as const),
    field: fc.constantFrom(...HEADER_KEY_FIELDS),
    value: keyFieldValue,
  }),
  fc.record({
    kind: fc.constant('setAlg' as const),
    value: fc.constantFrom<unknown>(
      'none',
      'None',
      'NONE',
      'HS384',
      'HS512',
      'RS256',
      'ES256',
      'PS256',
      'hs256',
      'HS256 ',
      '',
      null,
      undefined,
    ),
  }),
  fc.record({
    kind: fc.constant('rewriteJson' as const),
    segment: fc.constantFrom(0 as const, 1 as const),
    style: fc.constantFrom(
      'spaces' as const,
      'reversed' as const,
      'duplicateKey' as const,
      'bom' as const,
    ),
  }),
  fc.record({ kind: fc.constant('transplant' as const), segment: segmentIndex }),
  fc.record({
    kind: fc.constant('insertChar' as const),
    position,
    char: fc.oneof(
      fc.constantFrom('.', '=', '+', '/', '-', '_', 'A', '%', '\u0000'),
      fc.string({ minLength: 1, maxLength: 1 }),
    ),
  }),
  fc.record({ kind: fc.constant('deleteChar' as const), position }),
  fc.record({ kind: fc.constant('truncate' as const), keep: position }),
);

const at = <T>(list: readonly T[], index: number): T => list[index % list.length]!;

function decodeJson(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function rewriteSegmentJson(
  token: string,
  segment: 0 | 1,
  edit: (json: Record<string, unknown>) => string,
): string {
  const parts = token.split('.');
  if (parts.length <= segment) return token;
  const json = decodeJson(parts[segment]!);
  if (json === null) return token;
  parts[segment] = b64url(edit(json));
  return parts.join('.');
}

/** Applies one mutation; `donor` is another token the test signed (for transplants). */
export function applyMutation(token: string, mutation: Mutation, donor: string): string {
  const parts = token.split('.');
  const segment = 'segment' in mutation ? Math.min(mutation.segment, parts.length - 1) : 0;
  switch (mutation.kind) {
    case 'flipTextBit': {
      const text = parts[segment]!;
      if (text.length === 0) return token;
      const index = mutation.position % text.length;
      const flipped = String.fromCharCode(text.charCodeAt(index) ^ (1 << mutation.bit));
      parts[segment] = text.slice(0, index) + flipped + text.slice(index + 1);
      return parts.join('.');
    }
    case 'flipByteBit': {
      const bytes = Buffer.from(parts[segment]!, 'base64url');
      if (bytes.length === 0) return token;
      bytes[mutation.position % bytes.length]! ^= 1 << mutation.bit;
      parts[segment] = bytes.toString('base64url');
      return parts.join('.');
    }
    case 'dropSegment':
      parts.splice(segment, 1);
      return parts.join('.');
    case 'duplicateSegment':
      parts.splice(Math.min(mutation.at, parts.length), 0, parts[segment]!);
      return parts.join('.');
    case 'reencode': {
      const bytes = Buffer.from(parts[segment]!, 'base64url');
      parts[segment] =
        mutation.style === 'padded'
          ? bytes.toString('base64url') +
            '='.repeat((4 - (bytes.toString('base64url').length % 4)) % 4)
          : mutation.style === 'standard'
            ? bytes.toString('base64')
            : mutation.style === 'standardUnpadded'
              ? bytes.toString('base64').replace(/=+$/, '')
              : bytes.toString('hex');
      return parts.join('.');
    }
    case 'insertWhitespace': {
      const index = mutation.position % (token.length + 1);
      return token.slice(0, index) + mutation.whitespace + token.slice(index);
    }
    case 'wrap':
      return mutation.prefix + token + mutation.suffix;
    case 'swapClaimType':
      return rewriteSegmentJson(token, 1, (json) =>
        JSON.stringify({ ...json, [mutation.claim]: mutation.value }),
      );
    case 'dropClaim':
      return rewriteSegmentJson(token, 1, (json) => {
        const { [mutation.claim]: _dropped, ...rest } = json;
        return JSON.stringify(rest);
      });
    case 'addHeaderField':
      return rewriteSegmentJson(token, 0, (json) =>
        JSON.stringify({ ...json, [mutation.field]: mutation.value }),
      );
    case 'setAlg':
      return rewriteSegmentJson(token, 0, (json) =>
        JSON.stringify({ ...json, alg: mutation.value }),
      );
    case 'rewriteJson':
      return rewriteSegmentJson(token, mutation.segment, (json) => {
        switch (mutation.style) {
          case 'spaces':
            return JSON.stringify(json, null, 1);
          case 'reversed':
            return JSON.stringify(Object.fromEntries(Object.entries(json).reverse()));
          case 'duplicateKey': {
            const [first] = Object.keys(json);
            return first === undefined
              ? '{}'
              : `{${JSON.stringify(first)}:null,${JSON.stringify(json).slice(1)}`;
          }
          case 'bom':
            return `\ufeff${JSON.stringify(json)}`;
        }
      });
    case 'transplant': {
      const donorParts = donor.split('.');
      parts[segment] = at(donorParts, segment);
      return parts.join('.');
    }
    case 'insertChar': {
      const index = mutation.position % (token.length + 1);
      return token.slice(0, index) + mutation.char + token.slice(index);
    }
    case 'deleteChar': {
      if (token.length === 0) return token;
      const index = mutation.position % token.length;
      return token.slice(0, index) + token.slice(index + 1);
    }
    case 'truncate':
      return token.slice(0, mutation.keep % (token.length + 1));
  }
}
