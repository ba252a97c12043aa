import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  createApproovKeyPair,
  createApproovKeysetToken,
  startApproovJwksServer,
  type ApproovJwksServer,
} from 'nestjs-approov/testing';
import { ApproovVerifier } from '../../../src/core/token/verifier.js';
import {
  DEFAULT_KEYSET_FETCH_OPTIONS,
  JwksKeySet,
  type KeySetConfig,
  type KeySetEvent,
} from '../../../src/core/keys/keyset.js';
import { TokenKeyring } from '../../../src/core/keys/keyring.js';

const first = createApproovKeyPair('ES256', 'first');
const second = createApproovKeyPair('RS256', 'second');

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function jwksServer(
  ...keys: Parameters<typeof startApproovJwksServer>
): Promise<ApproovJwksServer> {
  const server = await startApproovJwksServer(...keys);
  cleanups.push(() => server.close());
  return server;
}

function keySet(
  url: string,
  overrides: Partial<KeySetConfig> = {},
): { keyset: JwksKeySet; events: KeySetEvent[] } {
  const keyset = new JwksKeySet({
    ...DEFAULT_KEYSET_FETCH_OPTIONS,
    uri: new URL(url),
    algorithms: ['ES256', 'RS256'],
    ...overrides,
  });
  const events: KeySetEvent[] = [];
  keyset.onEvent((event) => events.push(event));
  cleanups.push(() => keyset.close());
  return { keyset, events };
}

/** A raw loopback server for answers the JWKS helper does not give (huge, chunked, redirect). */
async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('JwksKeySet: loading', () => {
  it('loads the keys at start and looks them up by alg and kid without fetching again', async () => {
    const server = await jwksServer(first, second);
    const { keyset, events } = keySet(server.url);
    expect(await keyset.start()).toBe(true);
    expect(keyset.lookup('ES256', 'first')).toMatchObject({
      status: 'ok',
      candidates: [expect.anything()],
    });
    expect(keyset.lookup('RS256', 'second')).toMatchObject({
      status: 'ok',
      candidates: [expect.anything()],
    });
    expect(keyset.lookup('ES256', 'second')).toEqual({ status: 'ok', candidates: [] });
    expect(keyset.lookup('ES256', 'other')).toEqual({ status: 'unknown_kid' });
    expect(server.requestCount).toBe(1);
    expect(events).toEqual([{ type: 'loaded', keyCount: 2, skipped: [], changed: true }]);
  });

  it('reports unavailable before any load', async () => {
    const server = await jwksServer(first);
    const { keyset } = keySet(server.url);
    expect(keyset.lookup('ES256', 'first')).toEqual({ status: 'unavailable' });
  });

  for (const mode of ['error', 'garbage', 'empty', 'hang'] as const) {
    it(`does not load from an endpoint that answers ${mode}`, async () => {
      const server = await jwksServer(first);
      server.fail(mode);
      const { keyset, events } = keySet(server.url, { timeoutMs: 200 });
      expect(await keyset.start()).toBe(false);
      expect(keyset.lookup('ES256', 'first')).toEqual({ status: 'unavailable' });
      expect(events).toEqual([
        { type: 'fetch_failed', reason: expect.any(String), serving: 'none' },
      ]);
    });
  }

  it('gives up on a hanging endpoint at the deadline', async () => {
    const server = await jwksServer(first);
    server.fail('hang');
    const { keyset, events } = keySet(server.url, { timeoutMs: 300 });
    const started = Date.now();
    expect(await keyset.start()).toBe(false);
    // The endpoint never answers: only the deadline can have ended the fetch.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(events[0]).toMatchObject({ reason: 'no complete answer within 300 ms' });
  });

  it('refuses a response over the size cap, declared or streamed', async () => {
    const big = JSON.stringify({ keys: [first.publicJwk], pad: 'x'.repeat(5_000) });
    const declared = await rawServer((_q, r) => r.end(big));
    const streamed = await rawServer((_q, r) => {
      r.writeHead(200, { 'transfer-encoding': 'chunked' });
      r.write(big.slice(0, 3_000));
      r.end(big.slice(3_000));
    });
    for (const url of [declared, streamed]) {
      const { keyset, events } = keySet(url, { maxResponseBytes: 4_096 });
      expect(await keyset.start()).toBe(false);
      expect(events[0]).toMatchObject({ reason: expect.stringContaining('4096-byte cap') });
    }
  });

  it('refuses a redirect, which could leave https', async () => {
    const target = await jwksServer(first);
    const redirect = await rawServer((_q, r) => r.writeHead(302, { location: target.url }).end());
    const { keyset } = keySet(redirect);
    expect(await keyset.start()).toBe(false);
    expect(target.requestCount).toBe(0);
  });

  it('skips unusable keys and names why, without key material', async () => {
    const jwks = {
      keys: [
        first.publicJwk,
        { kty: 'oct', kid: 'sym', k: randomBytes(32).toString('base64url') },
        { ...second.publicJwk, kid: 'enc', use: 'enc' },
        { ...first.publicJwk, kid: 'private', d: 'AAAA' },
        { ...first.publicJwk, kid: 'p384', crv: 'P-384' },
      ],
    };
    const url = await rawServer((_q, r) => r.end(JSON.stringify(jwks)));
    const { keyset, events } = keySet(url);
    expect(await keyset.start()).toBe(true);
    const loaded = events[0] as Extract<KeySetEvent, { type: 'loaded' }>;
    expect(loaded.keyCount).toBe(1);
    expect(loaded.skipped).toHaveLength(4);
    expect(loaded.skipped.join(' ')).not.toContain(String(first.publicJwk.x));
    for (const kid of ['sym', 'enc', 'private', 'p384'])
      expect(keyset.lookup('ES256', kid)).toEqual({ status: 'unknown_kid' });
  });
});

