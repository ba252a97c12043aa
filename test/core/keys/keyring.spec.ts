import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import {
  approovKeyPairFrom,
  createApproovKeyPair,
  createApproovKeysetToken,
  startApproovJwksServer,
  type ApproovJwksServer,
  type ApproovKeyPair,
} from 'nestjs-approov/testing';
import { JwksKeySet, DEFAULT_KEYSET_FETCH_OPTIONS } from '../../../src/core/keys/keyset.js';
import { TokenKeyring } from '../../../src/core/keys/keyring.js';
import { parseApproovSecretEntries } from '../../../src/core/keys/secret.js';
import type { AsymmetricAlgorithm } from '../../../src/core/keys/algorithms.js';
import { verifyApproovToken } from '../../../src/core/token/jws.js';
import { jsonSegment, rawSegment, signJws } from '../../support/jws-kit.js';

const NOW = Math.floor(Date.now() / 1000);
const SECRET = randomBytes(32);

const es256 = createApproovKeyPair('ES256', 'ec-1');
const rs256 = createApproovKeyPair('RS256', 'rsa-1');
const ps256 = createApproovKeyPair('PS256', 'ps-1');
const ed25519 = createApproovKeyPair('EdDSA', 'ed-1');
const attacker = createApproovKeyPair('ES256', 'ec-1');

const servers: ApproovJwksServer[] = [];
const keysets: JwksKeySet[] = [];

async function keyringWith(
  keys: ApproovKeyPair[],
  algorithms: AsymmetricAlgorithm[] = ['ES256', 'RS256'],
  secrets: unknown = undefined,
): Promise<TokenKeyring> {
  const server = await startApproovJwksServer(...keys);
  servers.push(server);
  const keyset = new JwksKeySet({
    ...DEFAULT_KEYSET_FETCH_OPTIONS,
    uri: new URL(server.url),
    algorithms,
  });
  keysets.push(keyset);
  expect(await keyset.start()).toBe(true);
  const parsed =
    secrets === undefined
      ? []
      : parseApproovSecretEntries({ value: secrets, setting: 'secret option' });
  return new TokenKeyring(parsed, keyset, algorithms);
}

const token = (
  key: ApproovKeyPair,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
) => createApproovKeysetToken({ key, claims, joseHeader: header, now: NOW });

let keyring: TokenKeyring;
beforeAll(async () => {
  keyring = await keyringWith(
    [es256, rs256, ps256, ed25519],
    ['ES256', 'RS256'],
    SECRET.toString('base64'),
  );
});
afterAll(async () => {
  for (const keyset of keysets) keyset.close();
  await Promise.all(servers.map((server) => server.close()));
});

const verify = (text: string, ring = keyring, options = {}) =>
  verifyApproovToken(text, ring, NOW, options);

describe('keyring tokens: accepted', () => {
  it('accepts an ES256 token signed by the key its kid names', () => {
    expect(verify(token(es256, { did: 'd1' }))).toEqual({
      ok: true,
      claims: { exp: NOW + 300, did: 'd1' },
    });
  });

  it('accepts an RS256 token signed by the key its kid names', () => {
    expect(verify(token(rs256)).ok).toBe(true);
  });

  it('accepts an HS256 token under the configured secret beside the keyset', () => {
    expect(verify(signJws({ exp: NOW + 60 }, SECRET)).ok).toBe(true);
  });

  it('accepts PS256 and EdDSA only when the algorithms option lists them', async () => {
    expect(verify(token(ps256))).toEqual({ ok: false, code: 'token_algorithm_not_allowed' });
    expect(verify(token(ed25519))).toEqual({ ok: false, code: 'token_algorithm_not_allowed' });
    const wide = await keyringWith([ps256, ed25519], ['PS256', 'EdDSA']);
    expect(verify(token(ps256), wide).ok).toBe(true);
    expect(verify(token(ed25519), wide).ok).toBe(true);
  });

  it('tries the keys of the matching type for a token without kid', () => {
    expect(verify(token(rs256, {}, { kid: undefined })).ok).toBe(true);
    expect(verify(token(es256, {}, { kid: undefined })).ok).toBe(true);
  });

  it('tries at most four keys for a token without kid', async () => {
    const many = Array.from({ length: 6 }, (_, i) => createApproovKeyPair('ES256', `many-${i}`));
    const ring = await keyringWith(many);
    expect(verify(token(many[3]!, {}, { kid: undefined }), ring).ok).toBe(true);
    expect(verify(token(many[5]!, {}, { kid: undefined }), ring)).toEqual({
      ok: false,
      code: 'token_signature_invalid',
    });
    expect(verify(token(many[5]!), ring).ok).toBe(true);
  });
});

