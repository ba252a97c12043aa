import { jest } from '@jest/globals';
import { createPublicKey, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { ApproovFailureCode, ApproovModuleOptions } from 'nestjs-approov';
import {
  createApproovKeyPair,
  createApproovKeysetToken,
  startApproovJwksServer,
  type ApproovJwksServer,
  type ApproovKeyPair,
} from 'nestjs-approov/testing';
import { featureAppModule } from './apps/feature-app.js';
import { fakeDate, realClock } from '../support/fake-clock.js';
import { expectReject } from '../support/http-client.js';
import { jsonSegment, rawSegment, signJws } from '../support/jws-kit.js';
import { logCapture } from '../support/log-capture.js';
import { ADAPTERS, startApp, type AdapterFactory, type RunningApp } from '../support/nest-app.js';

// Approov keyset tokens end to end, against a real JWKS server on loopback that each test controls.

const ISSUER = 'https://approov.example';
const AUDIENCE = 'api.example.com';
const GOOD_CLAIMS = { iss: ISSUER, aud: AUDIENCE, did: 'device-1' };
const SERVICE_UNAVAILABLE_BODY = { statusCode: 503, message: 'Service Unavailable' };
const DEADLINE_MS = 300;

// The keyset's cooldowns run on Date: a test moves the clock past one instead of waiting for it.
// Date is faked before any app boots; timers and I/O stay real.
beforeAll(fakeDate);
afterAll(realClock);
const COOLDOWN_MS = 1_000;
const passCooldown = () => jest.setSystemTime(Date.now() + COOLDOWN_MS + 50);
const tokenFor = (
  key: ApproovKeyPair,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
) => createApproovKeysetToken({ key, claims: { ...GOOD_CLAIMS, ...claims }, joseHeader: header });

interface KeysetApp {
  app: RunningApp;
  jwks: ApproovJwksServer;
  codes: ApproovFailureCode[];
  get(token: string, path?: string): ReturnType<RunningApp['get']>;
  close(): Promise<void>;
}

async function startKeysetApp(
  createAdapter: AdapterFactory,
  keys: ApproovKeyPair[],
  options: Partial<ApproovModuleOptions> = {},
  jwksFailure: Parameters<ApproovJwksServer['fail']>[0] = null,
): Promise<KeysetApp> {
  const jwks = await startApproovJwksServer(...keys);
  jwks.fail(jwksFailure);
  const codes: ApproovFailureCode[] = [];
  const app = await startApp(
    featureAppModule({
      jwksUri: jwks.url,
      issuer: ISSUER,
      audience: AUDIENCE,
      onFailure: (failure) => codes.push(failure.code),
      ...options,
      keyset: { cooldownSec: COOLDOWN_MS / 1000, timeoutMs: DEADLINE_MS, ...options.keyset },
    }),
    createAdapter,
  );
  return {
    app,
    jwks,
    codes,
    get: (token, path = '/token-check') => app.get(path, { 'Approov-Token': token }),
    close: async () => {
      await app.close();
      await jwks.close();
    },
  };
}

describe.each(ADAPTERS)('keysets on %s', (_platform, createAdapter) => {
  const es256 = createApproovKeyPair('ES256', 'ec-1');
  const rs256 = createApproovKeyPair('RS256', 'rsa-1');
  let running: KeysetApp;

  beforeAll(async () => {
    running = await startKeysetApp(createAdapter, [es256, rs256]);
  });
  afterAll(() => running?.close());

  async function expectCode(
    token: string,
    code: ApproovFailureCode,
    path = '/token-check',
  ): Promise<void> {
    const before = running.codes.length;
    expectReject(await running.get(token, path));
    expect(running.codes.slice(before)).toEqual([code]);
  }

  it('serves ES256 and RS256 tokens signed by keys of the JWKS', async () => {
    for (const key of [es256, rs256]) {
      const response = await running.get(tokenFor(key), '/claims');
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({ did: 'device-1', claims: { iss: ISSUER } });
    }
  });

  it('applies the same rules in the Passport strategy', async () => {
    expect((await running.get(tokenFor(es256), '/passport')).status).toBe(200);
    await expectCode(
      tokenFor(es256, { iss: 'https://other.example' }),
      'token_issuer_invalid',
      '/passport',
    );
  });

  it('rejects an unknown kid, a wrong iss and a wrong aud with their codes', async () => {
    await expectCode(
      tokenFor(es256, {}, { kid: `unknown-${randomBytes(4).toString('hex')}` }),
      'token_key_id_unknown',
    );
    await expectCode(tokenFor(es256, { iss: 'https://other.example' }), 'token_issuer_invalid');
    await expectCode(tokenFor(rs256, { aud: 'other-api' }), 'token_audience_invalid');
  });

  it('rejects HS256 signed with the public key PEM or JWK as the secret', async () => {
    const pem = Buffer.from(
      createPublicKey(rs256.privateKey).export({ type: 'spki', format: 'pem' }) as string,
    );
    for (const secret of [pem, Buffer.from(JSON.stringify(rs256.publicJwk))]) {
      await expectCode(
        signJws({ ...GOOD_CLAIMS, exp: Date.now() / 1000 + 60 }, secret, {
          alg: 'HS256',
          kid: 'rsa-1',
        }),
        'token_algorithm_not_allowed',
      );
    }
  });

  it('rejects alg ES256 naming an RSA key, none, an embedded jwk and jku', async () => {
    const attacker = createApproovKeyPair('ES256', 'ec-1');
    await expectCode(tokenFor(es256, {}, { kid: 'rsa-1' }), 'token_algorithm_not_allowed');
    await expectCode(
      `${jsonSegment({ alg: 'none', kid: 'ec-1' })}.${jsonSegment({ ...GOOD_CLAIMS, exp: 4e9 })}.${rawSegment('x')}`,
      'token_algorithm_not_allowed',
    );
    await expectCode(tokenFor(attacker, {}, { jwk: attacker.publicJwk }), 'token_malformed');
    await expectCode(tokenFor(attacker, {}, { jku: running.jwks.url }), 'token_malformed');
    await expectCode(tokenFor(attacker), 'token_signature_invalid');
  });

  it('rotates: a new key works after one refetch, the old one until it is removed', async () => {
    const next = createApproovKeyPair('ES256', `next-${randomBytes(4).toString('hex')}`);
    running.jwks.setKeys(es256, rs256, next);
    passCooldown(); // the cooldown since the last fetch
    expect((await running.get(tokenFor(next))).status).toBe(200);
    expect((await running.get(tokenFor(es256))).status).toBe(200);

    running.jwks.setKeys(rs256, next);
    passCooldown();
    await expectCode(tokenFor(es256, {}, { kid: 'prompts-a-refetch' }), 'token_key_id_unknown');
    await expectCode(tokenFor(es256), 'token_key_id_unknown');
    expect((await running.get(tokenFor(next))).status).toBe(200);

    running.jwks.setKeys(es256, rs256);
    passCooldown();
    expect((await running.get(tokenFor(es256))).status).toBe(200);
  });

  it.each(['error', 'garbage', 'empty', 'hang'] as const)(
    'serves from the cached keys while the endpoint answers %s',
    async (mode) => {
      running.jwks.fail(mode);
      try {
        passCooldown();
        const started = Date.now();
        await expectCode(
          tokenFor(es256, {}, { kid: 'prompts-a-failed-refetch' }),
          'token_key_id_unknown',
        );
        // The refetch it waited for had a deadline; the request did not wait for a hanging endpoint.
        expect(Date.now() - started).toBeLessThan(DEADLINE_MS + 2_000);
        expect((await running.get(tokenFor(es256))).status).toBe(200);
        expect((await running.get(tokenFor(rs256))).status).toBe(200);
      } finally {
        running.jwks.fail(null);
      }
    },
  );

  it('answers no request later than the fetch deadline while the endpoint hangs', async () => {
    running.jwks.fail('hang');
    try {
      passCooldown();
      const started = Date.now();
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          running.get(tokenFor(es256, {}, { kid: `hang-${i}` })),
        ),
      );
      responses.forEach(expectReject);
      expect(Date.now() - started).toBeLessThan(DEADLINE_MS + 2_000);
    } finally {
      running.jwks.fail(null);
    }
  });

  it('fetches at most a handful of times for 10,000 requests with random kids', async () => {
    passCooldown();
    const before = running.jwks.requestCount;
    const [, payload, signature] = tokenFor(es256).split('.');
    // node:http over 16 kept-alive sockets: the flood costs the client little of the test's time.
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const statusOf = (token: string) =>
      new Promise<number>((resolve, reject) => {
        const headers = { 'Approov-Token': token };
        request(`${running.app.baseUrl}/token-check`, { agent, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
          .on('error', reject)
          .end();
      });
    let sent = 0;
    const statuses = new Map<number, number>();
    const worker = async () => {
      while (sent < 10_000) {
        sent++;
        const header = jsonSegment({ alg: 'ES256', kid: randomBytes(12).toString('hex') });
        const status = await statusOf(`${header}.${payload}.${signature}`);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: 16 }, worker));
    agent.destroy();
    const elapsedSec = (Date.now() - started) / 1000;
    expect(Object.fromEntries(statuses)).toEqual({ 401: 10_000 });
    // One fetch per cooldown (1 s here) at most, plus the one that may be in flight at the end.
    expect(running.jwks.requestCount - before).toBeLessThanOrEqual(Math.ceil(elapsedSec) + 1);
  }, 300_000);
});

