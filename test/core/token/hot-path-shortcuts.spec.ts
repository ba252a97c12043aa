// The verify path's shortcuts (no re-encode for canonical base64url, the remembered header) must
// give the same verdicts as the plain definitions they replace.
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import {
  newAcceptedHeaderMemo,
  verifyApproovToken,
  verifyJws,
} from '../../../src/core/token/jws.js';
import { TokenKeyring } from '../../../src/core/keys/keyring.js';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import {
  decodeBase64Strict,
  decodeBase64UrlAlphabetChecked,
  decodeBase64UrlStrict,
} from '../../../src/core/encoding/base64.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const base64UrlText = fc
  .array(fc.constantFrom(...ALPHABET), { maxLength: 64 })
  .map((chars) => chars.join(''));

/** The definition: canonical when Node's decoder gives bytes that re-encode to the same text. */
const isCanonical = (text: string): boolean =>
  /^[A-Za-z0-9_-]*$/.test(text) &&
  text.length % 4 !== 1 &&
  Buffer.from(text, 'base64url').toString('base64url') === text;

describe('canonical base64url without a re-encode', () => {
  it('accepts exactly the texts that re-encode to themselves, with the same bytes', () => {
    fc.assert(
      fc.property(base64UrlText, (text) => {
        const decoded = decodeBase64UrlStrict(text);
        expect(decoded !== null).toBe(isCanonical(text));
        expect(decodeBase64UrlAlphabetChecked(text)?.equals(Buffer.from(text, 'base64url'))).toBe(
          isCanonical(text) ? true : undefined,
        );
        if (decoded !== null) expect(decoded.equals(Buffer.from(text, 'base64url'))).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(
          decodeBase64UrlStrict(Buffer.from(bytes).toString('base64url'))?.equals(
            Buffer.from(bytes),
          ),
        ).toBe(true);
      }),
    );
  });

  it('rejects stray low bits in the last character', () => {
    expect(decodeBase64UrlStrict('QQ')).not.toBeNull(); // 'A'
    expect(decodeBase64UrlStrict('QR')).toBeNull();
    expect(decodeBase64UrlStrict('QUI')).not.toBeNull(); // 'AB'
    expect(decodeBase64UrlStrict('QUJ')).toBeNull();
    expect(decodeBase64UrlStrict('Q')).toBeNull();
    expect(decodeBase64UrlStrict('QQ=')).toBeNull();
  });
});

describe('canonical padded base64 without a re-encode', () => {
  const base64Text = fc
    .tuple(
      fc.array(
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'),
        { maxLength: 64 },
      ),
      fc.constantFrom('', '=', '=='),
    )
    .map(([chars, padding]) => chars.join('') + padding);
  const isCanonicalBase64 = (text: string): boolean =>
    text.length % 4 === 0 &&
    /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text) &&
    Buffer.from(text, 'base64').toString('base64') === text;

  it('accepts exactly the texts that re-encode to themselves, with the same bytes', () => {
    fc.assert(
      fc.property(base64Text, (text) => {
        const decoded = decodeBase64Strict(text);
        expect(decoded !== null).toBe(isCanonicalBase64(text));
        if (decoded !== null) expect(decoded.equals(Buffer.from(text, 'base64'))).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('round-trips any bytes and rejects stray low bits before the padding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(
          decodeBase64Strict(Buffer.from(bytes).toString('base64'))?.equals(Buffer.from(bytes)),
        ).toBe(true);
      }),
    );
    expect(decodeBase64Strict('QQ==')).not.toBeNull();
    expect(decodeBase64Strict('QR==')).toBeNull();
    expect(decodeBase64Strict('QUI=')).not.toBeNull();
    expect(decodeBase64Strict('QUJ=')).toBeNull();
  });
});