describe('keyring tokens: the existing rules apply to every algorithm', () => {
  it('requires exp', () => {
    expect(verify(token(es256, { exp: undefined }))).toEqual({
      ok: false,
      code: 'token_expiration_missing',
    });
  });

  it('rejects an expired ES256 token', () => {
    expect(verify(createApproovKeysetToken({ key: es256, expiresIn: -1, now: NOW }))).toEqual({
      ok: false,
      code: 'token_expired',
    });
  });

  it('checks iss and aud when configured', () => {
    const options = { issuer: 'https://approov.io', audience: 'api.example.com' };
    const good = { iss: 'https://approov.io', aud: 'api.example.com' };
    expect(verify(token(es256, good), keyring, options).ok).toBe(true);
    expect(
      verify(token(es256, { ...good, iss: 'https://evil.example' }), keyring, options),
    ).toEqual({
      ok: false,
      code: 'token_issuer_invalid',
    });
    expect(verify(token(rs256, { ...good, aud: 'other' }), keyring, options)).toEqual({
      ok: false,
      code: 'token_audience_invalid',
    });
  });

  it('rejects a token over 4 KiB', () => {
    expect(verify(token(es256, { filler: 'x'.repeat(4096) }))).toEqual({
      ok: false,
      code: 'token_malformed',
    });
  });

  it('rejects a non-canonical signature encoding and a DER ECDSA signature', () => {
    const valid = token(es256);
    const [h, p, s] = valid.split('.') as [string, string, string];
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(
      s.at(-1)!,
    );
    const stray =
      s.slice(0, -1) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[last | 1];
    expect(verify(`${h}.${p}.${stray}`)).toEqual({ ok: false, code: 'token_signature_invalid' });
    const der = sign('sha256', Buffer.from(`${h}.${p}`), es256.privateKey).toString('base64url');
    expect(verify(`${h}.${p}.${der}`)).toEqual({ ok: false, code: 'token_signature_invalid' });
  });

  it('rejects crit', () => {
    expect(verify(token(es256, {}, { crit: ['exp'] }))).toEqual({
      ok: false,
      code: 'token_malformed',
    });
  });
});

describe('keyring tokens: kid routing', () => {
  it('picks exactly the key the kid names: a token signed by another key fails', () => {
    expect(verify(token(attacker))).toEqual({ ok: false, code: 'token_signature_invalid' });
  });

  it('rejects an unknown kid with token_key_id_unknown, marked as curable by one refetch', () => {
    expect(verify(token(es256, {}, { kid: 'no-such-key' }))).toEqual({
      ok: false,
      code: 'token_key_id_unknown',
      refetch: true,
    });
  });

  it('rejects a kid that is not a short string', () => {
    expect(verify(token(es256, {}, { kid: 7 }))).toEqual({ ok: false, code: 'token_malformed' });
    expect(verify(token(es256, {}, { kid: '' }))).toEqual({ ok: false, code: 'token_malformed' });
  });

  it('lets an HS256 kid pick its secret, and rejects a kid that names no secret', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const secrets = [
      { kid: 'a', value: a.toString('base64') },
      { kid: 'b', value: b.toString('base64') },
    ];
    const ring = new TokenKeyring(
      parseApproovSecretEntries({ value: secrets, setting: 'secret option' }),
      undefined,
      [],
    );
    const hs = (key: Buffer, kid?: string) =>
      signJws({ exp: NOW + 60 }, key, { alg: 'HS256', typ: 'JWT', kid });
    expect(verify(hs(a, 'a'), ring).ok).toBe(true);
    expect(verify(hs(b, 'b'), ring).ok).toBe(true);
    expect(verify(hs(a, 'b'), ring)).toEqual({ ok: false, code: 'token_signature_invalid' });
    expect(verify(hs(a, 'c'), ring)).toEqual({ ok: false, code: 'token_key_id_unknown' });
    expect(verify(hs(b), ring).ok).toBe(true);
  });

  it('tries unnamed secrets for an HS256 kid that names none', () => {
    const plain = randomBytes(32);
    const ring = new TokenKeyring(
      parseApproovSecretEntries({
        value: [{ kid: 'a', value: randomBytes(32).toString('base64') }, plain.toString('base64')],
        setting: 's',
      }),
      undefined,
      [],
    );
    expect(
      verify(signJws({ exp: NOW + 60 }, plain, { alg: 'HS256', kid: 'anything' }), ring).ok,
    ).toBe(true);
  });
});

