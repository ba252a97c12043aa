import { createSecretKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { ApproovConfigurationError } from 'nestjs-approov';
import { resolveApproovConfig } from '../../../src/core/approov-config.js';
import { TokenKeyring } from '../../../src/core/keys/keyring.js';
import { ApproovVerifier } from '../../../src/core/token/verifier.js';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import {
  DEFAULT_CACHE_MAX_BYTES,
  DEFAULT_CACHE_SIZE,
  MAX_CACHED_ENTRY_BYTES,
  VerifiedTokenCache,
  entryBytes,
  freezeAndMeasure,
  type VerifiedToken,
} from '../../../src/core/token/verified-token-cache.js';

const secret = createApproovSecret();
const otherSecret = createApproovSecret();
const keyring = TokenKeyring.ofSecrets([createSecretKey(Buffer.from(secret, 'base64'))]);
const T0 = 1_700_000_000;

/** A clock the test moves by hand. */
function fakeClock(start = T0): { now: () => number; set: (sec: number) => void } {
  let current = start;
  return { now: () => current, set: (sec) => (current = sec) };
}

const token = (
  claims: Record<string, unknown> = {},
  options: { secret?: string; expiresIn?: number } = {},
) =>
  createApproovToken({
    secret: options.secret ?? secret,
    now: T0,
    expiresIn: options.expiresIn ?? 300,
    claims,
  });

/** A token with the same header and payload as `valid` but a different (wrong) signature. */
const withBadSignature = (valid: string): string =>
  valid.slice(0, valid.lastIndexOf('.') + 1) + randomBytes(32).toString('base64url');

const entry = (exp: number, nbf?: number): VerifiedToken =>
  Object.freeze({
    ok: true as const,
    claims: Object.freeze(nbf === undefined ? { exp } : { exp, nbf }),
  });

describe('VerifiedTokenCache', () => {
  it('holds at most maxEntries, evicting the least recently used first', () => {
    const cache = new VerifiedTokenCache(2);
    cache.set('a', entry(T0 + 60), 1);
    cache.set('b', entry(T0 + 60), 1);
    cache.set('c', entry(T0 + 60), 1);
    expect(cache.size).toBe(2);
    expect(cache.get('a', T0)).toBeUndefined();
    expect(cache.get('b', T0)).toBeDefined();
    expect(cache.get('c', T0)).toBeDefined();
  });

  it('counts a hit as a use, so a hot token survives a stream of new ones', () => {
    const cache = new VerifiedTokenCache(2);
    cache.set('hot', entry(T0 + 60), 1);
    cache.set('b', entry(T0 + 60), 1);
    expect(cache.get('hot', T0)).toBeDefined();
    cache.set('c', entry(T0 + 60), 1);
    expect(cache.get('b', T0)).toBeUndefined();
    expect(cache.get('hot', T0)).toBeDefined();
  });

  it('drops an entry whose exp has passed, with the tolerance', () => {
    const cache = new VerifiedTokenCache(4, 5);
    cache.set('a', entry(T0 + 10), 1);
    expect(cache.get('a', T0 + 14.9)).toBeDefined();
    expect(cache.get('a', T0 + 15)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('behaves like a reference LRU over any sequence of gets and sets', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 7 })), {
          minLength: 20,
          maxLength: 200,
          size: 'max',
        }),
        (size, operations) => {
          const cache = new VerifiedTokenCache(size);
          const reference: string[] = []; // least recently used first
          const stored = new Map<string, VerifiedToken>();
          for (const [isSet, id] of operations) {
            const key = `token-${id}`;
            const index = reference.indexOf(key);
            if (isSet) {
              const value = entry(T0 + 60 + id);
              cache.set(key, value, 1);
              if (index !== -1) reference.splice(index, 1);
              else if (reference.length === size) stored.delete(reference.shift()!);
              reference.push(key);
              stored.set(key, value);
            } else {
              expect(cache.get(key, T0)).toBe(stored.get(key));
              if (index !== -1) reference.push(...reference.splice(index, 1));
            }
            expect(cache.size).toBe(reference.length);
          }
        },
      ),
    );
  });

  it('rejects a size that is not a positive integer', () => {
    for (const size of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new VerifiedTokenCache(size)).toThrow(RangeError);
      expect(() => new VerifiedTokenCache(10, 0, size)).toThrow(RangeError);
    }
  });
});

