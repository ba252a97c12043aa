// Hand-made compact JWS for negative tests: every field, encoding and MAC is chosen by the test.
import { createHmac } from 'node:crypto';

export type HmacHash = 'sha256' | 'sha384' | 'sha512';

/** base64url (unpadded) of raw bytes or text. */
export const rawSegment = (bytes: string | Buffer): string =>
  Buffer.from(bytes).toString('base64url');

/** base64url (unpadded) of a value's JSON text. */
export const jsonSegment = (value: unknown): string => rawSegment(JSON.stringify(value));

/** base64url HMAC of `signingInput`. */
export const hmacSegment = (key: Buffer, signingInput: string, hash: HmacHash = 'sha256'): string =>
  createHmac(hash, key).update(signingInput).digest('base64url');

/** `header.payload.signature` with the MAC computed over exactly the given segment texts. */
export function signSegments(
  headerSegment: string,
  payloadSegment: string,
  key: Buffer,
  hash: HmacHash = 'sha256',
): string {
  const signingInput = `${headerSegment}.${payloadSegment}`;
  return `${signingInput}.${hmacSegment(key, signingInput, hash)}`;
}

/** A JWS from JSON header and payload (defaults: HS256/JWT header), signed with `key`. */
export function signJws(
  payload: unknown,
  key: Buffer,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
  hash: HmacHash = 'sha256',
): string {
  return signSegments(jsonSegment(header), jsonSegment(payload), key, hash);
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The same bytes with non-zero unused trailing bits in the last character: lenient decoders read
 * it as the same value, a canonical decoder must refuse it. Needs a length that is not a multiple of 4.
 */
export function withStrayBits(segment: string): string {
  const unusedBits = segment.length % 4 === 2 ? 4 : segment.length % 4 === 3 ? 2 : 0;
  if (unusedBits === 0) throw new Error('withStrayBits: segment has no unused trailing bits');
  const last = ALPHABET.indexOf(segment.at(-1)!);
  return segment.slice(0, -1) + ALPHABET[last | 1]!;
}

/** Pads `fields` with a filler claim until the JSON's base64url segment has a length of `length % 4 === rest`. */
export function withSegmentRemainder(
  fields: Record<string, unknown>,
  rest: 2 | 3,
): Record<string, unknown> {
  for (let filler = ''; filler.length < 8; filler += 'x') {
    const candidate = { ...fields, f: filler };
    if (jsonSegment(candidate).length % 4 === rest) return candidate;
  }
  throw new Error('withSegmentRemainder: unreachable');
}