describe.each(ADAPTERS)('keysets when no key ever loaded, on %s', (_platform, createAdapter) => {
  const es256 = createApproovKeyPair('ES256', 'ec-1');

  it('refuses to boot by default, naming jwksUri', async () => {
    const jwks = await startApproovJwksServer(es256);
    jwks.fail('error');
    logCapture.start();
    const app = await NestFactory.create(
      featureAppModule({ jwksUri: jwks.url, keyset: { timeoutMs: DEADLINE_MS } }),
      createAdapter(),
      {
        logger: logCapture.logger,
        abortOnError: false,
      },
    );
    try {
      await expect(app.init()).rejects.toThrow(/"jwksUri".*HTTP 503/);
    } finally {
      await app.close().catch(() => undefined);
      await jwks.close();
    }
  });

  it('with requireAtBoot false: 503 until keys load, then 200; HS256 keeps working', async () => {
    const secret = randomBytes(32);
    const running = await startKeysetApp(
      createAdapter,
      [es256],
      { secret: secret.toString('base64'), keyset: { requireAtBoot: false } },
      'error',
    );
    try {
      const response = await running.get(tokenFor(es256));
      expect(response.status).toBe(503);
      expect(JSON.parse(response.body)).toEqual(SERVICE_UNAVAILABLE_BODY);
      expect(running.codes).toEqual(['keyset_unavailable']);
      const hs256 = signJws({ ...GOOD_CLAIMS, exp: Date.now() / 1000 + 60 }, secret);
      expect((await running.get(hs256)).status).toBe(200);

      running.jwks.fail(null);
      passCooldown();
      expect((await running.get(tokenFor(es256))).status).toBe(200);
      // Keys that loaded once are kept while the endpoint fails: no more 503.
      running.jwks.fail('error');
      passCooldown();
      expect((await running.get(tokenFor(es256, {}, { kid: 'unknown' }))).status).toBe(401);
      expect((await running.get(tokenFor(es256))).status).toBe(200);
    } finally {
      await running.close();
    }
  });
});

describe('the logs of the keyset suites', () => {
  afterAll(() => logCapture.stop());

  it('hold no secret or token', () => {
    expect(logCapture.leaks()).toEqual([]);
  });
});