describe('the remembered header segment', () => {
  const secret = createApproovSecret();
  const keys = TokenKeyring.ofSecrets([createSecretKey(Buffer.from(secret, 'base64'))]);
  const key = Buffer.from(secret, 'base64');
  const now = 1_700_000_000;
  const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  let memo = newAcceptedHeaderMemo();
  beforeEach(() => (memo = newAcceptedHeaderMemo()));
  const sign = (header: unknown, claims: unknown) => {
    const input = `${segment(header)}.${segment(claims)}`;
    return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
  };

  it('still judges every other header after a valid token was accepted', () => {
    const valid = createApproovToken({ secret, now });
    expect(verifyApproovToken(valid, keys, now, {}, memo).ok).toBe(true);
    const claims = { exp: now + 60 };
    expect(
      verifyApproovToken(sign({ alg: 'none', typ: 'JWT' }, claims), keys, now, {}, memo),
    ).toEqual({
      ok: false,
      code: 'token_algorithm_not_allowed',
    });
    expect(
      verifyApproovToken(sign({ alg: 'HS512', typ: 'JWT' }, claims), keys, now, {}, memo),
    ).toEqual({
      ok: false,
      code: 'token_algorithm_not_allowed',
    });
    expect(
      verifyApproovToken(
        sign({ alg: 'HS256', typ: 'JWT', crit: ['x'] }, claims),
        keys,
        now,
        {},
        memo,
      ),
    ).toEqual({
      ok: false,
      code: 'token_malformed',
    });
    expect(verifyApproovToken(sign(['HS256'], claims), keys, now, {}, memo)).toEqual({
      ok: false,
      code: 'token_malformed',
    });
    expect(verifyApproovToken(valid, keys, now, {}, memo).ok).toBe(true);
  });

  it('does not let a remembered header vouch for the rest of a token', () => {
    const valid = createApproovToken({ secret, now });
    expect(verifyApproovToken(valid, keys, now, {}, memo).ok).toBe(true);
    const [header, payload] = valid.split('.');
    const forged = `${header}.${payload}.${Buffer.alloc(32).toString('base64url')}`;
    expect(verifyApproovToken(forged, keys, now, {}, memo)).toEqual({
      ok: false,
      code: 'token_signature_invalid',
    });
    const otherKey = createApproovToken({ secret: createApproovSecret(), now });
    expect(otherKey.split('.')[0]).toBe(header);
    expect(verifyApproovToken(otherKey, keys, now, {}, memo)).toEqual({
      ok: false,
      code: 'token_signature_invalid',
    });
  });

  it('hands out the remembered header frozen, so no caller can alter what the next one sees', () => {
    const valid = createApproovToken({ secret, now });
    const first = verifyJws(valid, keys, memo);
    const second = verifyJws(valid, keys, memo);
    if (!first.ok || !second.ok) throw new Error('expected a valid token');
    expect(Object.isFrozen(second.header)).toBe(true);
    expect(second.header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(second.header).toBe(memo.header);
  });

  it('is held by its owner only: no module-level state carries a header from one verifier to another', () => {
    const valid = createApproovToken({ secret, now });
    expect(verifyJws(valid, keys, memo).ok).toBe(true);
    expect(memo.segment).toBe(valid.split('.')[0]);
    const other = newAcceptedHeaderMemo();
    expect(other.segment).toBe('');
    expect(verifyJws(valid, keys).ok).toBe(true);
    expect(other.segment).toBe('');
  });
});

describe('the remembered header under a keyring whose key ids choose the key', () => {
  const bytes = randomBytes(32);
  const keyring = new TokenKeyring([{ kid: 'k1', key: createSecretKey(bytes) }]);
  const now = 1_700_000_000;
  const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const sign = (header: unknown, key: Buffer = bytes) => {
    const input = `${segment(header)}.${segment({ exp: now + 60 })}`;
    return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
  };

  it('runs the key-id rules on every header it has not accepted, with the same verdicts', () => {
    const memo = newAcceptedHeaderMemo();
    const headers = [
      { alg: 'HS256', kid: 'k1' },
      { alg: 'HS256', kid: 5 },
      { alg: 'HS256', kid: 'k1', jku: 'https://example.com/jwks.json' },
      { alg: 'HS256', kid: 'other' },
      { alg: 'RS256', kid: 'k1' },
      { alg: 'HS256', kid: 'k1' },
    ];
    const remembered = headers.map((header) => verifyJws(sign(header), keyring, memo).ok);
    const fresh = headers.map((header) => verifyJws(sign(header), keyring).ok);
    expect(remembered).toEqual([true, false, false, false, false, true]);
    expect(remembered).toEqual(fresh);
    expect(memo.header).toEqual({ alg: 'HS256', kid: 'k1' });
  });

  it('does not let the remembered kid vouch for a signature under another key', () => {
    const memo = newAcceptedHeaderMemo();
    expect(verifyJws(sign({ alg: 'HS256', kid: 'k1' }), keyring, memo).ok).toBe(true);
    expect(verifyJws(sign({ alg: 'HS256', kid: 'k1' }, randomBytes(32)), keyring, memo)).toEqual({
      ok: false,
      code: 'token_signature_invalid',
    });
  });
});