describe('VerifiedTokenCache byte budget', () => {
  it('never holds more than maxBytes, whatever the entry sizes, evicting least recently used first', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 5_000 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 6_000 })), {
          maxLength: 200,
        }),
        (maxBytes, sets) => {
          const cache = new VerifiedTokenCache(1_000, 0, maxBytes);
          const reference: { key: string; bytes: number }[] = []; // least recently used first
          for (const [id, bytes] of sets) {
            const key = `token-${id}`;
            cache.set(key, entry(T0 + 60), bytes);
            const index = reference.findIndex((item) => item.key === key);
            if (index !== -1) reference.splice(index, 1);
            if (bytes <= maxBytes) {
              while (reference.reduce((sum, item) => sum + item.bytes, 0) + bytes > maxBytes)
                reference.shift();
              reference.push({ key, bytes });
            }
            expect(cache.bytes).toBeLessThanOrEqual(maxBytes);
            expect(cache.bytes).toBe(reference.reduce((sum, item) => sum + item.bytes, 0));
            expect(cache.size).toBe(reference.length);
          }
        },
      ),
    );
  });

  it('stores nothing bigger than maxEntryBytes, and leaves the rest in place', () => {
    const cache = new VerifiedTokenCache(10, 0, 1_000_000, 500);
    cache.set('small', entry(T0 + 60), 400);
    cache.set('big', entry(T0 + 60), 501);
    expect(cache.get('big', T0)).toBeUndefined();
    expect(cache.get('small', T0)).toBeDefined();
    expect(cache.bytes).toBe(400);
  });

  it('gives the bytes back when an entry expires or is replaced', () => {
    const cache = new VerifiedTokenCache(10, 0, 10_000);
    cache.set('a', entry(T0 + 10), 3_000);
    cache.set('a', entry(T0 + 10), 2_000);
    expect(cache.bytes).toBe(2_000);
    expect(cache.get('a', T0 + 10)).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });

  it('counts an entry from the token length and the claims, more for claims full of objects than their JSON', () => {
    const plain = { exp: T0, did: 'device' };
    const objects = { exp: T0, x: Array.from({ length: 100 }, () => ({})) };
    const plainBytes = freezeAndMeasure(plain);
    expect(entryBytes('t'.repeat(1_000), plainBytes) - entryBytes('t'.repeat(10), plainBytes)).toBe(
      990,
    );
    expect(freezeAndMeasure(objects)).toBeGreaterThan(JSON.stringify(objects).length * 20);
    expect(Object.isFrozen(objects.x[99])).toBe(true);
  });

  it(`rates a worst-case 4 KiB token (claims of empty objects) above the ${MAX_CACHED_ENTRY_BYTES}-byte entry bound`, () => {
    const worst = token({ x: Array.from({ length: 990 }, () => ({})) });
    expect(worst.length).toBeLessThanOrEqual(4096);
    const claims = JSON.parse(Buffer.from(worst.split('.')[1]!, 'base64url').toString()) as object;
    expect(entryBytes(worst, freezeAndMeasure(claims))).toBeGreaterThan(MAX_CACHED_ENTRY_BYTES);
  });

  it('holds the default budget of 8 MiB', () => {
    expect(DEFAULT_CACHE_MAX_BYTES).toBe(8 * 1024 * 1024);
    expect(new VerifiedTokenCache(1).maxBytes).toBe(DEFAULT_CACHE_MAX_BYTES);
  });
});

