// Strict decoders: Node's Buffer.from(s, 'base64') silently skips junk, so validate the alphabet first.

const BASE64URL_RE = /^[A-Za-z0-9_-]*$/;
// eslint-disable-next-line security/detect-unsafe-regex -- linear: fixed-width groups, no overlap between repeats
const BASE64_PADDED_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// eslint-disable-next-line security/detect-unsafe-regex -- linear: fixed-width groups, no overlap between repeats
const BASE64URL_UNPADDED_RE = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$/;

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decodes unpadded base64url; null when the text is not canonical (bad alphabet, bad length, stray bits). */
export function decodeBase64UrlStrict(text: string): Buffer | null {
  return BASE64URL_RE.test(text) ? decodeBase64UrlAlphabetChecked(text) : null;
}

/**
 * decodeBase64UrlStrict for text already known to hold only base64url characters (a segment of
 * a token that matched the compact-JWS pattern): the same length and trailing-bits checks.
 */
export function decodeBase64UrlAlphabetChecked(text: string): Buffer | null {
  const tail = text.length % 4;
  if (tail === 1) return null;
  // Canonical means the bits past the last whole byte are zero: the low 4 bits of the last
  // character after 2 characters of a group, the low 2 after 3 (same as a re-encode round trip).
  if (
    tail !== 0 &&
    (BASE64URL_ALPHABET.indexOf(text[text.length - 1]!) & (tail === 2 ? 0x0f : 0x03)) !== 0
  ) {
    return null;
  }
  return Buffer.from(text, 'base64url');
}

/** Decodes canonical standard base64 with its `=` padding; null otherwise. */
export function decodeBase64Strict(text: string): Buffer | null {
  if (text.length % 4 !== 0 || !BASE64_PADDED_RE.test(text)) return null;
  // Canonical: zero bits past the last byte, in the last character before the padding.
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const lastData = padding === 0 ? 0 : BASE64_ALPHABET.indexOf(text[text.length - 1 - padding]!);
  if ((lastData & (padding === 2 ? 0x0f : padding === 1 ? 0x03 : 0)) !== 0) return null;
  return Buffer.from(text, 'base64');
}

/**
 * Decodes base64 or base64url, padded or not, as long as the text is canonical
 * in one alphabet (no mixing of `+/` with `-_`). Null otherwise.
 */
export function decodeBase64AnyStrict(text: string): Buffer | null {
  if (text.includes('-') || text.includes('_')) {
    const unpadded = stripPadding(text);
    if (unpadded === null || !BASE64URL_UNPADDED_RE.test(unpadded)) return null;
    return decodeBase64UrlStrict(unpadded);
  }
  if (text.endsWith('=')) return decodeBase64Strict(text);
  const padded = text + '='.repeat((4 - (text.length % 4)) % 4);
  return text.length % 4 === 1 ? null : decodeBase64Strict(padded);
}

function stripPadding(text: string): string | null {
  const unpadded = text.replace(/={1,2}$/, '');
  if (unpadded !== text && text.length % 4 !== 0) return null;
  return unpadded;
}