describe('keyring tokens: attacks', () => {
  const claims = { exp: NOW + 60 };

  it('rejects HS256 signed with the public key PEM as the HMAC secret', async () => {
    const pem = Buffer.from(rs256.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    const publicPem = Buffer.from(
      (await import('node:crypto'))
        .createPublicKey(rs256.privateKey)
        .export({ type: 'spki', format: 'pem' }) as string,
    );
    const keysetOnly = await keyringWith([rs256]);
    for (const secret of [publicPem, pem]) {
      const forged = signJws(claims, secret, { alg: 'HS256', typ: 'JWT', kid: 'rsa-1' });
      expect(verify(forged, keysetOnly)).toEqual({
        ok: false,
        code: 'token_algorithm_not_allowed',
      });
      expect(verify(forged)).toEqual({ ok: false, code: 'token_signature_invalid' });
    }
  });

  it('rejects HS256 signed with the public JWK text or its modulus as the HMAC secret', async () => {
    const keysetOnly = await keyringWith([rs256]);
    for (const secret of [
      Buffer.from(JSON.stringify(rs256.publicJwk)),
      Buffer.from(String(rs256.publicJwk.n), 'base64url'),
    ]) {
      const forged = signJws(claims, secret, { alg: 'HS256', kid: 'rsa-1' });
      expect(verify(forged, keysetOnly)).toEqual({
        ok: false,
        code: 'token_algorithm_not_allowed',
      });
      expect(verify(forged).ok).toBe(false);
    }
  });

  it('rejects alg ES256 naming an RSA key, and RS256 naming an EC key', () => {
    expect(verify(token(es256, {}, { kid: 'rsa-1' }))).toEqual({
      ok: false,
      code: 'token_algorithm_not_allowed',
    });
    expect(verify(token(rs256, {}, { kid: 'ec-1' }))).toEqual({
      ok: false,
      code: 'token_algorithm_not_allowed',
    });
  });

  it('rejects PS256 naming a key published for RS256 only', async () => {
    const wide = await keyringWith([rs256], ['RS256', 'PS256']);
    const pss = approovKeyPairFrom(rs256.privateKey, 'PS256', 'rsa-1');
    expect(verify(token(pss), wide)).toEqual({ ok: false, code: 'token_algorithm_not_allowed' });
    expect(verify(token(rs256), wide).ok).toBe(true);
  });

  it('rejects alg none in any casing, with or without a signature', () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const unsigned = `${jsonSegment({ alg, kid: 'ec-1' })}.${jsonSegment(claims)}.`;
      expect(verify(unsigned).ok).toBe(false);
      expect(verify(`${unsigned}${rawSegment('x')}`)).toEqual({
        ok: false,
        code: 'token_algorithm_not_allowed',
      });
    }
  });

  it('rejects a token carrying its own key: embedded jwk, jku, x5u or x5c', () => {
    const ownKey = { jwk: attacker.publicJwk };
    expect(verify(token(attacker, {}, ownKey))).toEqual({ ok: false, code: 'token_malformed' });
    expect(verify(token(attacker, {}, { kid: 'fresh', ...ownKey }))).toEqual({
      ok: false,
      code: 'token_malformed',
    });
    expect(verify(token(attacker, {}, { jku: 'https://evil.example/jwks.json' }))).toEqual({
      ok: false,
      code: 'token_malformed',
    });
    expect(verify(token(attacker, {}, { x5u: 'https://evil.example/cert.pem' }))).toEqual({
      ok: false,
      code: 'token_malformed',
    });
    expect(verify(token(es256, {}, { x5c: ['MIIB'] }))).toEqual({
      ok: false,
      code: 'token_malformed',
    });
  });

  it('rejects HS384 and HS512 even with the right secret', () => {
    const h384 = `${jsonSegment({ alg: 'HS384' })}.${jsonSegment(claims)}`;
    expect(
      verify(`${h384}.${createHmac('sha384', SECRET).update(h384).digest('base64url')}`),
    ).toEqual({
      ok: false,
      code: 'token_algorithm_not_allowed',
    });
  });

  it('never uses a symmetric (oct) key published in the JWKS', async () => {
    const server = await startApproovJwksServer(es256);
    servers.push(server);
    const octSecret = randomBytes(32);
    const jwks = {
      keys: [
        { kty: 'oct', kid: 'oct-1', k: octSecret.toString('base64url'), alg: 'HS256' },
        es256.publicJwk,
      ],
    };
    const { createServer } = await import('node:http');
    const raw = createServer((_q, r) => r.end(JSON.stringify(jwks)));
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    try {
      const port = (raw.address() as { port: number }).port;
      const keyset = new JwksKeySet({
        ...DEFAULT_KEYSET_FETCH_OPTIONS,
        uri: new URL(`http://127.0.0.1:${port}/`),
        algorithms: ['ES256'],
      });
      keysets.push(keyset);
      expect(await keyset.start()).toBe(true);
      const ring = new TokenKeyring([], keyset, ['ES256']);
      expect(verify(signJws(claims, octSecret, { alg: 'HS256', kid: 'oct-1' }), ring)).toEqual({
        ok: false,
        code: 'token_algorithm_not_allowed',
      });
    } finally {
      raw.close();
    }
  });

  it('rejects an RSA key under 2048 bits in the JWKS', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const weak = approovKeyPairFrom(privateKey, 'RS256', 'weak');
    const ring = await keyringWith([weak, es256]);
    expect(verify(token(weak), ring)).toEqual({
      ok: false,
      code: 'token_key_id_unknown',
      refetch: true,
    });
  });
});