describe('ApproovVerifier with the verified-token cache', () => {
  it('serves a repeated valid token from the cache (the same frozen result)', () => {
    const verifier = new ApproovVerifier({ keyring, now: fakeClock().now });
    const valid = token();
    const first = verifier.verifyToken(valid);
    expect(first.ok).toBe(true);
    expect(verifier.verifyToken(valid)).toBe(first);
  });

  it('is keyed on the whole token: a token differing only in its signature is verified afresh and rejected', () => {
    const verifier = new ApproovVerifier({ keyring, now: fakeClock().now });
    const valid = token();
    expect(verifier.verifyToken(valid).ok).toBe(true);
    expect(verifier.verifyToken(withBadSignature(valid))).toEqual({
      ok: false,
      code: 'token_signature_invalid',
    });
    expect(verifier.verifyToken(valid + 'A')).toEqual({
      ok: false,
      code: 'token_signature_invalid',
    });
  });

  it('never caches a failure: a rejected token is rejected again and takes no room', () => {
    const verifier = new ApproovVerifier({ keyring, now: fakeClock().now, cacheSize: 1 });
    const valid = token({ did: 'kept' });
    const kept = verifier.verifyToken(valid);
    const rejected = [
      withBadSignature(token()),
      token({}, { secret: otherSecret }),
      token({}, { expiresIn: -1 }),
      token({ nbf: T0 + 60 }),
      'not-a-token',
    ];
    for (const bad of rejected) {
      expect(verifier.verifyToken(bad).ok).toBe(false);
      expect(verifier.verifyToken(bad).ok).toBe(false);
    }
    // The one slot still holds the valid token: no failure took its place.
    expect(verifier.verifyToken(valid)).toBe(kept);
  });

  it('keeps valid tokens through a flood of distinct invalid ones, without growing', () => {
    const verifier = new ApproovVerifier({ keyring, now: fakeClock().now, cacheSize: 3 });
    const valid = [token({ did: 'a' }), token({ did: 'b' }), token({ did: 'c' })];
    const results = valid.map((t) => verifier.verifyToken(t));
    const template = token({ did: 'flood' });
    for (let i = 0; i < 2_000; i++) {
      expect(verifier.verifyToken(withBadSignature(template)).ok).toBe(false);
      expect(verifier.verifyToken(token({ did: `forged-${i}` }, { secret: otherSecret })).ok).toBe(
        false,
      );
    }
    valid.forEach((t, i) => expect(verifier.verifyToken(t)).toBe(results[i]));
  });

  it('re-checks exp on every hit, with the clock tolerance', () => {
    const clock = fakeClock();
    const verifier = new ApproovVerifier({ keyring, now: clock.now, clockToleranceSec: 5 });
    const valid = token({}, { expiresIn: 10 });
    const first = verifier.verifyToken(valid);
    expect(first.ok).toBe(true);
    clock.set(T0 + 14.9);
    expect(verifier.verifyToken(valid)).toBe(first);
    clock.set(T0 + 15);
    expect(verifier.verifyToken(valid)).toEqual({ ok: false, code: 'token_expired' });
    clock.set(T0 + 14.9); // the expired entry was dropped: a step back verifies afresh
    const again = verifier.verifyToken(valid);
    expect(again.ok).toBe(true);
    expect(again).not.toBe(first);
  });

  it('expires a cached token exactly at exp when there is no tolerance', () => {
    const clock = fakeClock();
    const verifier = new ApproovVerifier({ keyring, now: clock.now });
    const valid = token({}, { expiresIn: 10 });
    expect(verifier.verifyToken(valid).ok).toBe(true);
    clock.set(T0 + 9.999);
    expect(verifier.verifyToken(valid).ok).toBe(true);
    clock.set(T0 + 10);
    expect(verifier.verifyToken(valid)).toEqual({ ok: false, code: 'token_expired' });
  });

  it('re-checks nbf on a hit too, should the clock step back', () => {
    const clock = fakeClock(T0 + 30);
    const verifier = new ApproovVerifier({ keyring, now: clock.now });
    const valid = token({ nbf: T0 + 20 });
    expect(verifier.verifyToken(valid).ok).toBe(true);
    clock.set(T0 + 10);
    expect(verifier.verifyToken(valid)).toEqual({ ok: false, code: 'token_not_yet_valid' });
  });

  it("checks binding on every request against that request's header values, even on a hit", () => {
    const verifier = new ApproovVerifier({ keyring, now: fakeClock().now });
    const bound = createApproovToken({ secret, now: T0, bind: 'Bearer alice' });
    const request = (authorization?: string) => ({
      rawHeaders: [
        'Approov-Token',
        bound,
        ...(authorization === undefined ? [] : ['Authorization', authorization]),
      ],
    });
    expect(verifier.verifyRequest(request('Bearer alice'), ['authorization']).ok).toBe(true);
    expect(verifier.verifyRequest(request('Bearer mallory'), ['authorization'])).toEqual({
      ok: false,
      code: 'binding_mismatch',
    });
    expect(verifier.verifyRequest(request(), ['authorization'])).toEqual({
      ok: false,
      code: 'binding_header_missing',
    });
    expect(verifier.verifyRequest(request('Bearer alice'), ['authorization']).ok).toBe(true);
  });

  it('returns deeply frozen claims, so one request cannot change what another sees', () => {
    const verifier = new ApproovVerifier({ keyring, now: fakeClock().now });
    const valid = token({ did: 'device-1', aud: ['api-a', 'api-b'], ext: { tier: 'gold' } });
    const first = verifier.verifyToken(valid);
    if (!first.ok) throw new Error('expected a valid token');
    const claims = first.claims as unknown as Record<string, unknown> & {
      aud: string[];
      ext: { tier: string };
    };
    expect(() => (claims.did = 'tampered')).toThrow(TypeError);
    expect(() => claims.aud.push('api-c')).toThrow(TypeError);
    expect(() => (claims.ext.tier = 'free')).toThrow(TypeError);
    expect(() => delete claims.exp).toThrow(TypeError);
    const second = verifier.verifyToken(valid);
    expect(second.ok && second.claims).toEqual({
      exp: T0 + 300,
      did: 'device-1',
      aud: ['api-a', 'api-b'],
      ext: { tier: 'gold' },
    });
  });

  it('with cacheSize 0 verifies every time afresh, still with frozen claims', () => {
    const verifier = new ApproovVerifier({ keyring, now: fakeClock().now, cacheSize: 0 });
    const valid = token();
    const first = verifier.verifyToken(valid);
    const second = verifier.verifyToken(valid);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    expect(second.ok && Object.isFrozen(second.claims)).toBe(true);
  });

  it('holds at most cacheSize tokens', () => {
    const verifier = new ApproovVerifier({ keyring, now: fakeClock().now, cacheSize: 50 });
    const tokens = Array.from({ length: 200 }, (_, i) => token({ did: `d${i}` }));
    const results = tokens.map((t) => verifier.verifyToken(t));
    // The last 50 are hits (the same object); the one before them was evicted.
    tokens.slice(150).forEach((t, i) => expect(verifier.verifyToken(t)).toBe(results[150 + i]));
    expect(verifier.verifyToken(tokens[149]!)).not.toBe(results[149]);
  });

  it('verifies a token with huge claims on every request but never caches it', () => {
    const verifier = new ApproovVerifier({ keyring, now: fakeClock().now });
    const huge = token({ x: Array.from({ length: 900 }, () => ({})) });
    expect(huge.length).toBeLessThanOrEqual(4096);
    const first = verifier.verifyToken(huge);
    expect(first.ok).toBe(true);
    const second = verifier.verifyToken(huge);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    expect(second.ok && Object.isFrozen((second.claims as unknown as { x: object[] }).x[0])).toBe(
      true,
    );
  });

  it('keeps within cacheMaxBytes by evicting the least recently used', () => {
    const verifier = new ApproovVerifier({ keyring, now: fakeClock().now, cacheMaxBytes: 20_000 });
    const big = (i: number) => token({ i, x: 'a'.repeat(2_000) }); // about 8 KB counted each
    const first = [big(0), big(1)].map((t) => verifier.verifyToken(t));
    verifier.verifyToken(big(2));
    expect(verifier.verifyToken(big(0))).not.toBe(first[0]);
  });
});

