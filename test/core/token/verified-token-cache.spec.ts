import { createSecretKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { ApproovConfigurationError } from 'nestjs-approov';
import { resolveApproovConfig } from '../../../src/core/approov-config.js';
import { ApproovVerifier } from '../../../src/core/token/verifier.js';
import { createApproovSecret, createApproovToken } from 'nestjs-approov/testing';
import { DEFAULT_CACHE_SIZE, VerifiedTokenCache, type VerifiedToken } from '../../../src/core/token/verified-token-cache.js';

const secret = createApproovSecret();
const otherSecret = createApproovSecret();
const keys = [createSecretKey(Buffer.from(secret, 'base64'))];
const T0 = 1_700_000_000;

/** A clock the test moves by hand. */
function fakeClock(start = T0): { now: () => number; set: (sec: number) => void } {
  let current = start;
  return { now: () => current, set: (sec) => (current = sec) };
}

const token = (claims: Record<string, unknown> = {}, options: { secret?: string; expiresIn?: number } = {}) =>
  createApproovToken({ secret: options.secret ?? secret, now: T0, expiresIn: options.expiresIn ?? 300, claims });

/** A token with the same header and payload as `valid` but a different (wrong) signature. */
const withBadSignature = (valid: string): string =>
  valid.slice(0, valid.lastIndexOf('.') + 1) + randomBytes(32).toString('base64url');

const entry = (exp: number, nbf?: number): VerifiedToken =>
  Object.freeze({ ok: true as const, claims: Object.freeze(nbf === undefined ? { exp } : { exp, nbf }) });

describe('VerifiedTokenCache', () => {
  it('holds at most maxEntries, evicting the least recently used first', () => {
    const cache = new VerifiedTokenCache(2);
    cache.set('a', entry(T0 + 60));
    cache.set('b', entry(T0 + 60));
    cache.set('c', entry(T0 + 60));
    expect(cache.size).toBe(2);
    expect(cache.get('a', T0)).toBeUndefined();
    expect(cache.get('b', T0)).toBeDefined();
    expect(cache.get('c', T0)).toBeDefined();
  });

  it('counts a hit as a use, so a hot token survives a stream of new ones', () => {
    const cache = new VerifiedTokenCache(2);
    cache.set('hot', entry(T0 + 60));
    cache.set('b', entry(T0 + 60));
    expect(cache.get('hot', T0)).toBeDefined();
    cache.set('c', entry(T0 + 60));
    expect(cache.get('b', T0)).toBeUndefined();
    expect(cache.get('hot', T0)).toBeDefined();
  });

  it('drops an entry whose exp has passed, with the tolerance', () => {
    const cache = new VerifiedTokenCache(4, 5);
    cache.set('a', entry(T0 + 10));
    expect(cache.get('a', T0 + 14.9)).toBeDefined();
    expect(cache.get('a', T0 + 15)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('behaves like a reference LRU over any sequence of gets and sets', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 7 })), { minLength: 20, maxLength: 200, size: 'max' }),
        (size, operations) => {
          const cache = new VerifiedTokenCache(size);
          const reference: string[] = []; // least recently used first
          const stored = new Map<string, VerifiedToken>();
          for (const [isSet, id] of operations) {
            const key = `token-${id}`;
            const index = reference.indexOf(key);
            if (isSet) {
              const value = entry(T0 + 60 + id);
              cache.set(key, value);
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
    }
  });
});

describe('ApproovVerifier with the verified-token cache', () => {
  it('serves a repeated valid token from the cache (the same frozen result)', () => {
    const verifier = new ApproovVerifier({ keys, now: fakeClock().now });
    const valid = token();
    const first = verifier.verifyToken(valid);
    expect(first.ok).toBe(true);
    expect(verifier.verifyToken(valid)).toBe(first);
    expect(verifier.cachedTokenCount).toBe(1);
  });

  it('is keyed on the whole token: a token differing only in its signature is verified afresh and rejected', () => {
    const verifier = new ApproovVerifier({ keys, now: fakeClock().now });
    const valid = token();
    expect(verifier.verifyToken(valid).ok).toBe(true);
    expect(verifier.verifyToken(withBadSignature(valid))).toEqual({ ok: false, code: 'token_signature_invalid' });
    expect(verifier.verifyToken(valid + 'A')).toEqual({ ok: false, code: 'token_signature_invalid' });
  });

  it('never caches a failure: a rejected token is rejected again and takes no room', () => {
    const verifier = new ApproovVerifier({ keys, now: fakeClock().now });
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
    expect(verifier.cachedTokenCount).toBe(0);
  });

  it('keeps valid tokens through a flood of distinct invalid ones, without growing', () => {
    const verifier = new ApproovVerifier({ keys, now: fakeClock().now, cacheSize: 3 });
    const valid = [token({ did: 'a' }), token({ did: 'b' }), token({ did: 'c' })];
    const results = valid.map((t) => verifier.verifyToken(t));
    const template = token({ did: 'flood' });
    for (let i = 0; i < 2_000; i++) {
      expect(verifier.verifyToken(withBadSignature(template)).ok).toBe(false);
      expect(verifier.verifyToken(token({ did: `forged-${i}` }, { secret: otherSecret })).ok).toBe(false);
    }
    expect(verifier.cachedTokenCount).toBe(3);
    valid.forEach((t, i) => expect(verifier.verifyToken(t)).toBe(results[i]));
  });

  it('re-checks exp on every hit, with the clock tolerance', () => {
    const clock = fakeClock();
    const verifier = new ApproovVerifier({ keys, now: clock.now, clockToleranceSec: 5 });
    const valid = token({}, { expiresIn: 10 });
    const first = verifier.verifyToken(valid);
    expect(first.ok).toBe(true);
    clock.set(T0 + 14.9);
    expect(verifier.verifyToken(valid)).toBe(first);
    clock.set(T0 + 15);
    expect(verifier.verifyToken(valid)).toEqual({ ok: false, code: 'token_expired' });
    expect(verifier.cachedTokenCount).toBe(0);
  });

  it('expires a cached token exactly at exp when there is no tolerance', () => {
    const clock = fakeClock();
    const verifier = new ApproovVerifier({ keys, now: clock.now });
    const valid = token({}, { expiresIn: 10 });
    expect(verifier.verifyToken(valid).ok).toBe(true);
    clock.set(T0 + 9.999);
    expect(verifier.verifyToken(valid).ok).toBe(true);
    clock.set(T0 + 10);
    expect(verifier.verifyToken(valid)).toEqual({ ok: false, code: 'token_expired' });
  });

  it('re-checks nbf on a hit too, should the clock step back', () => {
    const clock = fakeClock(T0 + 30);
    const verifier = new ApproovVerifier({ keys, now: clock.now });
    const valid = token({ nbf: T0 + 20 });
    expect(verifier.verifyToken(valid).ok).toBe(true);
    clock.set(T0 + 10);
    expect(verifier.verifyToken(valid)).toEqual({ ok: false, code: 'token_not_yet_valid' });
  });

  it("checks binding on every request against that request's header values, even on a hit", () => {
    const verifier = new ApproovVerifier({ keys, now: fakeClock().now });
    const bound = createApproovToken({ secret, now: T0, bind: 'Bearer alice' });
    const request = (authorization?: string) => ({
      rawHeaders: ['Approov-Token', bound, ...(authorization === undefined ? [] : ['Authorization', authorization])],
    });
    expect(verifier.verifyRequest(request('Bearer alice'), ['authorization']).ok).toBe(true);
    expect(verifier.verifyRequest(request('Bearer mallory'), ['authorization'])).toEqual({
      ok: false,
      code: 'binding_mismatch',
    });
    expect(verifier.verifyRequest(request(), ['authorization'])).toEqual({ ok: false, code: 'missing_binding_header' });
    expect(verifier.verifyRequest(request('Bearer alice'), ['authorization']).ok).toBe(true);
  });

  it('returns deeply frozen claims, so one request cannot change what another sees', () => {
    const verifier = new ApproovVerifier({ keys, now: fakeClock().now });
    const valid = token({ did: 'device-1', aud: ['api-a', 'api-b'], ext: { tier: 'gold' } });
    const first = verifier.verifyToken(valid);
    if (!first.ok) throw new Error('expected a valid token');
    const claims = first.claims as unknown as Record<string, unknown> & { aud: string[]; ext: { tier: string } };
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
    const verifier = new ApproovVerifier({ keys, now: fakeClock().now, cacheSize: 0 });
    const valid = token();
    const first = verifier.verifyToken(valid);
    const second = verifier.verifyToken(valid);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    expect(second.ok && Object.isFrozen(second.claims)).toBe(true);
    expect(verifier.cachedTokenCount).toBe(0);
  });

  it('holds at most cacheSize tokens', () => {
    const verifier = new ApproovVerifier({ keys, now: fakeClock().now, cacheSize: 50 });
    for (let i = 0; i < 200; i++) expect(verifier.verifyToken(token({ did: `d${i}` })).ok).toBe(true);
    expect(verifier.cachedTokenCount).toBe(50);
  });
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
