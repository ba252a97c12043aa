/** The longest key id a secret, a JWK or a token may carry. */
export const MAX_KID_LENGTH = 256;

/** A key id as secrets, JWKs and tokens must spell it: a non-empty string of at most MAX_KID_LENGTH. */
export function isKeyId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_KID_LENGTH;
}