describe('JwksKeySet: refresh and rotation', () => {
  it('refreshes in the background before the TTL ends and picks up a rotation', async () => {
    const server = await jwksServer(first);
    const { keyset } = keySet(server.url, { ttlSec: 0.25 });
    await keyset.start();
    server.setKeys(first, second);
    // The refresh runs at 80% of the TTL (200 ms here), with no request asking for it.
    for (
      let waited = 0;
      keyset.lookup('RS256', 'second').status !== 'ok' && waited < 3_000;
      waited += 50
    )
      await sleep(50);
    expect(keyset.lookup('RS256', 'second').status).toBe('ok');
    expect(server.requestCount).toBeGreaterThanOrEqual(2);
  });

  it('keeps the stale keys while the endpoint fails, within the stale bound', async () => {
    const server = await jwksServer(first);
    let now = 1_000_000;
    const { keyset, events } = keySet(server.url, {
      ttlSec: 1,
      maxStaleSec: 60,
      cooldownSec: 1,
      now: () => now,
    });
    await keyset.start();
    server.fail('error');
    expect(await keyset.refresh()).toBe(false);
    now += 1_100; // past the TTL
    expect(keyset.lookup('ES256', 'first').status).toBe('ok');
    expect(events.find((event) => event.type === 'fetch_failed')).toMatchObject({
      serving: 'stale',
    });
  });

  it('stops using keys past the stale bound', async () => {
    const server = await jwksServer(first);
    let now = 1_000_000;
    const { keyset } = keySet(server.url, { ttlSec: 10, maxStaleSec: 5, now: () => now });
    await keyset.start();
    keyset.close();
    now += 15_000;
    expect(keyset.lookup('ES256', 'first').status).toBe('ok');
    now += 1;
    expect(keyset.lookup('ES256', 'first')).toEqual({ status: 'unavailable' });
  });

  it('lets the first unknown kid after boot refetch at once: only token-asked fetches start the cooldown', async () => {
    const server = await jwksServer(first);
    const { keyset } = keySet(server.url, { cooldownSec: 30 });
    await keyset.start();
    server.setKeys(first, second);
    expect(await keyset.refetchForUnknownKey()).toBe(true);
    expect(keyset.lookup('RS256', 'second').status).toBe('ok');
    expect(keyset.refetchForUnknownKey()).toBeNull();
  });

  it('refetches for an unknown kid at most once per cooldown', async () => {
    const server = await jwksServer(first);
    let now = 1_000_000;
    const { keyset } = keySet(server.url, { cooldownSec: 30, now: () => now });
    await keyset.start();
    server.setKeys(first, second);
    now += 30_000;
    const refetch = keyset.refetchForUnknownKey();
    expect(refetch).not.toBeNull();
    expect(keyset.refetchForUnknownKey()).toBe(refetch);
    expect(await refetch).toBe(true);
    expect(keyset.lookup('RS256', 'second').status).toBe('ok');
    expect(keyset.refetchForUnknownKey()).toBeNull();
    now += 29_999;
    expect(keyset.refetchForUnknownKey()).toBeNull();
    expect(server.requestCount).toBe(2);
  });
});

