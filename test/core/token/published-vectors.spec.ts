import { createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TokenKeyring } from '../../../src/core/keys/keyring.js';
import { verifyApproovToken, verifyJws } from '../../../src/core/token/jws.js';

const secrets = (...keys: KeyObject[]) => TokenKeyring.ofSecrets(keys);

// Published vectors, copied verbatim into test/fixtures with their source noted inside each file.
interface WycheproofFile {
  source: string;
  known_mislabelled: Record<string, string>;
  testGroups: {
    private: { kty: string; alg: string; k: string };
    tests: { tcId: number; comment: string; jws: string; result: 'valid' | 'invalid' }[];
  }[];
}
interface Rfc7515Fixture {
  source: string;
  jwk: { kty: string; k: string };
  token: string;
  protectedHeader: string;
  frozenClock: number;
}

const readFixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8')) as T;

const wycheproof = readFixture<WycheproofFile>('wycheproof-jws-hs256.json');
const mislabelled = new Set(Object.keys(wycheproof.known_mislabelled).map(Number));
const cases = wycheproof.testGroups.flatMap((group) =>
  group.tests.map((test) => ({
    ...test,
    key: createSecretKey(Buffer.from(group.private.k, 'base64url')),
  })),
);
const nowSec = Math.floor(Date.now() / 1000);

describe('Wycheproof JWS HS256 vectors (C2SP/wycheproof json_web_signature_test.json)', () => {
  it('holds the 40 HS256 cases with symmetric keys, and the four mislabelled ones exist', () => {
    expect(cases).toHaveLength(40);
    expect(
      wycheproof.testGroups.every(
        (group) => group.private.kty === 'oct' && group.private.alg === 'HS256',
      ),
    ).toBe(true);
    for (const id of mislabelled) expect(cases.some((test) => test.tcId === id)).toBe(true);
    expect(mislabelled.size).toBe(4);
  });

  const labelled = cases.filter((test) => !mislabelled.has(test.tcId));
  it.each(labelled.map((test) => [test.tcId, test.comment, test.result, test] as const))(
    'the JWS layer agrees with tcId %i (%s): %s',
    (_id, _comment, result, test) => {
      expect(verifyJws(test.jws, secrets(test.key)).ok).toBe(result === 'valid');
    },
  );

  it('the JWS layer calls the mislabelled cases by their bytes: 367 and 370 equal valid 357, 372 and 373 hold a "?"', () => {
    const byId = new Map(cases.map((test) => [test.tcId, test]));
    for (const id of [367, 370]) {
      expect(byId.get(id)!.jws).toBe(byId.get(357)!.jws);
      expect(verifyJws(byId.get(id)!.jws, secrets(byId.get(id)!.key)).ok).toBe(true);
    }
    for (const id of [372, 373]) {
      expect(byId.get(id)!.jws).toContain('?');
      expect(verifyJws(byId.get(id)!.jws, secrets(byId.get(id)!.key))).toEqual({
        ok: false,
        code: 'token_malformed',
      });
    }
  });

  it('the full Approov verification rejects every case, none being an Approov token', () => {
    const accepted = cases.filter(
      (test) => verifyApproovToken(test.jws, secrets(test.key), nowSec).ok,
    );
    expect(accepted.map((test) => test.tcId)).toEqual([]);
  });

  it('the full verification rejects the valid-signature cases at the claims, not earlier', () => {
    const valid = cases.filter((test) => verifyJws(test.jws, secrets(test.key)).ok);
    expect(valid.length).toBeGreaterThan(0);
    for (const test of valid) {
      const result = verifyApproovToken(test.jws, secrets(test.key), nowSec);
      // Payloads are "foo", "Test", prose: not JSON objects, so never claims.
      expect(result).toEqual({ ok: false, code: 'token_claims_invalid' });
    }
  });
});

describe('RFC 7515 appendix A.1 (HS256 example JWS)', () => {
  const fixture = readFixture<Rfc7515Fixture>('rfc7515-a1-hs256.json');
  const key = createSecretKey(Buffer.from(fixture.jwk.k, 'base64url'));

  it('has a protected header with a CRLF and spaces inside the JSON', () => {
    const header = Buffer.from(fixture.token.split('.')[0]!, 'base64url').toString('utf8');
    expect(header).toBe(fixture.protectedHeader);
    expect(header).toContain('\r\n ');
  });

  it('is accepted at the frozen clock 1300819300 with its JWK key', () => {
    expect(fixture.frozenClock).toBe(1300819300);
    const result = verifyApproovToken(fixture.token, secrets(key), fixture.frozenClock);
    expect(result).toEqual({
      ok: true,
      claims: { iss: 'joe', exp: 1300819380, 'http://example.com/is_root': true },
    });
  });

  it('is rejected as token_expired at the real clock', () => {
    expect(verifyApproovToken(fixture.token, secrets(key), Date.now() / 1000)).toEqual({
      ok: false,
      code: 'token_expired',
    });
  });

  it('is rejected under another key', () => {
    const other = createSecretKey(Buffer.alloc(64, 1));
    expect(verifyApproovToken(fixture.token, secrets(other), fixture.frozenClock)).toEqual({
      ok: false,
      code: 'token_signature_invalid',
    });
  });
});
