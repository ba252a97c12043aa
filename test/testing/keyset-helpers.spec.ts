import { createPublicKey, verify } from 'node:crypto';
import {
  createApproovJwks,
  createApproovKeyPair,
  createApproovKeysetToken,
  startApproovJwksServer,
  type ApproovJwksServer,
} from 'nestjs-approov/testing';

// nestjs-approov/testing: keyset keys, tokens and a JWKS server for users' e2e tests.

describe('createApproovKeyPair and createApproovKeysetToken', () => {
  it.each(['ES256', 'RS256', 'PS256', 'EdDSA'] as const)(
    '%s: a token whose signature its public JWK verifies',
    (alg) => {
      const key = createApproovKeyPair(alg, 'k');
      expect(key.publicJwk).toMatchObject({ kid: 'k', alg, use: 'sig' });
      expect(key.publicJwk).not.toHaveProperty('d');
      const token = createApproovKeysetToken({
        key,
        claims: { did: 'd' },
        now: 1_000,
        expiresIn: 60,
      });
      const [header, payload, signature] = token.split('.') as [string, string, string];
      expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({
        alg,
        typ: 'JWT',
        kid: 'k',
      });
      expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toEqual({
        exp: 1_060,
        did: 'd',
      });
      const publicKey = createPublicKey({ key: key.publicJwk, format: 'jwk' });
      const options =
        alg === 'ES256'
          ? { key: publicKey, dsaEncoding: 'ieee-p1363' as const }
          : alg === 'PS256'
            ? { key: publicKey, padding: 6, saltLength: 32 }
            : publicKey;
      expect(
        verify(
          alg === 'EdDSA' ? null : 'sha256',
          Buffer.from(`${header}.${payload}`),
          options,
          Buffer.from(signature, 'base64url'),
        ),
      ).toBe(true);
    },
  );

  it('binds and leaves out fields on request', () => {
    const key = createApproovKeyPair();
    const token = createApproovKeysetToken({
      key,
      bind: 'Bearer x',
      claims: { exp: undefined },
      joseHeader: { kid: undefined },
    });
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map(
        (part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>,
      );
    expect(header).not.toHaveProperty('kid');
    expect(payload).not.toHaveProperty('exp');
    expect(payload!.pay).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });
});

describe('startApproovJwksServer', () => {
  let server: ApproovJwksServer;
  const first = createApproovKeyPair('ES256', 'a');
  const second = createApproovKeyPair('RS256', 'b');
  beforeAll(async () => {
    server = await startApproovJwksServer(first);
  });
  afterAll(() => server.close());

  it('serves the JWKS on 127.0.0.1 and counts requests', async () => {
    expect(new URL(server.url).hostname).toBe('127.0.0.1');
    const before = server.requestCount;
    expect(await (await fetch(server.url)).json()).toEqual(createApproovJwks(first));
    expect(server.requestCount).toBe(before + 1);
  });

  it('publishes new keys after setKeys', async () => {
    server.setKeys(first, second);
    expect(
      ((await (await fetch(server.url)).json()) as { keys: Array<{ kid: string }> }).keys.map(
        (key) => key.kid,
      ),
    ).toEqual(['a', 'b']);
  });

  it('fails as asked, and recovers', async () => {
    server.fail('error');
    expect((await fetch(server.url)).status).toBe(503);
    server.fail('garbage');
    await expect((await fetch(server.url)).json()).rejects.toThrow();
    server.fail('empty');
    expect(await (await fetch(server.url)).json()).toEqual({ keys: [] });
    server.fail('hang');
    await expect(fetch(server.url, { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    server.fail(null);
    expect((await fetch(server.url)).status).toBe(200);
  });
});
