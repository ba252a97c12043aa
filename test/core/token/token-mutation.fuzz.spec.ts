import { createSecretKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { TokenKeyring } from '../../../src/core/keys/keyring.js';
import { MAX_TOKEN_LENGTH, verifyApproovToken, verifyJws } from '../../../src/core/token/jws.js';
import { fuzzRuns, fuzzTimeoutMs, reportFuzzCounts } from '../../support/fuzz-config.js';
import {
  applyMutation,
  HEADER_KEY_FIELDS,
  mutationArb,
  signCompact,
} from '../../support/token-mutants.js';

// Property: a mutant of a signed token is accepted only when it is byte-identical to a token
// this test signed, whatever was flipped, dropped, duplicated, re-encoded or added.

const NOW = 1_700_000_000;
const keyBytes = randomBytes(32);
const keyring = TokenKeyring.ofSecrets([createSecretKey(keyBytes)]);
const RUNS = fuzzRuns(2_000);
const counts: Record<string, number> = {};
const notes: Record<string, number> = {};
const count = (property: string) => {
  counts[property] = (counts[property] ?? 0) + 1;
};

/** Every token this test signed that is valid at NOW. */
const signedValid = new Set<string>();

const headerArb = fc.record(
  { alg: fc.constant('HS256'), typ: fc.constant('JWT'), kid: fc.string({ maxLength: 8 }) },
  { requiredKeys: ['alg'] },
);
const claimsArb = fc.record(
  {
    exp: fc.oneof(
      fc.integer({ min: NOW + 1, max: NOW + 86_400 }),
      fc.double({ min: NOW + 1, max: NOW + 86_400, noNaN: true }),
    ),
    nbf: fc.integer({ min: NOW - 86_400, max: NOW }),
    iat: fc.integer({ min: NOW - 600, max: NOW }),
    did: fc.base64String({ maxLength: 24 }),
    ip: fc.ipV4(),
    pay: fc
      .uint8Array({ minLength: 32, maxLength: 32 })
      .map((bytes) => Buffer.from(bytes).toString('base64')),
    arc: fc.string({ maxLength: 12 }),
    note: fc.string({ unit: 'grapheme', maxLength: 16 }),
  },
  { requiredKeys: ['exp'] },
);
const signedTokenArb = fc.tuple(headerArb, claimsArb).map(([header, claims]) => {
  const token = signCompact(JSON.stringify(header), JSON.stringify(claims), keyBytes);
  signedValid.add(token);
  return token;
});

describe('fuzz: mutated tokens (core)', () => {
  afterAll(() => reportFuzzCounts('token mutation (core)', counts, notes));

  it(
    'accepts a mutant only when it is byte-identical to a token the test signed',
    () => {
      let changed = 0;
      fc.assert(
        fc.property(
          signedTokenArb,
          signedTokenArb,
          fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
          (original, donor, mutations) => {
            count('mutants (1 to 4 mutations each)');
            const mutant = mutations.reduce(
              (current, mutation) => applyMutation(current, mutation, donor),
              original,
            );
            if (mutant !== original) changed++;
            const identical = signedValid.has(mutant);
            expect(verifyApproovToken(mutant, keyring, NOW).ok).toBe(identical);
            expect(verifyJws(mutant, keyring).ok).toBe(identical);
          },
        ),
        { numRuns: RUNS },
      );
      notes['mutants that differ from their source'] = changed;
      // Guards against a generator that silently stopped mutating.
      expect(changed).toBeGreaterThan(RUNS / 2);
    },
    fuzzTimeoutMs(RUNS, 2),
  );

  it(
    'rejects tokens whose exp or nbf the test re-signed with another JSON type',
    () => {
      const nonNumber = fc.constantFrom<unknown>(
        null,
        true,
        false,
        '',
        '1700000100',
        [],
        [NOW + 60],
        {},
        { exp: NOW + 60 },
      );
      fc.assert(
        fc.property(
          fc.constantFrom('exp', 'nbf'),
          fc.oneof(nonNumber, fc.jsonValue()),
          (claim, value) => {
            fc.pre(typeof value !== 'number');
            count('re-signed claim type swaps');
            const claims: Record<string, unknown> = { exp: NOW + 60, [claim]: value };
            const token = signCompact('{"alg":"HS256"}', JSON.stringify(claims), keyBytes);
            expect(verifyApproovToken(token, keyring, NOW)).toEqual({
              ok: false,
              code: 'token_claims_invalid',
            });
          },
        ),
        { numRuns: RUNS },
      );
    },
    fuzzTimeoutMs(RUNS, 1),
  );

  it(
    'rejects re-signed exp values that are not finite JSON numbers in the future',
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.constantFrom('1e400', '-1e400', '1E999', `${NOW}`, '0', '-1', '"Infinity"'),
            fc.integer({ min: 0, max: NOW }).map(String),
            fc.double({ max: NOW, noNaN: true, noDefaultInfinity: true }).map(String),
          ),
          (expText) => {
            count('re-signed past or non-finite exp');
            const token = signCompact('{"alg":"HS256"}', `{"exp":${expText}}`, keyBytes);
            expect(verifyApproovToken(token, keyring, NOW).ok).toBe(false);
          },
        ),
        { numRuns: RUNS },
      );
    },
    fuzzTimeoutMs(RUNS, 1),
  );

  it(
    'ignores kid/jku/jwk/x5u/x5c for key selection: our key verifies, an attacker key never does',
    () => {
      const attackerKeyArb = fc.oneof(
        fc.uint8Array({ minLength: 32, maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
        // The base64 *text* of our secret used as HMAC key bytes.
        fc.constant(Buffer.from(keyBytes.toString('base64'))),
        fc.constant(Buffer.alloc(0)),
      );
      const fieldsArb = fc.dictionary(
        fc.constantFrom(...HEADER_KEY_FIELDS.filter((field) => field !== 'crit')),
        fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant({ kty: 'oct', k: 'AAAA' })),
        { minKeys: 1 },
      );
      fc.assert(
        fc.property(fieldsArb, attackerKeyArb, (fields, attackerKey) => {
          count('key-bearing header fields');
          const header = JSON.stringify({ ...fields, alg: 'HS256' });
          const claims = JSON.stringify({ exp: NOW + 60 });
          expect(verifyApproovToken(signCompact(header, claims, keyBytes), keyring, NOW).ok).toBe(
            true,
          );
          fc.pre(!attackerKey.equals(keyBytes));
          expect(
            verifyApproovToken(signCompact(header, claims, attackerKey), keyring, NOW),
          ).toEqual({
            ok: false,
            code: 'token_signature_invalid',
          });
        }),
        { numRuns: RUNS },
      );
    },
    fuzzTimeoutMs(RUNS, 1),
  );

  it(
    'rejects any re-signed token whose header carries crit, whatever its value',
    () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 2 }), (crit) => {
          count('re-signed crit headers');
          const token = signCompact(
            JSON.stringify({ alg: 'HS256', crit }),
            JSON.stringify({ exp: NOW + 60 }),
            keyBytes,
          );
          expect(verifyApproovToken(token, keyring, NOW)).toEqual({
            ok: false,
            code: 'token_malformed',
          });
        }),
        { numRuns: RUNS },
      );
    },
    fuzzTimeoutMs(RUNS, 1),
  );

  it(
    'rejects re-signed headers whose alg is anything but the exact string HS256',
    () => {
      const algArb = fc.oneof(
        fc.constantFrom<unknown>(
          'none',
          'None',
          'nOnE',
          'HS384',
          'HS512',
          'RS256',
          'ES256',
          'hs256',
          'HS256 ',
          ' HS256',
          'HS256\u0000',
          ['HS256'],
          null,
          256,
        ),
        fc.jsonValue({ maxDepth: 1 }),
      );
      fc.assert(
        fc.property(algArb, (alg) => {
          fc.pre(alg !== 'HS256');
          count('re-signed alg values');
          const token = signCompact(
            JSON.stringify({ alg }),
            JSON.stringify({ exp: NOW + 60 }),
            keyBytes,
          );
          expect(verifyApproovToken(token, keyring, NOW)).toEqual({
            ok: false,
            code: 'token_algorithm_not_allowed',
          });
        }),
        { numRuns: RUNS },
      );
    },
    fuzzTimeoutMs(RUNS, 1),
  );

  it(
    'rejects re-signed payloads that are not JSON objects',
    () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 2 }), (payload) => {
          fc.pre(typeof payload !== 'object' || payload === null || Array.isArray(payload));
          count('re-signed non-object payloads');
          const token = signCompact('{"alg":"HS256"}', JSON.stringify(payload), keyBytes);
          expect(verifyApproovToken(token, keyring, NOW)).toEqual({
            ok: false,
            code: 'token_claims_invalid',
          });
        }),
        { numRuns: RUNS },
      );
    },
    fuzzTimeoutMs(RUNS, 1),
  );

  it(
    'rejects any string over the length limit before decoding, even a correctly signed token',
    () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 2_000 }), (extra) => {
          count('oversized signed tokens');
          const pad = 'x'.repeat(Math.ceil(((MAX_TOKEN_LENGTH + extra) * 3) / 4));
          const token = signCompact(
            '{"alg":"HS256"}',
            JSON.stringify({ exp: NOW + 60, pad }),
            keyBytes,
          );
          expect(token.length).toBeGreaterThan(MAX_TOKEN_LENGTH);
          expect(verifyApproovToken(token, keyring, NOW)).toEqual({
            ok: false,
            code: 'token_malformed',
          });
        }),
        { numRuns: Math.min(RUNS, 500) },
      );
    },
    fuzzTimeoutMs(RUNS, 1),
  );

  it(
    'never throws and never accepts arbitrary strings',
    () => {
      const stringArb = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc
          .array(fc.base64String({ maxLength: 80 }), { minLength: 1, maxLength: 5 })
          .map((parts) => parts.join('.')),
        fc.constantFrom(
          'NO_NETWORK',
          'MITM_DETECTED',
          'POOR_NETWORK',
          'NO_APPROOV_SERVICE',
          'BAD_URL',
          'UNKNOWN_URL',
          'UNPROTECTED_URL',
          'NOT_INITIALIZED',
        ),
      );
      fc.assert(
        fc.property(stringArb, (text) => {
          count('arbitrary strings');
          expect(verifyApproovToken(text, keyring, NOW).ok).toBe(false);
        }),
        { numRuns: RUNS },
      );
    },
    fuzzTimeoutMs(RUNS, 1),
  );
});
