import { createHash } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { checkTokenBinding } from '../../src/core/token/binding.js';
import { TokenKeyring } from '../../src/core/keys/keyring.js';
import { parseApproovSecrets } from '../../src/core/keys/secret.js';
import { verifyApproovToken } from '../../src/core/token/jws.js';
import {
  approovBindingHash,
  createApproovInstallationKey,
  createApproovSecret,
  createApproovToken,
  signApproovRequest,
} from 'nestjs-approov/testing';
import { approovVectorSets } from '../support/approov-vectors.js';

const setA = approovVectorSets[0]!;
const SECRET = setA.secret_base64;
const keyring = TokenKeyring.ofSecrets(
  parseApproovSecrets({ value: SECRET, setting: 'test secret' }),
);
const NOW = 1_800_000_000;

const decodePart = (token: string, index: 0 | 1): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;

describe('createApproovToken', () => {
  it('reproduces a token of Approov public vectors byte for byte', () => {
    const published = setA.cases[0]!.headers['Approov-Token']!;
    const payload = decodePart(published, 1);
    expect(createApproovToken({ secret: SECRET, claims: payload })).toBe(published);
  });

  it('mints a token that the core verifies, with exp 300 s after now by default', () => {
    const token = createApproovToken({ secret: SECRET, now: NOW });
    const result = verifyApproovToken(token, keyring, NOW + 299);
    expect(result).toEqual({ ok: true, claims: { exp: NOW + 300 } });
    expect(verifyApproovToken(token, keyring, NOW + 300)).toEqual({
      ok: false,
      code: 'token_expired',
    });
  });

  it('mints a standard HS256 JWT that an independent library (jsonwebtoken) accepts', () => {
    const token = createApproovToken({ secret: SECRET, claims: { did: 'device-1' } });
    const decoded = jwt.verify(token, Buffer.from(SECRET, 'base64'), {
      algorithms: ['HS256'],
    }) as jwt.JwtPayload;
    expect(decoded.did).toBe('device-1');
    expect(decodePart(token, 0)).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  it('accepts the secret as base64url text or as raw bytes, with the same result', () => {
    const bytes = Buffer.from(SECRET, 'base64');
    const fromBase64 = createApproovToken({ secret: SECRET, now: NOW });
    expect(createApproovToken({ secret: bytes.toString('base64url'), now: NOW })).toBe(fromBase64);
    expect(createApproovToken({ secret: bytes, now: NOW })).toBe(fromBase64);
  });

  it('makes an expired token from a negative expiresIn', () => {
    const token = createApproovToken({ secret: SECRET, expiresIn: -1, now: NOW });
    expect(verifyApproovToken(token, keyring, NOW)).toEqual({ ok: false, code: 'token_expired' });
  });

  it('adds and overrides claims, and leaves exp out when claims.exp is undefined', () => {
    const token = createApproovToken({
      secret: SECRET,
      now: NOW,
      claims: { exp: NOW + 5, ip: '1.2.3.4' },
    });
    expect(decodePart(token, 1)).toEqual({ exp: NOW + 5, ip: '1.2.3.4' });
    const withoutExp = createApproovToken({ secret: SECRET, claims: { exp: undefined, did: 'd' } });
    expect(decodePart(withoutExp, 1)).toEqual({ did: 'd' });
    expect(verifyApproovToken(withoutExp, keyring, NOW)).toEqual({
      ok: false,
      code: 'token_expiration_missing',
    });
  });

  it('binds the token to one header value, as the SDK binding header does', () => {
    const token = createApproovToken({ secret: SECRET, bind: 'Bearer abc' });
    const verified = verifyApproovToken(token, keyring, Date.now() / 1000);
    if (!verified.ok) throw new Error(verified.code);
    expect(checkTokenBinding(verified.claims, ['Bearer abc'])).toBeNull();
    expect(checkTokenBinding(verified.claims, ['Bearer abd'])).toBe('binding_mismatch');
  });

  it('binds to several values concatenated in the given order', () => {
    const token = createApproovToken({ secret: SECRET, bind: ['Bearer abc', 'session-1'] });
    const verified = verifyApproovToken(token, keyring, Date.now() / 1000);
    if (!verified.ok) throw new Error(verified.code);
    expect(checkTokenBinding(verified.claims, ['Bearer abc', 'session-1'])).toBeNull();
    expect(checkTokenBinding(verified.claims, ['session-1', 'Bearer abc'])).toBe(
      'binding_mismatch',
    );
    expect(verified.claims.pay).toBe(approovBindingHash('Bearer abcsession-1'));
  });

  it('lets a test override the JOSE header for negative cases', () => {
    const token = createApproovToken({ secret: SECRET, joseHeader: { alg: 'HS512' } });
    expect(decodePart(token, 0)).toEqual({ alg: 'HS512', typ: 'JWT' });
    expect(verifyApproovToken(token, keyring, Date.now() / 1000)).toEqual({
      ok: false,
      code: 'token_algorithm_not_allowed',
    });
  });

  it('is rejected under another secret', () => {
    const token = createApproovToken({ secret: createApproovSecret() });
    expect(verifyApproovToken(token, keyring, Date.now() / 1000)).toEqual({
      ok: false,
      code: 'token_signature_invalid',
    });
  });

  it.each(['not base64!', 'ab=cd', ''])(
    'throws a TypeError that does not echo the secret %p',
    (secret) => {
      expect(() => createApproovToken({ secret })).toThrow(
        new TypeError('createApproovToken: secret is not base64 or base64url'),
      );
    },
  );

  it.each([NaN, Infinity])(
    'throws a TypeError for expiresIn %p rather than minting "exp": null',
    (expiresIn) => {
      expect(() => createApproovToken({ secret: SECRET, expiresIn })).toThrow(TypeError);
    },
  );
});

describe('approovBindingHash', () => {
  it('gives the pay claim of Approov public binding vector', () => {
    const bound = setA.cases.find(
      (entry) => entry.route === '/token-binding' && entry.expect === 200,
    )!;
    const pay = decodePart(bound.headers['Approov-Token']!, 1).pay;
    expect(approovBindingHash(bound.headers.Authorization!)).toBe(pay);
  });

  it('is standard padded base64 of SHA-256 over the values concatenated with no separator', () => {
    const expected = createHash('sha256').update('Bearer xyzsession').digest('base64');
    expect(approovBindingHash('Bearer xyz', 'session')).toBe(expected);
    expect(approovBindingHash('Bearer xyz', 'session')).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it('hashes each value as latin1 bytes, as Node hands header values over', () => {
    const value = 'caf\u00e9';
    expect(approovBindingHash(value)).toBe(
      createHash('sha256')
        .update(Buffer.from([0x63, 0x61, 0x66, 0xe9]))
        .digest('base64'),
    );
  });
});

describe('createApproovSecret', () => {
  it('returns canonical base64 of 64 random bytes, a secret the module accepts', () => {
    const secret = createApproovSecret();
    expect(secret).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(Buffer.from(secret, 'base64')).toHaveLength(64);
    expect(parseApproovSecrets({ value: secret, setting: 'generated' })).toHaveLength(1);
  });

  it('returns a different secret on each call', () => {
    expect(
      new Set([createApproovSecret(), createApproovSecret(), createApproovSecret()]).size,
    ).toBe(3);
  });

  it('takes another length in bytes', () => {
    expect(Buffer.from(createApproovSecret(32), 'base64')).toHaveLength(32);
  });
});

describe('signApproovRequest SDK profiles', () => {
  const { privateKey } = createApproovInstallationKey();
  const sign = (extra: Partial<Parameters<typeof signApproovRequest>[0]>) =>
    signApproovRequest({
      privateKey,
      method: 'POST',
      url: 'http://api.example.com/orders',
      token: 'header.payload.signature',
      body: '{"id":1}',
      headers: {
        authorization: 'Bearer u',
        'approov-traceid': 't-1',
        'approov-status': 'success',
        'content-type': 'application/json',
      },
      ...extra,
    });
  const components = (input: string) => [...input.matchAll(/"([^"]+)"/g)].map((m) => m[1]);

  it.each([
    ['android (latest)', {}],
    ['android 3.5.8', { sdkVersion: '3.5.8' }],
    ['android 3.7', { sdkVersion: '3.7' }],
  ])('%s: an sf-binary, Approov headers right after the token', (_name, version) => {
    const headers = sign({ sdk: 'android', ...version });
    expect(headers.Signature).toMatch(/^install=:[A-Za-z0-9+/]+={0,2}:$/);
    expect(components(headers['Signature-Input'])).toEqual([
      '@method',
      '@target-uri',
      'approov-token',
      'approov-traceid',
      'approov-status',
      'authorization',
      'content-type',
      'content-digest',
      'ecdsa-p256-sha256',
    ]);
  });

  it('android before 3.5.8: an sf-string, authorization first', () => {
    const headers = sign({ sdk: 'android', sdkVersion: '3.5.6' });
    expect(headers.Signature).toMatch(/^install="[A-Za-z0-9+/]+={0,2}"$/);
    expect(components(headers['Signature-Input']).slice(3, 6)).toEqual([
      'authorization',
      'approov-traceid',
      'approov-status',
    ]);
  });

  it.each([
    ['a version that is not one', { sdk: 'android' as const, sdkVersion: 'latest' }],
    ['a version with four parts', { sdk: 'android' as const, sdkVersion: '3.5.8.1' }],
    ['a version without sdk android', { sdk: 'ios' as const, sdkVersion: '3.5.6' }],
  ])('refuses %s', (_name, extra) => {
    expect(() => sign(extra)).toThrow(/sdkVersion is an Android SDK version/);
  });
});