describe('ApproovVerifier with a keyset', () => {
  async function verifierFor(server: ApproovJwksServer, overrides: Partial<KeySetConfig> = {}) {
    const { keyset } = keySet(server.url, overrides);
    await keyset.start();
    return new ApproovVerifier({
      keyring: new TokenKeyring([], keyset, ['ES256', 'RS256']),
    });
  }
  const request = (token: string) => ({ headers: { 'approov-token': token } });

  it('answers a known key synchronously, with no Promise', async () => {
    const verifier = await verifierFor(await jwksServer(first));
    const outcome = verifier.verifyRequestWithRefetch(
      request(createApproovKeysetToken({ key: first })),
    );
    expect(outcome).not.toBeInstanceOf(Promise);
    expect(outcome).toMatchObject({ ok: true });
  });

  it('waits for one refetch for an unknown kid, then accepts the rotated key', async () => {
    const server = await jwksServer(first);
    let now = 1_000_000;
    const verifier = await verifierFor(server, { cooldownSec: 1, now: () => now });
    server.setKeys(first, second);
    now += 1_050;
    const outcome = verifier.verifyRequestWithRefetch(
      request(createApproovKeysetToken({ key: second })),
    );
    expect(outcome).toBeInstanceOf(Promise);
    expect(await outcome).toMatchObject({ ok: true });
  });

  it('forgets cached tokens of a key removed by a rotation', async () => {
    const server = await jwksServer(first, second);
    let now = 1_000_000;
    const verifier = await verifierFor(server, { cooldownSec: 1, now: () => now });
    const token = createApproovKeysetToken({ key: second });
    expect(verifier.verifyToken(token).ok).toBe(true);
    server.setKeys(first);
    now += 1_050;
    expect(
      await verifier.verifyRequestWithRefetch(
        request(createApproovKeysetToken({ key: first, joseHeader: { kid: 'new' } })),
      ),
    ).toEqual({
      ok: false,
      code: 'token_key_id_unknown',
    });
    expect(verifier.verifyToken(token)).toEqual({ ok: false, code: 'token_key_id_unknown' });
  });

  it.each([30, 10, 29])(
    'picks up a new key within one cooldown of its publication despite a drip of unknown kids every %i s',
    async (dripSec) => {
      const server = await jwksServer(first);
      let now = 1_000_000;
      const verifier = await verifierFor(server, { cooldownSec: 30, now: () => now });
      const [, payload, signature] = createApproovKeysetToken({ key: first }).split('.');
      const drip = (i: number) =>
        `${Buffer.from(JSON.stringify({ alg: 'ES256', kid: `drip-${i}` })).toString('base64url')}.${payload}.${signature}`;
      // Ten minutes of unknown kids: each is refused, none ever finds a key.
      for (let i = 0; i * dripSec < 600; i++) {
        now += dripSec * 1000;
        expect(await verifier.verifyRequestWithRefetch(request(drip(i)))).toEqual({
          ok: false,
          code: 'token_key_id_unknown',
        });
      }
      const fetchesBefore = server.requestCount;
      now += 1_000;
      server.setKeys(first, second);
      const publishedAt = now;
      const rotated = createApproovKeysetToken({ key: second });
      // The new key's tokens, one a second, with the drip going on: the first served arrives
      // within one cooldown of the key's publication, and its fetch is the only one asked for.
      let servedAt: number | null = null;
      for (let second = 1; servedAt === null && second <= 120; second++) {
        now += 1_000;
        if (second % dripSec === 0) await verifier.verifyRequestWithRefetch(request(drip(-second)));
        if ((await verifier.verifyRequestWithRefetch(request(rotated))).ok) servedAt = now;
      }
      expect(servedAt).not.toBeNull();
      expect(servedAt! - publishedAt).toBeLessThanOrEqual(30_000);
      expect(server.requestCount - fetchesBefore).toBe(1);
    },
  );

  it('fetches once for 10,000 random kids, then not again within the cooldown', async () => {
    const server = await jwksServer(first);
    let now = 1_000_000;
    const verifier = await verifierFor(server, { cooldownSec: 30, now: () => now });
    now += 30_000;
    const [, payload, signature] = createApproovKeysetToken({ key: first }).split('.');
    const withKid = (kid: string) =>
      `${Buffer.from(JSON.stringify({ alg: 'ES256', kid })).toString('base64url')}.${payload}.${signature}`;
    const outcomes = [];
    for (let i = 0; i < 10_000; i++)
      outcomes.push(
        verifier.verifyRequestWithRefetch(request(withKid(randomBytes(8).toString('hex')))),
      );
    const results = await Promise.all(outcomes);
    expect(results.every((result) => !result.ok && result.code === 'token_key_id_unknown')).toBe(
      true,
    );
    expect(server.requestCount).toBe(2);
    now += 29_000;
    expect(verifier.verifyRequestWithRefetch(request(withKid('one-more')))).toEqual({
      ok: false,
      code: 'token_key_id_unknown',
    });
    expect(server.requestCount).toBe(2);
  });
});