describe('the cacheMaxBytes option', () => {
  const base = { secret };

  it(`defaults to ${DEFAULT_CACHE_MAX_BYTES}`, () => {
    expect(resolveApproovConfig(base).verifier.cacheMaxBytes).toBe(DEFAULT_CACHE_MAX_BYTES);
    expect(resolveApproovConfig({ ...base, cacheMaxBytes: 1_000_000 }).verifier.cacheMaxBytes).toBe(
      1_000_000,
    );
  });

  it.each([0, -1, 1.5, Number.NaN, 2 ** 31, '100', true])(
    'refuses %p at boot, naming the option',
    (cacheMaxBytes) => {
      expect(() => resolveApproovConfig({ ...base, cacheMaxBytes })).toThrow(/cacheMaxBytes/);
    },
  );
});

describe('the cacheSize option', () => {
  const base = { secret };

  it(`defaults to ${DEFAULT_CACHE_SIZE}`, () => {
    expect(resolveApproovConfig(base).verifier.cacheSize).toBe(DEFAULT_CACHE_SIZE);
  });

  it('accepts 0 (disabled) and a positive integer', () => {
    expect(resolveApproovConfig({ ...base, cacheSize: 0 }).verifier.cacheSize).toBe(0);
    expect(resolveApproovConfig({ ...base, cacheSize: 500 }).verifier.cacheSize).toBe(500);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 1_000_001, '100', true])(
    'refuses %p at boot, naming the option',
    (cacheSize) => {
      expect(() => resolveApproovConfig({ ...base, cacheSize })).toThrow(ApproovConfigurationError);
      expect(() => resolveApproovConfig({ ...base, cacheSize })).toThrow(/cacheSize/);
    },
  );
});