describe('JwksKeySet: status', () => {
  it('goes not_loaded, fresh, stale, expired on a fake clock, with times, a count and the last error', async () => {
    const server = await jwksServer(first, second);
    let now = 1_000_000;
    const { keyset } = keySet(server.url, { ttlSec: 60, maxStaleSec: 120, now: () => now });
    server.fail('error');
    expect(await keyset.start()).toBe(false);
    const never = keyset.status();
    expect(never).toEqual({
      state: 'not_loaded',
      usable: false,
      keyCount: 0,
      lastFetchAt: undefined,
      usableUntil: undefined,
      lastError: expect.any(String),
      lastErrorAt: new Date(1_000_000),
    });

    server.fail(null);
    now += 5_000;
    expect(await keyset.refresh()).toBe(true);
    expect(keyset.status()).toEqual({
      state: 'fresh',
      usable: true,
      keyCount: 2,
      lastFetchAt: new Date(1_005_000),
      usableUntil: new Date(1_005_000 + 180_000),
      lastError: undefined, // a successful fetch clears it
      lastErrorAt: undefined,
    });

    now += 60_000; // the last instant of the TTL
    expect(keyset.status().state).toBe('fresh');
    now += 1;
    server.fail('garbage');
    expect(await keyset.refresh()).toBe(false);
    expect(keyset.status()).toMatchObject({
      state: 'stale',
      usable: true,
      keyCount: 2,
      lastFetchAt: new Date(1_005_000), // still the last successful fetch
      lastError: expect.any(String),
      lastErrorAt: new Date(1_065_001),
    });

    now = 1_005_000 + 180_000;
    expect(keyset.status()).toMatchObject({ state: 'stale', usable: true });
    now += 1;
    expect(keyset.status()).toMatchObject({ state: 'expired', usable: false, keyCount: 2 });
  });

  it('holds no key material and no URL', async () => {
    const server = await jwksServer(first);
    const { keyset } = keySet(server.url);
    await keyset.start();
    const text = JSON.stringify(keyset.status());
    expect(text).not.toContain(server.url);
    expect(text).not.toContain(String(first.publicJwk.x));
    expect(Object.keys(keyset.status()).sort()).toEqual(
      [
        'keyCount',
        'lastError',
        'lastErrorAt',
        'lastFetchAt',
        'state',
        'usable',
        'usableUntil',
      ].sort(),
    );
  });
});
